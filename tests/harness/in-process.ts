/**
 * The task in this process: the same `runTask` (src/main.ts) the bundle runs, with an in-memory agent
 * (memory-agent.ts), the task's own transport (trusting the emulator's CA, through the agent's proxy when one is
 * set) and the emulator's clock (emulated-clock.ts `taskClock`): a wait costs no real time, and everything the
 * emulator schedules (scenario events, pulls, propagation) happens on the task's timeline. `startTask` in
 * run-task.ts comes here whenever it can, and returns the same TaskRun a spawned bundle would.
 */
import type { ChildProcess } from 'node:child_process';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { type Clock, systemClock } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/clock';
import { CancelledError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
import {
  createTransport,
  defaultTransport,
  setDefaultTransport,
  type Transport,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import { runTask as runTaskInProcess } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/main';
import { type Emulator, emulatorServing } from '../emulator/index';
import { type TaskClock, taskClock } from './emulated-clock';
import { createMemoryAgent, understoodByMemoryAgent } from './memory-agent';
import type { StartedTask, TaskRun, TaskRunOptions } from './run-task';
import { agentEnvironment, parseRun } from './run-task';
import { makeTempDir, removeTempDir } from './temp';

/**
 * Where a run can happen in this process: against the emulator its connection points at (on that emulator's
 * clock), or on the system clock when there is no connection at all. Undefined: it needs a real process — asked
 * for (`agent: true`), another Node binary, a managed identity (the identity library reads the process
 * environment), or environment the in-memory agent does not understand.
 */
export function inProcessTarget(options: TaskRunOptions): { emulator: Emulator | undefined } | undefined {
  if (options.agent || options.nodePath) return undefined;
  if (options.connection?.scheme === 'ManagedServiceIdentity') return undefined;
  if (Object.keys(options.env ?? {}).some((name) => !understoodByMemoryAgent(name))) return undefined;
  if (!options.connection) return { emulator: undefined };
  const emulator = emulatorServing(options.connection.url);
  return emulator ? { emulator } : undefined;
}

/** The shortest kill switch of an in-process run (real ms). */
const IN_PROCESS_KILL_MS = 240_000;

let runsInFlight = 0;
let plainTransport: Transport | undefined;

export function startInProcess(options: TaskRunOptions, emulator: Emulator | undefined): StartedTask {
  const started = Date.now();
  const tempDirectory = makeTempDir('agent-temp-');
  const env = agentEnvironment(options, tempDirectory);
  const memory = createMemoryAgent(env);
  const clock: Clock | TaskClock = emulator ? taskClock(emulator) : systemClock;
  const controller = new AbortController();
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  memory.onLine((line) => {
    options.onStdoutLine?.(line);
    if (waiters.length === 0) return;
    const text = memory.stdout();
    for (const w of waiters.splice(0)) {
      if (w.pattern.test(text)) w.resolve();
      else waiters.push(w);
    }
  });
  // The run sets the process-wide default transport (main.ts); it is put back when no run is left.
  if (runsInFlight++ === 0) plainTransport = defaultTransport();
  // Only the task's waits move the emulator's time while it runs here: nothing depends on the machine's speed.
  const resume = emulator?.pauseRealTime();
  let killed = false;
  let finish: (run: TaskRun) => void = () => {};
  const done = new Promise<TaskRun>((resolve) => {
    finish = resolve;
  });
  const end = (exitCode: number | null, signal: NodeJS.Signals | null, stderr: string) => {
    try {
      finish(parseRun(memory.stdout(), stderr, exitCode, signal, Date.now() - started));
    } finally {
      removeTempDir(tempDirectory);
    }
  };
  const killer = setTimeout(
    () => {
      // Like the harness's SIGKILL: no verdict. The run is cancelled behind the scenes.
      killed = true;
      controller.abort(new CancelledError('The test harness killed the task.'));
      end(null, 'SIGKILL', '');
      // In process, every run and emulator of the file share this process's one thread: the kill switch (real time)
      // allows for a loaded machine; the run's own time is the emulator's.
    },
    Math.max(options.timeoutInMs ?? 120_000, IN_PROCESS_KILL_MS),
  );
  const transports: Transport[] = [];
  runTaskInProcess(memory.agent, controller.signal, {
    clock,
    transport: (settings) => {
      const t = counted(createTransport(settings), clock);
      transports.push(t);
      return t;
    },
  })
    .then(
      () => (killed ? undefined : end(0, null, '')),
      (e: unknown) =>
        killed ? undefined : end(1, null, e instanceof Error ? (e.stack ?? e.message) : String(e)),
    )
    .finally(() => {
      clearTimeout(killer);
      // A process that ends closes its keep-alive sockets; a run in this process must too (the emulator's close
      // and its proxy wait for them).
      for (const t of transports) (t as CountedTransport).dispose();
      if (--runsInFlight === 0 && plainTransport) setDefaultTransport(plainTransport);
      resume?.();
    });
  // What a test may do to the "process": cancel it the way the agent does (index.ts turns both signals into this).
  const child = {
    pid: undefined,
    exitCode: null,
    signalCode: null,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      controller.abort(new CancelledError(`The agent cancelled the task (${signal}).`));
      return true;
    },
  } as unknown as ChildProcess;
  return {
    child,
    done,
    waitForOutput: (pattern, timeoutInMs = 60_000) =>
      new Promise((resolve, reject) => {
        if (pattern.test(memory.stdout())) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`no ${pattern} on stdout in ${timeoutInMs} ms:\n${memory.stdout()}`)),
          timeoutInMs,
        );
        waiters.push({
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      }),
  };
}

interface CountedTransport extends Transport {
  /** Destroys every connection agent the run used. */
  dispose(): void;
}

/**
 * The run's transport, telling the task clock when an exchange is in flight (until its body is read). Exported for
 * tests that drive one phase of the task on a task clock (tests/verify/verify.e2e.test.ts).
 */
export function counted(transport: Transport, clock: Clock | TaskClock): CountedTransport {
  const agents = new Set<{ destroy(): void }>();
  const agentFor = (url: URL) => {
    const agent = transport.agentFor(url);
    if (agent) agents.add(agent);
    return agent;
  };
  const dispose = () => {
    for (const a of agents) a.destroy();
  };
  if (!('busy' in clock)) return { ...transport, agentFor, dispose };
  const inner = transport.httpClient;
  const httpClient: HttpClient = {
    async sendRequest(request) {
      const idle = clock.busy();
      try {
        const response = await inner.sendRequest(request);
        const body = response.readableStreamBody;
        if (!body) idle();
        else {
          for (const event of ['end', 'close', 'error']) body.once(event, idle);
          // A body nobody reads (an attempt given up on) must not hold the timeline still.
          setTimeout(idle, 250).unref();
        }
        return response;
      } catch (e: unknown) {
        idle();
        throw e;
      }
    },
  };
  return { ...transport, httpClient, agentFor, dispose };
}
