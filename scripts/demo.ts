/**
 * `npm run demo`: the real task, end to end, on the embedded default. Starts the local Azure emulator with a
 * scenario, runs the BUILT bundle exactly as an agent would (inputs, the scenario's service connection and
 * variables as environment variables), renders the agent commands it prints the way the pipeline UI would,
 * prints the run summary and one line per run, and exits with the (last) task's result.
 *
 *   npm run demo                          # tests/emulator/scenarios/default.json
 *   npm run demo -- --scenario FILE       # any scenario; task inputs come from its "inputs" (and "runs")
 *   npm run demo -- --runs 2              # run the task twice against the same emulator
 *   npm run demo -- --dry-run             # the plan only
 *   AGENT_PROXYURL=http://127.0.0.1:3128 npm run demo   # through a proxy: the agent's variables found in this
 *                                         # environment (AGENT_PROXY*, AGENT_CAINFO, AGENT_CLIENTCERT*) reach the task
 */
import { join, resolve } from 'node:path';
import { loadScenario, startEmulator } from '../tests/emulator/index';
import { renderAgentLine } from '../tests/harness/render';
import { agentHttpVariables } from '../tests/harness/run-task';
import { runCount, runLine, runScenario } from '../tests/harness/scenario-runs';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const scenarioPath = resolve(
    option(args, '--scenario') ?? join(__dirname, '..', 'tests', 'emulator', 'scenarios', 'default.json'),
  );
  const runsArg = option(args, '--runs');
  const runs = runsArg === undefined ? undefined : Number(runsArg);
  if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1)) {
    throw new Error(`--runs: expected a whole number of runs >= 1, got '${runsArg}'`);
  }
  const scenario = loadScenario(scenarioPath);
  const total = runCount(scenario, runs);

  const timeScale = scenario.timeScale ?? 30;
  const emulator = await startEmulator({ scenario, timeScale });
  const color = process.stdout.isTTY;
  try {
    console.log(`Local Azure emulator: ${emulator.info.armUrl} (scenario ${scenarioPath})`);
    if (scenario.description) console.log(scenario.description);
    console.log(`Service connection: ${scenario.connection?.scheme ?? 'WorkloadIdentityFederation'}`);
    const results = await runScenario(emulator, scenario, {
      // The real task: the built bundle in its own process, as the agent runs it.
      agent: true,
      ...(runs !== undefined ? { runs } : {}),
      // Short waits for the demo clock, only where they mean something: with verifyPull: false the task would warn
      // that these inputs are set but ignored, for inputs the user never set.
      defaults: (own): Record<string, string> =>
        /^false$/i.test(own.verifyPull ?? '') ? {} : { pollIntervalSeconds: '1', timeoutMinutes: '2' },
      overrides: args.includes('--dry-run') ? { dryRun: 'true' } : {},
      env: agentHttpVariables(process.env),
      onRunStart: (run, inputs) => {
        if (run === 1) console.log(demoClockLine(timeScale, inputs));
        if (total > 1) console.log(`\n════ Run ${run} of ${total} ════`);
        const shown = Object.fromEntries(Object.entries(inputs).filter(([k]) => k !== 'azureSubscription'));
        console.log(`Task inputs: ${JSON.stringify(shown)}\n`);
      },
      onStdoutLine: (line) => {
        const shown = renderAgentLine(line, { color });
        if (shown !== undefined) console.log(shown);
      },
    });
    for (const r of results) {
      if (r.task.stderr.trim()) console.error(r.task.stderr.trim());
    }
    const last = results[results.length - 1];
    if (!last) return 2;
    if (last.task.summary)
      console.log(`\n──── Run summary (the pipeline's "Extensions" tab) ────\n${last.task.summary}`);
    console.log('');
    for (const r of results) console.log(runLine(r));
    for (const record of emulator.state.events) {
      const e = record.event;
      const when = e.beforeRun !== undefined ? `before run ${e.beforeRun}` : `at ${e.atSeconds} s`;
      const what = record.error ? `failed: ${record.error}` : (record.outcome ?? 'did not happen');
      console.log(`Event ${e.kind} ${when}: ${what}`);
    }
    console.log(
      `\nResult: ${last.task.result} in ${(last.task.durationMs / 1000).toFixed(1)} s, ${last.writes} ARM writes.`,
    );
    return last.task.result === 'Succeeded' || last.task.result === 'SucceededWithIssues' ? 0 : 1;
  } finally {
    await emulator.close();
  }
}

/** Says how the demo's clock differs from a real run, so "verified in 6 s" is not read as Azure's speed. */
function demoClockLine(timeScale: number, inputs: Record<string, string>): string {
  if (/^false$/i.test(inputs.verifyPull ?? ''))
    return `Demo clock: the emulated Azure runs ${timeScale}x faster than real time; verification is off (verifyPull: false).`;
  return (
    `Demo clock: the emulated Azure runs ${timeScale}x faster than real time (a minute of role propagation ` +
    `takes ${(60 / timeScale).toFixed(1)} s); the task polls every ${inputs.pollIntervalSeconds} s and times out ` +
    `after ${inputs.timeoutMinutes} min (defaults in a pipeline: 10 s and 15 min).`
  );
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
