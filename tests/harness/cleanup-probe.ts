/**
 * Run by cleanup.test.ts in a child process whose TMPDIR is a fresh directory: uses the harness the way tests
 * do — a run that ends, a run the harness kills on its timeout, a run still going when the process dies
 * without closing anything (a failed or timed-out test run) — and prints the pid of that last task.
 */
import { baseScenario, startEmulator } from '../emulator/index';
import { federatedConnection, runFederated } from './connections';
import { startTask } from './run-task';

async function main(): Promise<void> {
  const emulator = await startEmulator({ scenario: baseScenario(), timeScale: 30 });
  const inputs = { appName: 'contoso-web', resourceGroupName: 'rg-web' };
  // The bundle in child processes (agent: true): what this probe proves is that none outlives the harness.
  const finished = await runFederated(emulator, { ...inputs, dryRun: 'true' }, { agent: true });
  const killed = await runFederated(
    emulator,
    { ...inputs, timeoutMinutes: '5' },
    { agent: true, timeoutInMs: 1500 },
  );
  const { connection, job } = federatedConnection(emulator.info);
  const running = startTask({
    agent: true,
    inputs: { ...inputs, azureSubscription: connection.id, timeoutMinutes: '5' },
    connection,
    job,
    caCertPath: emulator.info.caCertPath,
  });
  await running.waitForOutput(/Plan/, 30_000);
  process.stdout.write(
    `${JSON.stringify({ finished: finished.result, killed: killed.signal, runningPid: running.child.pid })}\n`,
  );
  // Dies the way mocha does after a failure: process.exit with everything still open.
  process.exit(3);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(2);
});
