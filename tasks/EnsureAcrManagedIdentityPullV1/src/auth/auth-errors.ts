/**
 * Sign-in failures as TaskErrors with stable codes and a concrete remedy. Entra's AADSTS codes decide the code;
 * its description (remote text) is neutralised, cut to its first part and scrubbed of any secret value before it
 * goes into a message. Codes:
 *
 * AUTH_SECRET_EXPIRED (AADSTS7000222), AUTH_SECRET_INVALID (7000215), AUTH_APP_NOT_FOUND (700016),
 * AUTH_TENANT_NOT_FOUND (90002), AUTH_FEDERATION_MISMATCH (70021, 700211, 700212, 700213),
 * AUTH_ASSERTION_EXPIRED (700024), AUTH_CERTIFICATE_REJECTED (700027, 50013 with a certificate),
 * AUTH_MANAGED_IDENTITY_UNAVAILABLE (no IMDS / identity not on the VM), AUTH_FAILED (anything else),
 * AUTH_SUBSCRIPTION_NOT_VISIBLE (ARM's SubscriptionNotFound, turned into it by `../phase-errors.ts`).
 */
import type { TaskErrorCode } from '../error-codes';
import { TaskError } from '../errors';
import { defaultTransport, proxyRefusalHint } from '../http/pipeline';
import { neutralise } from '../log';
import type { EndpointSource } from './endpoint-source';
import { redact } from './secret';
import { type AzureConnection, describeConnection, settingsHint } from './service-connection';

/** The AADSTS code of an error from @azure/identity / MSAL, if it carries one. */
export function aadstsCode(e: unknown): number | undefined {
  for (let current: unknown = e, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') break;
    const { errorResponse, message, cause } = current as {
      errorResponse?: { errorCodes?: unknown; errorDescription?: unknown };
      message?: unknown;
      cause?: unknown;
    };
    const codes = errorResponse?.errorCodes;
    if (Array.isArray(codes) && typeof codes[0] === 'number') return codes[0];
    for (const text of [errorResponse?.errorDescription, message]) {
      const m = typeof text === 'string' ? text.match(/AADSTS(\d{5,8})/) : null;
      if (m) return Number(m[1]);
    }
    current = cause;
  }
  return undefined;
}

/** Entra's description without its "Trace ID: … Correlation ID: … Timestamp: …" tail, safe to print. */
export function remoteDescription(e: unknown, secrets: readonly string[]): string {
  let text = '';
  if (typeof e === 'object' && e !== null) {
    const { errorResponse, message } = e as {
      errorResponse?: { errorDescription?: unknown };
      message?: unknown;
    };
    if (typeof errorResponse?.errorDescription === 'string' && errorResponse.errorDescription) {
      text = errorResponse.errorDescription;
    } else if (typeof message === 'string') {
      text = message;
    }
  } else {
    text = String(e);
  }
  const m = text.match(/AADSTS\d+:[\s\S]*/);
  if (m) text = m[0];
  text = text
    .replace(/\s*Trace ID:[\s\S]*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return neutralise(redact(text, secrets), 600);
}

/** Maps a failure to get a token into a TaskError (a TaskError or cancellation passes through). */
export function authFailure(
  e: unknown,
  connection: AzureConnection,
  source: EndpointSource,
  secrets: readonly string[],
): unknown {
  if (
    e instanceof Error &&
    (e.name === 'TaskError' || e.name === 'AbortError' || e.name === 'CancelledError')
  ) {
    return e;
  }
  const code = aadstsCode(e);
  const detail = remoteDescription(e, secrets);
  const who = describeConnection(connection);
  const hint = settingsHint(source, connection.id);
  const clientId = connection.clientId ?? '(system-assigned)';
  const message = (what: string) =>
    `${what} Service connection ${connection.id}: ${who}. Entra ID said: ${detail}`;
  const make = (taskCode: TaskErrorCode, what: string, remedy: string) =>
    new TaskError(taskCode, message(what), { remedy, cause: e });

  switch (code) {
    case 7000222:
      return make(
        'AUTH_SECRET_EXPIRED',
        'The client secret of the service connection has expired.',
        `Create a new client secret for app ${clientId} (Microsoft Entra ID > App registrations > Certificates & secrets) and enter it in the service connection, or convert the connection to workload identity federation so there is no secret to expire. ${hint}`,
      );
    case 7000215:
      return make(
        'AUTH_SECRET_INVALID',
        'Microsoft Entra ID rejected the client secret of the service connection.',
        `Enter the secret's value (not its secret ID) for app ${clientId} in the service connection, or convert the connection to workload identity federation. ${hint}`,
      );
    case 700016:
      return make(
        'AUTH_APP_NOT_FOUND',
        `Application ${clientId} does not exist in tenant ${connection.tenantId}.`,
        `Check the service principal (client) ID and the tenant ID of the service connection; the app may have been deleted or belong to another tenant. ${hint}`,
      );
    case 90002:
      return make(
        'AUTH_TENANT_NOT_FOUND',
        `Tenant ${connection.tenantId} was not found at ${connection.authorityHost}.`,
        `Check the tenant ID and the cloud (environment) of the service connection. ${hint}`,
      );
    case 70021:
    case 700211:
    case 700212:
    case 700213:
      return make(
        'AUTH_FEDERATION_MISMATCH',
        `No federated credential of app ${clientId} matches the token Azure DevOps issued for this service connection.`,
        `Add a federated credential to app ${clientId} whose issuer and subject identifier are exactly those shown on the service connection (audience api://AzureADTokenExchange); a renamed organization, project or connection changes the subject. ${hint}`,
      );
    case 700024:
      return make(
        'AUTH_ASSERTION_EXPIRED',
        'Microsoft Entra ID found the client assertion outside its valid time range.',
        'The task fetches a fresh assertion for every token, so check the agent machine clock (it must be within a few minutes of UTC) and re-run the job.',
      );
    case 700027:
    case 50013:
      return make(
        'AUTH_CERTIFICATE_REJECTED',
        `Microsoft Entra ID rejected the certificate signature for app ${clientId}.`,
        `Upload the certificate (public part) to app ${clientId} under Certificates & secrets, and make sure the service connection holds the matching private key. ${hint}`,
      );
    default:
      break;
  }
  if (connection.scheme === 'ManagedServiceIdentity') {
    return make(
      'AUTH_MANAGED_IDENTITY_UNAVAILABLE',
      `Could not get a token for the agent's managed identity${connection.clientId ? ` ${connection.clientId}` : ''}.`,
      `Run this job on a self-hosted agent on an Azure VM or scale set that has ${connection.clientId ? `the user-assigned identity ${connection.clientId}` : 'a managed identity'} assigned, and check that the agent can reach the Instance Metadata Service (169.254.169.254). ${hint}`,
    );
  }
  // A sign-in that never reached Entra through the agent's proxy: name the proxy (MSAL's text does not).
  const viaProxy = code ? undefined : proxyRefusalHint(defaultTransport(), connection.authorityHost, e);
  if (viaProxy)
    return make(
      'AUTH_FAILED',
      `Could not reach Microsoft Entra ID at ${connection.authorityHost}. ${viaProxy}.`,
      `Start (or fix) the agent's proxy, or correct the agent's proxy setting (the agent's .proxy file, or ./config.sh --proxyurl), or add ${new URL(connection.authorityHost).host} to its bypass list (.proxybypass); then re-run the job.`,
    );
  return make(
    'AUTH_FAILED',
    `Could not sign in to Microsoft Entra ID${code ? ` (AADSTS${code})` : ''}.`,
    `Check the service connection with "Verify" on its settings page, and that the agent can reach ${connection.authorityHost}. ${hint}`,
  );
}

/**
 * For ARM code: the connection's principal signed in, but subscription `subscriptionId` is not visible to it
 * (ARM answers 404 SubscriptionNotFound or lists no such subscription).
 */
export function subscriptionNotVisible(
  connection: AzureConnection,
  source: EndpointSource,
  options: { cause?: unknown } = {},
): TaskError {
  const principal =
    connection.scheme === 'ManagedServiceIdentity'
      ? `the agent's managed identity${connection.clientId ? ` ${connection.clientId}` : ''}`
      : `app ${connection.clientId}`;
  return new TaskError(
    'AUTH_SUBSCRIPTION_NOT_VISIBLE',
    `Subscription ${connection.subscriptionId} is not visible to ${principal} in tenant ${connection.tenantId} (service connection ${connection.id}).`,
    {
      remedy: `Grant ${principal} a role on subscription ${connection.subscriptionId} (for this task: Owner, or Contributor plus User Access Administrator / Role Based Access Control Administrator on the registry), or correct the subscription in the service connection. ${settingsHint(source, connection.id)}`,
      cause: options.cause,
    },
  );
}
