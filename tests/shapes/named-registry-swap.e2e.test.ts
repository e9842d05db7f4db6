/**
 * The registry input set and `targets: all`, with a slot on a second registry (#26): every slot must be able to pull
 * every image a swap can bring it, so the second ACR is a swap registry (granted where the connection can, named
 * where it cannot) rather than a stop. The stop stays where it protects a pull: a target whose own image is on a
 * registry the task cannot grant it (docs/azure-behaviour.md#slot-swaps; the harm suite keeps the wrong-registry stop).
 */
import assert from 'node:assert/strict';
import { type Emulator, type EmulatorState, startEmulator } from '../emulator/index';
import type { Scenario } from '../emulator/model';
import { baseScenario } from '../emulator/scenario';
import { runScenario, type ScenarioRun } from '../harness/scenario-runs';

const FAST = { pollIntervalSeconds: '0.5', timeoutMinutes: '1' };
const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';
const INPUTS = { targets: 'all', registry: 'contosoacr.azurecr.io' };

const app = (s: EmulatorState, slot?: string) => {
  const a = s.apps.find((x) => (slot ? x.slot === slot : !x.slot));
  assert.ok(a, `app ${slot ?? 'production'}`);
  return a;
};
const pullScopes = (s: EmulatorState, principalId: string | undefined) =>
  s.roleAssignments
    .filter((g) => !!principalId && g.principalId === principalId && g.roleDefinitionId.endsWith(ACR_PULL))
    .map((g) => g.scope);
const said = (r: ScenarioRun) => `${r.task.message}\n${r.task.warnings.join('\n')}`;

/** Production on contosoacr (the named registry); staging runs web:2.0.0 from stagingacr, in another group. */
function twoRegistries(): Scenario {
  const s = baseScenario({ slots: ['staging'] });
  s.resourceGroups = [...(s.resourceGroups ?? []), { name: 'rg-staging', location: 'westeurope' }];
  s.registries = [
    ...(s.registries ?? []),
    { name: 'stagingacr', resourceGroup: 'rg-staging', repositories: { web: ['2.0.0'] } },
  ];
  const site = s.sites?.[0];
  assert.ok(site);
  site.slotOverrides = { staging: { image: 'stagingacr.azurecr.io/web:2.0.0' } };
  s.runs = [{ inputs: INPUTS }];
  return s;
}

async function play(s: Scenario): Promise<{ run: ScenarioRun; state: EmulatorState; writes: string[] }> {
  let emulator: Emulator | undefined;
  try {
    emulator = await startEmulator({ scenario: { ...s, timeScale: 30 }, timeScale: 30 });
    const [run] = await runScenario(emulator, s, { overrides: FAST });
    assert.ok(run);
    emulator.advanceClock(60);
    return { run, state: emulator.state, writes: emulator.writes().map((w) => `${w.method} ${w.path}`) };
  } finally {
    await emulator?.close();
  }
}

describe('registry input with slots on two registries (#26)', function () {
  this.timeout(240_000);

  it('the second ACR is a swap registry: both identities are granted on both registries, and both slots verify', async () => {
    const { run, state } = await play(twoRegistries());
    assert.equal(run.task.result, 'Succeeded', said(run));
    assert.doesNotMatch(said(run), /ImageOnOtherRegistry/);
    const contoso = state.registries.find((r) => r.name === 'contosoacr')?.id;
    const staging = state.registries.find((r) => r.name === 'stagingacr')?.id;
    for (const slot of [undefined, 'staging']) {
      const scopes = pullScopes(state, app(state, slot).identity.principalId);
      assert.ok(scopes.includes(contoso as string), `${slot ?? 'production'} on contosoacr`);
      assert.ok(scopes.includes(staging as string), `${slot ?? 'production'} on stagingacr`);
      assert.equal(app(state, slot).siteConfig.acrUseManagedIdentityCreds, true);
    }
    const outcomes = JSON.parse(run.task.outputs.targetResults ?? '{}') as Record<
      string,
      { outcome: string }
    >;
    assert.equal(outcomes.staging?.outcome, 'verified', said(run));
    assert.equal(outcomes.production?.outcome, 'verified', said(run));
  });

  it('the connection cannot grant on the second ACR: staging’s own pull is protected, nothing is written', async () => {
    const s = twoRegistries();
    s.caller = {
      roles: [
        { role: 'Owner', scope: 'rg:rg-web' },
        { role: 'Reader', scope: 'rg:rg-staging' },
      ],
    };
    const { run, state, writes } = await play(s);
    assert.equal(run.task.result, 'Failed', said(run));
    assert.match(run.task.message, /\(ImageOnOtherRegistry\)/);
    assert.match(run.task.message, /cannot grant staging's identity a pull on stagingacr\.azurecr\.io/);
    assert.match(run.task.message, /az role assignment create[^\n]*stagingacr/);
    assert.deepEqual(writes, [], 'nothing written');
    for (const a of state.apps) assert.equal(a.siteConfig.acrUseManagedIdentityCreds, false);
  });
});
