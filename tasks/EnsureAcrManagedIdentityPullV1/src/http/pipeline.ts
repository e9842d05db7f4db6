/**
 * The task's one HTTP pipeline, on @azure/core-rest-pipeline. Every outbound request (ARM through `send()` or an
 * Azure SDK client, Kudu, OIDC, the site warm-up, @azure/identity's sign-in) runs these policies, in this order:
 *
 *   user agent → x-ms-client-request-id → outbound guard → retry (task strategy, time budget) →
 *   attempt (timeout, credential for this host only, bounded body) → connection (agent proxy / TLS) → node:https
 *
 * The proxy, CA and client certificate are the agent's (task-lib `getHttpProxyConfiguration()` /
 * `getHttpCertConfiguration()`, read in agent.ts). Hand-written parts, each because core has no equivalent:
 * the connection policy (core's proxyPolicy ignores TLS settings behind a proxy, and its bypass list is NO_PROXY
 * syntax, not the agent's regular expressions); the retry loop (core's retryPolicy has no total time budget and
 * no injectable clock; it consumes the same `RetryStrategy` objects); the bounded body reader (core reads bodies
 * whole).
 */
import { readFileSync } from 'node:fs';
import type { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import {
  createDefaultHttpClient,
  createEmptyPipeline,
  type HttpClient,
  isRestError,
  type Pipeline,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
  RestError,
  type RetryStrategy,
  setClientRequestIdPolicy,
} from '@azure/core-rest-pipeline';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { version } from '../../task.json';
import { type Clock, systemClock, whenAborted } from '../clock';
import { TaskError } from '../errors';
import { createOutboundGuard, type OutboundGuard } from './guard';

// ---------------------------------------------------------------------------------------------------------------
// Settings and the transport (connections + guard)

export interface ProxySettings {
  /** `http://host:port` (the agent's `Agent.ProxyUrl`). */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** Regular expressions matched against the full request URL, case-insensitive (the agent's bypass list). */
  readonly bypass?: readonly string[];
}

export interface TlsSettings {
  /** PEM certificates trusted in addition to the system roots (the agent's `Agent.CAInfo` file). */
  readonly ca?: readonly string[];
  /** Client certificate and key, PEM (the agent's `Agent.ClientCert` / `Agent.ClientCertKey`). */
  readonly cert?: string;
  readonly key?: string;
  /** Or a PKCS#12 archive (`Agent.ClientCertArchive`). */
  readonly pfx?: Buffer;
  readonly passphrase?: string;
}

export interface TransportSettings {
  readonly proxy?: ProxySettings;
  readonly tls?: TlsSettings;
  /** Added after the task's own product token (the agent's `AZURE_HTTP_USER_AGENT`). */
  readonly userAgentSuffix?: string;
}

export interface Transport {
  readonly settings: TransportSettings;
  /** The hosts this run may talk to. */
  readonly guard: OutboundGuard;
  /** core's Node client; the connection policy gives each request its agent. */
  readonly httpClient: HttpClient;
  readonly userAgent: string;
  /** Whether a request to `url` goes through the agent's proxy. */
  usesProxy(url: URL): boolean;
  /** The connection agent for `url`: the proxy's (with the agent's TLS settings for the target) or a direct one. */
  agentFor(url: URL): HttpAgent;
  /** Node TLS options for the target (CA, client certificate); empty when the agent sets none. */
  readonly tlsOptions: Readonly<Record<string, unknown>>;
}

/** `EnsureAcrManagedIdentityPull/1.2.3` plus `AZURE_HTTP_USER_AGENT` when the agent sets it. */
export function userAgentOf(settings: TransportSettings): string {
  const own = `EnsureAcrManagedIdentityPull/${version.Major}.${version.Minor}.${version.Patch}`;
  const suffix = settings.userAgentSuffix?.trim();
  return suffix ? `${own} ${suffix}` : own;
}

export function createTransport(settings: TransportSettings = {}): Transport {
  const tls = tlsOptions(settings.tls);
  const bypass = (settings.proxy?.bypass ?? []).flatMap((source) => {
    try {
      return [new RegExp(source, 'i')];
    } catch {
      return [];
    }
  });
  let direct: HttpsAgent | undefined;
  let proxied: HttpsProxyAgent<string> | undefined;
  const usesProxy = (url: URL): boolean => {
    if (!settings.proxy) return false;
    // IMDS is link-local: no proxy can reach it (and Azure's SDKs never send it there).
    if (url.hostname === '169.254.169.254') return false;
    // Loopback is NOT bypassed implicitly: only the agent's list decides (a local proxy may front local hosts).
    return !bypass.some((re) => re.test(url.toString()));
  };
  return {
    settings,
    guard: createOutboundGuard(),
    httpClient: createDefaultHttpClient(),
    tlsOptions: tls,
    userAgent: userAgentOf(settings),
    usesProxy,
    agentFor(url) {
      if (url.protocol === 'https:' && usesProxy(url)) {
        proxied ??= new HttpsProxyAgent(proxyUrlOf(settings.proxy as ProxySettings), {
          keepAlive: true,
          ...tls,
        });
        return proxied;
      }
      if (url.protocol === 'http:') {
        // Only IMDS-style endpoints are ever plain http (the guard allows nothing else); no keep-alive needed.
        return undefined as unknown as HttpAgent;
      }
      direct ??= new HttpsAgent({ keepAlive: true, ...tls });
      return direct;
    },
  };
}

function proxyUrlOf(proxy: ProxySettings): string {
  const url = new URL(proxy.url);
  if (proxy.username) url.username = encodeURIComponent(proxy.username);
  if (proxy.password) url.password = encodeURIComponent(proxy.password);
  return url.toString();
}

/** Node TLS options: extra CAs are added to the system roots (and to NODE_EXTRA_CA_CERTS), never replacing them. */
function tlsOptions(tls: TlsSettings | undefined): Record<string, unknown> {
  if (!tls) return {};
  const out: Record<string, unknown> = {};
  if (tls.ca?.length) {
    const extra = process.env.NODE_EXTRA_CA_CERTS;
    let extraPem: string[] = [];
    try {
      extraPem = extra ? [readFileSync(extra, 'utf8')] : [];
    } catch {
      extraPem = [];
    }
    out.ca = [...rootCertificates, ...extraPem, ...tls.ca];
  }
  if (tls.cert) out.cert = tls.cert;
  if (tls.key) out.key = tls.key;
  if (tls.pfx) out.pfx = tls.pfx;
  if (tls.passphrase) out.passphrase = tls.passphrase;
  // One secure context for the whole run: given as `ca`/`cert` options, Node would parse every root certificate
  // again for each new connection (most of a run's CPU with a CA file).
  return Object.keys(out).length > 0 ? { secureContext: createSecureContext(out) } : {};
}

let current: Transport | undefined;

/** The run's transport (agent settings applied by main.ts); a plain one until then. */
/**
 * When a request to `url` went through the agent's proxy and failed to connect, the sentence that says so: the
 * address in Node's error (`connect ECONNREFUSED 127.0.0.1:3999`) is then the proxy's, not the service's. The
 * proxy is named by host and port only (never its credentials). Undefined when the proxy was not involved.
 */
export function proxyRefusalHint(transport: Transport, url: string, error: unknown): string | undefined {
  const proxy = transport.settings.proxy;
  if (!proxy) return undefined;
  let target: URL;
  let proxyUrl: URL;
  try {
    target = new URL(url);
    proxyUrl = new URL(proxy.url);
  } catch {
    return undefined;
  }
  if (!transport.usesProxy(target)) return undefined;
  const text =
    error instanceof Error ? `${error.message} ${(error as { code?: string }).code ?? ''}` : String(error);
  // MSAL wraps a refused connection as endpoints_resolution_error / network_error.
  if (
    !/ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|socket hang up|proxy|endpoints_resolution_error|network_error/i.test(
      text,
    )
  )
    return undefined;
  const address = proxyUrl.port ? `${proxyUrl.hostname}:${proxyUrl.port}` : proxyUrl.hostname;
  const named = `the agent's proxy ${proxyUrl.protocol}//${address} (Agent.ProxyUrl, the agent's proxy setting)`;
  // Node names the address it could not connect to: when it is the proxy's, the proxy itself refused.
  return text.includes(address)
    ? `${address} is ${named}: the connection to the proxy failed`
    : `The request went through ${named}; the proxy, or ${target.host} behind it, could not be reached`;
}

export function defaultTransport(): Transport {
  current ??= createTransport();
  return current;
}

export function setDefaultTransport(transport: Transport): void {
  current = transport;
}

// ---------------------------------------------------------------------------------------------------------------
// Deadlines travel with the AbortSignal every call already takes

const deadlines = new WeakMap<AbortSignal, number>();

/**
 * A signal that aborts with `parent` and carries a deadline (epoch ms): every request sent with it (or a signal
 * derived from it) clamps its attempt timeout and its retry waits to the deadline. It does not abort at the
 * deadline itself: callers decide what running out of time means.
 */
export function withDeadline(parent: AbortSignal | undefined, deadline: number): AbortSignal {
  const signal = parent ? AbortSignal.any([parent]) : new AbortController().signal;
  deadlines.set(signal, Math.min(deadline, deadlineOf(parent)));
  return signal;
}

/** The deadline a signal carries (Infinity when none). */
export function deadlineOf(signal: AbortSignal | undefined): number {
  return (signal && deadlines.get(signal)) ?? Number.POSITIVE_INFINITY;
}

// ---------------------------------------------------------------------------------------------------------------
// Policies

/** Sets our User-Agent, or puts it in front of an SDK's own. */
export function userAgentPolicy(userAgent: string): PipelinePolicy {
  return {
    name: 'taskUserAgent',
    sendRequest(request, next) {
      const existing = request.headers.get('user-agent');
      if (!existing?.includes(userAgent))
        request.headers.set('user-agent', existing ? `${userAgent} ${existing}` : userAgent);
      return next(request);
    },
  };
}

/** Refuses any request whose URL the guard does not allow: runs before retries and before any credential. */
export function outboundGuardPolicy(guard: OutboundGuard): PipelinePolicy {
  return {
    name: 'outboundGuard',
    sendRequest(request, next) {
      const url = guard.check(request.url);
      request.allowInsecureConnection = url.protocol === 'http:';
      return next(request);
    },
  };
}

/** Gives each request its connection agent: through the agent's proxy unless bypassed, with the agent's TLS settings. */
export function connectionPolicy(transport: Transport): PipelinePolicy {
  return {
    name: 'agentConnection',
    sendRequest(request, next) {
      const url = new URL(request.url);
      const agent = transport.agentFor(url);
      if (agent) request.agent = agent;
      // A tunnelling agent does not pass its own options to the target's TLS handshake (https-proxy-agent resets
      // them), so the CA and client certificate go with the request.
      if (url.protocol === 'https:' && transport.usesProxy(url))
        request.requestOverrides = { ...request.requestOverrides, ...transport.tlsOptions };
      return next(request);
    },
  };
}

export interface RetryBudget {
  /** Total attempts including the first (default 5). */
  readonly maxAttempts?: number;
  /** Longest the whole exchange may take, waits included (default 5 min); the signal's deadline may be sooner. */
  readonly totalBudgetInMs?: number;
  /** The run's clock: the back-off waits and the time budget are measured on it (default: the system's). */
  readonly clock?: Clock;
  /** Injected for tests (default: the clock's). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => number;
  /** Called with each wait before a retry (tests, debug logging). */
  readonly onRetry?: (info: { attempt: number; delayInMs: number }) => void;
}

const starts = new WeakMap<PipelineRequest, number>();

/**
 * App Service's 409 while another operation runs on the site (an identity change, a deployment): the write was
 * refused, not made, so it is safe to send again once that operation is over. Message "Cannot modify this site
 * because another operation is in progress." (hashicorp/terraform-provider-azurerm#9703; Microsoft's own module
 * retries it: Azure/terraform-azurerm-avm-res-web-site#272). Matched on the message: the code is a bare `Conflict`.
 */
export function isSiteBusyConflict(status: number, bodyText: string | null | undefined): boolean {
  return (
    status === 409 &&
    typeof bodyText === 'string' &&
    /cannot modify this (site|web hosting plan) because another operation is in progress/i.test(
      bodyText.slice(0, 4096),
    )
  );
}

/** How long to wait before sending a write refused as above again, without a Retry-After (see retry.ts). */
export const SITE_BUSY_RETRY_IN_MS = 5000;

/** POST .../restart (site or slot): the one call the task must never repeat blindly. */
function isSendOnce(request: { method: string; url: string }): boolean {
  return request.method.toUpperCase() === 'POST' && /\/restart$/i.test(new URL(request.url).pathname);
}

function sendOnceDecision(
  response: PipelineResponse | undefined,
  error: RestError | undefined,
  now: () => number,
): { retry: boolean; retryAfterInMs?: number } {
  if (!response) {
    for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
      if ((e as { code?: unknown }).code === 'ECONNREFUSED') return { retry: true };
      e = (e as { cause?: unknown }).cause;
    }
    return { retry: false };
  }
  // Refused because another operation runs on the site: no restart happened, so one is still owed.
  if (isSiteBusyConflict(response.status, response.bodyAsText))
    return { retry: true, retryAfterInMs: SITE_BUSY_RETRY_IN_MS };
  if (response.status !== 429 && response.status !== 503) return { retry: false };
  const after = response.headers.get('retry-after');
  if (!after) return { retry: false };
  const seconds = Number(after);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - now();
  return Number.isNaN(ms) ? { retry: false } : { retry: true, retryAfterInMs: Math.max(0, ms) };
}

/**
 * Runs the request, asks the strategies whether to retry, and waits — but never past the request's time budget
 * (its signal's deadline, or `totalBudgetInMs` from the first attempt): a wait that would end after it returns
 * the last answer instead.
 */
export function budgetedRetryPolicy(
  strategies: readonly RetryStrategy[],
  budget: RetryBudget,
): PipelinePolicy {
  const maxAttempts = Math.max(1, budget.maxAttempts ?? 5);
  const clock = budget.clock ?? systemClock;
  const now = budget.now ?? (() => clock.now());
  const sleep = budget.sleep ?? ((ms: number, signal?: AbortSignal) => clock.sleep(ms, signal));
  return {
    name: 'taskRetry',
    async sendRequest(request, next) {
      const started = starts.get(request) ?? now();
      starts.set(request, started);
      const deadline = Math.min(
        deadlineOf(request.abortSignal as AbortSignal | undefined),
        started + (budget.totalBudgetInMs ?? 300_000),
      );
      for (let retryCount = 0; ; retryCount++) {
        let response: PipelineResponse | undefined;
        let responseError: RestError | undefined;
        try {
          response = await next(request);
        } catch (e: unknown) {
          if (!isRestError(e)) throw e;
          responseError = e;
          response = e.response;
        }
        if (request.abortSignal?.aborted) throw abortError(request.abortSignal as AbortSignal);
        let delayInMs: number | undefined;
        if (retryCount + 1 < maxAttempts && isSendOnce(request)) {
          // A restart is not idempotent (a second one interrupts the pull the first started): sent again only when
          // it provably never reached the service (connection refused, or 429/503 with Retry-After).
          const decision = sendOnceDecision(response, responseError, now);
          if (decision.retry) delayInMs = Math.max(decision.retryAfterInMs ?? 0, 1000);
        } else if (retryCount + 1 < maxAttempts) {
          for (const strategy of strategies) {
            const m = strategy.retry({ retryCount, response, responseError });
            if (m.skipStrategy) continue;
            if (m.errorToThrow) throw m.errorToThrow;
            delayInMs = m.retryAfterInMs;
            break;
          }
        }
        if (delayInMs === undefined || now() + delayInMs >= deadline) {
          if (responseError) throw responseError;
          return response as PipelineResponse;
        }
        budget.onRetry?.({ attempt: retryCount + 1, delayInMs });
        await sleep(delayInMs, request.abortSignal as AbortSignal | undefined);
      }
    },
  };
}

export interface AttemptOptions {
  /** Each attempt (connect, headers, body) is aborted after this long; clamped to the signal's deadline. */
  readonly attemptTimeoutInMs?: number;
  /** The body is read up to this many bytes; more is an error (`ResponseTooLarge`). 0 discards the body. */
  readonly maxBodyBytes?: number;
  /** The Authorization value for this attempt; attached only when the URL's host is `credential.host`. */
  readonly credential?: {
    readonly host: string;
    value(signal: AbortSignal): Promise<string>;
  };
  /** `Retry-After` values above this are cut to it in the response itself, so every reader (SDK pollers too) waits at most this long. */
  readonly maxRetryAfterInMs?: number;
  /** The attempt timeout runs on it (default: the system's). */
  readonly clock?: Clock;
  readonly now?: () => number;
}

const attempts = new WeakMap<PipelineRequest, number>();

/** What the attempt policy leaves on the response: the body read within its limit. */
export const bodyBytes = new WeakMap<PipelineResponse, Buffer>();

/** One attempt: its own timeout, the credential for this host only, and a bounded body read. */
export function attemptPolicy(options: AttemptOptions): PipelinePolicy {
  const clock = options.clock ?? systemClock;
  const now = options.now ?? (() => clock.now());
  return {
    name: 'taskAttempt',
    async sendRequest(request, next) {
      const outer = request.abortSignal as AbortSignal | undefined;
      const attempt = (attempts.get(request) ?? 0) + 1;
      attempts.set(request, attempt);
      // The first attempt always gets its whole timeout (a run ends within its deadline plus one request
      // timeout); a retry only gets what is left before the deadline.
      const full = options.attemptTimeoutInMs ?? 100_000;
      const timeout = attempt === 1 ? full : Math.max(0, Math.min(full, deadlineOf(outer) - now()));
      const timer = clock.timeout(timeout);
      const timedOut = () => timer.signal.aborted && !outer?.aborted;
      // AbortSignal.any rather than a listener on the caller's signal: targets run concurrently on one job signal,
      // and a listener per request in flight trips Node's MaxListenersExceededWarning past ten.
      const signal = outer ? AbortSignal.any([outer, timer.signal]) : timer.signal;
      request.abortSignal = signal;
      request.streamResponseStatusCodes = STREAM_ALL;
      if (!request.headers.has('accept-encoding')) request.headers.set('accept-encoding', 'identity');
      try {
        if (outer?.aborted) throw abortError(outer);
        if (timeout <= 0) throw timeoutError(0, request);
        if (options.credential) {
          const url = new URL(request.url);
          if (url.host.toLowerCase() !== options.credential.host.toLowerCase()) {
            throw new TaskError(
              'OutboundHostRefused',
              `Refused to send a credential meant for ${options.credential.host} to ${url.host.slice(0, 200)}.`,
              { remedy: 'Nothing was sent. Report this with the host names involved.' },
            );
          }
          request.headers.set('authorization', await raced(options.credential.value(signal), signal));
        }
        const response = await raced(next(request), signal);
        capRetryAfter(response, options.maxRetryAfterInMs ?? 60_000, now());
        const body = await readBounded(response, options.maxBodyBytes ?? 4 * 1024 * 1024, signal);
        response.readableStreamBody = undefined;
        response.bodyAsText = body.toString('utf8');
        bodyBytes.set(response, body);
        return response;
      } catch (e: unknown) {
        if (outer?.aborted) throw abortError(outer);
        if (timedOut()) throw timeoutError(timeout, request);
        if (isRestError(e) || !(e instanceof Error) || e.name === 'TaskError' || e.name === 'AbortError')
          throw e;
        // A stream dropped mid-body ('terminated', ECONNRESET): a RestError so the retry strategy sees it.
        const code = (e as { code?: unknown }).code;
        throw new RestError(e.message, { code: typeof code === 'string' ? code : 'ECONNRESET', request });
      } finally {
        timer.clear();
        request.abortSignal = outer;
        // Ours is set afresh per attempt (tokens refresh); an SDK's, set before the pipeline, is kept for retries.
        if (options.credential) request.headers.delete('authorization');
      }
    },
  };
}

/**
 * Rewrites `Retry-After` (seconds or an HTTP date) as whole seconds no longer than the cap, and caps the
 * millisecond variants: a hostile or confused server cannot park the task, whoever reads the header.
 */
function capRetryAfter(response: PipelineResponse, capInMs: number, nowInMs: number): void {
  const headers = response.headers;
  const raw = headers.get('retry-after')?.trim();
  if (raw !== undefined) {
    let ms = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw) - nowInMs;
    if (Number.isNaN(ms)) headers.delete('retry-after');
    else {
      ms = Math.min(capInMs, Math.max(0, ms));
      headers.set('retry-after', String(Math.ceil(ms / 1000)));
    }
  }
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = headers.get(name)?.trim();
    if (value === undefined) continue;
    if (/^\d+(\.\d+)?$/.test(value)) headers.set(name, String(Math.min(capInMs, Math.round(Number(value)))));
    else headers.delete(name);
  }
}

/** Every status streams, so no body is ever read whole by the HTTP client. */
const STREAM_ALL = new Set([Number.POSITIVE_INFINITY]);

async function readBounded(
  response: PipelineResponse,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Buffer> {
  const stream = response.readableStreamBody as NodeJS.ReadableStream & { destroy(error?: Error): void };
  if (!stream) return Buffer.from(response.bodyAsText ?? '', 'utf8');
  const declared = Number(response.headers.get('content-length'));
  if (maxBytes === 0 || (Number.isFinite(declared) && declared > maxBytes)) {
    stream.destroy();
    if (maxBytes === 0) return Buffer.alloc(0);
    throw tooLarge(response, maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const onAbort = () => stream.destroy(new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      total += buffer.length;
      if (total > maxBytes) {
        stream.destroy();
        throw tooLarge(response, maxBytes);
      }
      chunks.push(buffer);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(response: PipelineResponse, maxBytes: number): TaskError {
  const host = new URL(response.request.url).host;
  return new TaskError(
    'ResponseTooLarge',
    `${host} answered with more than ${maxBytes} bytes (HTTP ${response.status}); the task reads at most that much from this kind of request.`,
    {
      remedy:
        'Run the task again; if it persists, the answer is not one Azure sends: check the host and the proxy in between.',
    },
  );
}

function raced<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  // The watch ends with the race: a listener left behind per raced step piles up on the attempt's signal.
  let stop = () => {};
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      if (signal.aborted) reject(new Error('aborted'));
      else stop = whenAborted(signal, () => reject(new Error('aborted')));
    }),
  ]).finally(() => stop());
}

function timeoutError(ms: number, request: PipelineRequest): RestError {
  return new RestError(`The request to ${new URL(request.url).host} did not complete within ${ms} ms.`, {
    code: 'ETIMEDOUT',
    request,
  });
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && (reason.name === 'AbortError' || reason.name === 'CancelledError'))
    return reason;
  const e = new Error('The operation was aborted.', { cause: reason });
  e.name = 'AbortError';
  return e;
}

// ---------------------------------------------------------------------------------------------------------------
// Assembled pipelines

export interface TaskPipelineOptions extends RetryBudget, AttemptOptions {
  readonly strategy: RetryStrategy;
}

/** The full pipeline for one kind of request. Send with `pipeline.sendRequest(transport.httpClient, request)`. */
export function createTaskPipeline(transport: Transport, options: TaskPipelineOptions): Pipeline {
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(userAgentPolicy(transport.userAgent));
  pipeline.addPolicy(setClientRequestIdPolicy('x-ms-client-request-id'));
  pipeline.addPolicy(outboundGuardPolicy(transport.guard));
  pipeline.addPolicy(budgetedRetryPolicy([options.strategy], options));
  pipeline.addPolicy(attemptPolicy(options));
  pipeline.addPolicy(connectionPolicy(transport));
  return pipeline;
}

/**
 * An HttpClient that runs the task's pipeline: give it to an Azure SDK client (`httpClient`) or @azure/identity,
 * so their requests take the agent's proxy and CA, pass the guard, and are bounded like ours.
 */
export function pipelineHttpClient(transport: Transport, options: TaskPipelineOptions): HttpClient {
  const pipeline = createTaskPipeline(transport, options);
  return { sendRequest: (request) => pipeline.sendRequest(transport.httpClient, request) };
}
