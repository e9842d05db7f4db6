/**
 * Clocks on the emulator's timeline, for running the task's own modules in process.
 *
 * - `emulatedClock(emu)`: the emulator's clock itself; a sleep moves it at once (unit-style tests of one phase).
 * - `taskClock(emu)`: the clock an in-process run of the whole task gets (tests/harness/in-process.ts, which also
 *   pauses the emulator's real-time pace for the run, so only waits move time). It reads
 *   the emulator's time divided by the emulator's time scale, so the task sees the same seconds a spawned bundle
 *   would see on the real clock (inputs such as `pollIntervalSeconds: 0.2` mean what they meant), and its waits
 *   move the emulator instead of waiting. Waits are served only while no HTTP exchange is in flight (the harness
 *   counts them on the transport), earliest first, so targets that wait side by side share the time the way they
 *   share a real second, and a request is never overtaken by a jump of the clock. Timeouts fire on the same
 *   timeline: when the task's time passes them, by a wait or by the emulator's own pace.
 *
 * This is test code: it may use real timers (a 1 ms tick to notice that the run went idle).
 */
import type { Clock, Timeout } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/clock';
import {
  abortErrorFrom,
  timeoutReason,
  whenAborted,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/clock';
import type { Emulator } from '../emulator/index';

/** Waits move the emulator's clock instead of the real one. */
export function emulatedClock(emu: Emulator): Clock {
  const timers = timeoutsOn(() => emu.now());
  return {
    now: () => emu.now(),
    sleep: (ms, signal) => {
      if (signal?.aborted) return Promise.reject(abortErrorFrom(signal));
      emu.advanceClock(ms / 1000);
      timers.check();
      return Promise.resolve();
    },
    timeout: (ms) => timers.add(ms),
  };
}

/** A task clock plus the hooks the in-process transport reports its exchanges to. */
export interface TaskClock extends Clock {
  /** An HTTP exchange started; call the returned function when its body is read (or it failed). */
  busy(): () => void;
}

const taskClocks = new WeakMap<Emulator, TaskClock>();

/** Conditions tests wait for (`whenOnTimeline`), checked by every task clock before it moves time. */
const watchers = new Set<{ predicate: () => boolean; resolve: () => void }>();

/**
 * Resolves as soon as `predicate` holds, checked before every move of an in-process run's clock: a test's hook
 * (`during` in tests/reliability/helpers.ts) acts at that point of the emulated timeline, before the task waits
 * on. `cancel()` drops the watch. (A spawned bundle waits on the real clock: there, polling is enough.)
 */
export function whenOnTimeline(predicate: () => boolean): { done: Promise<void>; cancel(): void } {
  let watcher: { predicate: () => boolean; resolve: () => void } | undefined;
  const done = new Promise<void>((resolve) => {
    watcher = { predicate, resolve };
    watchers.add(watcher);
  });
  return { done, cancel: () => watcher && watchers.delete(watcher) };
}

/** Resolves the watchers whose condition holds; true when one did (the clock then waits a tick for its hook). */
function serveWatchers(): boolean {
  let served = false;
  for (const w of [...watchers]) {
    if (!w.predicate()) continue;
    watchers.delete(w);
    w.resolve();
    served = true;
  }
  return served;
}

/** One per emulator: concurrent runs against one emulator share its timeline. */
export function taskClock(emu: Emulator): TaskClock {
  let clock = taskClocks.get(emu);
  if (!clock) {
    clock = createTaskClock(emu);
    taskClocks.set(emu, clock);
  }
  return clock;
}

interface Sleeper {
  at: number;
  resolve(): void;
  reject(e: unknown): void;
  /** Stops watching the sleep's signal (one shared listener per signal, clock.ts `whenAborted`). */
  unwatch: () => void;
}

function createTaskClock(emu: Emulator): TaskClock {
  const scale = Math.max(emu.timeScale, Number.EPSILON);
  const origin = emu.now();
  const now = () => origin + (emu.now() - origin) / scale;
  const timers = timeoutsOn(now);
  const sleepers = new Set<Sleeper>();
  let inFlight = 0;
  let scheduled = false;

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(serve, 1);
  };
  function serve(): void {
    scheduled = false;
    timers.check();
    if (sleepers.size === 0) return;
    if (serveWatchers()) {
      schedule();
      return;
    }
    if (inFlight === 0) {
      const next = Math.min(...[...sleepers].map((s) => s.at));
      const ahead = next - now();
      if (ahead > 0) emu.advanceClock((ahead * scale) / 1000);
      const t = now();
      for (const s of [...sleepers]) {
        if (s.at > t + 1e-6) continue;
        sleepers.delete(s);
        s.unwatch();
        s.resolve();
      }
      timers.check();
    }
    if (sleepers.size > 0) schedule();
  }

  return {
    now,
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.reject(abortErrorFrom(signal));
      return new Promise<void>((resolve, reject) => {
        const sleeper: Sleeper = { at: now() + Math.max(0, ms), resolve, reject, unwatch: () => {} };
        if (signal)
          sleeper.unwatch = whenAborted(signal, () => {
            sleepers.delete(sleeper);
            reject(abortErrorFrom(signal));
          });
        sleepers.add(sleeper);
        schedule();
      });
    },
    timeout: (ms) => timers.add(ms),
    busy() {
      inFlight++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        inFlight--;
        if (sleepers.size > 0) schedule();
      };
    },
  };
}

/** Timeouts on a timeline read by `now`: checked on every move of the clock and by a real-time poll. */
function timeoutsOn(now: () => number): { add(ms: number): Timeout; check(): void } {
  const pending = new Map<AbortController, { at: number; ms: number }>();
  let poll: NodeJS.Timeout | undefined;
  const check = () => {
    const t = now();
    for (const [controller, { at, ms }] of [...pending]) {
      if (t < at) continue;
      pending.delete(controller);
      controller.abort(timeoutReason(ms));
    }
    if (pending.size === 0 && poll) {
      clearInterval(poll);
      poll = undefined;
    }
  };
  return {
    check,
    add(ms) {
      const controller = new AbortController();
      pending.set(controller, { at: now() + Math.max(0, ms), ms });
      if (!poll) {
        poll = setInterval(check, 20);
        poll.unref();
      }
      check();
      return { signal: controller.signal, clear: () => pending.delete(controller) };
    },
  };
}
