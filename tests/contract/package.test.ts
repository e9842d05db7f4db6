import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/** File names in a zip, read from its central directory (a .vsix is a zip). */
function zipEntries(zip: Buffer): string[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    names.push(zip.subarray(at + 46, at + 46 + nameLength).toString('utf8'));
    at += 46 + nameLength + extra + comment;
  }
  return names;
}

describe('npm run package', function () {
  this.timeout(60_000);

  it('writes a small .vsix with the task.json, its icon and one bundled script, and no node_modules', () => {
    const out = execFileSync(process.execPath, [join(root, 'scripts', 'package.mjs')], {
      cwd: root,
      encoding: 'utf8',
    });
    const path = /^(\S+\.vsix) /m.exec(out)?.[1];
    assert.ok(path, out);
    assert.ok(statSync(path).size < 1024 * 1024, `${statSync(path).size} bytes`);
    const entries = zipEntries(readFileSync(path));
    const task = entries.filter(
      (e) => e.startsWith('tasks/EnsureAcrManagedIdentityPullV1/') && !e.endsWith('/'),
    );
    assert.deepEqual(task.sort(), [
      'tasks/EnsureAcrManagedIdentityPullV1/icon.png',
      'tasks/EnsureAcrManagedIdentityPullV1/index.js',
      'tasks/EnsureAcrManagedIdentityPullV1/task.json',
    ]);
    assert.ok(!entries.some((e) => e.includes('node_modules')));
    assert.ok(entries.includes('extension.vsixmanifest'));
    assert.ok(entries.some((e) => e === 'images/icon.png'));
  });

  it('packages under another publisher for private sharing', () => {
    const out = execFileSync(
      process.execPath,
      [
        join(root, 'scripts', 'package.mjs'),
        '--publisher',
        'my-org-publisher',
        '--extension-id',
        'acr-mi-pull-internal',
      ],
      { cwd: root, encoding: 'utf8' },
    );
    assert.match(out, /my-org-publisher\.acr-mi-pull-internal-[\d.]+\.vsix/);
  });
});
