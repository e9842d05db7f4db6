import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const root = join(__dirname, '..', '..');
const ORIGINAL = 'ensure-acr-mi-pull.ensure-acr-managed-identity-pull';
const TASK = 'tasks/EnsureAcrManagedIdentityPullV1';

/** The files in a zip (a .vsix is one), read through its central directory. */
function unzip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataAt, dataAt + compressedSize);
    files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

/** Runs scripts/package.mjs into a temporary folder (tests write nothing into the checkout). */
function pack(...args: string[]): { out: string; vsix: Map<string, Buffer>; size: number; name: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vsix-test-'));
  try {
    const out = execFileSync(
      process.execPath,
      [join(root, 'scripts', 'package.mjs'), '--output-path', dir, ...args],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    const [name] = readdirSync(dir).filter((f) => f.endsWith('.vsix'));
    assert.ok(name, out);
    const buffer = readFileSync(join(dir, name));
    return { out, vsix: unzip(buffer), size: statSync(join(dir, name)).size, name };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let defaultPack: ReturnType<typeof pack> | undefined;
const packDefault = () => {
  defaultPack ??= pack();
  return defaultPack;
};

describe('npm run package', function () {
  this.timeout(60_000);

  it('writes a small .vsix with the task.json, its icon, one bundled script and its notices, and no node_modules', () => {
    const { vsix, size } = packDefault();
    assert.ok(size < 1024 * 1024, `${size} bytes`);
    const entries = [...vsix.keys()];
    const task = entries.filter((e) => e.startsWith(`${TASK}/`) && !e.endsWith('/'));
    assert.deepEqual(task.sort(), [
      `${TASK}/THIRD-PARTY-NOTICES.txt`,
      `${TASK}/icon.png`,
      `${TASK}/index.js`,
      `${TASK}/task.json`,
    ]);
    assert.ok(!entries.some((e) => e.includes('node_modules')));
    assert.ok(entries.includes('extension.vsixmanifest'));
    assert.ok(entries.some((e) => e === 'images/icon.png'));
  });

  it('ships the license text of every package bundled into index.js', () => {
    const notices = packDefault().vsix.get(`${TASK}/THIRD-PARTY-NOTICES.txt`)?.toString('utf8') ?? '';
    for (const name of ['azure-pipelines-task-lib', '@azure/identity', '@azure/msal-node', 'jsonwebtoken'])
      assert.match(notices, new RegExp(`^- ${name.replace('/', '\\/')} \\d`, 'm'), `${name} is listed`);
    assert.match(notices, /Permission is hereby granted, free of charge/, 'MIT text included');
    assert.match(notices, /Apache License/, 'Apache text included (ecdsa-sig-formatter)');
  });

  it('packages under another publisher: every Marketplace link and the printed identity follow', () => {
    const { out, vsix, name } = pack(
      '--publisher',
      'my-org-publisher',
      '--extension-id',
      'acr-mi-pull-internal',
    );
    assert.match(name, /^my-org-publisher\.acr-mi-pull-internal-[\d.]+\.vsix$/);
    assert.match(out, /Packaged my-org-publisher\.acr-mi-pull-internal [\d.]+/);
    assert.doesNotMatch(out, new RegExp(ORIGINAL));
    const taskJson = JSON.parse(vsix.get(`${TASK}/task.json`)?.toString('utf8') ?? '{}');
    assert.equal(
      taskJson.helpUrl,
      'https://marketplace.visualstudio.com/items?itemName=my-org-publisher.acr-mi-pull-internal',
    );
    for (const [file, data] of vsix) {
      if (/\.(json|md|js|txt|vsixmanifest)$/.test(file))
        assert.ok(!data.toString('utf8').includes(ORIGINAL), `${file} still names ${ORIGINAL}`);
    }
  });
});
