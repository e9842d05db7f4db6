/**
 * Azure's errors as the user sees them, through the built bundle: the phase mapper (src/phase-errors.ts) turns what
 * Azure answers into one code and one remedy, and a failure mid-apply still reports the writes made before it.
 */
import assert from 'node:assert/strict';
import { federatedConnection } from '../harness/connections';
import { assertFailed, describeRun, inputs, requestsTo, run, start, twoSlots } from '../reliability/helpers';

/** A subscription that exists nowhere in the emulated cloud. */
const HIDDEN_SUBSCRIPTION = '6a4d2c1b-0e9f-4a8b-8c7d-1e2f3a4b5c6d';

describe('Azure errors as task errors (built bundle)', function () {
  this.timeout(120_000);

  it('a subscription the connection cannot see is AUTH_SUBSCRIPTION_NOT_VISIBLE, naming the principal and the role to grant', async () => {
    const emu = await start(twoSlots());
    try {
      const { connection } = federatedConnection(emu.info);
      connection.data.subscriptionId = HIDDEN_SUBSCRIPTION;
      const r = await run(emu, inputs({ verifyPull: 'false' }), { connection });
      assertFailed(r, /\(AUTH_SUBSCRIPTION_NOT_VISIBLE\)/);
      assert.match(
        r.message,
        new RegExp(`Subscription ${HIDDEN_SUBSCRIPTION} is not visible to app ${emu.info.clientId}`),
      );
      assert.match(
        r.message,
        new RegExp(`Fix: Grant app ${emu.info.clientId} a role on subscription ${HIDDEN_SUBSCRIPTION}`),
      );
      assert.deepEqual(emu.writes(), [], 'nothing was written');
    } finally {
      await emu.close();
    }
  });

  it('an Azure failure in apply is AzureRequestFailed with the remedy for its status, and the writes made before it are still reported', async () => {
    const emu = await start(
      twoSlots({
        faults: [
          {
            method: 'PUT',
            path: '/roleassignments/',
            status: 503,
            headers: { 'retry-after': '1' },
            body: { error: { code: 'ServiceUnavailable', message: 'Try again.' } },
          },
        ],
      }),
    );
    try {
      const r = await run(emu, inputs({ verifyPull: 'false' }));
      assertFailed(r, /\(AzureRequestFailed\)/);
      assert.match(r.message, /Azure refused PUT .*roleAssignments.*: 503 ServiceUnavailable/i);
      assert.match(r.message, /Fix: Azure kept failing on every attempt\. Run the task again later/);
      // The identities were turned on before the grants failed: those writes are the run's, and a later stage
      // reading the outputs must see them.
      const identityWrites = requestsTo(emu, '/sites/', 'PATCH').filter((q) => q.status < 300);
      assert.ok(identityWrites.length > 0, `identities were written first\n${describeRun(r)}`);
      assert.ok(
        Number(r.outputs.changeCount) >= 3,
        `changeCount ${r.outputs.changeCount}\n${describeRun(r)}`,
      );
      const principals = JSON.parse(r.outputs.principalIds ?? '{}') as Record<string, string>;
      assert.deepEqual(Object.keys(principals).sort(), ['production', 'qa', 'staging'], describeRun(r));
    } finally {
      await emu.close();
    }
  });
});
