/**
 * The port through which the auth code reads the agent: service connection fields, pipeline variables, the
 * secret mask and the temp folder. `agent.ts` implements it with task-lib; tests use `envEndpointSource` (the
 * agent's environment-variable layout, without task-lib's vault) or a plain object.
 */
export interface EndpointSource {
  /** `ENDPOINT_URL_<id>`: for AzureRM, the ARM base URL. */
  url(id: string): string | undefined;
  /** `ENDPOINT_AUTH_SCHEME_<id>`, as the agent spells it (compare lower-case). */
  scheme(id: string): string | undefined;
  /**
   * One authorization parameter (`serviceprincipalkey`, `AccessToken`...). Keys are matched case-insensitively.
   * Implementations must not write the value to any log (task-lib's getEndpointAuthorizationParameter does).
   */
  authParameter(id: string, key: string): string | undefined;
  /** One data parameter (`subscriptionid`, `environment`...), matched case-insensitively. */
  dataParameter(id: string, key: string): string | undefined;
  /** A pipeline variable by its dotted name (`System.OidcRequestUri`). */
  variable(name: string): string | undefined;
  /**
   * Registers a value the agent must mask in every later log line. May receive multi-line values (a PEM);
   * the adapter masks each meaningful line, because the agent refuses multi-line secrets.
   */
  setSecret(value: string): void;
  /** `Agent.TempDirectory` (emptied by the agent at job start and end). */
  tempDirectory(): string;
}

/** The id under which the agent exports the job's own connection (its AccessToken authenticates OIDC requests). */
export const SYSTEM_CONNECTION_ID = 'SYSTEMVSSCONNECTION';

/**
 * An EndpointSource over environment variables named the way the agent names them
 * (docs/azure-behaviour.md#how-the-agent-hands-a-service-connection-to-a-task):
 * `ENDPOINT_URL_<id>`, `ENDPOINT_AUTH_SCHEME_<id>`, `ENDPOINT_AUTH_PARAMETER_<id>_<KEY>`, `ENDPOINT_AUTH_<id>`
 * (JSON), `ENDPOINT_DATA_<id>_<KEY>`, and variables upper-cased with `.` → `_`. The id is used verbatim, as the
 * agent does. For tests and tools; the task itself goes through task-lib.
 */
export function envEndpointSource(
  env: Readonly<Record<string, string | undefined>>,
  options: { onSecret?: (value: string) => void; tempDirectory?: string } = {},
): EndpointSource {
  const envKey = (text: string) => text.replace(/[.\s]/g, '_').toUpperCase();
  const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
  return {
    url: (id) => nonEmpty(env[`ENDPOINT_URL_${id}`]),
    scheme: (id) => {
      const direct = nonEmpty(env[`ENDPOINT_AUTH_SCHEME_${id}`]);
      if (direct) return direct;
      const auth = parseAuth(env[`ENDPOINT_AUTH_${id}`]);
      return nonEmpty(auth?.scheme);
    },
    authParameter: (id, key) => {
      const direct = nonEmpty(env[`ENDPOINT_AUTH_PARAMETER_${id}_${envKey(key)}`]);
      if (direct) return direct;
      const parameters = parseAuth(env[`ENDPOINT_AUTH_${id}`])?.parameters ?? {};
      const match = Object.keys(parameters).find((k) => k.toLowerCase() === key.toLowerCase());
      return match === undefined ? undefined : nonEmpty(parameters[match]);
    },
    dataParameter: (id, key) => nonEmpty(env[`ENDPOINT_DATA_${id}_${envKey(key)}`]),
    variable: (name) => nonEmpty(env[envKey(name)]),
    setSecret: (value) => options.onSecret?.(value),
    tempDirectory: () => options.tempDirectory ?? nonEmpty(env.AGENT_TEMPDIRECTORY) ?? '.',
  };
}

function parseAuth(
  json: string | undefined,
): { scheme?: string; parameters?: Record<string, string> } | undefined {
  if (!json) return undefined;
  try {
    const parsed: unknown = JSON.parse(json);
    return typeof parsed === 'object' && parsed !== null ? (parsed as { scheme?: string }) : undefined;
  } catch {
    return undefined;
  }
}
