/**
 * Shared pieces of the reliability suite: start the emulator, run the BUILT bundle against it like an agent,
 * and the assertions every scenario repeats (a clean end, the intended final state). Nothing here knows the
 * task's internals; it sees what an agent and Azure would see.
 */
import assert from 'node:assert/strict';
import { baseScenario, type Emulator, type Scenario, startEmulator } from '../emulator/index';
import { federatedConnection, secretConnection } from '../harness/connections';
import { whenOnTimeline } from '../harness/emulated-clock';
import {
  type ServiceConnection,
  type StartedTask,
  startTask,
  type TaskRun,
  type TaskRunOptions,
} from '../harness/run-task';

export const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';
export const APP = 'contoso-web';
export const RG = 'rg-web';

/** Emulated seconds per real second: pulls of a few emulated seconds take a fraction of a real one. */
export const FAST = 30;

export async function start(scenario: Scenario = baseScenario(), timeScale = FAST): Promise<Emulator> {
  return startEmulator({ scenario, timeScale });
}

/** An app with two slots and a registry: the shape most runs use. */
export function twoSlots(overrides: Partial<Scenario> = {}): Scenario {
  return { ...baseScenario({ slots: ['staging', 'qa'] }), ...overrides };
}

export type ConnectionKind = 'wif' | 'secret';

export interface RunOptions {
  /** Spawn the built bundle (the agent tier: signals, task-lib, raw stdout). Default: in process when possible. */
  agent?: boolean;
  connection?: ConnectionKind | ServiceConnection;
  debug?: boolean;
  env?: Record<string, string>;
  timeoutInMs?: number;
}

/** Inputs that make verification fast: short polls, a short timeout. */
export function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    appName: APP,
    resourceGroupName: RG,
    pollIntervalSeconds: '0.2',
    timeoutMinutes: '0.5',
    ...extra,
  };
}

function taskOptions(emu: Emulator, taskInputs: Record<string, string>, o: RunOptions): TaskRunOptions {
  const kind = o.connection ?? 'wif';
  let connection: ServiceConnection;
  let job: TaskRunOptions['job'];
  if (kind === 'wif') {
    const f = federatedConnection(emu.info);
    connection = f.connection;
    job = f.job;
  } else if (kind === 'secret') {
    connection = secretConnection(emu.info);
  } else {
    connection = kind;
    if (kind.scheme === 'WorkloadIdentityFederation') job = federatedConnection(emu.info).job;
  }
  return {
    ...(o.agent ? { agent: true } : {}),
    inputs: { azureSubscription: connection.id, ...taskInputs },
    connection,
    ...(job ? { job } : {}),
    caCertPath: emu.info.caCertPath,
    ...(o.debug ? { debug: true } : {}),
    // Behind the emulator's proxy, as the registry's login server is only reachable through it.
    env: { AGENT_PROXYURL: emu.info.proxyUrl, ...o.env },
    timeoutInMs: o.timeoutInMs ?? 60_000,
  };
}

export function startRun(emu: Emulator, taskInputs: Record<string, string>, o: RunOptions = {}): StartedTask {
  return startTask(taskOptions(emu, taskInputs, o));
}

export function run(emu: Emulator, taskInputs: Record<string, string>, o: RunOptions = {}): Promise<TaskRun> {
  return startRun(emu, taskInputs, o).done;
}

/** The run ended through the task's own verdict: no stack trace, no unhandled rejection, a result command. */
export function assertClean(r: TaskRun): void {
  const both = `${r.stdout}\n${r.stderr}`;
  assert.doesNotMatch(both, /^\s{4}at /m, `a stack trace was printed:\n${both}`);
  assert.doesNotMatch(both, /Unhandled/i, `an unhandled rejection was printed:\n${both}`);
  assert.ok(r.result, `the task printed no result:\n${r.stdout}\n${r.stderr}`);
}

export function describeRun(r: TaskRun): string {
  return `result ${r.result}: ${r.message}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

export function assertSucceeded(r: TaskRun): void {
  assertClean(r);
  assert.equal(r.result, 'Succeeded', describeRun(r));
}

/** Failed with a message that says what failed (`names`) and a `Fix:` line. */
export function assertFailed(r: TaskRun, names: RegExp): void {
  assertClean(r);
  assert.equal(r.result, 'Failed', describeRun(r));
  assert.match(r.message, names, describeRun(r));
  assert.match(r.message, /\nFix: \S/, `no remedy in the message: ${r.message}`);
}

export const targetsOf = (emu: Emulator, appName = APP) =>
  emu.state.apps.filter((a) => a.siteName === appName);

export function registryOf(emu: Emulator, name = 'contosoacr') {
  const registry = emu.state.registries.find((r) => r.name === name);
  assert.ok(registry, `registry ${name} exists`);
  return registry;
}

/** AcrPull assignments at exactly the registry's scope. */
export function pullGrants(emu: Emulator, registryName = 'contosoacr') {
  const id = registryOf(emu, registryName).id.toLowerCase();
  return emu.state.roleAssignments.filter(
    (a) => a.scope.toLowerCase() === id && a.roleDefinitionId.toLowerCase().endsWith(ACR_PULL),
  );
}

/**
 * The intended end state for system-assigned identities: every target has its identity on, the flag set, and
 * exactly one AcrPull assignment at registry scope per principal.
 */
export function assertConfigured(emu: Emulator, appName = APP): void {
  const grants = pullGrants(emu);
  for (const app of targetsOf(emu, appName)) {
    const label = app.slot ?? 'production';
    assert.match(app.identity.type, /SystemAssigned/, `${label}: identity on`);
    assert.equal(app.siteConfig.acrUseManagedIdentityCreds, true, `${label}: acrUseManagedIdentityCreds`);
    const mine = grants.filter((g) => g.principalId === app.identity.principalId);
    assert.equal(mine.length, 1, `${label}: exactly one AcrPull at registry scope (${mine.length})`);
  }
}

/** ARM requests the emulator logged whose path contains `fragment` (case-insensitive), in order. */
export function requestsTo(emu: Emulator, fragment: string, method?: string) {
  const f = fragment.toLowerCase();
  return emu
    .requests()
    .filter((r) => r.path.toLowerCase().includes(f) && (!method || r.method === method.toUpperCase()));
}

/** Resolves when `predicate` holds, polling every 20 ms (for state changes timed against a running task). */
export async function until(predicate: () => boolean, timeoutInMs = 120_000): Promise<void> {
  const started = Date.now();
  // In process: met before the task's clock moves on (emulated timeline); a spawned bundle is polled for.
  const watch = whenOnTimeline(predicate);
  try {
    while (!predicate()) {
      if (Date.now() - started > timeoutInMs) throw new Error('condition not met in time');
      await Promise.race([watch.done, new Promise((r) => setTimeout(r, 20))]);
    }
  } finally {
    watch.cancel();
  }
}

/** One end-to-end case of a table: its own emulator, one run of the bundle, then the checks. */
export interface Case {
  /** The test name: a sentence. */
  name: string;
  scenario: Scenario;
  timeScale?: number;
  /** Task inputs over the defaults of `inputs()`; a function when they depend on the started emulator. */
  inputs?: Record<string, string> | ((emu: Emulator) => Record<string, string>);
  options?: RunOptions | ((emu: Emulator) => RunOptions);
  /** Changes the started emulator's state before the run (what a scenario file cannot say). */
  prepare?: (emu: Emulator) => void;
  /** Runs while the task runs (state changes timed against its output); resolves before the checks. */
  during?: (emu: Emulator, task: StartedTask) => Promise<void>;
  check: (r: TaskRun, emu: Emulator) => void;
}

/**
 * Registers one `it` per case, but starts every case in `before`, a few at a time: each case spends most of
 * its time waiting (back-off, polls), so running them side by side keeps the suite short. Each case has its own
 * emulator, so no case can see another's requests or state.
 */
export function itConcurrently(cases: readonly Case[], concurrency = 6): void {
  const outcomes = new Map<string, Promise<{ r: TaskRun; emu: Emulator }>>();
  const emulators: Emulator[] = [];
  before(function () {
    this.timeout(180_000);
    const queue = [...cases];
    let running = 0;
    const waiting: (() => void)[] = [];
    const slot = async () => {
      if (running >= concurrency) await new Promise<void>((r) => waiting.push(r));
      running++;
    };
    const release = () => {
      running--;
      waiting.shift()?.();
    };
    for (const c of queue) {
      const p = (async () => {
        await slot();
        try {
          const emu = await start(c.scenario, c.timeScale ?? FAST);
          emulators.push(emu);
          c.prepare?.(emu);
          const extra = typeof c.inputs === 'function' ? c.inputs(emu) : c.inputs;
          const options = typeof c.options === 'function' ? c.options(emu) : c.options;
          const task = startRun(emu, inputs(extra), options);
          const during = c.during?.(emu, task);
          const r = await task.done;
          await during;
          return { r, emu };
        } finally {
          release();
        }
      })();
      p.catch(() => {}); // reported by the case's own `it`
      outcomes.set(c.name, p);
    }
  });
  after(async () => {
    await Promise.all(emulators.map((e) => e.close()));
  });
  for (const c of cases) {
    it(c.name, async function () {
      this.timeout(180_000);
      const outcome = outcomes.get(c.name);
      assert.ok(outcome, 'the case ran');
      const { r, emu } = await outcome;
      c.check(r, emu);
    });
  }
}
