/**
 * The task from the agent's point of view: read and validate the inputs, connect with the service connection,
 * run, and publish the verdict (result, output variables, summary). Every failure ends in one clear message;
 * nothing here throws.
 */
import type { Agent } from './agent';
import { type ArmError, isArmError } from './arm/client';
import { appServiceScope } from './arm/kudu';
import { createArmClient } from './arm/request';
import { subscriptionNotVisible } from './auth/auth-errors';
import { connect } from './auth/connect';
import type { AzureConnection } from './auth/service-connection';
import { CALLER_CLIENT_ID } from './configure/plan';
import { systemClock } from './context';
import { isCancelledError, isTaskError, TaskError } from './errors';
import { helpLink } from './help';
import { createTransport, setDefaultTransport } from './http/pipeline';
import { readSettings } from './inputs';
import { neutralise } from './log';
import { registryHttpTransport } from './registry/http-send';
import { verdictOf } from './report';
import { type RunReport, run } from './run';

export async function runTask(agent: Agent, signal: AbortSignal): Promise<void> {
  const log = agent.log;
  let appName = agent.input('appName') ?? '';
  let report: RunReport;
  let cloud: CloudOfConnection | undefined;
  try {
    const settings = readSettings((name) => agent.input(name));
    appName = settings.appName;
    // One transport for the whole run: the agent's proxy and certificates, and the outbound guard.
    const transport = createTransport(agent.transport());
    setDefaultTransport(transport);
    const session = await connect(agent.endpoints, settings.connectedServiceId, { signal });
    try {
      const { connection } = session;
      cloud = connection;
      log.info(
        `Service connection ${connection.id}: ${connection.scheme}, ${connection.environment}, subscription ${connection.subscriptionId}.`,
      );
      const arm = createArmClient({
        armUrl: connection.armUrl,
        subscriptionId: connection.subscriptionId,
        credential: session.credential,
        scope: connection.scope,
        retry: { signal },
        transport,
        kuduScopes: [appServiceScope(connection.environment)].filter((s): s is string => s !== undefined),
        onResponse: (r) =>
          log.debug(
            `${r.method} ${r.path} -> ${r.status} in ${r.ms} ms${r.correlationId ? ` (correlation ${r.correlationId})` : ''}`,
          ),
      });
      const registry = registryHttpTransport({ signal, transport, debug: (m) => log.debug(m) });
      report = await run(
        { settings, arm, log, signal, clock: systemClock, registry },
        { setSecret: agent.setSecret },
      );
      if (isTaskError(report.error))
        report = { ...report, error: withCallerClientId(report.error, connection) };
      if (isArmError(report.error) && /^SubscriptionNotFound$/i.test(report.error.code)) {
        report = {
          ...report,
          error: subscriptionNotVisible(connection, agent.endpoints, { cause: report.error }),
        };
      }
    } finally {
      await session.dispose();
    }
  } catch (e: unknown) {
    report = { verify: [], dryRun: false, error: asReportable(e, cloud) };
  }
  if (report.error !== undefined && isArmError(report.error))
    report = { ...report, error: asReportable(report.error, cloud) };
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

/**
 * ARM's answers to an api-version the cloud does not offer: `InvalidApiVersionParameter` (ARM's own types) and
 * `NoRegisteredProviderFound` (a provider's types), e.g. a sovereign cloud that lags behind
 * (Azure/azure-cli#23985) or an Azure Stack Hub profile.
 */
const API_VERSION_REFUSED = /^(InvalidApiVersionParameter|NoRegisteredProviderFound)$/i;

/** The part of the service connection that names the cloud. */
interface CloudOfConnection {
  readonly environment: string;
  readonly armUrl: string;
}

/** Names the api-version, the resource type and the cloud, instead of a generic Azure failure. */
function apiVersionNotOffered(e: ArmError, connection: CloudOfConnection): TaskError {
  const version = /api[- ]version '([^']+)'/i.exec(e.message)?.[1] ?? 'the api-version it uses';
  const type = /for type '([^']+)'/i.exec(e.message)?.[1];
  const supported = /supported (?:api-)?versions are '([^']*)'/i.exec(e.message)?.[1];
  return new TaskError(
    'ApiVersionNotOffered',
    `The ${neutralise(connection.environment, 80)} cloud (${connection.armUrl}) does not offer api-version ${neutralise(version, 40)}${type ? ` for ${neutralise(type, 80)}` : ''}, which the task needs (${e.method} ${e.path}).${supported ? ` It offers: ${neutralise(supported, 300)}.` : ''}`,
    {
      remedy:
        'This cloud has not rolled out the api-version yet (sovereign clouds and Azure Stack Hub lag behind the public cloud). ' +
        'Run the task against a cloud that offers it, or configure the app in the portal or with the Azure CLI of that cloud.',
      cause: e,
    },
  );
}

/** TaskErrors and cancellations pass; an ARM failure nobody anticipated still names the call and the fix. */
function asReportable(e: unknown, cloud: CloudOfConnection | undefined): unknown {
  if (isTaskError(e) || isCancelledError(e) || !isArmError(e)) return e;
  if (cloud && API_VERSION_REFUSED.test(e.code)) return apiVersionNotOffered(e, cloud);
  return new TaskError(
    'AzureRequestFailed',
    `Azure refused ${e.method} ${e.path}: ${e.status} ${e.code}: ${neutralise(e.message, 500)}`,
    {
      remedy: armRemedy(e),
      cause: e,
    },
  );
}

/** What to do about an ARM answer nobody anticipated, by its status. */
function armRemedy(e: ArmError): string {
  if (e.status === 403)
    return `Grant the service connection the rights it needs on that resource: ${helpLink('permissions-the-service-connection-needs')}`;
  if (e.status === 404)
    return 'The resource was not found: it was deleted or renamed while the task ran, or the inputs name another one. Check the inputs and run the task again: it picks up what exists now and finishes the job.';
  if (e.status === 429)
    return 'Azure throttled the service connection on every attempt. Wait a few minutes and run the task again; run fewer pipelines against this subscription at the same time.';
  if (e.status >= 500)
    return `Azure kept failing on every attempt. Run the task again later (it finishes what this run started); if it persists, check https://azure.status.microsoft and open an Azure support case with correlation id ${e.correlationId ?? '(none)'}.`;
  return `Run the task again; if it persists, open an Azure support case with correlation id ${e.correlationId ?? '(none)'}.`;
}
