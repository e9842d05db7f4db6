// Stages the exact package layout in a temporary folder and runs `tfx extension create` (offline) on it: the
// manifest, the Marketplace page, the icons, and per task only task.json, icon.png, the bundle and its
// third-party notices. Org admins: `npm run package -- --publisher myorg [--extension-id my-id]` packages under
// their own identity; every link to the Marketplace page (helpUrl, help text, messages in the bundle, the
// page itself) is rewritten to that identity, and the line printed at the end names what was packaged.
// `--repository URL` points the repository, issues and support links at your own repository (the manifest's
// github.com/ensure-acr-mi-pull/... is a placeholder); without `--publisher` (or an overrides file that sets it) the
// .vsix keeps the placeholder publisher, which only that publisher can upload: the script warns about both.
// `--overrides-file f.json` is merged into the manifest first (so it may set the publisher too);
// `--output-path <dir>` (default dist/) says where the .vsix goes; other tfx options pass through.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

const passThrough = [];
const options = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const name = argv[i].replace(/^--/, '');
  if (
    ['publisher', 'extension-id', 'output-path', 'overrides-file', 'repository'].includes(name) &&
    argv[i + 1] !== undefined
  ) {
    options[name] = argv[++i];
  } else passThrough.push(argv[i]);
}

const manifest = JSON.parse(readFileSync(join(root, 'vss-extension.json'), 'utf8'));
const original = `${manifest.publisher}.${manifest.id}`;
const placeholderPublisher = manifest.publisher;
const placeholderRepository = manifest.repository?.uri;
// An overrides file is merged here rather than by tfx, so the identity below (and the links) follow it.
if (options['overrides-file'])
  Object.assign(manifest, JSON.parse(readFileSync(resolve(options['overrides-file']), 'utf8')));
manifest.publisher = options.publisher ?? manifest.publisher;
manifest.id = options['extension-id'] ?? manifest.id;
if (options.repository) {
  const repo = options.repository.replace(/\/+$/, '');
  manifest.repository = { type: 'git', uri: repo };
  manifest.links = {
    ...manifest.links,
    repository: { uri: repo },
    issues: { uri: `${repo}/issues` },
    support: { uri: `${repo}/issues` },
  };
}
const identity = `${manifest.publisher}.${manifest.id}`;
const warnings = [];
if (manifest.publisher === placeholderPublisher)
  warnings.push(
    `WARNING: packaged under the placeholder publisher '${placeholderPublisher}': only that publisher can upload this .vsix. ` +
      'To publish it privately, create your publisher (https://marketplace.visualstudio.com/manage) and run: ' +
      'npm run package -- --publisher <your-publisher-id>',
  );
if (placeholderRepository && manifest.repository?.uri === placeholderRepository)
  warnings.push(
    `note: the repository and support links are the placeholder ${placeholderRepository}; ` +
      'add --repository https://github.com/<you>/<repo> to point them at yours.',
  );
const outputPath = resolve(options['output-path'] ?? join(root, 'dist'));

/** Marketplace links name the item as `itemName=<publisher>.<extension id>`; point them at what we package. */
const retarget = (text) => text.replaceAll(`itemName=${original}`, `itemName=${identity}`);

const stage = mkdtempSync(join(tmpdir(), 'vsix-stage-'));
try {
  mkdirSync(join(stage, 'tasks'), { recursive: true });
  writeFileSync(join(stage, 'vss-extension.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const f of ['overview.md', 'CHANGELOG.md', 'LICENSE']) {
    writeFileSync(join(stage, f), retarget(readFileSync(join(root, f), 'utf8')));
  }
  cpSync(join(root, 'images'), join(stage, 'images'), { recursive: true });
  for (const task of readdirSync(join(root, 'tasks'))) {
    const built = join(root, 'dist', task);
    mkdirSync(join(stage, 'tasks', task), { recursive: true });
    cpSync(join(built, 'icon.png'), join(stage, 'tasks', task, 'icon.png'));
    for (const f of ['task.json', 'index.js', 'THIRD-PARTY-NOTICES.txt'])
      writeFileSync(join(stage, 'tasks', task, f), retarget(readFileSync(join(built, f), 'utf8')));
  }
  if (identity !== original) {
    const stale = stagedTextFiles(stage).filter((f) => readFileSync(f, 'utf8').includes(original));
    if (stale.length)
      throw new Error(`still names ${original}: ${stale.map((f) => relative(stage, f)).join(', ')}`);
  }

  mkdirSync(outputPath, { recursive: true });
  // tfx through this Node by path: no shell, no `.cmd` shim, the same on Windows.
  const tfx = require.resolve('tfx-cli/_build/tfx-cli.js');
  const args = [tfx, 'extension', 'create', '--root', stage, '--manifest-globs', 'vss-extension.json'];
  args.push('--output-path', outputPath, '--no-prompt', '--json', ...passThrough);
  const out = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    env: { ...process.env, TFX_TRACE: '' },
  });
  const json = JSON.parse(out.slice(out.indexOf('{')));
  const size = statSync(json.path).size;
  console.log(`${json.path} (${(size / 1024).toFixed(0)} KB, ${identity} ${json.version})`);
  console.log(`Packaged ${identity} ${json.version}; its Marketplace page: ${marketplaceUrl(identity)}`);
  for (const w of warnings) console.warn(w);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

function marketplaceUrl(item) {
  return `https://marketplace.visualstudio.com/items?itemName=${item}`;
}

function stagedTextFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .map((f) => join(dir, String(f)))
    .filter((f) => /\.(json|md|js|txt)$/.test(f) && statSync(f).isFile());
}
