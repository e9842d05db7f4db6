/**
 * The SCM (Kudu) host of a site or slot: the docker log listing and ranged reads of the log files
 * (docs/azure-behaviour.md#kudu-docker-log-listing).
 *
 * Authentication: the ARM bearer token first (Kudu accepts it, and it works when basic auth is disabled). Only
 * when Kudu refuses it and `basicPublishingCredentialsPolicies/scm` allows basic auth do we fetch the publishing
 * credentials, register the password as a secret, and use Basic. The SCM host always comes from the site
 * resource (never constructed), and a token is only ever sent to that host. Returns data; never logs.
 */
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
  /** From `hostNameSslStates[hostType=Repository]` (see web-apps `scmHostName`). */
  readonly scmHostName: string;
  /** Registers a secret with the agent before anything could print it (the publishing password). */
  readonly setSecret: (secret: string) => void;
  readonly retry?: RetryOptions;
}

export function createKuduClient(options: KuduClientOptions): KuduClient {
  const origin = `https://${options.scmHostName}`;
  let basic: string | undefined;
  let bearerRefused = false;

  async function authorization(signal: AbortSignal | undefined): Promise<string> {
    if (basic) return basic;
    return `Bearer ${await options.arm.getToken(signal)}`;
  }

  /** After a 401 to the bearer token: switch to Basic when the SCM policy allows it; false when it does not. */
  async function switchToBasic(signal: AbortSignal | undefined): Promise<boolean> {
    if (basic || bearerRefused) return false;
    bearerRefused = true;
    if (!(await getScmBasicAuthAllowed(options.arm, options.target, signal))) return false;
    const credentials = await listPublishingCredentials(options.arm, options.target, signal);
    options.setSecret(credentials.publishingPassword);
    basic = `Basic ${Buffer.from(`${credentials.publishingUserName}:${credentials.publishingPassword}`).toString('base64')}`;
    return true;
  }

  async function get(
    url: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<HttpResponse> {
    const once = () =>
      send(
        {
          method: 'GET',
          url,
          headers,
          headersForAttempt: async (_attempt, attemptSignal) => ({
            authorization: await authorization(attemptSignal),
          }),
        },
        { maxAttempts: 3, attemptTimeoutInMs: 30_000, ...options.retry, ...(signal ? { signal } : {}) },
      );
    const first = await once();
    if (first.status === 401 && (await switchToBasic(signal))) return once();
    return first;
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
    scmHostName: options.scmHostName,
    async listDockerLogs(signal) {
      const response = await get(`${origin}/api/logs/docker`, { accept: 'application/json' }, signal);
      if (response.status !== 200) return failure(response);
      let parsed: unknown;
      try {
        parsed = JSON.parse(response.text);
      } catch {
        return { kind: 'failed', status: response.status, message: 'The docker log listing was not JSON.' };
      }
      const entries = (Array.isArray(parsed) ? parsed : []).flatMap((e: unknown): DockerLogEntry[] => {
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
      });
      return { kind: 'ok', value: entries };
    },
    async readLogFile(href, from, signal) {
      const headers: Record<string, string> = { accept: 'text/plain, */*' };
      if (from > 0) headers.range = `bytes=${from}-`;
      const response = await get(onScmHost(href), headers, signal);
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
