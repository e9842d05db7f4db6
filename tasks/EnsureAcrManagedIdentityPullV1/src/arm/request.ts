/**
 * The ArmClient implementation: bearer token from an @azure/identity credential, JSON in and out, the shared retry
 * policy, `nextLink` paging, and ARM error bodies turned into ArmError. It never logs; `onResponse` lets the
 * caller log each exchange at debug level (method, path, status, correlation id: never a token).
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import { type Clock, systemClock } from '../clock';
import type { Transport } from '../http/pipeline';
import { defaultTransport } from '../http/pipeline';
import { abortErrorFrom, type HttpResponse, type RetryOptions, send } from '../http/retry';
import { sdkPipelineOf } from '../http/sdk-pipeline';
import { collectPages } from '../paging';
import { type ArmClient, ArmError, type ArmRequestOptions, type ArmResponse, armErrorFields } from './client';

export interface ArmResponseInfo {
  readonly method: string;
  /** The path without the query (never carries a secret). */
  readonly path: string;
  /** 0 when the attempt failed without a response. */
  readonly status: number;
  readonly correlationId: string | undefined;
  readonly attempt: number;
  readonly ms: number;
}

export interface CreateArmClientOptions {
  /** ARM base URL, e.g. `https://management.azure.com/` (a trailing slash is added when missing). */
  readonly armUrl: string;
  readonly subscriptionId: string;
  readonly credential: TokenCredential;
  /** Token scope, e.g. `https://management.azure.com/.default`. */
  readonly scope: string;
  readonly retry?: RetryOptions;
  /** The run's clock (default: `retry.clock`, else the system's): every retry, timeout and token expiry runs on it. */
  readonly clock?: Clock;
  /** The transport (default: the run's, with the agent's proxy and CA); its guard learns the ARM host here. */
  readonly transport?: Transport;
  /** Bearer scopes Kudu is tried with before the ARM token (kudu.ts `appServiceScope`). */
  readonly kuduScopes?: readonly string[];
  /** The most one ARM answer may weigh (default 8 MiB: a page of a long list). */
  readonly maxBodyBytes?: number;
  readonly onResponse?: (info: ArmResponseInfo) => void;
}

/** Tokens are refreshed this long before they expire, so a request never leaves with a token about to lapse. */
const TOKEN_REFRESH_MARGIN_IN_MS = 5 * 60_000;

/** 401 codes after which one fresh token is worth a second try. */
const STALE_TOKEN_CODES = new Set(['expiredauthenticationtoken', 'invalidauthenticationtoken']);

export function createArmClient(createOptions: CreateArmClientOptions): ArmClient {
  const clock = createOptions.clock ?? createOptions.retry?.clock ?? systemClock;
  const options = { ...createOptions, retry: { ...createOptions.retry, clock } };
  const armUrl = options.armUrl.endsWith('/') ? options.armUrl : `${options.armUrl}/`;
  const base = new URL(armUrl);
  // The ARM endpoint comes from the service connection: the one host the ARM token may go to.
  const transport = options.transport ?? defaultTransport();
  transport.guard.trust(base.host, "the service connection's Resource Manager endpoint");
  const tokens = createTokenCache(options.credential, options.scope, options.retry.now ?? clock.now);
  const otherScopes = new Map<string, TokenCache>();

  async function exchange(method: string, url: URL, o: ArmRequestOptions): Promise<HttpResponse> {
    const path = url.pathname;
    const headers: Record<string, string> = { accept: o.accept ?? 'application/json' };
    let body: string | undefined;
    if (o.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    const signal = o.signal ?? options.retry?.signal;
    const sendOnce = () =>
      send(
        {
          method,
          url: url.toString(),
          headers,
          ...(body !== undefined ? { body } : {}),
        },
        {
          ...options.retry,
          transport,
          maxBodyBytes: options.maxBodyBytes ?? 8 * 1024 * 1024,
          credential: {
            host: base.host,
            value: async (attemptSignal) => `Bearer ${await tokens.get(attemptSignal)}`,
          },
          ...(signal ? { signal } : {}),
          onAttempt: (info) =>
            options.onResponse?.({
              method,
              path,
              status: info.status,
              correlationId: info.headers?.get('x-ms-correlation-request-id') ?? undefined,
              attempt: info.attempt,
              ms: info.ms,
            }),
        },
      );
    const first = await sendOnce();
    if (first.status === 401 && STALE_TOKEN_CODES.has(errorCodeOf(first).toLowerCase())) {
      tokens.invalidate();
      return sendOnce();
    }
    return first;
  }

  /**
   * A path from our own code (`/subscriptions/...`, duplicate slashes collapsed) or, with `link`, a URL a response
   * named (nextLink, Location), parsed the way the URL parser will read it (`/\\host/x` and `//host/x` name another
   * host). Either way the result must stay on the ARM endpoint, whose token it would receive.
   */
  function resolveUrl(pathOrUrl: string, link = false): URL {
    let url: URL;
    if (link || /^https?:\/\//i.test(pathOrUrl)) {
      url = new URL(pathOrUrl, base);
      url.pathname = url.pathname.replace(/\/{2,}/g, '/');
    } else {
      const [rawPath = '', rawQuery] = splitOnce(pathOrUrl, '?');
      url = new URL(`${base.pathname}/${rawPath}`.replace(/[\\/]{2,}/g, '/'), base);
      if (rawQuery) url.search = `?${rawQuery}`;
    }
    if (url.origin !== base.origin || url.username || url.password) {
      throw new Error(`Refusing to follow a link to ${url.origin}: the ARM endpoint is ${base.origin}.`);
    }
    return url;
  }

  function withQuery(url: URL, o: ArmRequestOptions): URL {
    const parts: string[] = url.search ? [url.search.slice(1)] : [];
    if (!url.searchParams.has('api-version')) parts.push(`api-version=${encodeURIComponent(o.apiVersion)}`);
    for (const [k, v] of Object.entries(o.query ?? {})) {
      // encodeURIComponent, not URLSearchParams: `$filter` values need %20, not `+`.
      // `$filter` keeps its `$` as the Azure SDKs send it.
      parts.push(`${encodeURIComponent(k).replace(/^%24/, '$')}=${encodeURIComponent(v)}`);
    }
    const out = new URL(url.toString());
    out.search = parts.length ? `?${parts.join('&')}` : '';
    return out;
  }

  async function request<T>(method: string, path: string, o: ArmRequestOptions): Promise<ArmResponse<T>> {
    const url = withQuery(resolveUrl(path), o);
    const response = await exchange(method.toUpperCase(), url, o);
    if ((response.status >= 200 && response.status < 300) || o.allowStatuses?.includes(response.status)) {
      return {
        status: response.status,
        body: parseBody(response) as T,
        text: response.text,
        headers: response.headers,
      };
    }
    throw toArmError(method.toUpperCase(), url.pathname, response);
  }

  return {
    armUrl,
    subscriptionId: options.subscriptionId,
    request,
    async listAll<T>(path: string, o: ArmRequestOptions): Promise<T[]> {
      let next: string | undefined = path;
      let first = true;
      const signal = o.signal ?? options.retry?.signal;
      // Bounded by the one paging loop (paging.ts): pages, items, bytes, a link seen before, the run's deadline.
      return collectPages<T>(
        `GET ${splitOnce(path, '?')[0]}`,
        async () => {
          if (!next) return undefined;
          // A nextLink carries its own query (skip tokens...); only the api-version is added when it lacks one.
          const url: URL = first
            ? withQuery(resolveUrl(next), o)
            : withQuery(resolveUrl(next, true), { ...o, query: {} });
          first = false;
          const response = await exchange('GET', url, o);
          if (response.status < 200 || response.status >= 300)
            throw toArmError('GET', url.pathname, response);
          const body = parseBody(response) as { value?: unknown; nextLink?: unknown } | undefined;
          next = typeof body?.nextLink === 'string' && body.nextLink ? body.nextLink : undefined;
          return {
            items: Array.isArray(body?.value) ? (body.value as T[]) : [],
            nextLink: next,
            bytes: response.text?.length ?? 0,
          };
        },
        { signal, now: options.retry.now ?? clock.now },
      );
    },
    getToken: (signal) => tokens.get(signal ?? options.retry?.signal),
    getTokenFor: (scope, signal) => {
      let cache = otherScopes.get(scope);
      if (!cache) {
        cache = createTokenCache(options.credential, scope, options.retry.now ?? clock.now);
        otherScopes.set(scope, cache);
      }
      return cache.get(signal ?? options.retry?.signal);
    },
    transport,
    clock,
    credential: options.credential,
    kuduScopes: options.kuduScopes ?? [],
    invalidateToken: () => tokens.invalidate(),
    invalidateTokenFor: (scope) => otherScopes.get(scope)?.invalidate(),
    // The SDK clients (clients.ts) send through the same transport: proxy, CA, guard, retry rules, debug log.
    sdkPipeline: sdkPipelineOf(transport, base.host, {
      retry: options.retry,
      ...(options.onResponse ? { onAttempt: options.onResponse } : {}),
    }),
  };
}

interface TokenCache {
  get(signal: AbortSignal | undefined): Promise<string>;
  invalidate(): void;
}

/** One token shared by all concurrent requests; refreshed near expiry or after a stale-token 401. */
function createTokenCache(credential: TokenCredential, scope: string, now: () => number): TokenCache {
  let cached: AccessToken | undefined;
  let pending: Promise<AccessToken> | undefined;
  // Set when ARM refused our token as expired or invalid: the credential's own cache (MSAL's) would hand the
  // same token back, since by the agent's clock it is still good (clock skew, a token revoked early). A claims
  // request is how Azure SDKs answer such a challenge: MSAL then skips its cache and asks Entra for a new one.
  let refused = false;
  return {
    async get(signal) {
      if (cached && cached.expiresOnTimestamp - TOKEN_REFRESH_MARGIN_IN_MS > now()) return cached.token;
      if (!pending) {
        // Not tied to one caller's signal: the token is shared, and each caller races its own cancellation below.
        const options = refused ? { claims: freshTokenClaims(now()) } : undefined;
        pending = credential
          .getToken(scope, options)
          .then((token) => {
            if (!token) throw new Error(`The credential returned no token for scope ${scope}.`);
            cached = token;
            refused = false;
            return token;
          })
          .finally(() => {
            pending = undefined;
          });
      }
      if (!signal) return (await pending).token;
      // Waiting for a token shared with other requests must still honour this request's cancellation.
      return (
        await Promise.race([
          pending,
          new Promise<never>((_, reject) => {
            if (signal.aborted) reject(abortErrorFrom(signal));
            signal.addEventListener('abort', () => reject(abortErrorFrom(signal)), { once: true });
          }),
        ])
      ).token;
    },
    invalidate() {
      cached = undefined;
      refused = true;
    },
  };
}

/** The claims challenge ARM sends for a token issued too early (CAE): a token not valid before `nowInMs`. */
function freshTokenClaims(nowInMs: number): string {
  const nbf = String(Math.floor(nowInMs / 1000));
  return JSON.stringify({ access_token: { nbf: { essential: true, value: nbf } } });
}

function parseBody(response: HttpResponse): unknown {
  const type = response.headers.get('content-type') ?? '';
  if (!response.text || !/json/i.test(type)) return undefined;
  try {
    return JSON.parse(response.text);
  } catch {
    return undefined;
  }
}

/** ARM's error body, whichever of its shapes it comes in (`armErrorFields` in client.ts). */
function errorFieldsOf(response: HttpResponse): { code: string; message: string } {
  return armErrorFields(response.text ?? '');
}

function errorCodeOf(response: HttpResponse): string {
  return errorFieldsOf(response).code;
}

function toArmError(method: string, path: string, response: HttpResponse): ArmError {
  const { code, message } = errorFieldsOf(response);
  return new ArmError({
    status: response.status,
    code: code || `Http${response.status}`,
    message: message || `${method} ${path} answered HTTP ${response.status}.`,
    method,
    path,
    correlationId: response.headers.get('x-ms-correlation-request-id') ?? undefined,
  });
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const i = text.indexOf(separator);
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}
