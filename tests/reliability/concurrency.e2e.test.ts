/**
 * Two runs of the task on the same app at the same time, and a run cancelled in the middle of its changes and
 * run again: the emulator must end with exactly one pull grant per principal at registry scope and the intended
 * configuration.
 */
import assert from 'node:assert/strict';
import type { Emulator } from '../emulator/index';
import {
  assertConfigured,
  assertSucceeded,
  describeRun,
  inputs,
  pullGrants,
  run,
  start,
  startRun,
  targetsOf,
  twoSlots,
} from './helpers';

describe('reliability: concurrent and interrupted runs', function () {
  this.timeout(60_000);
  let emu: Emulator | undefined;
  afterEach(async () => {
    await emu?.close();
    emu = undefined;
  });

  it('lets two runs on the same app at the same time both succeed, with one pull grant per principal', async () => {
    // A little ARM latency makes the two runs' observe and apply phases overlap.
    emu = await start(twoSlots({ delays: { armLatencyMs: 40 } }));
    const [a, b] = await Promise.all([
      run(emu, inputs(), { connection: 'wif' }),
      run(emu, inputs(), { connection: 'secret' }),
    ]);
    assertSucceeded(a);
    assertSucceeded(b);
    assertConfigured(emu);
    const principals = targetsOf(emu).map((t) => t.identity.principalId);
    assert.equal(new Set(principals).size, 3, 'one system identity per target, not one per run');
    assert.equal(pullGrants(emu).length, 3, 'exactly one AcrPull at registry scope per principal');
    assert.equal(a.outputs.principalIds, b.outputs.principalIds, 'both runs report the same principals');
  });

  it('lets three user-assigned runs at once share one grant and one identity per target', async () => {
    emu = await start(
      twoSlots({ identities: [{ name: 'uami-web', resourceGroup: 'rg-web' }], delays: { armLatencyMs: 30 } }),
    );
    const uami = emu.state.identities[0];
    assert.ok(uami);
    const extra = inputs({ identityType: 'user', userAssignedIdentityId: uami.id });
    const runs = await Promise.all([
      run(emu, extra),
      run(emu, extra, { connection: 'secret' }),
      run(emu, extra),
    ]);
    for (const r of runs) assertSucceeded(r);
    const grants = pullGrants(emu);
    assert.equal(grants.length, 1, 'one AcrPull for the shared identity');
    assert.equal(grants[0]?.principalId, uami.principalId);
    for (const t of targetsOf(emu)) {
      assert.equal(t.siteConfig.acrUseManagedIdentityCreds, true);
      assert.equal(t.siteConfig.acrUserManagedIdentityID, uami.clientId);
      assert.equal(Object.keys(t.identity.userAssignedIdentities).length, 1);
    }
  });

  it('finishes the job when a run cancelled in the middle of its changes is run again', async function () {
    // Windows cannot send SIGINT to a child process (see cancellation.agent.test.ts).
    if (process.platform === 'win32') this.skip();
    // Slow role assignment writes: the cancellation lands while the apply phase is under way.
    emu = await start(twoSlots({ faults: [{ method: 'PUT', path: '/roleassignments/', latencyMs: 800 }] }));
    const first = startRun(emu, inputs());
    await first.waitForOutput(/##\[group\]Apply/);
    first.child.kill('SIGINT');
    const cancelled = await first.done;
    assert.equal(cancelled.result, 'Cancelled', describeRun(cancelled));
    assert.ok(pullGrants(emu).length < 3, 'the first run was stopped before it finished');

    emu.setFaults([]);
    const again = await run(emu, inputs());
    assertSucceeded(again);
    assertConfigured(emu);
    assert.equal(again.outputs.verificationOutcome, 'verified');
  });
});
