/**
 * An org admin who runs `npm run package` without `--publisher` gets a .vsix only the placeholder publisher can
 * upload: the script must say so, and how to fix it; `--repository` points the manifest's links at their own
 * repository (issue #29 item 15).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const root = join(__dirname, '..', '..');

/** One file of a zip, found through its central directory. */
function fileOf(zip: Buffer, wanted: RegExp): string | undefined {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < zip.readUInt16LE(end + 10); i++) {
    const nameLength = zip.readUInt16LE(at + 28);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const local = zip.readUInt32LE(at + 42);
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataAt, dataAt + zip.readUInt32LE(at + 20));
    if (wanted.test(name))
      return (zip.readUInt16LE(at + 10) === 8 ? inflateRawSync(data) : Buffer.from(data)).toString('utf8');
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return undefined;
}

function pack(...args: string[]): { stderr: string; manifest: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vsix-identity-'));
  try {
    const r = spawnSync(
      process.execPath,
      [join(root, 'scripts', 'package.mjs'), '--output-path', dir, ...args],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const [name] = readdirSync(dir).filter((f) => f.endsWith('.vsix'));
    assert.ok(name, r.stdout);
    return {
      stderr: r.stderr,
      manifest: fileOf(readFileSync(join(dir, name)), /^extension\.vsixmanifest$/) ?? '',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('npm run package: whose extension it is', function () {
  this.timeout(120_000);

  it('warns, with the command, when the publisher is still the placeholder', () => {
    const { stderr, manifest } = pack();
    assert.match(
      stderr,
      /WARNING: packaged under the placeholder publisher 'ensure-acr-mi-pull': only that publisher can upload/,
    );
    assert.match(stderr, /npm run package -- --publisher <your-publisher-id>/);
    assert.match(stderr, /the repository and support links are the placeholder/);
    assert.match(manifest, /github\.com\/ensure-acr-mi-pull\/ensure-acr-managed-identity-pull/);
  });

  it('is quiet with --publisher and --repository, and the links follow the repository', () => {
    const { stderr, manifest } = pack(
      '--publisher',
      'my-org',
      '--repository',
      'https://github.com/my-org/acr-pull/',
    );
    assert.doesNotMatch(stderr, /WARNING|placeholder/);
    assert.match(manifest, /https:\/\/github\.com\/my-org\/acr-pull\/issues/);
    assert.doesNotMatch(manifest, /ensure-acr-mi-pull\/ensure-acr-managed-identity-pull/);
  });
});
