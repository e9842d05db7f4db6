// `npm run bump -- patch|minor`: bumps the task's version in task.json (agents cache tasks by it, and
// `tfx --rev-version` does not touch it) and the extension's version in vss-extension.json, in step.
// Edits the version fields in place, so the files keep their formatting.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const part = process.argv[2] ?? 'patch';
if (!['patch', 'minor'].includes(part)) {
  console.error(
    `Usage: npm run bump -- patch|minor (got '${part}'). A breaking change is a new task folder (V2) with its own major version.`,
  );
  process.exit(2);
}
const next = (minor, patch) => (part === 'minor' ? [minor + 1, 0] : [minor, patch + 1]);

const manifestPath = join(root, 'vss-extension.json');
let manifest = readFileSync(manifestPath, 'utf8');
let extension = '';
manifest = manifest.replace(/"version": "(\d+)\.(\d+)\.(\d+)"/, (_, major, minor, patch) => {
  const [m, p] = next(Number(minor), Number(patch));
  extension = `${major}.${m}.${p}`;
  return `"version": "${extension}"`;
});
writeFileSync(manifestPath, manifest);

const taskPath = join(root, 'tasks', 'EnsureAcrManagedIdentityPullV1', 'task.json');
let task = readFileSync(taskPath, 'utf8');
let taskVersion = '';
task = task.replace(
  /"version": \{ "Major": (\d+), "Minor": (\d+), "Patch": (\d+) \}/,
  (_, major, minor, patch) => {
    const [m, p] = next(Number(minor), Number(patch));
    taskVersion = `${major}.${m}.${p}`;
    return `"version": { "Major": ${major}, "Minor": ${m}, "Patch": ${p} }`;
  },
);
if (!taskVersion || !extension) {
  console.error('Could not find the version fields to bump.');
  process.exit(1);
}
writeFileSync(taskPath, task);
console.log(
  `task EnsureAcrManagedIdentityPull ${taskVersion}, extension ${extension}. Add a CHANGELOG.md entry.`,
);
