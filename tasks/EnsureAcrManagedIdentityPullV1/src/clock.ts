/**
 * The task's one clock. Every reading of the time and every timer of the task goes through a `Clock`: the system's
 * in the agent, the emulator's in tests (tests/harness/arm-context.ts `emulatedClock`), so a run is judged on one
 * timeline and tests need no real waiting. This is the only file of the task's source that may call `Date.now`,
 * `setTimeout`, `setInterval` or `AbortSignal.timeout` (tests/contract/clock.test.ts enforces it).
 */

export interface Clock {
  /** Epoch ms. */
  now(): number;
  /** Resolves after `ms`, or rejects with an AbortError when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * A signal that aborts `ms` from now (reason: an error named TimeoutError). `clear()` stops the timer early; call
   * it when the work is done, so no timer outlives it.
   */
  timeout(ms: number): Timeout;
}

export interface Timeout {
  readonly signal: AbortSignal;
  clear(): void;
}

/** Resolves after `ms` of real time; rejects with an AbortError as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortErrorFrom(signal));
    const stop = signal
      ? whenAborted(signal, () => {
          clearTimeout(timer);
          reject(abortErrorFrom(signal));
        })
      : () => {};
    const timer = setTimeout(() => {
      stop();
      resolve();
    }, ms);
  });
}

interface AbortWatch {
  listeners: Set<() => void>;
  /** Removes the shared listener from the signal. */
  off(): void;
}

const abortWatches = new WeakMap<AbortSignal, AbortWatch>();

/**
 * Calls `listener` once when `signal` aborts; the returned function stops watching. All watchers of one signal
 * share ONE listener on it: targets wait side by side on the job's one signal (eight identity waits, retry
 * back-offs), and a listener per wait trips Node's MaxListenersExceededWarning past ten.
 */
export function whenAborted(signal: AbortSignal, listener: () => void): () => void {
  let watch = abortWatches.get(signal);
  if (!watch) {
    const listeners = new Set<() => void>();
    const onAbort = () => {
      abortWatches.delete(signal);
      for (const l of [...listeners]) l();
      listeners.clear();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    watch = { listeners, off: () => signal.removeEventListener('abort', onAbort) };
    abortWatches.set(signal, watch);
  }
  const current = watch;
  current.listeners.add(listener);
  return () => {
    // The shared listener goes with its last watcher.
    if (!current.listeners.delete(listener) || current.listeners.size > 0) return;
    if (abortWatches.get(signal) === current) abortWatches.delete(signal);
    current.off();
  };
}

/** An error named AbortError (what `isCancelledError` recognises), keeping a CancelledError reason as is. */
export function abortErrorFrom(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && (reason.name === 'AbortError' || reason.name === 'CancelledError'))
    return reason;
  const e = new Error('The operation was aborted.', { cause: reason });
  e.name = 'AbortError';
  return e;
}

/** The reason a clock's `timeout` signal aborts with. */
export function timeoutReason(ms: number): Error {
  const e = new Error(`The operation did not complete within ${ms} ms.`);
  e.name = 'TimeoutError';
  return e;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: abortableSleep,
  timeout(ms) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(timeoutReason(ms)), Math.max(0, ms));
    return { signal: controller.signal, clear: () => clearTimeout(timer) };
  },
};

/**
 * Runs `fn` after `ms` of real time without keeping the process alive for it (index.ts: the exit after the
 * verdict). Not part of the Clock: it is about the process, not the run's timeline.
 */
export function whenIdle(ms: number, fn: () => void): void {
  setTimeout(fn, ms).unref();
}
