/**
 * The route-handler contract of the emulator: a route is a method plus a regex on the lower-cased, normalised
 * path; the server finds the first match and calls `handle`. Handlers read and mutate `ctx.state` and return
 * an `HttpReply`; they never touch sockets. ARM error bodies are built with `armError`.
 *
 * Every module under `routes/` exports `export const routes: Route[]`; server.ts concatenates them (web first,
 * then authorization, registries, identities, resources). ARM routes see `ctx.caller` already authenticated
 * (401 is answered before routing); authorization checks (403) are the routes' business.
 */
import type { App, EmulatorState, HostKind } from './model';

/** What a handler answers. Objects are sent as JSON; a Buffer as bytes; a string as text. */
export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | object | Buffer;
}

/** The authenticated caller of an ARM or Kudu request (from a bearer token the emulator's Entra issued). */
export interface Caller {
  objectId: string;
  clientId: string;
  tenantId: string;
}

export interface RouteContext {
  host: HostKind;
  method: string;
  /** Path with `//` collapsed, original case, no query string. */
  path: string;
  /** `path` lower-cased: what route patterns match against. */
  lowerPath: string;
  query: URLSearchParams;
  /** Node's lower-cased header map. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Parses the body as JSON; `{}` when empty. Throws `ReplyError` 400 on malformed JSON. */
  json<T = unknown>(): T;
  state: EmulatorState;
  caller: Caller | undefined;
  /** Emulated epoch ms. */
  now(): number;
  /** The `api-version` query parameter (required on ARM). */
  apiVersion: string | undefined;
  /** For Kudu and site hosts: the app this listener serves. */
  app?: App;
  /** Mark the request as state-changing (the request log's `write`); PUT/PATCH/DELETE are marked already. */
  markWrite(): void;
  /** Base URL of the main server, `https://127.0.0.1:PORT/`. */
  baseUrl: string;
  /** Base URL of an app's host: `https://127.0.0.1:PORT` for its site or SCM listener. */
  appUrl(app: App, which: 'site' | 'scm'): string;
  /** Platform hooks (platform.ts): the site must restart, or a start is requested by a site hit. */
  platform: PlatformHooks;
  /** Mints and registers things that need the emulator's ID source. */
  newGuid(): string;
}

/** What route handlers may ask the platform model to do (implemented in platform.ts). */
export interface PlatformHooks {
  /** A config/app-settings/identity/container change or an explicit restart: the site starts over. */
  restart(app: App, reason: string): void;
  start(app: App): void;
  stop(app: App): void;
  /** Brings the app's runtime up to the current emulated time (writes due log lines). */
  advance(app: App): void;
  /** Would a pull of `image` (default: the configured one) succeed at `at`? (Windows image validation.) */
  evaluatePull(app: App, at: number, image?: string): { outcome: string; reason: string };
}

export type RouteHandler = (ctx: RouteContext, match: RegExpMatchArray) => HttpReply | Promise<HttpReply>;

export interface Route {
  method: string;
  /** Matched against `ctx.lowerPath`; write patterns in lower case. */
  pattern: RegExp;
  /** Requests that change state even though they are POST (restart...). PUT/PATCH/DELETE always do. */
  write?: boolean;
  handle: RouteHandler;
}

/** Thrown by helpers deep in a handler to answer immediately (caught by the server). */
export class ReplyError extends Error {
  readonly reply: HttpReply;
  constructor(reply: HttpReply) {
    super(`reply ${reply.status}`);
    this.name = 'ReplyError';
    this.reply = reply;
  }
}

/** An ARM error reply: `{ error: { code, message } }` (+ target/details when given). */
export function armError(
  status: number,
  code: string,
  message: string,
  extra?: { target?: string; details?: { code: string; message: string; target?: string }[] },
  headers?: Record<string, string>,
): HttpReply {
  const error: Record<string, unknown> = { code, message };
  if (extra?.target) error.target = extra.target;
  if (extra?.details) error.details = extra.details;
  return { status, body: { error }, ...(headers ? { headers } : {}) };
}

/** Azure's 404 for a missing resource: `The Resource 'Microsoft.Web/sites/x' under resource group 'rg' was not found...`. */
export function resourceNotFound(resourceType: string, name: string, resourceGroup: string): HttpReply {
  return armError(
    404,
    'ResourceNotFound',
    `The Resource '${resourceType}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

export function resourceGroupNotFound(resourceGroup: string): HttpReply {
  return armError(404, 'ResourceGroupNotFound', `Resource group '${resourceGroup}' could not be found.`);
}

export function subscriptionNotFound(subscriptionId: string): HttpReply {
  return armError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`);
}

/** The caller's object ID; '' when the request carried none (ARM routes are authenticated before routing). */
export function callerOf(ctx: RouteContext): string {
  return ctx.caller?.objectId ?? '';
}

export function json(status: number, body: object, headers?: Record<string, string>): HttpReply {
  return { status, body, ...(headers ? { headers } : {}) };
}

/**
 * A page of a collection: `{ value, nextLink? }`. `nextLink` repeats the request URL with `$skiptoken` (an
 * offset) so the SDK's pager follows it.
 */
export function page<T>(ctx: RouteContext, items: T[], pageSize: number): HttpReply {
  const skip = Number.parseInt(ctx.query.get('$skiptoken') ?? '0', 10) || 0;
  const size = Math.max(1, pageSize);
  const value = items.slice(skip, skip + size);
  const body: { value: T[]; nextLink?: string } = { value };
  if (skip + size < items.length) {
    const q = new URLSearchParams(ctx.query);
    q.set('$skiptoken', String(skip + size));
    body.nextLink = `${ctx.baseUrl.replace(/\/$/, '')}${ctx.path}?${q.toString()}`;
  }
  return { status: 200, body };
}

/** Finds the first route whose method and pattern match. */
export function matchRoute(
  routes: readonly Route[],
  method: string,
  lowerPath: string,
): { route: Route; match: RegExpMatchArray } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = lowerPath.match(route.pattern);
    if (match) return { route, match };
  }
  return undefined;
}

/**
 * Regex source for an ARM resource-group-scoped prefix; captures subscription and resource group.
 * Use as `new RegExp(`^${RG}/providers/microsoft.web/sites/([^/]+)$`)`.
 */
export const RG = '/subscriptions/([^/]+)/resourcegroups/([^/]+)';
/** Captures the subscription only. */
export const SUB = '/subscriptions/([^/]+)';
