/**
 * Issue 24, second wave: no serving target's pull moves onto the identity without proof, and a way back that fails
 * says so. End to end on the emulator with the downtime probe (tests/harness/downtime.ts):
 * - verifyPull: false: a serving target gets its identity and grant, keeps its pull settings and password
 *   (ServingSwitchHeld, not_switched); a target that does not serve keeps the fast path;
 * - the put-back write fails after the ARM retries: put_back_failed (PutBackFailed) with the az command that
 *   restores the previous settings, production untouched, the run Failed;
 * - a serving sidecar app on UserCredentials: identity and grant, its containers' auth untouched (SidecarSwitchHeld).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type App, type EmulatorState, loadScenario, startEmulator } from '../emulator/index';
import { runScenario, type ScenarioRun } from '../harness/scenario-runs';

const dir = join(__dirname, '..', 'emulator', 'scenarios', 'cutover');

const app = (state: EmulatorState, slot?: string): App => {
  const found = state.apps.find((a) => (slot ? a.slot === slot : !a.slot));
  assert.ok(found, `app ${slot ?? 'production'}`);
  return found;
};
const hasPassword = (a: App) => a.appSettings.DOCKER_REGISTRY_SERVER_PASSWORD !== undefined;
const outcomes = (run: ScenarioRun) =>
  JSON.parse(run.task.outputs.targetResults ?? '{}') as Record<string, { outcome: string }>;

async function story(
  file: string,
  inputs: Record<string, string>,
): Promise<{ run: ScenarioRun; state: EmulatorState }> {
  const scenario = loadScenario(join(dir, file));
  const emulator = await startEmulator({ scenario });
  try {
    const [run] = await runScenario(emulator, scenario, {
      overrides: { pollIntervalSeconds: '0.5', timeoutMinutes: '1.5', ...inputs },
    });
    assert.ok(run);
    return { run, state: emulator.state };
  } finally {
    await emulator.close();
  }
}

const downtime = (run: ScenarioRun, label: string) => run.availability?.[label]?.downtimeSeconds;

describe('live cutover, second wave (issue 24): no switch without proof, an honest failed way back', function () {
  this.timeout(240_000);

  it('verifyPull: false: serving targets get identity and grant but keep the flag off and the password (ServingSwitchHeld), downtime 0', async () => {
    const { run, state } = await story('admin-credentials.json', { verifyPull: 'false' });
    assert.equal(
      run.task.result,
      'SucceededWithIssues',
      `${run.task.message}\n${run.task.stdout.slice(-3000)}`,
    );
    for (const label of ['production', 'staging']) {
      assert.equal(outcomes(run)[label]?.outcome, 'not_switched', label);
      assert.equal(downtime(run, label), 0, `${label}: downtime`);
    }
    assert.equal(run.availability?.production?.failedPullLines, 0);
    for (const a of [app(state), app(state, 'staging')]) {
      assert.equal(a.siteConfig.acrUseManagedIdentityCreds, false, 'flag still off');
      assert.ok(hasPassword(a), 'password still there');
      assert.ok(a.identity.principalId, 'identity enabled');
      assert.ok(
        state.roleAssignments.some((r) => r.principalId === a.identity.principalId),
        'AcrPull granted to its identity',
      );
    }
    assert.match(run.task.stdout, /with verifyPull: false nothing would prove/);
    assert.doesNotMatch(
      run.task.stdout,
      /appsettings delete/,
      'no advice to delete a password that still serves',
    );
    assert.match(run.task.summary ?? '', /verifyPull: true/);
    assert.match(run.task.summary ?? '', /placement: afterDeploy/);
  });

  it('verifyPull: false: a target that does not serve (a stale password) keeps the fast path', async () => {
    const { run, state } = await story('stale-password.json', { verifyPull: 'false' });
    assert.equal(run.task.result, 'Succeeded', `${run.task.message}\n${run.task.stdout.slice(-3000)}`);
    for (const a of [app(state), app(state, 'staging')])
      assert.equal(a.siteConfig.acrUseManagedIdentityCreds, true);
    assert.doesNotMatch(run.task.stdout, /ServingSwitchHeld|nothing would prove/);
  });

  it('the put-back write fails after the ARM retries: put_back_failed with the restore command, production untouched, Failed', async () => {
    const { run, state } = await story('put-back-write-fails.json', {});
    assert.equal(run.task.result, 'Failed', run.task.stdout.slice(-3000));
    assert.equal(outcomes(run).staging?.outcome, 'put_back_failed');
    assert.equal(outcomes(run).production?.outcome, 'not_switched');
    assert.equal(run.task.outputs.verificationOutcome, 'put_back_failed');
    assert.match(run.task.message, /PutBackFailed/);
    assert.doesNotMatch(run.task.message, /SwitchPutBack/, 'never claims it was put back');
    const restore =
      'az webapp config set --name contoso-web --resource-group rg-web --slot staging --generic-configurations \'{"acrUseManagedIdentityCreds":false}\'';
    assert.ok(run.task.message.includes(restore), run.task.message);
    // Honest state: staging is left on the identity (the write failed), its password still there; production
    // was never switched and never went down.
    assert.equal(app(state, 'staging').siteConfig.acrUseManagedIdentityCreds, true);
    for (const a of [app(state), app(state, 'staging')]) assert.ok(hasPassword(a), 'password kept');
    assert.equal(app(state).siteConfig.acrUseManagedIdentityCreds, false);
    assert.equal(downtime(run, 'production'), 0);
    assert.equal(run.availability?.production?.failedPullLines, 0);
  });

  it('a serving sidecar app on UserCredentials: identity and grant, its containers untouched (SidecarSwitchHeld), downtime 0', async () => {
    const { run, state } = await story('sidecar-user-credentials.json', {});
    assert.equal(
      run.task.result,
      'SucceededWithIssues',
      `${run.task.message}\n${run.task.stdout.slice(-3000)}`,
    );
    assert.equal(outcomes(run).production?.outcome, 'not_switched');
    assert.equal(downtime(run, 'production'), 0);
    assert.equal(run.availability?.production?.failedPullLines, 0);
    const a = app(state);
    const main = a.siteContainers.find((c) => c.isMain);
    assert.equal(main?.authType, 'UserCredentials', 'auth untouched');
    assert.equal(main?.passwordSecret, 'current-password-1', 'password untouched');
    assert.ok(a.identity.principalId, 'identity enabled');
    assert.ok(
      state.roleAssignments.some((r) => r.principalId === a.identity.principalId),
      'granted',
    );
    assert.match(
      run.task.summary ?? '',
      /cannot put a container's password back|ARM never returns a container's password/,
    );
  });
});
