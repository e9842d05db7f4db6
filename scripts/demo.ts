/**
 * `npm run demo`: the real task, end to end, on the embedded default. Starts the local Azure emulator with a
 * scenario, runs the BUILT bundle exactly as an agent would (inputs and a workload-identity-federation service
 * connection as environment variables, SYSTEM_OIDCREQUESTURI), renders the agent commands it prints the way the
 * pipeline UI would, prints the run summary, and exits with the task's result.
 *
 *   npm run demo                          # tests/emulator/scenarios/default.json
 *   npm run demo -- --scenario FILE       # any scenario; task inputs come from its "inputs"
 *   npm run demo -- --dry-run             # the plan only
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEmulator } from '../tests/emulator/index';
import { federatedConnection } from '../tests/harness/connections';
import { renderAgentLine } from '../tests/harness/render';
import { startTask } from '../tests/harness/run-task';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const scenarioArg = args.indexOf('--scenario');
  const scenarioPath = resolve(
    scenarioArg >= 0 && args[scenarioArg + 1]
      ? args[scenarioArg + 1]!
      : join(__dirname, '..', 'tests', 'emulator', 'scenarios', 'default.json'),
  );
  const scenario = JSON.parse(readFileSync(scenarioPath, 'utf8')) as {
    inputs?: Record<string, string>;
    description?: string;
    timeScale?: number;
  };
  const inputs: Record<string, string> = {
    pollIntervalSeconds: '1',
    timeoutMinutes: '2',
    ...scenario.inputs,
  };
  if (args.includes('--dry-run')) inputs.dryRun = 'true';

  const emulator = await startEmulator({ scenario: scenarioPath, timeScale: scenario.timeScale ?? 30 });
  const color = process.stdout.isTTY;
  try {
    console.log(`Local Azure emulator: ${emulator.info.armUrl} (scenario ${scenarioPath})`);
    if (scenario.description) console.log(scenario.description);
    console.log(`Task inputs: ${JSON.stringify(inputs)}\n`);
    const { connection, job } = federatedConnection(emulator.info);
    inputs.azureSubscription = connection.id;
    const task = startTask({
      inputs,
      connection,
      job,
      caCertPath: emulator.info.caCertPath,
      // The agent behind a proxy: how the registry's login server reaches the emulator's data plane.
      env: { AGENT_PROXYURL: emulator.info.proxyUrl },
      onStdoutLine: (line) => {
        const shown = renderAgentLine(line, { color });
        if (shown !== undefined) console.log(shown);
      },
    });
    const run = await task.done;
    if (run.stderr.trim()) console.error(run.stderr.trim());
    if (run.summary) console.log(`\n──── Run summary (the pipeline's "Extensions" tab) ────\n${run.summary}`);
    const writes = emulator.writes().filter((w) => w.host === 'arm').length;
    console.log(`\nResult: ${run.result} in ${(run.durationMs / 1000).toFixed(1)} s, ${writes} ARM writes.`);
    return run.result === 'Succeeded' || run.result === 'SucceededWithIssues' ? 0 : 1;
  } finally {
    await emulator.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
