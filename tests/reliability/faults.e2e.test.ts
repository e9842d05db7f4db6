/**
 * Faults the task must survive, injected by the emulator while the BUILT bundle runs like an agent runs it.
 * Every run ends Succeeded with the intended configuration, or Failed with a message that names what failed and
 * says what to do; never with a stack trace or an unhandled rejection.
 */
import assert from 'node:assert/strict';
import type { Emulator, Fault } from '../emulator/index';
import type { TaskRun } from '../harness/run-task';
import {
  APP,
  assertConfigured,
  assertFailed,
  assertSucceeded,
  type Case,
  describeRun,
  itConcurrently,
  type RunOptions,
  requestsTo,
  twoSlots,
} from './helpers';

const SITE_GET = { method: 'GET', pathRegex: `/sites/${APP}\\?api-version` };
const SLOTS_LIST = { method: 'GET', pathRegex: `/sites/${APP}/slots\\?api-version` };
const ROLE_PUT = { method: 'PUT', path: '/roleassignments/' };
const CONFIG_PATCH = { method: 'PATCH', path: '/config/web' };
const CONFIG_GET = { method: 'GET', path: '/config/web' };
const IDENTITY_PATCH = { method: 'PATCH', pathRegex: `/sites/${APP}(/slots/[a-z]+)?\\?api-version` };
const REGISTRY_LIST = { method: 'GET', pathRegex: 'registries\\?api-version' };
const TOKEN = { host: 'entra' as const, path: '/oauth2/v2.0/token' };
const OIDC = { host: 'oidc' as const, path: '/oidctoken' };
const KUDU = { host: 'kudu' as const };
const CONTAINER_LOGS = { method: 'POST', path: '/containerlogs' };

/** Transient: the run must end Succeeded, every target verified, the configuration exactly as intended. */
function survives(what: string, faults: Fault[], options?: RunOptions): Case {
  return {
    name: `survives ${what}`,
    scenario: { ...twoSlots(), faults },
    ...(options ? { options } : {}),
    check: (r, emu) => {
      assertSucceeded(r);
      assertConfigured(emu);
      assert.equal(r.outputs.verificationOutcome, 'verified', describeRun(r));
      const exercised = emu.state.faults.reduce((n, f) => n + (f.matched ?? 0), 0);
      assert.ok(exercised > 0, 'the fault was exercised');
    },
  };
}

const transient: Case[] = [
  survives('ARM 500 twice on the slot list', [{ ...SLOTS_LIST, status: 500, times: 2 }]),
  survives('ARM 502 twice on PATCH config/web', [{ ...CONFIG_PATCH, status: 502, times: 2 }]),
  survives('ARM 503 twice on the role assignment PUT', [
    {
      ...ROLE_PUT,
      status: 503,
      times: 2,
      body: { error: { code: 'ServiceUnavailable', message: 'Try again.' } },
    },
  ]),
  survives('ARM 500 once on the identity PATCH', [{ ...IDENTITY_PATCH, status: 500, times: 1 }]),
  survives('ARM 504 twice on the registry list', [{ ...REGISTRY_LIST, status: 504, times: 2 }]),
  survives('ARM 429 without Retry-After three times on GET config/web', [
    { ...CONFIG_GET, status: 429, times: 3 },
  ]),
  survives('a dropped connection on the role assignment PUT', [{ ...ROLE_PUT, drop: true, times: 1 }]),
  survives('two dropped connections on GET site', [{ ...SITE_GET, drop: true, times: 2 }]),
  survives('a dropped connection on the identity PATCH', [{ ...IDENTITY_PATCH, drop: true, times: 1 }]),
  survives('a dropped connection on PATCH config/web', [{ ...CONFIG_PATCH, drop: true, times: 1 }]),
  survives('slow ARM answers (1.5 s) on every GET config/web', [{ ...CONFIG_GET, latencyMs: 1500 }]),
  survives('a slow role assignment PUT (1.5 s)', [{ ...ROLE_PUT, latencyMs: 1500 }]),
  survives('Kudu answering 401 to everything (the log is read through containerlogs)', [
    { ...KUDU, status: 401 },
  ]),
  survives('Kudu answering 406 (too many requests) three times', [{ ...KUDU, status: 406, times: 3 }]),
  survives('Kudu dropping two connections', [{ ...KUDU, drop: true, times: 2 }]),
  survives('slow Kudu answers (700 ms)', [{ ...KUDU, latencyMs: 700 }]),
  survives('containerlogs answering 204 (no log yet) four times while Kudu refuses', [
    { ...KUDU, status: 401 },
    { ...CONTAINER_LOGS, status: 204, times: 4 },
  ]),
  survives('containerlogs answering 503 once while Kudu refuses', [
    { ...KUDU, status: 401 },
    { ...CONTAINER_LOGS, status: 503, times: 1 },
  ]),
  survives('the token endpoint answering 500 twice (client secret)', [{ ...TOKEN, status: 500, times: 2 }], {
    connection: 'secret',
  }),
  survives('the token endpoint answering 503 twice (workload identity federation)', [
    { ...TOKEN, status: 503, times: 2 },
  ]),
  survives('the OIDC endpoint failing twice, then succeeding', [{ ...OIDC, status: 500, times: 2 }]),
  survives('the OIDC endpoint dropping the connection once', [{ ...OIDC, drop: true, times: 1 }]),
];

/** Requests whose path ends with `suffix`, in arrival order. */
const exactly = (emu: Emulator, method: string, suffix: RegExp) =>
  emu.requests().filter((q) => q.method === method && suffix.test(q.path));

const persistent: Case[] = [
  {
    name: 'honours Retry-After on an ARM 429: the retry comes no earlier than the server asked',
    scenario: {
      ...twoSlots(),
      faults: [{ ...SITE_GET, status: 429, headers: { 'retry-after': '2' }, times: 1 }],
    },
    timeScale: 1,
    inputs: { verifyPull: 'false' },
    check: (r, emu) => {
      assertSucceeded(r);
      assertConfigured(emu);
      const [throttled, retried] = exactly(emu, 'GET', new RegExp(`/sites/${APP}$`));
      assert.equal(throttled?.status, 429);
      assert.equal(retried?.status, 200);
      // timeScale 1: emulated ms are real ms. A lower bound only: a slow machine is late, never early.
      const gap = retried.at - throttled.at;
      assert.ok(gap >= 1950, `retried ${gap} ms after the 429`);
    },
  },
  {
    name: 'never hammers a route that keeps answering 429: bounded attempts spaced by Retry-After, then a clear failure',
    scenario: { ...twoSlots(), faults: [{ ...SLOTS_LIST, status: 429, headers: { 'retry-after': '1' } }] },
    timeScale: 1,
    inputs: { verifyPull: 'false' },
    check: (r, emu) => {
      assertFailed(r, /slots/);
      assert.match(r.message, /429|throttl/i);
      const attempts = exactly(emu, 'GET', /\/slots$/);
      assert.ok(attempts.length >= 2 && attempts.length <= 6, `${attempts.length} attempts`);
      for (let i = 1; i < attempts.length; i++) {
        const gap = attempts[i]!.at - attempts[i - 1]!.at;
        assert.ok(gap >= 950, `attempt ${i + 1} came ${gap} ms after the one before`);
      }
      assert.deepEqual(emu.writes(), [], 'nothing was written');
    },
  },
  {
    name: 'gives up on role assignment PUTs that keep answering 503, naming the call and what to do',
    scenario: { ...twoSlots(), faults: [{ ...ROLE_PUT, status: 503, headers: { 'retry-after': '1' } }] },
    check: (r, emu) => {
      assertFailed(r, /roleAssignments/i);
      assert.match(r.message, /503/);
      const puts = requestsTo(emu, '/roleassignments/', 'PUT');
      assert.ok(puts.length <= 3 * 6, `${puts.length} PUTs for three principals`);
    },
  },
  {
    name: 'fails naming the sign-in when the token endpoint keeps answering 500',
    scenario: { ...twoSlots(), faults: [{ ...TOKEN, status: 500 }] },
    options: { connection: 'secret' },
    check: (r, emu) => {
      assertFailed(r, /Entra/);
      assert.deepEqual(emu.writes(), []);
      assert.ok(requestsTo(emu, '/oauth2/v2.0/token').length <= 12, 'bounded token attempts');
    },
  },
  {
    name: 'fails naming the OIDC request when Azure DevOps keeps answering 500',
    scenario: { ...twoSlots(), faults: [{ ...OIDC, status: 500, headers: { 'retry-after': '0' } }] },
    check: (r, emu) => {
      assertFailed(r, /OIDC/);
      assert.deepEqual(emu.writes(), []);
      assert.ok(requestsTo(emu, '/oidctoken').length <= 6, 'bounded OIDC attempts');
    },
  },
  {
    name: 'fails naming the log source when neither Kudu nor containerlogs can be read',
    scenario: {
      ...twoSlots(),
      faults: [
        { ...KUDU, status: 401 },
        {
          ...CONTAINER_LOGS,
          status: 403,
          body: {
            error: { code: 'AuthorizationFailed', message: 'The client does not have authorization.' },
          },
        },
      ],
    },
    inputs: { timeoutMinutes: '0.1' },
    check: (r: TaskRun, emu) => {
      assertFailed(r, /containerlogs/);
      assert.match(r.message, /403|AuthorizationFailed/);
      assertConfigured(emu);
    },
  },
];

describe('reliability: injected faults through the real task entry', () => {
  describe('transient faults on every surface the task uses end Succeeded with the intended configuration', () => {
    itConcurrently(transient);
  });
  describe('faults that persist end bounded, Failed, naming the call and the fix', () => {
    itConcurrently(persistent);
  });
});
