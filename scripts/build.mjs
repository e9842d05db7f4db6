// Bundles each task into one minified CommonJS file next to a copy of its task.json and icon:
// dist/<TaskFolder>/{index.js,task.json,icon.png}. Built, never committed. One bundle serves both
// handlers (Node20_1 and Node24), and exactly one copy of azure-pipelines-task-lib is inlined.

import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const tasks = readdirSync(join(root, 'tasks'));

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
  copyFileSync(join(src, 'task.json'), join(out, 'task.json'));
  if (existsSync(join(src, 'icon.png'))) copyFileSync(join(src, 'icon.png'), join(out, 'icon.png'));
}
