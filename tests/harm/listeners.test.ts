/**
 * Eleven targets followed at once add ONE abort listener to the job's signal (each target listens to its own
 * child signal), so Node never warns "MaxListenersExceededWarning: 11 abort listeners added to [AbortSignal]".
 * The ArmClient here is a scripted stand-in for Azure (an injected interface, not one of our modules).
 */
import assert from 'node:assert/strict';
import type { ArmClient, ArmResponse } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/client';
import { abortErrorFrom, type Clock } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/clock';
import type { RunContext } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/context';
import type { Logger } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/log';
import { verifyTargets } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/verify';
import { testSettings } from '../harness/settings';

const IMAGE = 'contosoacr.azurecr.io/web:1.0.0';

/** A clock on its own timeline: a wait moves it and yields to the other targets, no real time passes. */
function timelineClock(): Clock {
  let t = Date.UTC(2026, 4, 1, 8, 0, 0);
  return {
    now: () => t,
    async sleep(ms, signal) {
      if (signal?.aborted) throw abortErrorFrom(signal);
      t += ms;
      await new Promise((r) => setImmediate(r));
    },
    timeout: () => ({ signal: new AbortController().signal, clear() {} }),
  };
}

/** Answers like App Service: a running site, a restart, and after a few reads a log with the completed pull. */
function scriptedArm(clock: Clock): ArmClient {
  const reads = new Map<string, number>();
  const respond = async <T>(status: number, body: unknown, text = ''): Promise<ArmResponse<T>> => {
    // Each answer takes a turn, so the eleven targets' requests overlap as they do against Azure.
    await new Promise((r) => setImmediate(r));
    return {
      status,
      body: body as T,
      text,
      headers: new Headers({ date: new Date(clock.now()).toUTCString() }),
    };
  };
  return {
    armUrl: 'https://management.invalid/',
    subscriptionId: '00000000-0000-0000-0000-000000000000',
    getToken: async () => 'token',
    listAll: async () => [],
    async request<T>(method: string, path: string): Promise<ArmResponse<T>> {
      if (method === 'POST' && path.endsWith('/containerlogs')) {
        const n = (reads.get(path) ?? 0) + 1;
        reads.set(path, n);
        if (n < 4) return respond<T>(204, undefined);
        const at = (s: number) => new Date(clock.now() - 3000 + s * 100).toISOString();
        const text = [
          `${at(0)} INFO  - Pulling image: ${IMAGE}`,
          `${at(1)} INFO  - 1.0.0 Pulling from web`,
          `${at(2)} INFO  -  Digest: sha256:${'a'.repeat(64)}`,
          `${at(3)} INFO  -  Status: Downloaded newer image for ${IMAGE}`,
          `${at(4)} INFO  - Pull Image successful, Time taken: 0 Minutes and 1 Seconds`,
        ].join('\n');
        return respond<T>(200, undefined, text);
      }
      return respond<T>(200, { properties: { state: 'Running' } });
    },
  };
}

describe('abort listeners with eleven targets', () => {
  it('adds at most one listener to the job signal, however many targets are followed', async () => {
    const job = new AbortController();
    const signal = job.signal;
    let current = 0;
    let most = 0;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      if (args[0] === 'abort') most = Math.max(most, ++current);
      add(...args);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      if (args[0] === 'abort') current--;
      remove(...args);
    }) as typeof signal.removeEventListener;

    const log: Logger = {
      info: () => {},
      warn: () => {},
      debug: () => {},
      group: () => {},
      endGroup: () => {},
    } as unknown as Logger;
    const clock = timelineClock();
    const ctx: RunContext = {
      settings: testSettings({
        verify: { kind: 'on', timeoutInMs: 30_000, pollIntervalInMs: 20, until: 'imagePulled' },
        restart: 'always',
      }),
      arm: scriptedArm(clock),
      log,
      signal,
      clock,
    };
    const targets = Array.from({ length: 11 }, (_, i) => ({
      target: {
        label: `s${i}`,
        slot: `s${i}`,
        path: `/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/app/slots/s${i}`,
      },
      image: IMAGE,
      defaultHostName: '',
      scmHostName: undefined,
      restartedByWrite: false,
    }));
    const results = await verifyTargets(ctx, targets);
    assert.deepEqual(
      results.map((r) => r.outcome),
      Array(11).fill('verified'),
    );
    assert.equal(most, 1, `at most one abort listener on the job signal at a time (saw ${most})`);
  });
});
