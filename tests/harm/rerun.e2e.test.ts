/**
 * Do no harm, end to end through the built bundle: a re-run of a verified setup writes nothing and restarts
 * nothing (asserted on the emulator's request log), and the restart policy decides every restart.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { baseScenario, type Emulator } from '../emulator/index';
import { emulatorCredential, rawRequest } from '../emulator/sdk-client';
import { runFederated } from '../harness/connections';
import type { TaskRun } from '../harness/run-task';
import { useEmulator } from '../harness/use-emulator';

const scenarios = join(__dirname, '..', 'emulator', 'scenarios');
const FAST = { pollIntervalSeconds: '0.5', timeoutMinutes: '1' };
const DEFAULT_INPUTS = {
  appName: 'contoso-web',
  resourceGroupName: 'rg-web',
  targets: 'all',
  identityType: 'system',
};

/** POST restart/start/stop calls the emulator answered, by target path. */
function restarts(emu: Emulator, from = 0): string[] {
  return emu
    .requests()
    .slice(from)
    .filter((r) => r.method === 'POST' && /\/(restart|start|stop)$/i.test(r.path))
    .map((r) => r.path);
}

function armWrites(emu: Emulator, from = 0): string[] {
  const writes = new Set(emu.writes());
  return emu
    .requests()
    .slice(from)
    .filter((r) => writes.has(r))
    .map((r) => `${r.method} ${r.path}`);
}

function results(run: TaskRun): Record<string, { outcome: string; restarts: number; restart: string }> {
  return JSON.parse(run.outputs.targetResults ?? '{}');
}

describe('do no harm: restarts only where they buy evidence', function () {
  this.timeout(180_000);
  const start = useEmulator();
  let emu: Emulator;

  it('the second run of the default scenario writes nothing and restarts nothing, and verifies from the log', async () => {
    emu = await start(join(scenarios, 'default.json'));
    const first = await runFederated(emu, { ...DEFAULT_INPUTS, ...FAST });
    assert.equal(first.result, 'Succeeded', `${first.message}\n${first.stdout}`);
    assert.ok(Number(first.outputs.changeCount) > 0);
    const mark = emu.requests().length;
    const second = await runFederated(emu, { ...DEFAULT_INPUTS, ...FAST });
    assert.equal(second.result, 'Succeeded', `${second.message}\n${second.stdout}`);
    assert.deepEqual(armWrites(emu, mark), [], 'no ARM write on the re-run');
    assert.deepEqual(restarts(emu, mark), [], 'no restart, start or stop on the re-run');
    assert.equal(second.outputs.changeCount, '0');
    assert.match(second.message, /nothing written, nothing restarted/);
    assert.equal(second.outputs.verificationOutcome, 'verified');
    for (const [target, r] of Object.entries(results(second))) {
      assert.equal(r.outcome, 'verified', target);
      assert.equal(r.restarts, 0, target);
      assert.match(r.restart, /log shows the pull since the last change/, target);
    }
    assert.match(second.summary ?? '', /not restarted: the log shows the pull/);
  });

  it('restart: always restarts every target the run did not write; never restarts none and ends unverified', async () => {
    emu = await start(join(scenarios, 'default.json'));
    const first = await runFederated(emu, { ...DEFAULT_INPUTS, ...FAST });
    assert.equal(first.result, 'Succeeded', first.message);

    let mark = emu.requests().length;
    const always = await runFederated(emu, { ...DEFAULT_INPUTS, ...FAST, restart: 'always' });
    assert.equal(always.result, 'Succeeded', `${always.message}\n${always.stdout}`);
    assert.equal(restarts(emu, mark).length, 3, 'production, staging and qa each restarted once');
    assert.deepEqual(
      armWrites(emu, mark).filter((w) => !/\/restart$/.test(w)),
      [],
    );

    // A target with no pull in its log since its last change: change the app's settings out of band.
    const qa = emu.state.apps.find((a) => a.slot === 'qa');
    assert.ok(qa);
    qa.lastModifiedAt = emu.now();
    mark = emu.requests().length;
    const never = await runFederated(emu, { ...DEFAULT_INPUTS, ...FAST, restart: 'never' });
    assert.deepEqual(restarts(emu, mark), [], 'restart: never restarts nothing');
    assert.equal(never.result, 'SucceededWithIssues', never.message);
    assert.equal(never.outputs.verificationOutcome, 'unverified');
    const r = results(never);
    assert.equal(r.qa?.outcome, 'unverified');
    assert.equal(r.production?.outcome, 'verified');
    assert.match(
      never.summary ?? '',
      /PullNotVerified|az webapp restart --name contoso-web --resource-group rg-web --slot qa/,
    );

    // whenNeeded restarts only that target, once.
    mark = emu.requests().length;
    const needed = await runFederated(emu, { ...DEFAULT_INPUTS, ...FAST });
    assert.equal(needed.result, 'Succeeded', needed.message);
    assert.deepEqual(
      restarts(emu, mark).map((p) => p.split('/').slice(-2).join('/')),
      ['qa/restart'],
    );
    assert.match(results(needed).qa?.restart ?? '', /restarted: no pull since the last change/);
  });

  it('restart: never on a first run configures, restarts nothing itself, and follows the restarts the writes caused', async () => {
    emu = await start(join(scenarios, 'default.json'));
    const run = await runFederated(emu, { ...DEFAULT_INPUTS, ...FAST, restart: 'never' });
    assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stdout}`);
    assert.deepEqual(restarts(emu), [], 'no restart POST: the config writes restarted the targets');
    for (const [target, r] of Object.entries(results(run))) {
      assert.equal(r.outcome, 'verified', target);
      assert.match(r.restart, /not restarted: its configuration change restarted it/, target);
    }
  });

  it('a dry run says which targets would restart and why, and writes nothing', async () => {
    emu = await start(join(scenarios, 'default.json'));
    const mark = emu.requests().length;
    const dry = await runFederated(emu, { ...DEFAULT_INPUTS, ...FAST, dryRun: 'true' });
    assert.equal(dry.result, 'Succeeded', dry.message);
    assert.deepEqual(armWrites(emu, mark), []);
    assert.match(dry.stdout, /\[production\] Restart: will restart by itself when its settings are written/);
    assert.match(dry.summary ?? '', /will restart by itself/);
  });
});

describe('do no harm: a start under way is followed, not cut by a restart', function () {
  this.timeout(180_000);
  const start = useEmulator({ per: 'suite' });
  let emu: Emulator | undefined;

  it('after a deploy step changed the image, a re-run follows the pull it started and restarts nothing', async () => {
    emu = await start(
      {
        ...baseScenario({
          registryTags: ['1.0.0', '2.0.0'],
          delays: { roleAssignmentPropagationSeconds: 5, pullSeconds: 150 },
        }),
        timeScale: 30,
      },
      { timeScale: 30 },
    );
    const inputs = { appName: 'contoso-web', resourceGroupName: 'rg-web', ...FAST };
    const first = await runFederated(emu, inputs);
    assert.equal(first.result, 'Succeeded', first.message);

    // The deploy step: a new image in config/web (which restarts the app), then a request that starts it.
    const { info } = emu;
    const token = await emulatorCredential(info).getToken('https://management.azure.com/.default');
    const site = `${info.armUrl.replace(/\/$/, '')}/subscriptions/${info.subscriptionId}/resourceGroups/rg-web/providers/Microsoft.Web/sites/contoso-web`;
    const patch = await rawRequest(info, `${site}/config/web?api-version=2024-11-01`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token?.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ properties: { linuxFxVersion: 'DOCKER|contosoacr.azurecr.io/web:2.0.0' } }),
    });
    assert.equal(patch.status, 200, patch.body);
    const app = emu.state.apps.find((a) => !a.slot);
    assert.ok(app);
    await rawRequest(info, `https://127.0.0.1:${app.sitePort}/`).catch(() => undefined);
    emu.advanceClock(45); // the pull of 2.0.0 is now under way (on the emulated timeline, no real wait)

    const mark = emu.requests().length;
    const second = await runFederated(emu, inputs);
    assert.equal(second.result, 'Succeeded', `${second.message}\n${second.stdout}`);
    assert.deepEqual(restarts(emu, mark), [], 'the pull the deploy started was not cut by a restart');
    assert.deepEqual(armWrites(emu, mark), []);
    assert.match(results(second).production?.restart ?? '', /a start after the last change was under way/);
  });
});
