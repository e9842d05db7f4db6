/**
 * The Azure SDK clients the surface modules call: Microsoft.Web through @azure/arm-appservice's modular
 * `api/webApps` entry, Microsoft.Authorization through @azure/arm-authorization's role-assignment operation group (permissions are a plain ARM list: src/arm/permissions.ts).
 * They are built here and only here, from an ArmClient, so every SDK request goes through the same transport,
 * token, retry policy and debug log as the task's other ARM calls:
 *
 * - `ArmClient.sdkPipeline` is the ONE place pipeline options are injected (transport, proxy/CA, User-Agent,
 *   outbound guard: `../http/sdk-pipeline.ts`); an ArmClient without one gets the run's default transport.
 * - The SDK's own retry policy is removed from every client: the task pipeline's retry strategy is the only
 *   one, so attempts never multiply.
 * - The bearer token comes from the ArmClient (one cache shared by every request of the run).
 * - SDK failures (RestError) become ArmError (`toArmError`), so callers keep their stable error codes.
 *
 * Nothing here logs.
 */
import { createWebSiteManagement, type WebSiteManagementContext } from '@azure/arm-appservice/api';
import { RoleAssignmentsImpl } from '@azure/arm-authorization/dist-esm/src/operations/roleAssignments.js';
import { getContinuationToken } from '@azure/arm-authorization/dist-esm/src/pagingHelper.js';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { ServiceClient } from '@azure/core-client';
import {
  bearerTokenAuthenticationPolicyName,
  type HttpClient,
  type Pipeline,
  type PipelinePolicy,
  RestError,
} from '@azure/core-rest-pipeline';
import { defaultTransport } from '../http/pipeline';
import { sdkPipelineOf } from '../http/sdk-pipeline';
import { type ArmClient, ArmError, armErrorFields, clockOf, type SdkPipeline } from './client';

export interface SdkClients {
  /** Microsoft.Web (sites, slots, config, app settings, sidecars, restart) at the task's Web api-version. */
  web(subscriptionId: string): WebSiteManagementContext;
  /** Microsoft.Authorization role assignments (api-version 2022-04-01, fixed by the package). */
  readonly roleAssignments: RoleAssignmentsImpl;
}

/**
 * The one Microsoft.Web api-version: 2024-11-01 knows acrUseManagedIdentityCreds, sitecontainers and
 * `outboundVnetRouting.imagePullTraffic` (the former `vnetImagePullEnabled`). The package defaults to a newer one.
 */
export const WEB_API_VERSION = '2024-11-01';

/**
 * The `nextLink` of a page from a Microsoft.Authorization pager's `byPage()` (that package keeps it beside the
 * page, not on it), for the paging loop's loop detection (src/paging.ts).
 */
export function authorizationNextLink(page: unknown[]): string | undefined {
  return getContinuationToken(page);
}

const cache = new WeakMap<ArmClient, SdkClients>();

/** The SDK clients of an ArmClient, built once per ArmClient. */
export function sdkClientsFor(arm: ArmClient): SdkClients {
  let clients = cache.get(arm);
  if (!clients) {
    clients = createSdkClients(arm);
    cache.set(arm, clients);
  }
  return clients;
}

function createSdkClients(arm: ArmClient): SdkClients {
  const pipeline =
    arm.sdkPipeline ??
    sdkPipelineOf(
      defaultTransport(),
      new URL(arm.armUrl).host,
      arm.clock ? { retry: { clock: arm.clock } } : {},
    );
  const endpoint = arm.armUrl.replace(/\/+$/, '');
  const credential = credentialOf(arm);
  // Whatever scope the SDK asks for, the ArmClient's token (the connection's cloud audience) is the one sent.
  const scopes = [`${endpoint}/.default`];
  const common = { httpClient: pipeline.httpClient, additionalPolicies: [...pipeline.policies] };

  const webBySubscription = new Map<string, WebSiteManagementContext>();
  const web = (subscriptionId: string): WebSiteManagementContext => {
    const key = subscriptionId.toLowerCase();
    let context = webBySubscription.get(key);
    if (!context) {
      context = createWebSiteManagement(credential, subscriptionId, {
        ...common,
        endpoint,
        apiVersion: WEB_API_VERSION,
        credentials: { scopes },
      });
      adopt(context.pipeline, arm);
      webBySubscription.set(key, context);
    }
    return context;
  };

  // The package's AuthorizationManagementClient would pull in all sixteen operation groups (about 270 KB of
  // bundle); its operation groups only need a ServiceClient with `$host` and `subscriptionId`.
  const authorizationBySubscription = new Map<string, AuthorizationHost>();
  const authorization = (subscriptionId: string) => {
    const key = subscriptionId.toLowerCase();
    let host = authorizationBySubscription.get(key);
    if (!host) {
      host = new AuthorizationHost(endpoint, subscriptionId, credential, scopes, common);
      adopt(host.pipeline, arm);
      authorizationBySubscription.set(key, host);
    }
    return host as unknown as ConstructorParameters<typeof RoleAssignmentsImpl>[0];
  };
  return {
    web,
    // Role assignments are addressed by scope: the host's subscription is never used.
    roleAssignments: new RoleAssignmentsImpl(authorization(arm.subscriptionId)),
  };
}

class AuthorizationHost extends ServiceClient {
  readonly $host: string;
  readonly subscriptionId: string;
  constructor(
    endpoint: string,
    subscriptionId: string,
    credential: TokenCredential,
    scopes: string[],
    common: { httpClient: HttpClient; additionalPolicies: SdkPipeline['policies'][number][] },
  ) {
    super({
      endpoint,
      credential,
      credentialScopes: scopes,
      requestContentType: 'application/json; charset=utf-8',
      ...common,
    });
    this.$host = endpoint;
    this.subscriptionId = subscriptionId;
  }
}

/**
 * Removes the SDK's default retry policy (the task's own, added through `policies`, is the only one) and its
 * bearer policy (ours shares the ArmClient's one token cache and its stale-token handling).
 */
function adopt(pipeline: Pipeline, arm: ArmClient): void {
  pipeline.removePolicy({ name: 'defaultRetryPolicy' });
  pipeline.removePolicy({ name: bearerTokenAuthenticationPolicyName });
  pipeline.addPolicy(armBearerPolicy(arm), { phase: 'Sign' });
}

/** 401 codes after which one fresh token is worth a second try (as the ArmClient does). */
const STALE_TOKEN_CODES = new Set(['expiredauthenticationtoken', 'invalidauthenticationtoken']);

/**
 * The ArmClient's bearer token on every attempt; after a stale-token 401, one retry with a fresh token. The token
 * goes only to the ARM endpoint over HTTPS: a `nextLink` or operation URL naming another host is refused.
 */
function armBearerPolicy(arm: ArmClient): PipelinePolicy {
  const armOrigin = new URL(arm.armUrl).origin;
  return {
    name: 'armBearerPolicy',
    async sendRequest(request, next) {
      const url = new URL(request.url);
      if (url.protocol !== 'https:' || url.origin !== armOrigin) {
        throw new Error(`Refusing to send the ARM token to ${url.origin}: the ARM endpoint is ${armOrigin}.`);
      }
      const signal = request.abortSignal as AbortSignal | undefined;
      request.headers.set('authorization', `Bearer ${await arm.getToken(signal)}`);
      const response = await next(request);
      if (
        response.status === 401 &&
        arm.invalidateToken &&
        STALE_TOKEN_CODES.has(armErrorFields(response.bodyAsText ?? '').code.toLowerCase())
      ) {
        arm.invalidateToken();
        request.headers.set('authorization', `Bearer ${await arm.getToken(signal)}`);
        return next(request);
      }
      return response;
    },
  };
}

/** Only to satisfy the SDK constructors: the bearer policy they add with it is replaced by `armBearerPolicy`. */
function credentialOf(arm: ArmClient): TokenCredential {
  return {
    async getToken(_scopes, options): Promise<AccessToken> {
      const token = await arm.getToken(options?.abortSignal as AbortSignal | undefined);
      return { token, expiresOnTimestamp: clockOf(arm).now() + 60_000 };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** What an SDK's `onResponse` callback receives (the parts we read). */
export interface RawResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | undefined };
  readonly bodyAsText?: string | null;
  readonly parsedBody?: unknown;
}

/** Options every SDK operation accepts: `onResponse` lets sdkCall see the raw answer. */
export interface SdkCallOptions {
  readonly onResponse: (raw: RawResponse, error?: unknown) => void;
}

/**
 * Runs one SDK call (pass the given options into the operation's options); a RestError becomes an ArmError
 * (status, ARM error code, correlation id). Some generated deserialisers throw a TypeError on an error answer
 * without a body (a bare 503): the raw answer seen through `onResponse` still makes it an ArmError.
 */
export async function sdkCall<T>(
  method: string,
  path: string,
  call: (options: SdkCallOptions) => Promise<T>,
): Promise<T> {
  let last: RawResponse | undefined;
  try {
    return await call({
      onResponse: (raw) => {
        last = raw;
      },
    });
  } catch (e: unknown) {
    const mapped = toArmError(e, method, path);
    if (mapped !== e || !last || last.status < 400) throw mapped;
    if (e instanceof Error && (e.name === 'AbortError' || e.name === 'CancelledError')) throw e;
    throw armErrorOf(last, method, path);
  }
}

function armErrorOf(response: RawResponse, method: string, path: string): ArmError {
  const text =
    response.bodyAsText ?? (response.parsedBody !== undefined ? JSON.stringify(response.parsedBody) : '');
  const fields = armErrorFields(text ?? '');
  return new ArmError({
    status: response.status,
    code: fields.code || `Http${response.status}`,
    message: fields.message || `${method} ${path} answered HTTP ${response.status}.`,
    method,
    path,
    correlationId: response.headers.get('x-ms-correlation-request-id') ?? undefined,
  });
}

/** A RestError as the ArmError the callers classify; anything else (cancellation, network) unchanged. */
export function toArmError(e: unknown, method: string, path: string): unknown {
  if (!(e instanceof RestError) && !(e instanceof Error && e.name === 'RestError')) return e;
  const rest = e as RestError;
  const status = rest.statusCode ?? rest.response?.status ?? 0;
  if (status === 0) return e; // no HTTP answer: a transport failure, classified as such by the caller
  const response = rest.response;
  const text =
    response?.bodyAsText ??
    (response && 'parsedBody' in response
      ? JSON.stringify((response as { parsedBody?: unknown }).parsedBody)
      : '');
  const fields = armErrorFields(text ?? '');
  // The modular clients keep no body on the error's response, only the ARM message in the error itself.
  const restMessage = rest.message && !/^Unexpected status code/i.test(rest.message) ? rest.message : '';
  return new ArmError({
    status,
    code: fields.code || (typeof rest.code === 'string' && rest.code) || `Http${status}`,
    message: fields.message || restMessage || `${method} ${path} answered HTTP ${status}.`,
    method,
    path,
    correlationId: response?.headers.get('x-ms-correlation-request-id') ?? undefined,
  });
}
