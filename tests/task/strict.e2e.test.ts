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
});
