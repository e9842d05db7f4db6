/**
 * Entry point of EnsureAcrManagedIdentityPull@1. The agent cancels a job with SIGINT, then SIGTERM 7.5 s later,
 * then kills the process tree: both signals abort every request in flight, and the task reports Cancelled.
 */
// First: masks secrets on stdout before task-lib (imported by agent.ts) prints anything.
import './src/secret-mask';
import { createAgent } from './src/agent';
import { systemClock, whenIdle } from './src/clock';
import { CancelledError } from './src/errors';
import { runTask } from './src/main';

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => controller.abort(new CancelledError(`The agent cancelled the task (${signal}).`)));
}

runTask(createAgent(), controller.signal, { clock: systemClock }).finally(() => {
  // Keep-alive sockets or a pending back-off timer must not hold the agent's step open after the verdict.
  whenIdle(200, () => process.exit());
});
