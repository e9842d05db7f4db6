// Bundles each task into one minified CommonJS file next to a copy of its task.json and icon:
// dist/<TaskFolder>/{index.js,task.json,icon.png,THIRD-PARTY-NOTICES.txt}. Built, never committed. One bundle
// serves both handlers (Node20_1 and Node24), and exactly one copy of azure-pipelines-task-lib is inlined.
// The bundle carries other people's MIT/Apache/BSD code, so the notices list every package esbuild put in it,
// with its version, license and license text (the .vsix ships them next to the bundle).

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const tasks = readdirSync(join(root, 'tasks'));

/** The notices text for the packages whose files are in a bundle (from esbuild's metafile). */
function thirdPartyNotices(task, metafile) {
  const packageDirs = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const path = resolve(process.cwd(), input).replaceAll('\\', '/');
    const m = /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (m) packageDirs.add(m[1]);
  }
  const packages = [...packageDirs]
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const licenseFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
      const license =
        typeof manifest.license === 'string' ? manifest.license : (manifest.license?.type ?? 'see text');
      const text = licenseFile
        ? readFileSync(join(dir, licenseFile), 'utf8').trim()
        : `(no license file in the package; its package.json declares ${license})`;
      return { name: manifest.name, version: manifest.version, license, text };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  const header = [
    `Third-party software in tasks/${task}/index.js`,
    '',
    'The task is bundled into one file with esbuild. It includes the following packages, each under its own',
    'license, reproduced below.',
    '',
    ...packages.map((p) => `- ${p.name} ${p.version} (${p.license})`),
  ];
  const bodies = packages.map((p) =>
    [`${'='.repeat(78)}`, `${p.name} ${p.version} (${p.license})`, '', p.text].join('\n'),
  );
  return `${[header.join('\n'), ...bodies].join('\n\n')}\n`;
}

for (const task of tasks) {
  const src = join(root, 'tasks', task);
  const out = join(root, 'dist', task);
  mkdirSync(out, { recursive: true });
  const result = await build({
    entryPoints: [join(src, 'index.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap: 'external',
    legalComments: 'external',
    metafile: true,
    logLevel: 'warning',
    outfile: join(out, 'index.js'),
  });
  writeFileSync(join(root, 'dist', `${task}.meta.json`), JSON.stringify(result.metafile));
  writeFileSync(join(out, 'THIRD-PARTY-NOTICES.txt'), thirdPartyNotices(task, result.metafile));
  copyFileSync(join(src, 'task.json'), join(out, 'task.json'));
  if (existsSync(join(src, 'icon.png'))) copyFileSync(join(src, 'icon.png'), join(out, 'icon.png'));
}
