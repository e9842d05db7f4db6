/**
 * The emulator's transport: one main HTTPS listener (ARM, Entra, OIDC, IMDS, control API) and two per app
 * (its site host and its SCM/Kudu host), all on 127.0.0.1 with a certificate from a CA made at start. Each
 * request is normalised, recorded, run through the fault table, authenticated where Azure would, and routed.
 * Plain node:https and a route table; no framework.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { removeTempDir } from '../harness/temp';
import { checkApiVersion } from './api-versions';
import { createServerCertificate } from './certs';
import { CLOUDS, isArmAudience, kuduAudienceVerdict } from './clouds';
import { createEntra, type Entra } from './entra';
import { applyEvent, checkEvents, dueEvents, findAppRef } from './events';
import { handleKudu, handleSite } from './kudu';
import { pullAttemptLines, sidecarNoiseLines } from './log-lines';
import type { App, EmulatorState, Fault, HostKind, Scenario } from './model';
import { createPlatform, type Platform } from './platform';
import { type ProxyRecord, startProxy } from './proxy';
import {
  armError,
  type Caller,
  type HttpReply,
  matchRoute,
  ReplyError,
  type Route,
  type RouteContext,
} from './router';
import { routes as authorizationRoutes } from './routes/authorization';
import { createControlRoutes } from './routes/control';
import { routes as identityRoutes } from './routes/identities';
import { routes as registryRoutes } from './routes/registries';
import { createRegistryDataPlane, type RegistryDataPlane } from './routes/registry-data-plane';
import { routes as resourceRoutes } from './routes/resources';
import { settleSiteOperations, routes as webRoutes } from './routes/web';
import { buildState, loadScenario } from './scenario';

export interface EmulatorInfo {
  /** `https://127.0.0.1:PORT/` (trailing slash). */
  armUrl: string;
  /** Entra on the same server; the tenant goes in the path. */
  authorityUrl: string;
  tenantId: string;
  subscriptionId: string;
  /** A service principal with the scenario's caller roles (Owner on the subscription by default). */
  clientId: string;
  clientSecret: string;
  /** PEM of the generated CA (NODE_EXTRA_CA_CERTS / REQUESTS_CA_BUNDLE). */
  caCertPath: string;
  controlUrl: string;
  /** What SYSTEM_OIDCREQUESTURI would hold for the seeded pipeline job. */
  oidcRequestUri: string;
  jobAccessToken: string;
  serviceConnectionId: string;
  /**
   * An HTTP CONNECT proxy in front of the emulator (what a corporate proxy does for an agent): it tunnels each
   * registry's login server (`<name>.azurecr.io:443`) to the emulator, where its data plane answers, and every other
   * host as asked. Give it to the built task as AGENT_PROXYURL (tests/harness does).
   */
  proxyUrl: string;
}

export interface RequestRecord {
  /** Emulated ms. */
  at: number;
  method: string;
  host: HostKind;
  url: string;
  path: string;
  apiVersion?: string;
  status: number;
  /** A state-changing call by its semantics (PUT/PATCH/DELETE, POST restart/start/stop), whatever its status. */
  write: boolean;
  /** Object ID of the authenticated caller. */
  caller?: string;
  bytes: number;
  /**
   * The JSON body of an ARM request that sent one (what tests/conformance checks against the spec), app-setting
   * values replaced by `***` (they may be secrets).
   */
  body?: unknown;
}

export interface Emulator {
  info: EmulatorInfo;
  /** The live model (mutated in place; /seed replaces its contents, never the object). */
  state: EmulatorState;
  requests(): RequestRecord[];
  writes(): RequestRecord[];
  setFaults(faults: Fault[]): void;
  advanceClock(seconds: number): void;
  /** Emulated epoch ms. */
  now(): number;
  /** Emulated seconds per real second (what `startEmulator` was given). */
  readonly timeScale: number;
  /**
   * Stops real time from moving the clock until the returned function is called (then it runs on from where it
   * stood): while the task runs in this process, only its own waits (`advanceClock`) move time, so what happens
   * when does not depend on how loaded the machine is. Holds nest.
   */
  pauseRealTime(): () => void;
  /** Replaces the state with a new scenario (listeners for the new apps are opened). */
  seed(scenario: Scenario): Promise<void>;
  /**
   * The task's run N is about to start (the demo's `--runs`): applies the `beforeRun: N` events, and the run's
   * first request becomes the zero of its `atSeconds` events. Run 1 needs no call, unless requests a test made
   * for its own setup came first (then `beginRun(1)` right before the task makes the task's first request the zero).
   */
  beginRun(run: number): void;
  /** Every secret the emulator's Entra issued (tokens, assertions) plus the seeded client secret. */
  issuedSecrets(): string[];
  /** What went through the emulator's CONNECT proxy (`info.proxyUrl`): every host a client asked for, in order. */
  proxyLog(): ProxyRecord[];
  close(): Promise<void>;
}

export interface StartOptions {
  /** A scenario object or the path of a scenario JSON file. Default: an empty scenario. */
  scenario?: Scenario | string;
  /** Main port; 0 (default) picks a free one. */
  port?: number;
  /** Emulated seconds per real second (default: the scenario's `timeScale`, else 1). */
  timeScale?: number;
}

const ARM_ROUTES: Route[] = [
  ...webRoutes,
  ...authorizationRoutes,
  ...registryRoutes,
  ...identityRoutes,
  ...resourceRoutes,
];

/** Audiences ARM accepts; anything else answers 401 InvalidAuthenticationTokenAudience. */
const ARM_AUDIENCE = /management\.(azure\.com|core\.windows\.net)|127\.0\.0\.1|localhost/i;

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** An ARM request body for the request log: parsed JSON (the text when it is not JSON), app-setting values masked. */
function recordedBody(lowerPath: string, text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  const props = (parsed as { properties?: unknown } | null)?.properties;
  if (/\/config\/appsettings$/.test(lowerPath) && props && typeof props === 'object') {
    return {
      ...(parsed as object),
      properties: Object.fromEntries(Object.keys(props).map((k) => [k, '***'])),
    };
  }
  return parsed;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function normalisePath(rawPath: string): string {
  let path = rawPath.replace(/\/{2,}/g, '/');
  try {
    path = decodeURIComponent(path);
  } catch {
    // keep the raw path when it is not valid percent-encoding
  }
  return path.length > 1 ? path.replace(/\/$/, '') : path;
}

/** Which part of the main server a path belongs to (for the request log and fault matching). */
function mainHostKind(lowerPath: string): HostKind {
  if (lowerPath.startsWith('/_emulator')) return 'control';
  if (lowerPath.startsWith('/metadata/')) return 'imds';
  if (lowerPath.includes('oidctoken') || lowerPath.includes('/_apis/')) return 'oidc';
  if (
    lowerPath.includes('/oauth2/') ||
    lowerPath.includes('.well-known') ||
    lowerPath.includes('/discovery/')
  ) {
    return 'entra';
  }
  return lowerPath.startsWith('/subscriptions') || lowerPath.startsWith('/providers') ? 'arm' : 'entra';
}

function faultMatches(
  state: EmulatorState,
  f: Fault,
  host: HostKind,
  method: string,
  lowerPath: string,
  url: string,
  target: App | undefined,
): boolean {
  if (f.host && !(Array.isArray(f.host) ? f.host : [f.host]).includes(host)) return false;
  if (f.app !== undefined && !(target && target === findAppRef(state, f.app))) return false;
  if (f.method && f.method.toUpperCase() !== method) return false;
  if (f.path && !lowerPath.includes(f.path.toLowerCase())) return false;
  if (f.pathRegex && !new RegExp(f.pathRegex, 'i').test(url)) return false;
  return true;
}

/** The emulators running in this process, by their ARM URL (the harness runs the task in process against them). */
const running = new Map<string, Emulator>();

/** The emulator of this process whose ARM URL `url` is, if any. */
export function emulatorServing(url: string): Emulator | undefined {
  return running.get(url.endsWith('/') ? url : `${url}/`);
}

export async function startEmulator(options: StartOptions = {}): Promise<Emulator> {
  const scenario: Scenario =
    typeof options.scenario === 'string' ? loadScenario(options.scenario) : (options.scenario ?? {});
  const cert = await createServerCertificate();
  const timeScale = options.timeScale ?? scenario.timeScale ?? 1;
  const realStart = Date.now();
  let offsetMs = 0;
  // Real time moves the clock from `runningSince` (real ms), when it stood at `stoodAt` (emulated ms, no offset).
  let runningSince = realStart;
  let stoodAt = realStart;
  let pauses = 0;
  const paced = () => (pauses > 0 ? stoodAt : stoodAt + (Date.now() - runningSince) * timeScale);
  const now = () => Math.floor(paced() + offsetMs);

  // The platform reads this clock: an event applied at its due time holds it there, so the restart it causes
  // and the log lines up to it are placed exactly, however late the request that noticed it came.
  let heldAt: number | undefined;
  const clock = () => heldAt ?? now();

  const state = buildState(scenario, now());
  const records: RequestRecord[] = [];
  const appServers = new Map<string, { site: Server; scm: Server }>();
  const kuduHits = new Map<string, number[]>();
  let baseUrl = '';
  let controlRoutes: Route[] = [];
  let entra: Entra;
  let dataPlane: RegistryDataPlane;

  const platform: Platform = createPlatform({
    state,
    now: clock,
    lines: { pullAttemptLines, sidecarNoiseLines },
  });

  /** Applies one event at `at`, recording what it did (or why it could not). */
  function fire(record: EmulatorState['events'][number], at: number): void {
    heldAt = at;
    try {
      platform.advanceAll();
      record.outcome = applyEvent(state, platform, record.event, at);
      record.firedAt = at;
    } catch (e: unknown) {
      record.error = e instanceof Error ? e.message : String(e);
      console.error(`emulator: event ${record.event.kind} could not be applied: ${record.error}`);
    } finally {
      heldAt = undefined;
    }
  }

  /** Applies every timed event due by now, each at its own due time. */
  function fireDue(): void {
    for (const { record, at } of dueEvents(state, now())) fire(record, at);
  }

  function beginRun(run: number): void {
    fireDue();
    state.runs.current = run;
    delete state.runs.firstRequestAt[run];
    delete state.runs.configWriteAt[run];
    const at = now();
    for (const record of state.events)
      if (record.event.beforeRun === run && record.firedAt === undefined && record.error === undefined)
        fire(record, at);
  }

  /** Refuses a scenario whose events or fault targets name what it does not hold (before anything changes). */
  function checkScenario(candidate: EmulatorState): void {
    checkEvents(candidate);
    for (const f of candidate.faults) checkFaultTarget(candidate, f);
  }

  function checkFaultTarget(candidate: EmulatorState, f: Fault): void {
    if (f.app !== undefined && !findAppRef(candidate, f.app))
      throw new Error(`scenario: fault targets unknown app '${f.app}' (use "<site>" or "<site>/<slot>")`);
  }
  checkScenario(state);
  beginRun(1);

  const appUrl = (app: App, which: 'site' | 'scm') =>
    `https://127.0.0.1:${which === 'site' ? app.sitePort : app.scmPort}`;

  function send(res: ServerResponse, reply: HttpReply, host: HostKind): number {
    const headers: Record<string, string> = {
      date: new Date(now()).toUTCString(),
      'x-ms-request-id': randomUUID(),
      ...(host === 'arm' ? { 'x-ms-correlation-request-id': randomUUID(), 'cache-control': 'no-cache' } : {}),
    };
    let payload: Buffer | undefined;
    if (Buffer.isBuffer(reply.body)) {
      payload = reply.body;
      headers['content-type'] = 'application/octet-stream';
    } else if (typeof reply.body === 'string') {
      payload = Buffer.from(reply.body);
      headers['content-type'] = 'text/plain; charset=utf-8';
    } else if (reply.body !== undefined) {
      payload = Buffer.from(JSON.stringify(reply.body));
      headers['content-type'] = 'application/json; charset=utf-8';
    }
    for (const [k, v] of Object.entries(reply.headers ?? {})) headers[k.toLowerCase()] = v;
    headers['content-length'] = String(payload?.length ?? 0);
    res.writeHead(reply.status, headers);
    res.end(payload);
    return payload?.length ?? 0;
  }

  /** The authenticated caller from `Authorization: Bearer`, or the 401 ARM answers. */
  function armCaller(headers: IncomingMessage['headers']): Caller | HttpReply {
    const auth = headerValue(headers.authorization) ?? '';
    const challenge = {
      'www-authenticate': `Bearer authorization_uri="${baseUrl}${state.tenantId}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
    };
    if (!/^bearer /i.test(auth)) {
      return armError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.",
        undefined,
        challenge,
      );
    }
    const verified = entra.verifyAccessToken(auth.slice(7).trim());
    if (!verified) return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    if (verified.expired) {
      return armError(
        401,
        'ExpiredAuthenticationToken',
        `The access token expiry UTC time is earlier than current UTC time '${new Date(now()).toISOString()}'.`,
      );
    }
    if (!ARM_AUDIENCE.test(verified.audience) && !isArmAudience(state.cloud, verified.audience, baseUrl)) {
      return armError(
        401,
        'InvalidAuthenticationTokenAudience',
        `The access token has been obtained for wrong audience or resource '${verified.audience}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.`,
      );
    }
    return { objectId: verified.objectId, clientId: verified.clientId, tenantId: verified.tenantId };
  }

  /** Kudu accepts a bearer token Entra issued, or Basic with the app's publishing credentials when allowed. */
  function kuduCaller(app: App, headers: IncomingMessage['headers']): Caller | HttpReply {
    const auth = headerValue(headers.authorization) ?? '';
    const unauthorized: HttpReply = {
      status: 401,
      headers: { 'www-authenticate': 'Basic realm="site"' },
      body: '401 - Unauthorized: Access is denied due to invalid credentials.',
    };
    if (/^bearer /i.test(auth)) {
      const v = entra.verifyAccessToken(auth.slice(7).trim());
      if (!v || v.expired) return unauthorized;
      const verdict = kuduAudienceVerdict(state.cloud, state.kuduAcceptsArmAudience, v.audience, baseUrl);
      if (verdict === 'unauthorized') return unauthorized;
      if (verdict === 'forbidden') {
        return {
          status: 403,
          body: `403 - Forbidden: a token for audience '${v.audience}' is not accepted here; request one for ${CLOUDS[state.cloud].appServiceAudience}.`,
        };
      }
      return { objectId: v.objectId, clientId: v.clientId, tenantId: v.tenantId };
    }
    if (/^basic /i.test(auth)) {
      if (!app.scmBasicAuthAllowed) return unauthorized;
      const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = decoded.slice(0, colon);
      const pass = decoded.slice(colon + 1);
      if (colon < 0 || user !== app.publishingUserName || pass !== app.publishingPassword)
        return unauthorized;
      return { objectId: `basic:${user}`, clientId: user, tenantId: state.tenantId };
    }
    return unauthorized;
  }

  function kuduRateLimited(app: App): HttpReply | undefined {
    const limit = state.kuduRateLimit;
    if (!limit) return undefined;
    const t = now();
    const hits = (kuduHits.get(app.id) ?? []).filter((h) => t - h < limit.perSeconds * 1000);
    hits.push(t);
    kuduHits.set(app.id, hits);
    if (hits.length <= limit.maxRequests) return undefined;
    return { status: 406, body: { Error: 'Excessive SCM Site operation requests. Retry after 5 seconds' } };
  }

  function makeContext(
    host: HostKind,
    method: string,
    path: string,
    query: URLSearchParams,
    headers: IncomingMessage['headers'],
    body: string,
    caller: Caller | undefined,
    app: App | undefined,
    onWrite: () => void,
  ): RouteContext {
    return {
      host,
      method,
      path,
      lowerPath: path.toLowerCase(),
      query,
      headers,
      body,
      json<T>() {
        if (!body.trim()) return {} as T;
        try {
          return JSON.parse(body) as T;
        } catch {
          throw new ReplyError(
            armError(
              400,
              'InvalidRequestContent',
              'The request content was invalid and could not be deserialized.',
            ),
          );
        }
      },
      state,
      caller,
      now,
      apiVersion: query.get('api-version') ?? undefined,
      ...(app ? { app } : {}),
      markWrite: onWrite,
      baseUrl,
      appUrl,
      platform,
      newGuid: randomUUID,
    };
  }

  async function dispatch(
    host: HostKind,
    app: App | undefined,
    method: string,
    path: string,
    query: URLSearchParams,
    headers: IncomingMessage['headers'],
    body: string,
    record: RequestRecord,
  ): Promise<HttpReply> {
    const lowerPath = path.toLowerCase();
    const onWrite = () => {
      record.write = true;
    };
    // Again here: a fault's latency may have let an event come due since the request arrived.
    if (host !== 'control') fireDue();
    if (host === 'site' && app) return handleSite(app, platform, method);
    if (host === 'kudu' && app) {
      const limited = kuduRateLimited(app);
      if (limited) return limited;
      const caller = kuduCaller(app, headers);
      if (!('objectId' in caller)) return caller;
      record.caller = caller.objectId;
      platform.advance(app);
      return handleKudu(makeContext(host, method, path, query, headers, body, caller, app, onWrite));
    }
    if (host === 'control') {
      const found = matchRoute(controlRoutes, method, lowerPath);
      if (!found)
        return {
          status: 404,
          body: { error: { code: 'NotFound', message: `No control route ${method} ${path}` } },
        };
      return found.route.handle(
        makeContext(host, method, path, query, headers, body, undefined, undefined, onWrite),
        found.match,
      );
    }
    const entraReply = entra.handle({ method, path, query, headers, body });
    if (entraReply) return entraReply as HttpReply;
    record.host = 'arm';
    const caller = armCaller(headers);
    if (!('objectId' in caller)) return caller;
    record.caller = caller.objectId;
    if (!query.get('api-version')) {
      return armError(
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    }
    if (state.delays.armLatencyMs > 0) await sleep(state.delays.armLatencyMs);
    const found = matchRoute(ARM_ROUTES, method, lowerPath);
    if (!found) {
      return armError(
        404,
        'InvalidResourceType',
        `The resource type could not be found for ${method} '${path}' (not emulated).`,
      );
    }
    const wrongVersion = checkApiVersion(
      state.cloud,
      state.apiVersions,
      path,
      query.get('api-version') ?? '',
      state.resourceGroups[0]?.location ?? 'westeurope',
    );
    if (wrongVersion) return wrongVersion;
    if (found.route.write || ['PUT', 'PATCH', 'DELETE'].includes(method)) record.write = true;
    platform.advanceAll();
    settleSiteOperations(state, now());
    return found.route.handle(
      makeContext(host, method, path, query, headers, body, caller, undefined, onWrite),
      found.match,
    );
  }

  function listener(kind: 'main' | 'site' | 'scm', app?: App) {
    return async (req: IncomingMessage, res: ServerResponse) => {
      const method = (req.method ?? 'GET').toUpperCase();
      const rawUrl = req.url ?? '/';
      const q = rawUrl.indexOf('?');
      const path = normalisePath(q >= 0 ? rawUrl.slice(0, q) : rawUrl);
      const query = new URLSearchParams(q >= 0 ? rawUrl.slice(q + 1) : '');
      const lowerPath = path.toLowerCase();
      // A registry's login server (reached through the agent's proxy) is its data plane, whatever the path.
      const registry = kind === 'main' ? dataPlane.registryFor(headerValue(req.headers.host)) : undefined;
      const host: HostKind = registry
        ? 'registry'
        : kind === 'site'
          ? 'site'
          : kind === 'scm'
            ? 'kudu'
            : mainHostKind(lowerPath);
      const record: RequestRecord = {
        at: now(),
        method,
        host,
        url: rawUrl,
        path,
        ...(query.get('api-version') ? { apiVersion: query.get('api-version') ?? '' } : {}),
        status: 0,
        write: false,
        bytes: 0,
      };
      if (host !== 'control') {
        records.push(record);
        state.runs.firstRequestAt[state.runs.current] ??= record.at;
        if ((method === 'PATCH' || method === 'PUT') && /\/config\/web$/.test(lowerPath))
          state.runs.configWriteAt[state.runs.current] ??= record.at;
        fireDue();
      }
      try {
        const body = await readBody(req);
        if (host === 'arm' && body) record.body = recordedBody(lowerPath, body);
        const fault = state.faults.find((f) => {
          if (!faultMatches(state, f, host, method, lowerPath, rawUrl, app)) return false;
          f.matched = (f.matched ?? 0) + 1;
          const n = f.matched - (f.after ?? 0);
          return n > 0 && (f.times === undefined || n <= f.times);
        });
        if (fault?.latencyMs) await sleep(fault.latencyMs);
        if (fault?.slowMs) {
          // A slow answer on the run's timeline: while an in-process run has paused the real-time pace, the time
          // passes on the emulated clock (scaled as real time is) without a real wait; otherwise it is a real wait.
          if (pauses > 0) offsetMs += fault.slowMs * timeScale;
          else await sleep(fault.slowMs);
        }
        if (fault?.drop) {
          record.status = 0;
          req.socket.destroy();
          return;
        }
        let reply: HttpReply;
        if (fault?.status) {
          reply = {
            status: fault.status,
            ...(fault.headers ? { headers: fault.headers } : {}),
            ...(fault.body !== undefined ? { body: endlessPage(fault, baseUrl, path, query) } : {}),
          };
        } else {
          try {
            reply = registry
              ? dataPlane.handle(registry, {
                  method,
                  path,
                  query,
                  headers: req.headers,
                  body,
                  remoteAddress: req.socket.remoteAddress,
                })
              : await dispatch(host, app, method, path, query, req.headers, body, record);
          } catch (e: unknown) {
            if (e instanceof ReplyError) reply = e.reply;
            else
              reply = armError(
                500,
                'InternalServerError',
                `Emulator error: ${e instanceof Error ? e.stack : String(e)}`,
              );
          }
        }
        record.status = reply.status;
        record.bytes = send(res, reply, record.host);
      } catch (e: unknown) {
        record.status = 500;
        if (!res.headersSent) send(res, armError(500, 'InternalServerError', String(e)), host);
      }
    };
  }

  function listen(server: Server, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  const tls = { key: cert.keyPem, cert: cert.certPem };
  function newServer(kind: 'main' | 'site' | 'scm', app?: App): Server {
    const server = createServer(tls, listener(kind, app));
    server.keepAliveTimeout = 5000;
    return server;
  }

  async function openAppListeners(): Promise<void> {
    for (const app of state.apps) {
      if (appServers.has(app.id)) continue;
      const site = newServer('site', app);
      const scm = newServer('scm', app);
      app.sitePort = await listen(site, 0);
      app.scmPort = await listen(scm, 0);
      appServers.set(app.id, { site, scm });
    }
  }

  function closeServer(s: Server): Promise<void> {
    return new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  async function closeAppListeners(): Promise<void> {
    const all = [...appServers.values()];
    appServers.clear();
    await Promise.all(all.flatMap(({ site, scm }) => [closeServer(site), closeServer(scm)]));
  }

  const main = newServer('main');
  const mainPort = await listen(main, options.port ?? 0);
  baseUrl = `https://127.0.0.1:${mainPort}/`;
  // Entra derives its issuer and endpoints from the base URL once, so it is made when the port is known.
  entra = createEntra({
    tenantId: state.tenantId,
    baseUrl,
    now,
    applications: () => state.applications,
    managedIdentities: () => state.agentIdentities,
    pipeline: () => state.pipeline,
    tokenLifetimeSeconds: () => state.delays.tokenLifetimeSeconds,
    assertionLifetimeSeconds: () => state.delays.assertionLifetimeSeconds,
  });
  dataPlane = createRegistryDataPlane({
    state,
    now,
    verifyAccessToken: (token) => entra.verifyAccessToken(token),
    isArmAudience: (audience) => ARM_AUDIENCE.test(audience),
  });
  await openAppListeners();
  const proxy = await startProxy({
    route: (host, port) =>
      port === 443 && dataPlane.registryFor(host) ? { host: '127.0.0.1', port: mainPort } : undefined,
  });

  const info = {} as EmulatorInfo;
  function refreshInfo(): void {
    const collection = `${baseUrl}${state.pipeline.organization}/`;
    Object.assign(info, {
      armUrl: baseUrl,
      authorityUrl: baseUrl,
      tenantId: state.tenantId,
      subscriptionId: state.subscriptions[0]?.subscriptionId ?? '',
      clientId: state.defaultClient.clientId,
      clientSecret: state.defaultClient.clientSecret,
      caCertPath: cert.caCertPath,
      controlUrl: `${baseUrl}_emulator`,
      oidcRequestUri: `${collection}${state.pipeline.projectId}/_apis/distributedtask/hubs/build/plans/${randomUUID()}/jobs/${randomUUID()}/oidctoken`,
      jobAccessToken: state.pipeline.jobAccessToken,
      serviceConnectionId: state.pipeline.serviceConnectionIds[0] ?? '',
      proxyUrl: proxy.url,
    } satisfies EmulatorInfo);
  }
  refreshInfo();

  const emulator: Emulator = {
    info,
    state,
    requests: () => records.slice(),
    writes: () => records.filter((r) => r.write),
    setFaults(faults) {
      for (const f of faults) checkFaultTarget(state, f);
      state.faults = faults.map((f) => ({ ...f, matched: 0 }));
    },
    advanceClock(seconds) {
      offsetMs += seconds * 1000;
      fireDue();
      platform.advanceAll();
    },
    beginRun,
    now,
    timeScale,
    pauseRealTime() {
      if (pauses === 0) stoodAt = paced();
      pauses++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--pauses === 0) runningSince = Date.now();
      };
    },
    async seed(next) {
      const fresh = buildState(next, now());
      checkScenario(fresh);
      await closeAppListeners();
      for (const key of Object.keys(state)) delete (state as unknown as Record<string, unknown>)[key];
      Object.assign(state, fresh);
      kuduHits.clear();
      beginRun(1);
      await openAppListeners();
      refreshInfo();
    },
    issuedSecrets: () => [
      ...entra.issuedSecrets(),
      ...dataPlane.issuedSecrets(),
      state.defaultClient.clientSecret,
      state.pipeline.jobAccessToken,
    ],
    proxyLog: () => proxy.log(),
    async close() {
      running.delete(baseUrl);
      await proxy.close();
      await closeAppListeners();
      await closeServer(main);
      removeTempDir(dirname(cert.caCertPath));
    },
  };
  controlRoutes = createControlRoutes({
    emulator,
    records,
    advanceAll: () => {
      fireDue();
      platform.advanceAll();
    },
    clearRecords: () => {
      records.length = 0;
    },
  });
  running.set(baseUrl, emulator);
  return emulator;
}

/**
 * A fault's body; with `endlessPages`, the page gets a `nextLink` to the same list one `$skiptoken` further on, so
 * a client that trusts nextLink never reaches a last page (every link is new, so only caps can stop it).
 */
function endlessPage(fault: Fault, baseUrl: string, path: string, query: URLSearchParams): Fault['body'] {
  if (!fault.endlessPages || typeof fault.body !== 'object' || Buffer.isBuffer(fault.body)) return fault.body;
  const q = new URLSearchParams(query);
  q.set('$skiptoken', String((Number.parseInt(q.get('$skiptoken') ?? '0', 10) || 0) + 1));
  return { ...fault.body, nextLink: `${baseUrl.replace(/\/$/, '')}${path}?${q.toString()}` };
}
