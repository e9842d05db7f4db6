import assert from 'node:assert/strict';
import { join } from 'node:path';
import { baseScenario, type Emulator, startEmulator } from '../emulator/index';
import { federatedConnection, runFederated, secretConnection } from '../harness/connections';
import { runTask, type TaskRunOptions, visibleLog } from '../harness/run-task';
import { useEmulator } from '../harness/use-emulator';

const DEFAULT_SCENARIO = join(__dirname, '..', 'emulator', 'scenarios', 'default.json');
const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';

describe('the task, end to end against the emulator (built bundle, agent-style environment)', function () {
  this.timeout(90_000);
  const start = useEmulator({ timeScale: 30 });
  let emulator: Emulator;
  beforeEach(async () => {
    emulator = await start(DEFAULT_SCENARIO);
  });

  function options(inputs: Record<string, string>): TaskRunOptions {
    const { connection, job } = federatedConnection(emulator.info);
    return {
      inputs: {
        azureSubscription: connection.id,
        appName: 'contoso-web',
        pollIntervalSeconds: '0.5',
        timeoutMinutes: '1',
        ...inputs,
      },
      connection,
      job,
      caCertPath: emulator.info.caCertPath,
      env: { AGENT_PROXYURL: emulator.info.proxyUrl },
    };
  }

  it('configures production and both slots from nothing and proves the pull on each (the demo story)', async () => {
    const run = await runTask(options({}));
    assert.equal(run.result, 'Succeeded', run.message + run.stderr);
    assert.equal(run.outputs.verificationOutcome, 'verified');
    assert.equal(run.outputs.changeCount, '9');
    const principals = JSON.parse(run.outputs.principalIds ?? '{}') as Record<string, string>;
    assert.deepEqual(Object.keys(principals).sort(), ['production', 'qa', 'staging']);
    assert.equal(new Set(Object.values(principals)).size, 3, 'every slot pulls with its own identity');
    assert.match(run.outputs.registryResourceId ?? '', /\/registries\/contosoacr$/);
    assert.ok(Number(run.outputs.pullSeconds) >= 0);

    // The emulator's world, not our logs, is the proof.
    const targets = emulator.state.apps.filter((a) => a.siteName === 'contoso-web');
    assert.equal(targets.length, 3);
    for (const target of targets) {
      assert.equal(target.siteConfig.acrUseManagedIdentityCreds, true);
      assert.ok(target.identity?.principalId);
      const grants = emulator.state.roleAssignments.filter(
        (a) =>
          a.principalId === target.identity?.principalId &&
          a.roleDefinitionId.toLowerCase().endsWith(ACR_PULL),
      );
      assert.equal(grants.length, 1);
      assert.match(grants[0]!.scope, /\/registries\/contosoacr$/i, 'granted at registry scope, no wider');
    }
    // The story a user reads: the first pulls fail while the grant propagates, then every target is verified.
    assert.match(run.stdout, /unauthorized/);
    for (const label of ['production', 'staging', 'qa'])
      assert.match(run.stdout, new RegExp(`^${label}: verified in`, 'm'));
    assert.match(
      run.summary ?? '',
      /\| production \| `[0-9a-f-]{36}` \| AcrPull at `registry` \| true \| ✅ verified \|/,
    );
    assert.match(run.summary ?? '', /### Actions taken/);
    // Its section on the run page is titled per app (a fleet run shows one section per app), not `summary.md`.
    assert.equal(run.summaryTitle, 'ACR managed identity pull: contoso-web');
  });

  it('writes nothing on a re-run and says so', async () => {
    const first = await runTask(options({ verifyPull: 'false' }));
    assert.equal(first.result, 'Succeeded', first.message);
    const writesBefore = emulator.writes().length;
    const second = await runTask(options({ verifyPull: 'false' }));
    assert.equal(second.result, 'Succeeded', second.message);
    assert.equal(emulator.writes().length, writesBefore, 'the second run wrote nothing');
    assert.equal(second.outputs.changeCount, '0');
    assert.equal(second.outputs.verificationOutcome, 'skipped');
    assert.match(second.message, /already in place/);
  });

  it('prints the plan and changes nothing on a dry run', async () => {
    const run = await runTask(options({ dryRun: 'true' }));
    assert.equal(run.result, 'Succeeded', run.message);
    assert.equal(emulator.writes().length, 0);
    assert.match(run.message, /Dry run: 9 change\(s\) planned for 3 target\(s\)/);
    assert.match(run.stdout, /\[staging\] Turn on the system-assigned identity/);
    assert.match(run.summary ?? '', /### Planned changes \(dry run\)/);
    assert.match(run.summary ?? '', /false \(the plan sets it\)/);
    assert.equal(run.outputs.changeCount, '0');
  });

  it('works the same with a client-secret service connection and groups its log by phase', async () => {
    const connection = secretConnection(emulator.info);
    const run = await runTask({
      inputs: {
        azureSubscription: connection.id,
        appName: 'contoso-web',
        targets: 'production',
        verifyPull: 'false',
      },
      connection,
      caCertPath: emulator.info.caCertPath,
      env: { AGENT_PROXYURL: emulator.info.proxyUrl },
    });
    assert.equal(run.result, 'Succeeded', run.message);
    for (const group of ['Observe contoso-web', 'Plan', 'Apply'])
      assert.ok(run.stdout.includes(`##[group]${group}`), group);
    assert.ok(
      !visibleLog(run).includes(emulator.info.clientSecret),
      'the client secret never reaches the log',
    );
  });
});

describe('a verification that outlives the OIDC assertion and the access token', function () {
  this.timeout(90_000);

  it('signs in again with a fresh assertion and succeeds (no AADSTS700024, no expired-token failure)', async () => {
    const scenario = baseScenario({
      slots: ['staging'],
      // 30 emulated seconds per real second: assertions live 2 s, tokens 4 s, the grant takes 8 s to apply.
      delays: {
        assertionLifetimeSeconds: 60,
        tokenLifetimeSeconds: 120,
        roleAssignmentPropagationSeconds: 240,
      },
    });
    const emulator = await startEmulator({ scenario, timeScale: 30 });
    try {
      const run = await runFederated(emulator, {
        appName: 'contoso-web',
        pollIntervalSeconds: '0.5',
        timeoutMinutes: '1',
      });
      assert.equal(run.result, 'Succeeded', run.message);
      assert.equal(run.outputs.verificationOutcome, 'verified');
      assert.ok(Number(run.outputs.pullSeconds) >= 5, `verification took ${run.outputs.pullSeconds} s`);
      const signIns = emulator.requests().filter((r) => r.host === 'oidc' && r.status === 200).length;
      assert.ok(
        signIns >= 2,
        `the task asked for ${signIns} assertion(s): one per sign-in, so it must have signed in again`,
      );
      assert.doesNotMatch(visibleLog(run), /AADSTS700024|ExpiredAuthenticationToken/);
    } finally {
      await emulator.close();
    }
  });
});
