/**
 * Reads of a tracked ARM resource kept as a list in the state (registries, user-assigned identities): get one,
 * list per subscription or resource group. ARM answers these the same way for every resource provider, so the
 * order of its checks lives here once: rights before existence on a get (a caller without read rights gets 403
 * even for a missing resource), existence before rights on a list, and lists filtered to what the caller can
 * read, as ARM filters collection GETs.
 */
import { type EmulatorState, hasResourceGroup, hasSubscription, type Paging, sameId } from '../model';
import { canRead, canSeeSubscription } from '../roles';
import {
  callerOf,
  type HttpReply,
  json,
  page,
  RG,
  type Route,
  type RouteContext,
  resourceGroupNotFound,
  resourceNotFound,
  SUB,
  subscriptionNotFound,
} from '../router';
import { authorizationFailed } from './authorization';

/** What every tracked resource in the state has. */
export interface TrackedResource {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
}

/** One kind of tracked resource: where it lives in the state and how ARM prints it. */
export interface TrackedKind<T extends TrackedResource> {
  /** ARM type, e.g. `Microsoft.ContainerRegistry/registries`; `${type}/read` is the action checked. */
  type: string;
  /** Lower-case regex source of the path after the resource group, e.g. `/providers/microsoft\\.x/things`. */
  ns: string;
  all(state: EmulatorState): readonly T[];
  /** The resource as ARM prints it at the request's api-version. */
  body(resource: T, apiVersion?: string): object;
  /** Which page size of the scenario applies to its lists. */
  paging: keyof Paging;
}

/** 404 for a subscription that does not exist, 403 for one the caller cannot see; undefined when visible. */
export function subscriptionGate(ctx: RouteContext, sub: string, action: string): HttpReply | undefined {
  if (!hasSubscription(ctx.state, sub)) return subscriptionNotFound(sub);
  if (!canSeeSubscription(ctx.state, callerOf(ctx), sub)) {
    return authorizationFailed(callerOf(ctx), action, `/subscriptions/${sub}`);
  }
  return undefined;
}

/** Original-case path segments (the route patterns match the lower-cased path). */
function segments(ctx: RouteContext): string[] {
  return ctx.path.split('/');
}

function getOne<T extends TrackedResource>(ctx: RouteContext, kind: TrackedKind<T>): HttpReply {
  const parts = segments(ctx);
  const [sub = '', rg = '', name = ''] = [parts[2], parts[4], parts[8]];
  const id = parts.slice(0, 9).join('/');
  if (!canRead(ctx.state, callerOf(ctx), id))
    return authorizationFailed(callerOf(ctx), `${kind.type}/read`, id);
  if (!hasSubscription(ctx.state, sub)) return subscriptionNotFound(sub);
  if (!hasResourceGroup(ctx.state, sub, rg)) return resourceGroupNotFound(rg);
  const resource = kind.all(ctx.state).find((r) => sameId(r.id, id));
  if (!resource) return resourceNotFound(kind.type, name, rg);
  return json(200, kind.body(resource, ctx.apiVersion));
}

function list<T extends TrackedResource>(
  ctx: RouteContext,
  kind: TrackedKind<T>,
  sub: string,
  rg?: string,
): HttpReply {
  const gate = subscriptionGate(ctx, sub, `${kind.type}/read`);
  if (gate) return gate;
  if (rg !== undefined && !hasResourceGroup(ctx.state, sub, rg)) return resourceGroupNotFound(rg);
  const items = kind
    .all(ctx.state)
    .filter(
      (r) =>
        r.subscriptionId.toLowerCase() === sub.toLowerCase() &&
        (rg === undefined || r.resourceGroup.toLowerCase() === rg.toLowerCase()) &&
        canRead(ctx.state, callerOf(ctx), r.id),
    )
    .map((r) => kind.body(r, ctx.apiVersion));
  return page(ctx, items, ctx.state.paging[kind.paging]);
}

/** The three GET routes of a tracked kind: one resource, the resource group's list, the subscription's list. */
export function trackedResourceRoutes<T extends TrackedResource>(kind: TrackedKind<T>): Route[] {
  return [
    { method: 'GET', pattern: new RegExp(`^${RG}${kind.ns}/([^/]+)$`), handle: (ctx) => getOne(ctx, kind) },
    {
      method: 'GET',
      pattern: new RegExp(`^${RG}${kind.ns}$`),
      handle: (ctx) => {
        const parts = segments(ctx);
        return list(ctx, kind, parts[2] ?? '', parts[4] ?? '');
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${SUB}${kind.ns}$`),
      handle: (ctx) => list(ctx, kind, segments(ctx)[2] ?? ''),
    },
  ];
}
