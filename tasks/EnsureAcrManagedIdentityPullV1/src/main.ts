/**
 * The task from the agent's point of view: read and validate the inputs, connect with the service connection,
 * run, and publish the verdict (result, output variables, summary). Every failure ends in one clear message;
 * nothing here throws.
 */
import type { Agent } from './agent';
import { appServiceScope } from './arm/kudu';
import { createArmClient } from './arm/request';
import { connect } from './auth/connect';
import type { AzureConnection } from './auth/service-connection';
import { type Clock, systemClock } from './clock';
import { CALLER_CLIENT_ID } from './configure/plan';
import type { TaskPhase } from './error-codes';
import { isTaskError, TaskError } from './errors';
import {
  createTransport,
  setDefaultTransport,
  type Transport,
  type TransportSettings,
} from './http/pipeline';
import { readSettings } from './inputs';
import { neutralise } from './log';
import { toTaskError } from './phase-errors';
import { registryHttpTransport } from './registry/http-send';
import { verdictOf } from './report';
import { type RunReport, run } from './run';

/** What a run needs besides the agent: index.ts gives the system's; tests give the emulator's clock. */
export interface TaskDependencies {
  /** Every wait, timeout, deadline and time reading of the run. */
  readonly clock: Clock;
  /** Builds the run's one transport from the agent's HTTP settings (default: `createTransport`). */
  readonly transport?: (settings: TransportSettings) => Transport;
}

export async function runTask(
  agent: Agent,
  signal: AbortSignal,
  deps: TaskDependencies = { clock: systemClock },
): Promise<void> {
  const { clock } = deps;
  const log = agent.log;
  let appName = agent.input('appName') ?? '';
  let report: RunReport;
  let connected: AzureConnection | undefined;
  let phase: TaskPhase = 'inputs';
  try {
    const settings = readSettings((name) => agent.input(name));
    appName = settings.appName;
    phase = 'connect';
    // One transport for the whole run: the agent's proxy and certificates, and the outbound guard.
    const transport = (deps.transport ?? createTransport)(agent.transport());
    setDefaultTransport(transport);
    const session = await connect(agent.endpoints, settings.connectedServiceId, {
      signal,
      transport,
      retry: { clock },
    });
    try {
      const { connection } = session;
      connected = connection;
      log.info(
        `Service connection ${connection.id}: ${connection.scheme}, ${connection.environment}, subscription ${connection.subscriptionId}.`,
      );
      const arm = createArmClient({
        armUrl: connection.armUrl,
        subscriptionId: connection.subscriptionId,
        credential: session.credential,
        scope: connection.scope,
        retry: { signal },
        clock,
        transport,
        kuduScopes: [appServiceScope(connection.environment)].filter((s): s is string => s !== undefined),
        onResponse: (r) =>
          log.debug(
            `${r.method} ${r.path} -> ${r.status} in ${r.ms} ms${r.correlationId ? ` (correlation ${r.correlationId})` : ''}`,
          ),
      });
      const registry = registryHttpTransport({
        signal,
        clock,
        transport,
        debug: (m) => log.debug(m),
        environment: connection.environment,
        setSecret: agent.setSecret,
      });
      report = await run(
        { settings, arm, log, signal, clock, registry },
        { setSecret: agent.setSecret, errors: { connection, source: agent.endpoints } },
      );
      if (isTaskError(report.error))
        report = { ...report, error: withCallerClientId(report.error, connection) };
    } finally {
      await session.dispose();
    }
  } catch (e: unknown) {
    const error = toTaskError(phase, e, connected ? { connection: connected, source: agent.endpoints } : {});
    report = { verify: [], dryRun: false, error };
  }
  const verdict = verdictOf(report, appName);
  for (const [name, value] of Object.entries(verdict.outputs)) agent.setOutput(name, value);
  agent.uploadSummary(verdict.summary, `ACR managed identity pull: ${neutralise(appName || 'no app', 100)}`);
  agent.complete(verdict.outcome, verdict.message);
}

/** Puts the connection's own client ID into a remedy that tells an admin whom to grant a role. */
function withCallerClientId(e: TaskError, connection: AzureConnection): TaskError {
  if (!e.remedy.includes(CALLER_CLIENT_ID)) return e;
  const id =
    connection.clientId ??
    "<object ID of the agent VM's managed identity (az vm identity show --query principalId)>";
  return new TaskError(e.code, e.message, {
    remedy: e.remedy.replaceAll(CALLER_CLIENT_ID, id),
    cause: e.cause,
    target: e.target,
  });
}
