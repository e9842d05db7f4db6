import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

describe('npm run bump', () => {
  let copy = '';
  after(() => {
    if (copy) rmSync(copy, { recursive: true, force: true });
  });

  it('bumps task.json and the extension manifest together, keeping their formatting', () => {
    copy = mkdtempSync(join(tmpdir(), 'bump-'));
    cpSync(join(root, 'scripts'), join(copy, 'scripts'), { recursive: true });
    cpSync(join(root, 'tasks'), join(copy, 'tasks'), { recursive: true });
    cpSync(join(root, 'vss-extension.json'), join(copy, 'vss-extension.json'));
    const before = JSON.parse(
      readFileSync(join(copy, 'tasks/EnsureAcrManagedIdentityPullV1/task.json'), 'utf8'),
    );
    execFileSync(process.execPath, [join(copy, 'scripts', 'bump-version.mjs'), 'patch'], {
      encoding: 'utf8',
    });
    const taskText = readFileSync(join(copy, 'tasks/EnsureAcrManagedIdentityPullV1/task.json'), 'utf8');
    const after = JSON.parse(taskText);
    assert.equal(after.version.Patch, before.version.Patch + 1);
    assert.equal(after.version.Minor, before.version.Minor);
    const manifest = JSON.parse(readFileSync(join(copy, 'vss-extension.json'), 'utf8'));
    const original = JSON.parse(readFileSync(join(root, 'vss-extension.json'), 'utf8'));
    const [ma, mi, pa] = original.version.split('.').map(Number);
    assert.equal(manifest.version, `${ma}.${mi}.${pa + 1}`);
    // Only the version line changed.
    const originalText = readFileSync(join(root, 'tasks/EnsureAcrManagedIdentityPullV1/task.json'), 'utf8');
    assert.equal(taskText.split('\n').length, originalText.split('\n').length);
  });
});
