/**
 * Where users read more: the extension's Marketplace page (overview.md is its text, so it ships with the .vsix,
 * unlike the README) and its Q & A tab. `npm run package -- --publisher X` rewrites this item name everywhere,
 * this bundle included, so a privately published copy links to its own page.
 */
export const MARKETPLACE_PAGE =
  'https://marketplace.visualstudio.com/items?itemName=ensure-acr-mi-pull.ensure-acr-managed-identity-pull';

/**
 * Sections of the Marketplace page, by the anchor its heading gets. Their headings use only letters, digits and
 * spaces, so the anchor is the same whether a renderer drops punctuation or turns it into hyphens (the Marketplace
 * drops it: microsoft/vsmarketplace#983), and a link that does not jump still names the section in words.
 */
export type HelpSection =
  | 'permissions-the-service-connection-needs'
  | 'troubleshooting-by-outcome'
  | 'reading-the-outputs';

/** Each section's heading, as the page writes it. */
export const HELP_SECTIONS: Readonly<Record<HelpSection, string>> = {
  'permissions-the-service-connection-needs': 'Permissions the service connection needs',
  'troubleshooting-by-outcome': 'Troubleshooting by outcome',
  'reading-the-outputs': 'Reading the outputs',
};

export function helpLink(section: HelpSection): string {
  return `${MARKETPLACE_PAGE}#${section}`;
}

/** "the section 'Title' of the Marketplace page (URL#anchor)": readable even where the anchor does not jump. */
export function helpReference(section: HelpSection): string {
  return `the section '${HELP_SECTIONS[section]}' of the extension's Marketplace page (${helpLink(section)})`;
}

/** Questions and bug reports: the Marketplace page's Q & A tab. */
export const QUESTIONS_URL = `${MARKETPLACE_PAGE}&ssr=false#qna`;
