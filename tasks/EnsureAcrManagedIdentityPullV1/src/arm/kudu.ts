/**
 * The SCM (Kudu) host of a site or slot: the docker log listing and ranged reads of the log files
 * (docs/azure-behaviour.md#kudu-docker-log-listing).
 *
 * Authentication, in order, each step only after Kudu answered 401 or 403 to the previous one:
 * 1. a bearer token for the cloud's App Service audience (`https://appservice.azure.com/.default`, `.azure.us`,
 *    `.azure.cn`: the scope map of Microsoft's azure-arm-rest, common-npm-packages/azure-arm-rest/azure-arm-common.ts),
 *    where Kudu is moving and the only one some sovereign clouds accept. A 401 to it may only mean the cached
 *    token has expired (by Kudu's clock, or revoked early): it is renewed once, bypassing every cache, before we
 *    move on; a 403 (audience not accepted) moves on at once;
 * 2. the ARM-audience token (what Kudu has accepted so far; also the answer when Entra will not issue step 1);
 * 3. Basic with the publishing credentials, only when `basicPublishingCredentialsPolicies/scm` allows it (the
 *    password is registered as a secret first).
 * The SCM host is derived from the site's default host name and the cloud (http/guard.ts `appServiceHosts`),
 * never taken from the response's host list, and every credential is bound to that host. Listings and log reads
 * are bounded (bytes, files). Returns data; never logs.
 */
import { appServiceHosts } from '../http/guard';
import { defaultTransport } from '../http/pipeline';
import { type HttpResponse, type RetryOptions, send } from '../http/retry';
import type { ArmClient } from './client';
import { getScmBasicAuthAllowed, listPublishingCredentials, type PathRef } from './web-apps';

/** One entry of `GET /api/logs/docker`. */
export interface DockerLogEntry {
  readonly machineName: string;
  /** Epoch ms (Kudu prints UTC ISO with up to 7 fractional digits). */
  readonly lastUpdated: number;
  readonly size: number;
  readonly href: string;
}

export type KuduResult<T> =
  | { readonly kind: 'ok'; readonly value: T }
  /** HTTP 406 "Excessive SCM Site operation requests": back off at least 5 s. */
  | { readonly kind: 'rateLimited' }
  /** Neither bearer nor (allowed) basic credentials were accepted, or the caller lacks publish rights. */
  | { readonly kind: 'denied'; readonly status: number }
  | { readonly kind: 'failed'; readonly status: number; readonly message: string };

export interface LogFileSlice {
  /** The bytes from `from` on (or the whole file when the server ignored the range). */
  readonly text: string;
  /** True when the server answered the range (206, or 416 = nothing new). */
  readonly ranged: boolean;
  /** Total size when the server said (Content-Range), for the next read. */
  readonly totalSize: number | undefined;
}

export interface KuduClient {
  readonly scmHostName: string;
  listDockerLogs(signal?: AbortSignal): Promise<KuduResult<DockerLogEntry[]>>;
  /** Reads `href` from byte `from` on with `Range: bytes=from-`. */
  readLogFile(href: string, from: number, signal?: AbortSignal): Promise<KuduResult<LogFileSlice>>;
}

export interface KuduClientOptions {
  readonly arm: ArmClient;
  readonly target: PathRef;
  /** The site's `defaultHostName`: the SCM host is derived from it and the cloud. */
  readonly defaultHostName: string;
  /** From `hostNameSslStates[hostType=Repository]`: used only in a cloud without a published suffix, on the ARM host. */
  readonly scmHostName: string | undefined;
  /** Registers a secret with the agent before anything could print it (the publishing password). */
  readonly setSecret: (secret: string) => void;
  readonly retry?: RetryOptions;
}

/** Kudu's own audience per named cloud (keyed by the connection's environment, lower case). */
const APP_SERVICE_SCOPES: Readonly<Record<string, string>> = {
  azurecloud: 'https://appservice.azure.com/.default',
  azureusgovernment: 'https://appservice.azure.us/.default',
  azurechinacloud: 'https://appservice.azure.cn/.default',
};

/** The App Service token scope for a connection's environment; undefined for clouds without one (ARM token only). */
export function appServiceScope(environment: string): string | undefined {
  return APP_SERVICE_SCOPES[environment.toLowerCase()];
}

/** Most bytes one docker log listing may weigh, and most files it may name (a site has a few per instance). */
export const MAX_LISTING_BYTES = 1024 * 1024;
export const MAX_LISTING_FILES = 200;
/** Most bytes one ranged log read may return (the caller reads the rest on the next poll). */
export const MAX_LOG_READ_BYTES = 4 * 1024 * 1024;

type Auth =
  | { readonly kind: 'bearer'; readonly scope: string | undefined }
  | { readonly kind: 'basic'; readonly value: string };

/**
 * The Kudu client of a target, or undefined when its SCM host cannot be derived from its default host name in this
 * cloud (an App Service Environment or a cloud the task does not know): credentials then go nowhere, and the
 * caller reads the log through ARM containerlogs instead.
 */
export function createKuduClient(options: KuduClientOptions): KuduClient | undefined {
  const hosts = appServiceHosts(options.arm.armUrl, options.defaultHostName, options.scmHostName);
  if (!hosts) return undefined;
  const scmHost = hosts.scm;
  const transport = options.arm.transport ?? defaultTransport();
  transport.guard.trust(scmHost, `the SCM site of ${options.target.path}`);
  const origin = `https://${scmHost}`;
  // Bearer scopes to try in order; `undefined` is the ARM token.
  const ladder: Auth[] = [
    ...(options.arm.kuduScopes ?? []).map((scope): Auth => ({ kind: 'bearer', scope })),
    { kind: 'bearer', scope: undefined },
  ];
  let step = 0;
  let basicTried = false;

  async function authorization(signal: AbortSignal | undefined): Promise<string> {
    const auth = ladder[step] as Auth;
    if (auth.kind === 'basic') return auth.value;
    if (auth.scope && options.arm.getTokenFor)
      return `Bearer ${await options.arm.getTokenFor(auth.scope, signal)}`;
    return `Bearer ${await options.arm.getToken(signal)}`;
  }

  /** After a 401/403: the next rung (another audience, then Basic when the SCM policy allows it); false at the end. */
  async function nextCredential(signal: AbortSignal | undefined): Promise<boolean> {
    if (step + 1 < ladder.length) {
      step++;
      return true;
    }
    if (basicTried) return false;
    basicTried = true;
    if (!(await getScmBasicAuthAllowed(options.arm, options.target, signal))) return false;
    const credentials = await listPublishingCredentials(options.arm, options.target, signal);
    options.setSecret(credentials.publishingPassword);
    ladder.push({
      kind: 'basic',
      value: `Basic ${Buffer.from(`${credentials.publishingUserName}:${credentials.publishingPassword}`).toString('base64')}`,
    });
    step++;
    return true;
  }

  async function get(
    url: string,
    headers: Record<string, string>,
    maxBodyBytes: number,
    signal?: AbortSignal,
  ): Promise<HttpResponse> {
    const once = () =>
      send(
        { method: 'GET', url, headers },
        {
          maxAttempts: 3,
          attemptTimeoutInMs: 30_000,
          ...options.retry,
          transport,
          maxBodyBytes,
          credential: { host: scmHost, value: (attemptSignal) => authorization(attemptSignal) },
          ...(signal ? { signal } : {}),
        },
      );
    // Entra would not issue a token for this audience (a cloud without it): go down the ladder.
    const attempt = () =>
      once().catch(async (e: unknown) => {
        if (
          ladder[step]?.kind === 'bearer' &&
          (ladder[step] as { scope?: string }).scope &&
          isTokenFailure(e)
        ) {
          step++;
          return once();
        }
        throw e;
      });
    let response = await attempt();
    let renewed = false;
    for (;;) {
      if (response.status !== 401 && response.status !== 403) return response;
      const auth = ladder[step];
      if (
        response.status === 401 &&
        !renewed &&
        auth?.kind === 'bearer' &&
        auth.scope &&
        options.arm.invalidateTokenFor
      ) {
        renewed = true;
        options.arm.invalidateTokenFor(auth.scope);
        response = await attempt();
        continue;
      }
      if (!(await nextCredential(signal))) return response;
      response = await once();
    }
  }

  function isTokenFailure(e: unknown): boolean {
    return (
      e instanceof Error &&
      (e.name === 'TaskError' ||
        e.name === 'AuthenticationError' ||
        e.name === 'CredentialUnavailableError') &&
      /^AUTH_|token/i.test((e as { code?: string }).code ?? e.message)
    );
  }

  function failure<T>(response: HttpResponse): KuduResult<T> {
    if (response.status === 406) return { kind: 'rateLimited' };
    if (response.status === 401 || response.status === 403)
      return { kind: 'denied', status: response.status };
    return { kind: 'failed', status: response.status, message: response.text.slice(0, 300) };
  }

  /** Only ever send credentials to the SCM host itself; keep the path of an href that names another origin. */
  function onScmHost(href: string): string {
    const url = new URL(href, origin);
    return url.origin === origin ? url.toString() : `${origin}${url.pathname}`;
  }

  return {
    scmHostName: scmHost,
    async listDockerLogs(signal) {
      const response = await get(
        `${origin}/api/logs/docker`,
        { accept: 'application/json' },
        MAX_LISTING_BYTES,
        signal,
      );
      if (response.status !== 200) return failure(response);
      let parsed: unknown;
      try {
        parsed = JSON.parse(response.text);
      } catch {
        return { kind: 'failed', status: response.status, message: 'The docker log listing was not JSON.' };
      }
      const entries = (Array.isArray(parsed) ? parsed.slice(0, MAX_LISTING_FILES) : []).flatMap(
        (e: unknown): DockerLogEntry[] => {
          const x = e as { machineName?: unknown; lastUpdated?: unknown; size?: unknown; href?: unknown };
          if (typeof x.machineName !== 'string' || typeof x.href !== 'string') return [];
          const lastUpdated = typeof x.lastUpdated === 'string' ? Date.parse(x.lastUpdated) : Number.NaN;
          return [
            {
              machineName: x.machineName,
              lastUpdated: Number.isNaN(lastUpdated) ? 0 : lastUpdated,
              size: typeof x.size === 'number' ? x.size : 0,
              href: x.href,
            },
          ];
        },
      );
      return { kind: 'ok', value: entries };
    },
    async readLogFile(href, from, signal) {
      const headers: Record<string, string> = { accept: 'text/plain, */*' };
      if (from > 0) headers.range = `bytes=${from}-`;
      const response = await get(onScmHost(href), headers, MAX_LOG_READ_BYTES, signal);
      const total = /\/(\d+)\s*$/.exec(response.headers.get('content-range') ?? '')?.[1];
      const totalSize = total === undefined ? undefined : Number(total);
      if (response.status === 416) return { kind: 'ok', value: { text: '', ranged: true, totalSize } };
      if (response.status === 206)
        return { kind: 'ok', value: { text: response.text, ranged: true, totalSize } };
      if (response.status === 200)
        return { kind: 'ok', value: { text: response.text, ranged: false, totalSize } };
      return failure(response);
    },
  };
}
