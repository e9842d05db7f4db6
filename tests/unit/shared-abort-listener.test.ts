/**
 * Waits side by side on one signal (eight targets' identity waits, retry back-offs on the job's signal) add ONE
 * abort listener to it, so Node never warns "MaxListenersExceededWarning: 11 abort listeners added to
 * [AbortSignal]"; the listener goes with the last wait, and an abort still ends every wait at once.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import {
  abortableSleep,
  systemClock,
  whenAborted,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/clock';

const abortListeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

describe('one abort listener per shared signal', () => {
  it('twenty sleeps on one signal add one listener, and an abort ends them all at once', async () => {
    const job = new AbortController();
    // Hours long: they end by the abort, never by real time.
    const sleeps = Array.from({ length: 20 }, () => systemClock.sleep(3_600_000, job.signal));
    assert.equal(abortListeners(job.signal), 1);
    job.abort(new Error('cancelled'));
    const settled = await Promise.allSettled(sleeps);
    assert.ok(settled.every((s) => s.status === 'rejected'));
    assert.equal(abortListeners(job.signal), 0);
  });

  it('removes the shared listener when the last sleep ends on its own', async () => {
    const job = new AbortController();
    await Promise.all([abortableSleep(0, job.signal), abortableSleep(1, job.signal)]);
    assert.equal(abortListeners(job.signal), 0);
  });

  it('calls each watcher once, and not one that stopped watching', () => {
    const job = new AbortController();
    const calls: string[] = [];
    whenAborted(job.signal, () => calls.push('a'));
    const stopB = whenAborted(job.signal, () => calls.push('b'));
    whenAborted(job.signal, () => calls.push('c'));
    stopB();
    assert.equal(abortListeners(job.signal), 1);
    job.abort();
    job.abort();
    assert.deepEqual(calls, ['a', 'c']);
    // A new watch after the abort gets a fresh listener (callers check `aborted` first, as the clocks do).
    const stop = whenAborted(job.signal, () => calls.push('d'));
    stop();
    assert.equal(abortListeners(job.signal), 0);
  });
});
