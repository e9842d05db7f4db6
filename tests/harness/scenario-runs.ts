/**
 * A scenario's task runs against one emulator, the way `npm run demo` tells them: run 1, then (between runs)
 * the `beforeRun` events, run 2 with its own inputs, and so on. Each run is measured from the emulator's
 * request log: ARM writes, restarts (restart/start/stop POSTs) and every request the task made.
 */
import type { Emulator } from '../emulator/index';
import type { Scenario } from '../emulator/model';
import type { RequestRecord } from '../emulator/server';
import { scenarioConnection } from './connections';
import { downtimeWords, probeAvailability, type TargetAvailability } from './downtime';
import { startTask, type TaskRun } from './run-task';

export interface ScenarioRun {
  run: number;
  task: TaskRun;
  inputs: Record<string, string>;
  /** ARM requests that change state (PUT/PATCH/DELETE, restart/start/stop). */
  writes: number;
  /** restart, start and stop POSTs on an app or slot. */
  restarts: number;
  /** Every request the run made to the emulator (ARM, Entra, OIDC, IMDS, Kudu, site). */
  requests: number;
  /** Per target, what its site answered during the run, probed once per emulated second (./downtime.ts). */
  availability?: Record<string, TargetAvailability>;
}

export interface ScenarioRunOptions {
  /** Spawn the built bundle for each run (the demo; the agent tier). Default: in process when possible. */
  agent?: boolean;
  /** How many runs (default: the scenario's `runs` length, else 1). */
  runs?: number;
  /**
   * Inputs under the scenario's (the demo's short poll interval, ...); a function gets the run's own inputs, so a
   * default can be left out where the user's inputs make it meaningless (no poll interval with verifyPull: false).
   */
  defaults?: Record<string, string> | ((own: Record<string, string>) => Record<string, string>);
  /** Inputs over the scenario's and the run's (a test's shorter timeout, dryRun...). */
  overrides?: Record<string, string>;
  onStdoutLine?: (line: string) => void;
  /** Extra environment for the task (the demo passes the agent's proxy and CA variables it finds). */
  env?: Record<string, string>;
  /** Called before each run starts (the demo prints a heading). */
  onRunStart?: (run: number, inputs: Record<string, string>) => void;
  timeoutInMs?: number;
}

const RESTART = /\/(restart|start|stop)$/i;

export function countRun(records: RequestRecord[]): Pick<ScenarioRun, 'writes' | 'restarts' | 'requests'> {
  return {
    writes: records.filter((r) => r.host === 'arm' && r.write).length,
    restarts: records.filter((r) => r.host === 'arm' && r.method === 'POST' && RESTART.test(r.path)).length,
    requests: records.length,
  };
}

/** `Run 2: Succeeded, 0 ARM writes, 0 restarts, 41 requests` */
export function runLine(r: ScenarioRun): string {
  return `Run ${r.run}: ${r.task.result ?? 'no result'}, ${r.writes} ARM writes, ${r.restarts} restarts, ${r.requests} requests${r.availability ? `, ${downtimeWords(r.availability)}` : ''}`;
}

/**
 * The harness's kill switch for one run: a minute past the task's own timeout, at least two minutes. The value is
 * read the way the task reads it (a plain number of minutes); anything else (`15m`) the task refuses at once with
 * InvalidInput, so the default (15) stands in and the task reports the input itself.
 */
export function killTimerMs(inputs: Readonly<Record<string, string | undefined>>): number {
  const text = (inputs.timeoutMinutes ?? '').trim();
  const minutes = /^\d+(\.\d+)?$/.test(text) ? Number(text) : 15;
  return Math.max(120_000, minutes * 60_000 + 60_000);
}

export function runCount(scenario: Scenario, requested?: number): number {
  return Math.max(1, requested ?? scenario.runs?.length ?? 1);
}

export async function runScenario(
  emulator: Emulator,
  scenario: Scenario,
  options: ScenarioRunOptions = {},
): Promise<ScenarioRun[]> {
  const { connection, job, env } = scenarioConnection(emulator, scenario.connection);
  const results: ScenarioRun[] = [];
  const total = runCount(scenario, options.runs);
  for (let run = 1; run <= total; run += 1) {
    // Also for run 1: its atSeconds count from the task's first request, not from a test's setup calls.
    emulator.beginRun(run);
    const own: Record<string, string> = {
      ...scenario.inputs,
      ...scenario.runs?.[run - 1]?.inputs,
      ...options.overrides,
    };
    const defaults = typeof options.defaults === 'function' ? options.defaults(own) : options.defaults;
    const inputs: Record<string, string> = { ...defaults, ...own, azureSubscription: connection.id };
    options.onRunStart?.(run, inputs);
    const from = emulator.requests().length;
    const startedAt = emulator.now();
    const task = await startTask({
      ...(options.agent ? { agent: true } : {}),
      inputs,
      connection,
      ...(job ? { job } : {}),
      // Behind the emulator's proxy: how the registry's login server reaches the emulator's data plane.
      env: { AGENT_PROXYURL: emulator.info.proxyUrl, ...env, ...options.env },
      ...(scenario.variables ? { variables: scenario.variables } : {}),
      caCertPath: emulator.info.caCertPath,
      ...(options.onStdoutLine ? { onStdoutLine: options.onStdoutLine } : {}),
      // The kill switch must outlast the task's own timeout, or a run that ends by timing out has no result.
      timeoutInMs: options.timeoutInMs ?? killTimerMs(inputs),
    }).done;
    results.push({
      run,
      task,
      inputs,
      ...countRun(emulator.requests().slice(from)),
      availability: probeAvailability(emulator, startedAt, emulator.now()),
    });
  }
  return results;
}
