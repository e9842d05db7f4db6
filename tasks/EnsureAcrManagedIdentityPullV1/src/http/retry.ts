/**
 * The one retry policy every outbound request of the task goes through (ARM, Kudu, the site warm-up, OIDC).
 *
 * - Bounded attempts; exponential back-off with full jitter (delay = random() * min(max, base * 2^(n-1))), so
 *   parallel targets that fail together do not retry together.
 * - `Retry-After` (seconds or an HTTP date; also `retry-after-ms` / `x-ms-retry-after-ms`) is honoured on 429 and
 *   503, capped so a hostile or confused server cannot park the task, and never shorter than the base delay.
 * - Retries 408/429/500/502/503/504 and dropped connections, and App Service's 409 "another operation is in
 *   progress" (a write refused while an identity change or deployment runs on the site: nothing was written) after
 *   its Retry-After or 5 s, so the attempts span about 20 s; everything else is the caller's answer.
 * - Each attempt has its own timeout; the caller's AbortSignal cancels the attempt and the back-off at once.
 * - `sleep`, `random` and `now` are injectable, so tests run without real time.
 *
 * `withRetry` wraps whole operations (PrincipalNotFound after a grant); `send` runs single HTTP exchanges through
 * the task's pipeline with the same rules as its retry strategy (`taskRetryStrategy`).
 */
import {
  createHttpHeaders,
  createPipelineRequest,
  type HttpHeaders,
  type HttpMethods,
  type PipelinePolicy,
  type RetryStrategy,
} from '@azure/core-rest-pipeline';
import { abortErrorFrom, type Clock, systemClock, timeoutReason } from '../clock';
import {
  type AttemptOptions,
  bodyBytes,
  createTaskPipeline,
  deadlineOf,
  defaultTransport,
  isSiteBusyConflict,
  SITE_BUSY_RETRY_IN_MS,
  type Transport,
} from './pipeline';

export interface RetryOptions {
  /** Total attempts including the first (default 5). */
  readonly maxAttempts?: number;
  /** First back-off ceiling (default 1000 ms); doubles per attempt. */
  readonly baseDelayInMs?: number;
  /** Back-off ceiling (default 30 s). */
  readonly maxDelayInMs?: number;
  /** Longest `Retry-After` we accept; longer values are cut to this (default 60 s). */
  readonly maxRetryAfterInMs?: number;
  /** Each attempt is aborted after this long and counts as a retryable timeout (default 100 s, like ARM's). */
  readonly attemptTimeoutInMs?: number;
  /** Cancels the attempt in flight and any back-off; the call then rejects with an AbortError. */
  readonly signal?: AbortSignal;
  /** The run's clock: back-off waits, attempt timeouts and deadlines run on it (default: the system's). */
  readonly clock?: Clock;
  /** Injected for tests (default: the clock's). Must reject when `signal` aborts. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests: a number in [0, 1). */
  readonly random?: () => number;
  /** Injected for tests (default: the clock's): epoch ms, used to turn an HTTP-date Retry-After into a delay. */
  readonly now?: () => number;
}

/** What one attempt gets: its number (1-based) and a signal that fires on the caller's abort or the attempt timeout. */
export interface AttemptContext {
  readonly attempt: number;
  readonly signal: AbortSignal;
}

/** The classifier's answer for one attempt's outcome. */
export type RetryDecision =
  | { readonly retry: false }
  | { readonly retry: true; readonly retryAfterInMs?: number };

export interface WithRetryOptions<T> extends RetryOptions {
  /** Decides whether a returned value is worth another attempt (e.g. an HTTP 503). Default: never. */
  readonly classifyResult?: (result: T) => RetryDecision;
  /** Decides whether a thrown error is worth another attempt. Default: `isTransientNetworkError`. */
  readonly classifyError?: (error: unknown) => RetryDecision;
  /** Called before a result is dropped for a retry (e.g. to release a response body). */
  readonly discard?: (result: T) => Promise<void> | void;
}

/** The part of fetch's Headers / core's HttpHeaders the classifiers read. */
export interface HeaderReader {
  get(name: string): string | null | undefined;
}

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

const DEFAULTS = {
  maxAttempts: 5,
  baseDelayInMs: 1000,
  maxDelayInMs: 30_000,
  maxRetryAfterInMs: 60_000,
  attemptTimeoutInMs: 100_000,
};

/**
 * Runs `fn` until it gives an answer the classifiers accept, the attempts run out (then the last result is
 * returned or the last error thrown), or the signal aborts (then it rejects with an AbortError at once).
 */
export async function withRetry<T>(
  fn: (context: AttemptContext) => Promise<T>,
  options: WithRetryOptions<T> = {},
): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULTS.maxAttempts);
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => clock.sleep(ms, signal));
  const now = options.now ?? (() => clock.now());
  const random = options.random ?? Math.random;
  const classifyError = options.classifyError ?? defaultClassifyError;
  const outer = options.signal;

  for (let attempt = 1; ; attempt++) {
    throwIfAborted(outer);
    let decision: RetryDecision;
    let failure: { error: unknown } | undefined;
    let result: T | undefined;
    try {
      result = await runAttempt(
        fn,
        attempt,
        outer,
        options.attemptTimeoutInMs ?? DEFAULTS.attemptTimeoutInMs,
        clock,
      );
      decision = options.classifyResult ? options.classifyResult(result) : { retry: false };
    } catch (e: unknown) {
      // The caller's cancellation wins over whatever the attempt threw (a fetch AbortError, a socket error...).
      throwIfAborted(outer);
      failure = { error: e };
      decision = classifyError(e);
    }
    const delayInMs = backoffDelayInMs(attempt, decision, options, random);
    // A wait that would end after the signal's deadline (pipeline.ts `withDeadline`) is not worth starting.
    const late = now() + delayInMs >= deadlineOf(outer);
    if (!decision.retry || attempt >= maxAttempts || late) {
      if (failure) throw failure.error;
      return result as T;
    }
    if (!failure && options.discard) await options.discard(result as T);
    await sleep(delayInMs, outer).catch((e: unknown) => {
      throw outer?.aborted ? abortErrorFrom(outer) : e;
    });
  }
}

/** The wait before attempt `attempt + 1`. Exported for the table tests. */
export function backoffDelayInMs(
  attempt: number,
  decision: RetryDecision,
  options: Pick<RetryOptions, 'baseDelayInMs' | 'maxDelayInMs' | 'maxRetryAfterInMs'> = {},
  random: () => number = Math.random,
): number {
  const base = options.baseDelayInMs ?? DEFAULTS.baseDelayInMs;
  if (decision.retry && decision.retryAfterInMs !== undefined) {
    const cap = options.maxRetryAfterInMs ?? DEFAULTS.maxRetryAfterInMs;
    // Never hammer: a `Retry-After: 0` still waits the base delay.
    return Math.min(cap, Math.max(base, decision.retryAfterInMs));
  }
  const ceiling = Math.min(options.maxDelayInMs ?? DEFAULTS.maxDelayInMs, base * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

async function runAttempt<T>(
  fn: (context: AttemptContext) => Promise<T>,
  attempt: number,
  outer: AbortSignal | undefined,
  timeoutInMs: number,
  clock: Clock,
): Promise<T> {
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(abortErrorFrom(outer));
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const timer = clock.timeout(timeoutInMs);
  const onTimeout = () => controller.abort(timeoutError(timeoutInMs));
  timer.signal.addEventListener('abort', onTimeout, { once: true });
  try {
    // Race the attempt against its own signal so a callee that ignores the signal cannot hold us up.
    return await Promise.race([
      fn({ attempt, signal: controller.signal }),
      new Promise<never>((_, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
      }),
    ]);
  } finally {
    timer.clear();
    timer.signal.removeEventListener('abort', onTimeout);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

function defaultClassifyError(e: unknown): RetryDecision {
  return { retry: isTransientNetworkError(e) };
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/**
 * A dropped or refused connection, a timeout, or undici's ways of saying so (`fetch failed` with a cause,
 * `terminated` while reading the body, `UND_ERR_*` codes). Walks the `cause` chain.
 */
export function isTransientNetworkError(e: unknown): boolean {
  for (let current: unknown = e, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') return false;
    const { code, name, message, cause } = current as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
      cause?: unknown;
    };
    if (name === 'AbortError') return false; // a cancellation is never retried
    if (name === 'TimeoutError') return true; // our per-attempt timeout
    if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || code.startsWith('UND_ERR_'))) return true;
    if (typeof message === 'string' && /socket hang up|^terminated$|other side closed/i.test(message))
      return true;
    current = cause;
  }
  return false;
}

/**
 * Parses `Retry-After` (delta seconds or an HTTP date) or the millisecond variants Azure sends. Undefined when
 * absent or unreadable. A date in the past gives 0.
 */
export function parseRetryAfterInMs(
  headers: HeaderReader,
  now: () => number = systemClock.now,
): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = headers.get(name);
    if (value && /^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value.trim()));
  }
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now());
}

/**
 * The decision for an HTTP answer: retryable statuses retry; 429/503 carry their Retry-After; a 409 whose body
 * says the site is busy with another operation retries after its Retry-After or `SITE_BUSY_RETRY_IN_MS`.
 */
export function classifyStatus(
  status: number,
  headers: HeaderReader,
  now?: () => number,
  bodyText?: string | null,
): RetryDecision {
  if (isSiteBusyConflict(status, bodyText))
    return { retry: true, retryAfterInMs: parseRetryAfterInMs(headers, now) ?? SITE_BUSY_RETRY_IN_MS };
  if (!RETRYABLE_STATUSES.has(status)) return { retry: false };
  if (status === 429 || status === 503) {
    const retryAfterInMs = parseRetryAfterInMs(headers, now);
    if (retryAfterInMs !== undefined) return { retry: true, retryAfterInMs };
  }
  return { retry: true };
}

// ---------------------------------------------------------------------------------------------------------------
// send(): one HTTP exchange through the task's pipeline (pipeline.ts: proxy, CA, guard, bounded body), with the
// policy above as its retry strategy. The body is read inside the attempt, so a connection dropped mid-body is
// retried and the attempt timeout covers the whole exchange.

/** The policy above as an @azure/core-rest-pipeline retry strategy. */
export function taskRetryStrategy(
  options: Pick<
    RetryOptions,
    'baseDelayInMs' | 'maxDelayInMs' | 'maxRetryAfterInMs' | 'random' | 'now' | 'clock'
  > & {
    readonly classifyResponse?: (status: number, headers: HeaderReader, bodyText?: string) => RetryDecision;
  } = {},
): RetryStrategy {
  const random = options.random ?? Math.random;
  const clock = options.clock ?? systemClock;
  const now = options.now ?? (() => clock.now());
  return {
    name: 'taskRetry',
    retry({ retryCount, response, responseError }) {
      let decision: RetryDecision;
      if (responseError && !response) decision = defaultClassifyError(responseError);
      else if (response)
        decision = options.classifyResponse
          ? options.classifyResponse(response.status, response.headers, response.bodyAsText ?? undefined)
          : classifyStatus(response.status, response.headers, now, response.bodyAsText);
      else decision = { retry: false };
      if (!decision.retry) return { skipStrategy: true };
      return { retryAfterInMs: backoffDelayInMs(retryCount + 1, decision, options, random) };
    },
  };
}

export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as is (JSON callers stringify first). */
  readonly body?: string | Uint8Array;
  /** How to read the body: text (default) or raw bytes (zip downloads). */
  readonly responseType?: 'text' | 'bytes';
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The body as text ('' for bytes responses). */
  readonly text: string;
  /** Present when `responseType: 'bytes'`. */
  readonly bytes?: Uint8Array;
  /** Which attempt produced this response (1-based). */
  readonly attempt: number;
}

export interface SendOptions extends RetryOptions {
  /** Called after every attempt that got a response (or failed with status 0), e.g. for debug logging. */
  readonly onAttempt?: (info: {
    attempt: number;
    status: number;
    headers: Headers | undefined;
    ms: number;
  }) => void;
  /** Override which responses retry (default: `classifyStatus`). */
  readonly classifyResponse?: (status: number, headers: HeaderReader) => RetryDecision;
  /** The transport (default: the run's, with the agent's proxy and CA). */
  readonly transport?: Transport;
  /** The Authorization header, sent only to `credential.host` (recomputed per attempt: tokens refresh). */
  readonly credential?: AttemptOptions['credential'];
  /** The most this kind of answer may weigh (default 4 MiB); 0 discards the body unread. */
  readonly maxBodyBytes?: number;
  /** The whole exchange, waits included, ends within this (default 5 min) or the signal's deadline. */
  readonly totalBudgetInMs?: number;
}

/**
 * Sends one request with retries. Resolves with the final response whatever its status (after the last attempt a
 * 503 is returned, not thrown); rejects on network errors once attempts run out, with an AbortError, or with a
 * TaskError (`OutboundHostRefused`, `ResponseTooLarge`).
 */
export async function send(request: HttpRequest, options: SendOptions = {}): Promise<HttpResponse> {
  const transport = options.transport ?? defaultTransport();
  const clock = options.clock ?? systemClock;
  const now = options.now ?? (() => clock.now());
  let attempt = 0;
  let started = now();
  const pipeline = createTaskPipeline(transport, {
    strategy: taskRetryStrategy(options),
    maxAttempts: options.maxAttempts ?? 5,
    ...(options.totalBudgetInMs !== undefined ? { totalBudgetInMs: options.totalBudgetInMs } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.attemptTimeoutInMs !== undefined ? { attemptTimeoutInMs: options.attemptTimeoutInMs } : {}),
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.credential ? { credential: options.credential } : {}),
    clock,
    now,
  });
  const observe: PipelinePolicy = {
    name: 'attemptObserver',
    async sendRequest(req, next) {
      attempt++;
      started = now();
      try {
        const response = await next(req);
        options.onAttempt?.({
          attempt,
          status: response.status,
          headers: toHeaders(response.headers),
          ms: now() - started,
        });
        return response;
      } catch (e: unknown) {
        options.onAttempt?.({ attempt, status: 0, headers: undefined, ms: now() - started });
        throw e;
      }
    },
  };
  pipeline.addPolicy(observe, { beforePolicies: ['taskAttempt'] });
  const pipelineRequest = createPipelineRequest({
    url: request.url,
    method: request.method.toUpperCase() as HttpMethods,
    headers: createHttpHeaders(request.headers ?? {}),
    ...(request.body !== undefined ? { body: request.body } : {}),
    ...(options.signal ? { abortSignal: options.signal } : {}),
  });
  const response = await pipeline.sendRequest(transport.httpClient, pipelineRequest);
  const bytes = bodyBytes.get(response) ?? Buffer.alloc(0);
  return request.responseType === 'bytes'
    ? { status: response.status, headers: toHeaders(response.headers), text: '', bytes, attempt }
    : {
        status: response.status,
        headers: toHeaders(response.headers),
        text: bytes.toString('utf8'),
        attempt,
      };
}

function toHeaders(headers: HttpHeaders): Headers {
  const out = new Headers();
  for (const [name, value] of headers) out.set(name, value);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

export { abortableSleep, abortErrorFrom } from '../clock';

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortErrorFrom(signal);
}

function timeoutError(ms: number): Error {
  const e = timeoutReason(ms);
  e.message = `The request did not complete within ${ms} ms.`;
  return e;
}
