/** A deployment target: the production site or one of its slots. Each has its own identity and config. */
export interface Target {
  /** `production` or the slot name: how logs, summaries and output variables name it. */
  readonly label: string;
  /** Undefined for production. */
  readonly slot: string | undefined;
  /** ARM path of the site or slot: `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}[/slots/{slot}]`. */
  readonly path: string;
}
