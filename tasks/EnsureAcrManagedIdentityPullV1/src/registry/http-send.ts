/**
 * The registry data plane's transport: the run's one HTTP pipeline (`../http/pipeline.ts`: the agent's proxy
 * and CA, the outbound guard) through `send()`, with few attempts and a short per-attempt timeout, because the
 * check is advisory and must never hold the run up. One debug line per exchange with method, host and path only
 * (never a token, a body or a query).
 */
import type { Clock } from '../clock';
import { acrSuffixOf, loginServerProblem } from '../http/guard';
import { defaultTransport, type Transport } from '../http/pipeline';
import { send } from '../http/retry';
import type { RegistrySend } from './data-plane';

export interface RegistryTransport {
  readonly send: RegistrySend;
  /**
   * Lets requests go to a registry's login server, if it is the registry's own name under the cloud's ACR suffix
   * (http/guard.ts `loginServerProblem`); otherwise trusts nothing and says why. `registryName` comes from the
   * registry's checked resource ID, `loginServer` from its ARM answer.
   */
  allow(registryName: string, loginServer: string): { readonly refused: string | undefined };
}

export interface RegistryHttpOptions {
  readonly signal?: AbortSignal;
  readonly debug?: (message: string) => void;
  /** Default: the run's transport. */
  readonly transport?: Transport;
  /** The service connection's cloud (`AzureCloud`...), which names the ACR suffix. Default `AzureCloud`. */
  readonly environment?: string;
  /** Registers a value the agent must mask: every token a registry answer carries, the moment it arrives. */
  readonly setSecret?: (value: string) => void;
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
    allow(registryName, loginServer) {
      const refused = loginServerProblem(
        registryName,
        loginServer,
        acrSuffixOf(options.environment ?? 'AzureCloud'),
      );
      if (!refused)
        transport().guard.trust(loginServer, "the registry's login server (its name and the cloud's suffix)");
      return { refused };
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
      registerTokens(response.text, options.setSecret);
      return { status: response.status, headers: response.headers, text: response.text };
    },
  };
}

/** The fields of a registry's token answers (`/oauth2/exchange`, `/oauth2/token`; Docker's `token` too). */
const TOKEN_FIELDS = ['refresh_token', 'access_token', 'token'] as const;

/**
 * Registers every token a registry answer carries as a secret before anything else reads the answer, so an
 * error that later quotes one (a refusal echoing the refresh token) is masked like the Entra token beside it.
 */
function registerTokens(text: string, setSecret: ((value: string) => void) | undefined): void {
  if (!setSecret || !text || text.length > MAX_BODY_BYTES || !/_?token"/.test(text)) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return;
  }
  if (!parsed || typeof parsed !== 'object') return;
  for (const field of TOKEN_FIELDS) {
    const value = (parsed as Record<string, unknown>)[field];
    if (typeof value === 'string' && value) setSecret(value);
  }
}
