// Stages the exact package layout in dist/extension and runs `tfx extension create` (offline) on it:
// the manifest, the Marketplace page, the icons, and per task only task.json, icon.png and the bundle.
// Org admins: `npm run package -- --publisher myorg` (or --overrides-file f.json) packages under their own
// publisher id; see README "Publish privately".
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stage = join(root, 'dist', 'extension');
rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, 'tasks'), { recursive: true });
for (const f of ['vss-extension.json', 'overview.md', 'CHANGELOG.md', 'LICENSE']) {
  try {
    cpSync(join(root, f), join(stage, f));
  } catch {}
}
cpSync(join(root, 'images'), join(stage, 'images'), { recursive: true });
for (const task of readdirSync(join(root, 'tasks'))) {
  const built = join(root, 'dist', task);
  mkdirSync(join(stage, 'tasks', task), { recursive: true });
  for (const f of ['task.json', 'icon.png', 'index.js'])
    cpSync(join(built, f), join(stage, 'tasks', task, f));
}

const tfx = join(root, 'node_modules', '.bin', 'tfx');
const args = ['extension', 'create', '--root', stage, '--manifest-globs', 'vss-extension.json'];
args.push('--output-path', join(root, 'dist'), '--no-prompt', '--json', ...process.argv.slice(2));
const out = execFileSync(tfx, args, { encoding: 'utf8', env: { ...process.env, TFX_TRACE: '' } });
const json = JSON.parse(out.slice(out.indexOf('{')));
const size = statSync(json.path).size;
const manifest = JSON.parse(readFileSync(join(root, 'vss-extension.json'), 'utf8'));
console.log(
  `${json.path} (${(size / 1024).toFixed(0)} KB, ${manifest.publisher}.${manifest.id} ${json.version})`,
);
