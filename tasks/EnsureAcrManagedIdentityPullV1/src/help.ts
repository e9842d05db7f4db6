/**
 * Where users read more: the extension's Marketplace page (overview.md is its text, so it ships with the .vsix,
 * unlike the README) and its Q & A tab. `npm run package -- --publisher X` rewrites this item name everywhere,
 * this bundle included, so a privately published copy links to its own page.
 */
export const MARKETPLACE_PAGE =
  'https://marketplace.visualstudio.com/items?itemName=ensure-acr-mi-pull.ensure-acr-managed-identity-pull';

/** Sections of the Marketplace page, by the anchor its heading gets. */
export type HelpSection =
  | 'permissions-the-service-connection-needs'
  | 'troubleshooting-by-outcome'
  | 'reading-the-outputs';

export function helpLink(section: HelpSection): string {
  return `${MARKETPLACE_PAGE}#${section}`;
}

/** Questions and bug reports: the Marketplace page's Q & A tab. */
export const QUESTIONS_URL = `${MARKETPLACE_PAGE}&ssr=false#qna`;
