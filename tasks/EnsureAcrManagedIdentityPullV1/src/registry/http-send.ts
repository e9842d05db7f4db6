/**
 * The registry data plane's transport on the task's shared HTTP code (`../http/retry.ts`): few attempts and a
 * short per-attempt timeout, because the check is advisory and must never hold the run up; one debug line per
 * exchange with method, host and path only (never a token, a body or a query).
 */
import { type FetchLike, send } from '../http/retry';
import type { RegistrySend } from './data-plane';

export interface RegistryHttpOptions {
  readonly signal?: AbortSignal;
  readonly debug?: (message: string) => void;
  /** The transport (default: global fetch). */
  readonly fetch?: FetchLike;
}

/** Attempts per request: one retry for a dropped connection, a 429 or a 5xx. */
const ATTEMPTS = 2;
const ATTEMPT_TIMEOUT_MS = 15_000;

export function registryHttpSend(options: RegistryHttpOptions = {}): RegistrySend {
  return async (r) => {
    const url = new URL(r.url);
    const response = await send(
      { method: r.method, url: r.url, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}) },
      {
        maxAttempts: ATTEMPTS,
        attemptTimeoutInMs: ATTEMPT_TIMEOUT_MS,
        baseDelayInMs: 500,
        maxRetryAfterInMs: 5_000,
        ...((r.signal ?? options.signal) ? { signal: r.signal ?? options.signal } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        onAttempt: (info) =>
          options.debug?.(
            `${r.method} https://${url.host}${url.pathname} -> ${info.status} in ${info.ms} ms`,
          ),
      },
    );
    return { status: response.status, headers: response.headers, text: response.text };
  };
}
