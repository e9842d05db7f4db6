/**
 * The registry data plane's transport: the run's one HTTP pipeline (`../http/pipeline.ts`: the agent's proxy
 * and CA, the outbound guard) through `send()`, with few attempts and a short per-attempt timeout, because the
 * check is advisory and must never hold the run up. One debug line per exchange with method, host and path only
 * (never a token, a body or a query).
 */
import type { Clock } from '../clock';
import { defaultTransport, type Transport } from '../http/pipeline';
import { send } from '../http/retry';
import type { RegistrySend } from './data-plane';

export interface RegistryTransport {
  readonly send: RegistrySend;
  /**
   * Lets requests go to a registry's login server. Call it only with the login server of the registry resource
   * ARM returned (the guard's rule: hosts come from trusted inputs, never from a response or an image name).
   */
  allow(loginServer: string): void;
}

export interface RegistryHttpOptions {
  readonly signal?: AbortSignal;
  readonly debug?: (message: string) => void;
  /** Default: the run's transport. */
  readonly transport?: Transport;
  /** The run's clock (default: the system's). */
  readonly clock?: Clock;
}

/** Attempts per request: one retry for a dropped connection, a 429 or a 5xx. */
const ATTEMPTS = 2;
const ATTEMPT_TIMEOUT_MS = 10_000;
/** A tag list of 100 names is a few KiB; anything much bigger is not an answer we want. */
const MAX_BODY_BYTES = 256 * 1024;

export function registryHttpTransport(options: RegistryHttpOptions = {}): RegistryTransport {
  const transport = () => options.transport ?? defaultTransport();
  return {
    allow(loginServer) {
      transport().guard.trust(loginServer, "the registry's login server (from its ARM resource)");
    },
    async send(r) {
      const url = new URL(r.url);
      const signal = r.signal ?? options.signal;
      const response = await send(
        {
          method: r.method,
          url: r.url,
          headers: r.headers,
          ...(r.body !== undefined ? { body: r.body } : {}),
        },
        {
          transport: transport(),
          ...(options.clock ? { clock: options.clock } : {}),
          maxAttempts: ATTEMPTS,
          attemptTimeoutInMs: ATTEMPT_TIMEOUT_MS,
          totalBudgetInMs: 2 * ATTEMPT_TIMEOUT_MS + 5_000,
          baseDelayInMs: 500,
          maxRetryAfterInMs: 5_000,
          maxBodyBytes: MAX_BODY_BYTES,
          ...(signal ? { signal } : {}),
          onAttempt: (info) =>
            options.debug?.(
              `${r.method} https://${url.host}${url.pathname} -> ${info.status} in ${info.ms} ms`,
            ),
        },
      );
      return { status: response.status, headers: response.headers, text: response.text };
    },
  };
}
