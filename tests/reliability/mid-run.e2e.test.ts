/**
 * The world changes while the task runs: a slot deleted between listing and configuring, an app stopped, a
 * registry that disappears, an access token that expires. Changes are timed against the running bundle through
 * the emulator's request log and the task's own output.
 */
import assert from 'node:assert/strict';
import type { Emulator } from '../emulator/index';
import {
  assertClean,
  assertConfigured,
  assertFailed,
  assertSucceeded,
  type Case,
  describeRun,
  itConcurrently,
  twoSlots,
  until,
} from './helpers';

const seen = (emu: Emulator, method: string, path: RegExp) =>
  emu.requests().some((q) => q.method === method && path.test(q.path));

const dropSlot = (emu: Emulator, slot: string) => {
  emu.state.apps = emu.state.apps.filter((a) => a.slot !== slot);
};

const stop = (emu: Emulator, slot?: string) => {
  for (const a of emu.state.apps.filter((x) => x.slot === slot)) {
    a.state = 'Stopped';
    a.runtime.phase = 'stopped';
  }
};

/** When the token-expiry case jumped the emulated clock (emulated ms). */
let jumpedAt: number | undefined;

const cases: Case[] = [
  {
    name: 'names a slot deleted between listing and configuring, and says to run again',
    // The identity PATCH of qa waits a second in the emulator; the slot is deleted meanwhile.
    scenario: twoSlots({
      faults: [{ method: 'PATCH', pathRegex: '/slots/qa\\?api-version', latencyMs: 1000 }],
    }),
    during: async (emu) => {
      await until(() => seen(emu, 'PATCH', /\/slots\/qa$/));
      dropSlot(emu, 'qa');
    },
    check: (r) => {
      assertFailed(r, /qa/);
      assert.match(r.message, /not found|no longer|deleted/i);
      assert.match(r.message, /Fix: .*(re-run|run the task again|again)/is);
      assert.doesNotMatch(r.message, /support case/);
    },
  },
  {
    name: 'names a slot deleted while it is being observed, before anything is written',
    scenario: twoSlots({ faults: [{ method: 'GET', pathRegex: '/slots/qa/config/web', latencyMs: 1000 }] }),
    during: async (emu) => {
      await until(() => seen(emu, 'GET', /\/slots\/qa\/config\/web$/));
      dropSlot(emu, 'qa');
    },
    check: (r, emu) => {
      assertFailed(r, /qa/);
      assert.doesNotMatch(r.message, /support case/);
      assert.deepEqual(emu.writes(), [], 'nothing written');
    },
  },
  {
    name: 'configures a stopped slot, reports it stopped (not a failure) at once, and does not start it',
    scenario: twoSlots(),
    prepare: (emu) => stop(emu, 'staging'),
    inputs: { timeoutMinutes: '0.2' },
    check: (r, emu) => {
      assert.equal(r.result, 'SucceededWithIssues', r.message);
      assert.match(r.message, /\[staging\] The app is stopped/);
      assert.match(r.summary ?? '', /az webapp start .*--slot staging/);
      assert.equal(r.outputs.verificationOutcome, 'stopped');
      assert.equal(JSON.parse(r.outputs.targetResults ?? '{}').staging?.outcome, 'stopped');
      assert.ok(
        !seen(emu, 'POST', /\/slots\/staging\/(restart|start)$/),
        'a stopped slot is neither restarted nor started',
      );
      assertConfigured(emu);
    },
  },
  {
    name: 'fails a stopped slot when the container must have started (verifyUntil: containerStarted)',
    scenario: twoSlots(),
    prepare: (emu) => stop(emu, 'staging'),
    inputs: { timeoutMinutes: '0.2', verifyUntil: 'containerStarted' },
    check: (r, emu) => {
      assertFailed(r, /staging/);
      assert.match(r.message, /stopped/i);
      assert.match(r.message, /az webapp start .*--slot staging/);
      assertConfigured(emu);
    },
  },
  {
    name: 'says so when a slot is stopped after its configuration was written, while the task follows it',
    scenario: twoSlots(),
    inputs: { timeoutMinutes: '0.1' },
    // In process the emulator's clock stands still between the task's waits: the slot is stopped before the pull
    // its configuration write started can be written to the log (a scenario stopSite event applies what is due
    // first, so it would let that pull finish).
    during: async (emu) => {
      await until(() => seen(emu, 'PATCH', /\/slots\/staging\/config\/web$/));
      stop(emu, 'staging');
    },
    check: (r, emu) => {
      assert.equal(r.result, 'SucceededWithIssues', r.message);
      assert.match(r.message, /\[staging\] The app is stopped/);
      assert.match(r.summary ?? '', /az webapp start .*--slot staging/);
      assert.equal(emu.state.apps.find((a) => a.slot === 'qa')?.siteConfig.acrUseManagedIdentityCreds, true);
    },
  },
  {
    name: 'names a registry that disappears while the task looks for it, before anything is written',
    scenario: twoSlots({
      faults: [{ method: 'GET', pathRegex: 'registries\\?api-version', latencyMs: 800 }],
    }),
    during: async (emu) => {
      await until(() => seen(emu, 'GET', /\/registries$/));
      emu.state.registries = [];
    },
    check: (r, emu) => {
      assertFailed(r, /contosoacr/);
      assert.deepEqual(emu.writes(), [], 'nothing written');
    },
  },
  {
    name: 'renews an access token that expires mid-run instead of failing',
    // Tokens live 400 emulated seconds; the clock jumps past that while the pulls are followed. The task's clock is
    // the emulator's, so the jump (20 s at time scale 30) is part of the run's time too: the timeout leaves room.
    scenario: twoSlots({ delays: { tokenLifetimeSeconds: 400, pullSeconds: 30 } }),
    inputs: { timeoutMinutes: '1' },
    during: async (emu, task) => {
      await task.waitForOutput(/next check in/);
      emu.advanceClock(600);
      jumpedAt = emu.now();
    },
    check: (r, emu) => {
      assertClean(r);
      assertSucceeded(r);
      assertConfigured(emu);
      // Either ARM refused the old token and the task signed in again, or the task asked Entra for a token after
      // the clock jumped (Kudu's App Service audience is first needed then): both are a renewal mid-run.
      const expired = emu.requests().filter((q) => q.host === 'arm' && q.status === 401);
      const renewed = emu.requests().filter((q) => q.host === 'entra' && q.at >= (jumpedAt ?? Infinity));
      assert.ok(
        expired.length > 0 || renewed.length > 0,
        `the task signed in again after the tokens expired:
${describeRun(r)}`,
      );
    },
  },
  {
    name: 'runs through with tokens shorter than the renewal margin (renewed, never failed)',
    scenario: twoSlots({ delays: { tokenLifetimeSeconds: 60, assertionLifetimeSeconds: 60 } }),
    check: (r, emu) => {
      assertSucceeded(r);
      assertConfigured(emu);
      assert.ok(
        emu.requests().filter((q) => /\/oauth2\/v2\.0\/token$/.test(q.path)).length >= 2,
        'more than one token was issued',
      );
    },
  },
];

describe('reliability: the world changes mid-run', () => {
  itConcurrently(cases, 7);
});
