import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(__dirname, '..', '..');
const run = promisify(execFile);

/** `npm run demo` is the first thing a new user runs: it must tell the whole story and exit with the result. */
describe('npm run demo', function () {
  this.timeout(120_000);

  it('configures the app and both slots, waits out the propagation and verifies every pull', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'demo.ts')], {
      cwd: root,
    });
    // The demo's clock is not Azure's: it says so before "verified in 6 s" can be misread.
    assert.match(
      stdout,
      /Demo clock: the emulated Azure runs 30x faster than real time .* polls every 1 s and times out after 2 min/,
    );
    assert.match(stdout, /▼ Plan/);
    assert.match(stdout, /▼ Apply/);
    assert.match(stdout, /unauthorized/, 'the first pulls fail while the role propagates');
    for (const target of ['production', 'staging', 'qa'])
      assert.match(stdout, new RegExp(`^${target}: verified in`, 'm'));
    assert.match(stdout, /Run summary/);
    assert.match(stdout, /Result: Succeeded/);
  });

  it('shows the plan only with --dry-run', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts', 'demo.ts'), '--dry-run'],
      { cwd: root },
    );
    assert.match(stdout, /Dry run: 9 change\(s\) planned/);
    assert.match(stdout, /Result: Succeeded in [\d.]+ s, 0 ARM writes/);
    assert.doesNotMatch(stdout, /▼ Verify/);
  });

  it('--runs 2 runs the task twice on one emulator and prints one line per run; the second run changes nothing', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts', 'demo.ts'), '--runs', '2'],
      { cwd: root },
    );
    assert.match(
      stdout,
      /^Run 1: Succeeded, [1-9]\d* ARM writes, \d+ restarts, \d+ requests, downtime \d+ s.*$/m,
    );
    assert.match(stdout, /^Run 2: Succeeded, 0 ARM writes, 0 restarts, [1-9]\d* requests, downtime 0 s$/m);
    assert.match(stdout, /Result: Succeeded in [\d.]+ s, 0 ARM writes/);
  });

  it('signs in with every kind of service connection a scenario names', async () => {
    const kinds = {
      'service-principal-secret.json': 'ServicePrincipal',
      'service-principal-certificate.json': 'ServicePrincipal',
      'managed-identity.json': 'ManagedServiceIdentity',
    };
    await Promise.all(
      Object.entries(kinds).map(async ([file, scheme]) => {
        const scenario = join(root, 'tests', 'emulator', 'scenarios', file);
        const { stdout } = await run(
          process.execPath,
          ['--import', 'tsx', join(root, 'scripts', 'demo.ts'), '--scenario', scenario],
          { cwd: root },
        );
        assert.match(stdout, new RegExp(`^Service connection: ${scheme}$`, 'm'), file);
        assert.match(stdout, /^Run 1: Succeeded, /m, file);
        assert.match(stdout, /Result: Succeeded/, file);
      }),
    );
  });

  it('refuses a --runs that is not a run count', async () => {
    const failure = await run(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts', 'demo.ts'), '--runs', 'two'],
      { cwd: root },
    ).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(failure?.code, 2);
    assert.match(failure?.stderr ?? '', /--runs: expected a whole number of runs >= 1, got 'two'/);
  });

  it('runs another scenario file and exits non-zero when the task fails', async () => {
    const scenario = join(root, 'tests', 'emulator', 'scenarios', 'missing-tag.json');
    const failure = await run(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts', 'demo.ts'), '--scenario', scenario],
      {
        cwd: root,
      },
    ).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    assert.ok(failure, 'the demo exits with the task result');
    assert.equal(failure.code, 1);
    assert.match(failure.stdout, /not_found/);
    // One messages style: each target named once, causes in words, a next step after every "Fix:".
    assert.doesNotMatch(failure.stdout, /\[(\w+)\] \1:|\*\*(\w+)\*\*: \2:/, 'a target named twice');
    assert.doesNotMatch(failure.stdout, /failed: (not_found|unauthorized|network|interrupted|unknown)\b/);
    assert.match(failure.stdout, /failed: the image or tag does not exist in the registry/);
    for (const fix of failure.stdout.matchAll(/Fix: (.*)/g))
      assert.ok((fix[1] ?? '').trim().length > 10, fix[0]);
  });
});
