/**
 * The task against the emulator's strict rules (docs/emulator.md "Strict like Azure"): the built bundle, an
 * agent-style environment, assertions on the emulator's final state, the request log's outcomes and the task
 * result. Each case failed on the task as it was before its fix.
 */
import assert from 'node:assert/strict';
import { baseScenario, type Scenario } from '../emulator/index';
import { federatedConnection } from '../harness/connections';
import { assertSucceeded, describeRun, inputs, run, start } from '../reliability/helpers';

describe('the task against the strict emulator (built bundle)', function () {
  this.timeout(120_000);

  it('US Government: Kudu refuses ARM-audience tokens (403), and the task still reads the log through Kudu', async () => {
    const scenario: Scenario = {
      ...baseScenario({ delays: { siteOperationSeconds: 0 } }),
      cloud: 'AzureUSGovernment',
    };
    const emu = await start(scenario);
    try {
      const { connection } = federatedConnection(emu.info);
      connection.data.environment = 'AzureUSGovernment';
      const r = await run(emu, inputs(), { connection });
      assertSucceeded(r);
      const kudu = emu.requests().filter((q) => q.host === 'kudu');
      assert.ok(
        kudu.some((q) => q.path === '/api/logs/docker' && q.status === 200),
        `Kudu's docker log listing was read with an accepted token:\n${kudu.map((q) => `${q.status} ${q.path}`).join('\n')}\n${describeRun(r)}`,
      );
    } finally {
      await emu.close();
    }
  });

  it('a target switched from a user-assigned identity to the system identity gets its client ID cleared ("" not null)', async () => {
    const clientId = '3f2e1d0c-9b8a-4765-8432-10fedcba9876';
    const base = baseScenario({ delays: { siteOperationSeconds: 0 } });
    const scenario: Scenario = {
      ...base,
      identities: [{ name: 'id-pull', resourceGroup: 'rg-web', clientId }],
      sites: (base.sites ?? []).map((s) => ({
        ...s,
        identity: { type: 'UserAssigned' as const, userAssigned: ['id-pull'] },
        acrUseManagedIdentityCreds: true,
        acrUserManagedIdentityID: clientId,
      })),
    };
    const emu = await start(scenario);
    try {
      const r = await run(emu, inputs({ identityType: 'system' }));
      assertSucceeded(r);
      const app = emu.state.apps.find((a) => !a.slot);
      assert.equal(app?.siteConfig.acrUserManagedIdentityID ?? null, null, 'the stale client ID is gone');
      assert.match(app?.identity.type ?? '', /SystemAssigned/);
      assert.doesNotMatch(r.stdout, /AcrFlagNotApplied/);
    } finally {
      await emu.close();
    }
  });
});
