/**
 * Help links into the Marketplace page (overview.md) must survive its renderer. GitHub turns punctuation in a
 * heading into nothing or hyphens; the Marketplace strips it (microsoft/vsmarketplace#983), and its anchors have
 * stopped jumping before (microsoft/vscode#71136). So every heading a link points at uses only letters, digits and
 * spaces (one anchor under either rule), and the task's messages name the section in words next to the link.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HELP_SECTIONS, helpReference } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/help';

const root = join(__dirname, '..', '..');
const read = (f: string) => readFileSync(join(root, f), 'utf8');
const headings = [...read('overview.md').matchAll(/^#+ (.+)$/gm)].map((m) => (m[1] as string).trim());

/** GitHub's rule: lower case, punctuation dropped, spaces to hyphens. */
const githubSlug = (h: string) =>
  h
    .toLowerCase()
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
/** The Marketplace's, as reported: anything but letters, digits and spaces dropped, spaces to hyphens. */
const marketplaceSlug = (h: string) =>
  h
    .toLowerCase()
    .replace(/[^a-z0-9 ]/g, '')
    .replace(/ /g, '-');

describe('help links into the Marketplace page', () => {
  const linked = new Set<string>(Object.keys(HELP_SECTIONS));
  for (const m of read('tasks/EnsureAcrManagedIdentityPullV1/task.json').matchAll(
    /itemName=[\w.-]+#([\w-]+)/g,
  ))
    linked.add(m[1] as string);

  for (const anchor of linked)
    it(`#${anchor}: a heading with the same anchor under GitHub's and the Marketplace's rules`, () => {
      const heading = headings.find((h) => githubSlug(h) === anchor);
      assert.ok(heading, `no heading for #${anchor} in overview.md`);
      assert.equal(
        marketplaceSlug(heading),
        anchor,
        `'${heading}' has punctuation the Marketplace would drop`,
      );
    });

  it('names each section in words next to its link (readable where the anchor does not jump)', () => {
    for (const [anchor, title] of Object.entries(HELP_SECTIONS)) {
      assert.ok(headings.includes(title), `overview.md has no heading '${title}'`);
      assert.match(
        helpReference(anchor as keyof typeof HELP_SECTIONS),
        new RegExp(`section '${title}' .*#${anchor}\\)`),
      );
    }
  });
});
