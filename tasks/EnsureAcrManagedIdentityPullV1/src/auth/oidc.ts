/**
 * Workload identity federation, Azure DevOps side: the job asks Azure DevOps for an OIDC token (the federated
 * assertion) for a service connection. One POST, no client library
 * (docs/azure-behaviour.md#workload-identity-federation-the-oidc-token):
 *
 *   POST {System.OidcRequestUri}?api-version=7.1&serviceConnectionId={id}
 *   Authorization: Bearer {SystemVssConnection AccessToken}      → { "oidcToken": "<jwt>" }
 *
 * When `System.OidcRequestUri` is missing, the same route is built from System.CollectionUri (or
 * System.TeamFoundationCollectionUri), System.TeamProjectId, System.HostType, System.PlanId and System.JobId, as
 * azure-arm-rest does. The assertion lives about 10 minutes, so the credential asks for a fresh one every time
 * it needs a token (arm-rest keeps the first one and fails with AADSTS700024 on long runs).
 */
import { TaskError } from '../errors';
import { defaultTransport, proxyRefusalHint, type Transport } from '../http/pipeline';
import { type RetryOptions, send } from '../http/retry';
import { neutralise } from '../log';
import { type EndpointSource, SYSTEM_CONNECTION_ID } from './endpoint-source';
import { settingsHint, withTrailingSlash } from './service-connection';

export interface OidcRequest {
  /** The full URL including api-version and serviceConnectionId. */
  readonly url: string;
  /** The job access token (a secret: never print). */
  readonly accessToken: string;
}

const API_VERSION = '7.1';

/** Builds the request from the pipeline variables; throws AUTH_OIDC_UNAVAILABLE / AUTH_JOB_TOKEN_MISSING. */
export function oidcRequestFor(source: EndpointSource, connectionId: string): OidcRequest {
  const base = oidcBaseUrl(source);
  if (!base) {
    throw new TaskError(
      'AUTH_OIDC_UNAVAILABLE',
      `Service connection ${connectionId} uses workload identity federation, but the job has no OIDC endpoint (System.OidcRequestUri, or System.CollectionUri with System.TeamProjectId, System.HostType, System.PlanId and System.JobId).`,
      {
        remedy:
          'Run the task in an Azure Pipelines job on agent 3.227.1 or later (YAML or classic build pipelines provide System.OidcRequestUri). Where the job cannot get OIDC tokens, use a service connection with a secret or certificate instead.',
      },
    );
  }
  const accessToken =
    source.authParameter(SYSTEM_CONNECTION_ID, 'AccessToken') || source.variable('System.AccessToken');
  if (!accessToken) {
    throw new TaskError(
      'AUTH_JOB_TOKEN_MISSING',
      `Service connection ${connectionId} uses workload identity federation, but the job access token (SystemVssConnection) is not available to the task.`,
      {
        remedy:
          "Run the task on an Azure Pipelines agent. In a classic pipeline, tick 'Allow scripts to access the OAuth token' on the agent job; in YAML, the token is given to tasks by default (check that the job is not using a restricted container or deployment setting that removes it).",
      },
    );
  }
  source.setSecret(accessToken);
  const url = new URL(base);
  url.searchParams.set('api-version', API_VERSION);
  url.searchParams.set('serviceConnectionId', connectionId);
  return { url: url.toString(), accessToken };
}

function oidcBaseUrl(source: EndpointSource): string | undefined {
  const direct = source.variable('System.OidcRequestUri')?.trim();
  if (direct) return direct;
  const collection = (
    source.variable('System.CollectionUri') || source.variable('System.TeamFoundationCollectionUri')
  )?.trim();
  const projectId = source.variable('System.TeamProjectId')?.trim();
  const hub = source.variable('System.HostType')?.trim();
  const planId = source.variable('System.PlanId')?.trim();
  const jobId = source.variable('System.JobId')?.trim();
  if (!collection || !projectId || !hub || !planId || !jobId) return undefined;
  const segments = [
    projectId,
    '_apis',
    'distributedtask',
    'hubs',
    hub,
    'plans',
    planId,
    'jobs',
    jobId,
    'oidctoken',
  ];
  return `${withTrailingSlash(collection)}${segments.map(encodeURIComponent).join('/')}`;
}

/**
 * Fetches one fresh OIDC token. Retries 408/429/5xx and dropped connections with the shared back-off policy;
 * abortable. Registers the token with the agent's mask before returning it.
 */
export async function fetchOidcToken(
  request: OidcRequest,
  source: EndpointSource,
  connectionId: string,
  options: { signal?: AbortSignal; retry?: RetryOptions; transport?: Transport } = {},
): Promise<string> {
  let response: Awaited<ReturnType<typeof send>>;
  // The OIDC endpoint comes from the agent's variables: the one host the job access token may go to.
  const transport = options.transport ?? defaultTransport();
  const host = oidcHost(request.url);
  // An Azure DevOps Server collection may be plain http: the agent itself talks to it that way.
  transport.guard.trust(host, "the agent's OIDC endpoint", { insecure: request.url.startsWith('http:') });
  const signal = options.signal ?? options.retry?.signal;
  try {
    response = await send(
      {
        method: 'POST',
        url: request.url,
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          // Without it Azure DevOps may answer an expired job token with a sign-in page (302/203), not a 401.
          'x-tfs-fedauthredirect': 'Suppress',
        },
        body: '{}',
      },
      {
        ...options.retry,
        transport,
        maxBodyBytes: 256 * 1024,
        credential: { host, value: async () => `Bearer ${request.accessToken}` },
        ...(signal ? { signal } : {}),
      },
    );
  } catch (e: unknown) {
    if (e instanceof Error && (e.name === 'AbortError' || e.name === 'CancelledError')) throw e;
    const viaProxy = proxyRefusalHint(transport, request.url, e);
    throw new TaskError(
      'AUTH_OIDC_FAILED',
      `Could not reach Azure DevOps for the OIDC token of service connection ${connectionId} (${oidcHost(request.url)}): ${neutralise(e instanceof Error ? e.message : String(e), 300)}.${viaProxy ? ` ${viaProxy}.` : ''}`,
      {
        remedy: viaProxy
          ? `Start (or fix) the agent's proxy, or correct the agent's proxy setting (the agent's .proxy file, or ./config.sh --proxyurl), or add ${oidcHost(request.url)} to the agent's proxy bypass list (.proxybypass); then re-run the job.`
          : `Check that the agent can open HTTPS connections to ${oidcHost(request.url)} (firewall, DNS, the agent's proxy settings), then re-run the job.`,
        cause: e,
      },
    );
  }
  const detail = devOpsMessage(response.text);
  if (response.status === 401 || response.status === 403) {
    throw new TaskError(
      'AUTH_OIDC_UNAUTHORIZED',
      `Azure DevOps refused the job access token when asked for the OIDC token of service connection ${connectionId} (HTTP ${response.status}${detail ? `: ${detail}` : ''}).`,
      {
        remedy:
          "Re-run the job. If it persists, check the project's pipeline settings (job authorization scope) and that the pipeline's build service identity can use the service connection.",
      },
    );
  }
  if (response.status === 400 || response.status === 404) {
    throw new TaskError(
      'AUTH_OIDC_CONNECTION_REJECTED',
      `Azure DevOps would not issue an OIDC token for service connection ${connectionId} (HTTP ${response.status}${detail ? `: ${detail}` : ''}).`,
      {
        remedy: `Check that the service connection exists, uses workload identity federation, and that this pipeline is authorized to use it (Security > Pipeline permissions). ${settingsHint(source, connectionId)}`,
      },
    );
  }
  const token = response.status === 200 ? oidcTokenOf(response.text) : undefined;
  if (!token) {
    throw new TaskError(
      'AUTH_OIDC_FAILED',
      `Azure DevOps did not return an OIDC token for service connection ${connectionId} (HTTP ${response.status}${detail ? `: ${detail}` : ''}).`,
      {
        remedy:
          'Re-run the job; if it persists, check the Azure DevOps status page (https://status.dev.azure.com).',
      },
    );
  }
  source.setSecret(token);
  return token;
}

function oidcTokenOf(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text);
    const token = (body as { oidcToken?: unknown } | null)?.oidcToken;
    return typeof token === 'string' && token.length > 0 ? token : undefined;
  } catch {
    return undefined;
  }
}

/** Azure DevOps error bodies carry `message`; never echo anything else of the body. */
function devOpsMessage(text: string): string {
  try {
    const message = (JSON.parse(text) as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? neutralise(message.split(/\r?\n/)[0] ?? '', 300) : '';
  } catch {
    return '';
  }
}

function oidcHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'Azure DevOps';
  }
}
