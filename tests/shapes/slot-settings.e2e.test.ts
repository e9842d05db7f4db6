/**
 * Slot swaps and registry passwords (#26), end to end: `DOCKER_REGISTRY_SERVER_*` app settings move with a swap
 * unless they are marked as deployment slot settings (`config/slotConfigNames`). The task reads that list once per
 * app and warns only about the credentials that would really move; the emulator's swap keeps the sticky ones with
 * their slot.
 */
import assert from 'node:assert/strict';
import { type Emulator, type EmulatorState, startEmulator } from '../emulator/index';
import type { Scenario } from '../emulator/model';
import { baseScenario } from '../emulator/scenario';
import { runScenario, type ScenarioRun } from '../harness/scenario-runs';

const USER = 'DOCKER_REGISTRY_SERVER_USERNAME';
const PASSWORD = 'DOCKER_REGISTRY_SERVER_PASSWORD';

const app = (s: EmulatorState, slot?: string) => {
  const a = s.apps.find((x) => (slot ? x.slot === slot : !x.slot));
  assert.ok(a, `app ${slot ?? 'production'}`);
  return a;
};
const said = (r: ScenarioRun) => `${r.task.message}\n${r.task.warnings.join('\n')}`;
const moveWarnings = (r: ScenarioRun) => r.task.warnings.filter((w) => /with a slot swap/.test(w));

/**
 * Production and staging already pull with their identities, each still carrying its own (stale) registry
 * password; the run keeps them (removeRegistryCredentials off), then a swap runs between two task runs.
 */
function scenario(slotSettingNames: string[] | undefined): Scenario {
  const s = baseScenario({ slots: ['staging'] });
  const site = s.sites?.[0];
  assert.ok(site);
  site.identity = { type: 'SystemAssigned' };
  site.acrUseManagedIdentityCreds = true;
  site.appSettings = { [USER]: 'contosoacr', [PASSWORD]: 'production-password' };
  site.slotOverrides = { staging: { appSettings: { [USER]: 'contosoacr', [PASSWORD]: 'staging-password' } } };
  if (slotSettingNames) site.slotSettingNames = slotSettingNames;
  s.roleAssignments = [
    { principal: 'site:contoso-web', role: 'AcrPull', scope: 'registry:contosoacr' },
    { principal: 'site:contoso-web/staging', role: 'AcrPull', scope: 'registry:contosoacr' },
  ];
  s.runs = [
    { inputs: { targets: 'all', verifyPull: 'false' } },
    { inputs: { targets: 'all', verifyPull: 'false' } },
  ];
  s.events = [{ beforeRun: 2, kind: 'swapSlots', source: 'staging', target: 'production' }];
  return s;
}

async function play(s: Scenario): Promise<{ runs: ScenarioRun[]; state: EmulatorState; lists: number }> {
  let emulator: Emulator | undefined;
  try {
    emulator = await startEmulator({ scenario: { ...s, timeScale: 30 }, timeScale: 30 });
    const runs = await runScenario(emulator, s);
    const lists = emulator
      .requests()
      .filter((r) => r.host === 'arm' && /\/config\/slotconfignames$/i.test(r.path)).length;
    return { runs, state: emulator.state, lists };
  } finally {
    await emulator?.close();
  }
}

describe('slot swaps and sticky registry settings, end to end (#26)', function () {
  this.timeout(240_000);

  it('credentials marked as slot settings: no swap warning, and the swap keeps each slot its own', async () => {
    const { runs, state, lists } = await play(scenario([USER, PASSWORD.toLowerCase()]));
    for (const r of runs) {
      assert.equal(r.task.result, 'Succeeded', said(r));
      assert.deepEqual(moveWarnings(r), [], said(r));
      assert.ok(
        r.task.warnings.some((w) => /still has DOCKER_REGISTRY_SERVER_USERNAME/.test(w)),
        said(r),
      );
    }
    assert.equal(lists, 2, 'one slotConfigNames read per run (the list is the app’s, not per slot)');
    assert.equal(app(state).appSettings[PASSWORD], 'production-password', 'production kept its password');
    assert.equal(app(state, 'staging').appSettings[PASSWORD], 'staging-password');
  });

  it('credentials that are not slot settings: warned for each slot, and the swap moves them', async () => {
    const { runs, state, lists } = await play(scenario(['SOME_OTHER_SETTING']));
    const [first] = runs;
    assert.ok(first);
    const warned = moveWarnings(first);
    assert.equal(warned.length, 2, said(first));
    for (const w of warned) {
      assert.match(
        w,
        /DOCKER_REGISTRY_SERVER_USERNAME and DOCKER_REGISTRY_SERVER_PASSWORD are not deployment slot settings/,
      );
      assert.match(
        w,
        /--slot-settings DOCKER_REGISTRY_SERVER_USERNAME=<value> DOCKER_REGISTRY_SERVER_PASSWORD=<value>/,
      );
    }
    assert.equal(lists, 2);
    assert.equal(
      app(state).appSettings[PASSWORD],
      'staging-password',
      "staging's password moved to production",
    );
    assert.equal(app(state, 'staging').appSettings[PASSWORD], 'production-password');
  });

  it('only the password is sticky: the warning names the user name alone', async () => {
    const { runs, state } = await play(scenario([PASSWORD]));
    const [first] = runs;
    assert.ok(first);
    const warned = moveWarnings(first);
    assert.equal(warned.length, 2, said(first));
    for (const w of warned) {
      assert.match(w, /DOCKER_REGISTRY_SERVER_USERNAME is not a deployment slot setting, so it moves/);
      assert.doesNotMatch(w, /PASSWORD/);
    }
    assert.equal(app(state).appSettings[PASSWORD], 'production-password');
  });

  it('a single target: the slot setting names are not read', async () => {
    const s = scenario(undefined);
    s.runs = [{ inputs: { targets: 'production', verifyPull: 'false' } }];
    s.events = [];
    const { runs, lists } = await play(s);
    assert.deepEqual(moveWarnings(runs[0] as ScenarioRun), []);
    assert.equal(lists, 0);
  });
});
