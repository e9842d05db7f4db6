/**
 * Answers the REST spec allows but the emulator used not to give, through the BUILT task (issue #28): VNet image
 * pull named only the old way or only the new way (Web 2024-11-01), the identity PATCH answered 200 instead of 202
 * (with and without the new principal in the body), and an operation that ends `TimedOut`. Outcomes are the
 * task's result and the emulator's world.
 */
import assert from 'node:assert/strict';
import { baseScenario, type Emulator, type Scenario } from '../emulator/index';
import type { WireOptions } from '../emulator/model';
import { runFederated } from '../harness/connections';
import type { TaskRun } from '../harness/run-task';
import { useEmulator } from '../harness/use-emulator';

const SUBNET =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-web/providers/Microsoft.Network/virtualNetworks/vnet/subnets/apps';

describe('spec-allowed answers, end to end through the built task', function () {
  this.timeout(90_000);
  const start = useEmulator({ timeScale: 30 });
  let emulator: Emulator | undefined;

  async function run(scenario: Scenario, inputs: Record<string, string> = {}): Promise<TaskRun> {
    emulator = await start(scenario);
    return runFederated(emulator, {
      appName: 'contoso-web',
      pollIntervalSeconds: '0.5',
      timeoutMinutes: '1',
      ...inputs,
    });
  }

  const shapes: NonNullable<WireOptions['vnetImagePullShape']>[] = [
    'vnetImagePullEnabled',
    'outboundVnetRouting',
    'both',
  ];
  for (const shape of shapes) {
    it(`configures an app behind a firewalled registry that pulls over its VNet, named as ${shape}`, async () => {
      const s = baseScenario();
      s.wire = { vnetImagePullShape: shape };
      s.registries![0]!.networkRuleSet = { defaultAction: 'Deny', ipRules: [] };
      s.sites![0]!.vnetImagePullEnabled = true;
      s.sites![0]!.virtualNetworkSubnetId = SUBNET;
      s.sites![0]!.identity = { type: 'SystemAssigned' };
      const r = await run(s);
      assert.doesNotMatch(r.message, /RegistryNetworkRestricted/);
      assert.equal(r.result, 'Succeeded', r.message);
      const app = emulator!.state.apps[0]!;
      assert.equal(app.siteConfig.acrUseManagedIdentityCreds, true);
    });
  }

  const patchAnswers: NonNullable<WireOptions['identityPatch']>[] = ['ok', 'ok-without-principal'];
  for (const answer of patchAnswers) {
    it(`turns the identity on when the PATCH answers 200 (${answer}) and grants that principal`, async () => {
      const s = baseScenario();
      s.wire = { identityPatch: answer };
      const r = await run(s);
      assert.equal(r.result, 'Succeeded', r.message);
      const patch = emulator!
        .requests()
        .find((q) => q.method === 'PATCH' && /\/sites\/contoso-web$/i.test(q.path));
      assert.equal(patch?.status, 200, 'the identity PATCH was answered 200');
      const app = emulator!.state.apps[0]!;
      assert.ok(app.identity.principalId, 'the site has a system principal');
      const grant = emulator!.state.roleAssignments.find((a) => a.principalId === app.identity.principalId);
      assert.ok(grant, 'the new principal holds the pull role');
      assert.equal(
        emulator!.state.siteOperations.length,
        0,
        'no long-running operation was started for a 200',
      );
    });
  }

  it('stops at once, naming the status, when the identity operation ends TimedOut', async () => {
    const s = baseScenario({ delays: { siteOperationSeconds: 3600 } });
    s.faults = [
      { host: 'arm', method: 'GET', path: '/operationresults/', status: 200, body: { status: 'TimedOut' } },
    ];
    const started = Date.now();
    const r = await run(s);
    assert.equal(r.result, 'Failed', r.message);
    assert.match(r.message, /TimedOut/);
    const polls = emulator!.requests().filter((q) => /\/operationresults\//i.test(q.path));
    assert.equal(polls.length, 1, 'one status read, then the wait ends');
    assert.ok(Date.now() - started < 60_000, 'it did not poll to its 5-minute cap');
  });
});
