/**
 * Every example scenario, run through the built task as a pipeline would run it: each ends the way its
 * description promises, with the right result, code and fix. These scenarios are also what `npm run demo --
 * --scenario FILE` runs, so the documented examples cannot rot.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index';
import { runFederated } from '../harness/connections';
import type { TaskRun } from '../harness/run-task';

const dir = join(__dirname, '..', 'emulator', 'scenarios');

interface Expectation {
  result: TaskRun['result'];
  /** Extra checks on the run (message, outputs, summary). */
  check?: (run: TaskRun) => void;
  /** Shorter verification for scenarios that can only end by timing out. */
  inputs?: Record<string, string>;
}

const expectations: Record<string, Expectation> = {
  'default.json': { result: 'Succeeded' },
  'slots.json': {
    result: 'Succeeded',
    check: (r) => assert.equal(Object.keys(JSON.parse(r.outputs.principalIds ?? '{}')).length, 5),
  },
  'abac-registry.json': {
    result: 'Succeeded',
    check: (r) => assert.match(r.summary ?? '', /Container Registry Repository Reader at `registry`/),
  },
  'user-assigned.json': {
    result: 'Succeeded',
    check: (r) => assert.equal(new Set(Object.values(JSON.parse(r.outputs.principalIds ?? '{}'))).size, 1),
  },
  'registry-other-rg.json': { result: 'Succeeded' },
  'registry-other-subscription.json': {
    result: 'Succeeded',
    check: (r) => assert.match(r.outputs.registryResourceId ?? '', /^\/subscriptions\/9c8b7a6d-/),
  },
  'sidecar.json': {
    result: 'Succeeded',
    check: (r) => assert.match(r.summary ?? '', /per container \(sidecar\)/),
  },
  'windows.json': { result: 'Succeeded' },
  'platform2024.json': { result: 'Succeeded' },
  'stale-admin-credentials.json': {
    result: 'Succeeded',
    check: (r) =>
      assert.match(r.stdout, /removed DOCKER_REGISTRY_SERVER_USERNAME, DOCKER_REGISTRY_SERVER_PASSWORD/),
  },
  'missing-tag.json': {
    result: 'Failed',
    check: (r) => {
      assert.match(r.message, /web:2\.0\.0/);
      assert.match(r.message, /\(ImageNotFound\)\nFix: /);
      assert.equal(r.outputs.verificationOutcome, 'pull_failed');
    },
  },
  'firewall-deny.json': {
    result: 'Failed',
    check: (r) => {
      // Known before any write: the registry is closed to every public address and the app does not pull over VNet.
      assert.match(r.message, /\(RegistryNetworkRestricted\)\nFix: .*vnetImagePullEnabled=true/);
      assert.equal(r.outputs.changeCount, '0');
      assert.equal(r.outputs.verificationOutcome, 'not_run');
    },
  },
  'no-role-rights.json': {
    result: 'Failed',
    check: (r) => {
      assert.match(r.message, /\(RoleAssignmentForbidden\)/);
      assert.match(
        r.message,
        /az role assignment create --assignee-object-id \S+ --assignee-principal-type ServicePrincipal --role/,
      );
      assert.equal(r.outputs.changeCount, '0');
    },
  },
  'arm-token-disabled.json': {
    result: 'Failed',
    check: (r) => {
      // Known before any write: the fix is the message, and nothing was switched onto a credential that cannot pull.
      assert.match(r.message, /\(ArmTokenAuthDisabled\)\nFix: az acr config authentication-as-arm update/);
      assert.equal(r.outputs.changeCount, '0');
      assert.equal(r.outputs.verificationOutcome, 'not_run');
    },
  },
};

async function runScenario(file: string, expected: Expectation): Promise<TaskRun> {
  const scenario = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { inputs: Record<string, string> };
  const emulator = await startEmulator({ scenario: join(dir, file) });
  try {
    return await runFederated(emulator, {
      ...scenario.inputs,
      pollIntervalSeconds: '0.5',
      timeoutMinutes: '1',
      ...expected.inputs,
    });
  } finally {
    await emulator.close();
  }
}

describe('every example scenario, through the built task', function () {
  this.timeout(120_000);
  // The runs mostly wait on emulated propagation: run them side by side, a few at a time, and check each in its own test.
  const runs = new Map<string, Promise<TaskRun>>();
  before(() => {
    const queue = Object.entries(expectations);
    const lanes = Array.from({ length: 4 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [file, expected] = next;
        const run = runScenario(file, expected);
        runs.set(file, run);
        await run.catch(() => undefined);
      }
    });
    // Every promise is registered synchronously up to the first await of each lane; the rest as lanes free up.
    void Promise.all(lanes);
  });

  it('has an expectation for every scenario file', () => {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    assert.deepEqual(files, Object.keys(expectations).sort());
  });

  for (const [file, expected] of Object.entries(expectations)) {
    it(`${file}: ${expected.result}`, async () => {
      while (!runs.has(file)) await new Promise((r) => setTimeout(r, 50));
      const run = await runs.get(file)!;
      assert.equal(run.result, expected.result, `${run.message}\n${run.stderr}`);
      assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at \S+ \(/, 'no stack trace');
      expected.check?.(run);
    });
  }
});
