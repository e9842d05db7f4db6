/**
 * Microsoft.Resources: the subscription-wide resource list with `$filter` (how the task finds an app's resource
 * group), and the subscriptions list / get. Results are limited to what the caller can read, as ARM filters
 * collection GETs by RBAC; a subscription the caller cannot see does not exist for it.
 */
import type { App, EmulatorState } from '../model';
import { canRead, canSeeSubscription } from '../roles';
import {
  armError,
  callerOf,
  type HttpReply,
  json,
  page,
  type Route,
  type RouteContext,
  subscriptionNotFound,
} from '../router';
import { subscriptionGate } from './tracked-resources';

/** One entry of `GET /subscriptions/{s}/resources`. */
export interface GenericResource {
  id: string;
  name: string;
  type: string;
  kind?: string;
  location: string;
  tags: Record<string, string>;
  /** Resource group name, for filtering (not sent). */
  resourceGroup: string;
}

/** ARM's normalised location (`West Europe` → `westeurope`). */
function locationName(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}

/** The `kind` App Service reports for a container app of each platform. */
export function appKind(app: Pick<App, 'platform'>): string {
  if (app.platform === 'windows') return 'app,container,windows';
  if (app.platform === 'sidecar') return 'app,linux';
  return 'app,linux,container';
}

/** Every resource the emulator models in one subscription, as the generic resource list shows it. */
export function resourcesIn(state: EmulatorState, subscriptionId: string): GenericResource[] {
  const inSub = (s: string) => s.toLowerCase() === subscriptionId.toLowerCase();
  const out: GenericResource[] = [];
  for (const app of state.apps.filter((a) => inSub(a.subscriptionId))) {
    out.push({
      id: app.id,
      name: app.slot ? `${app.siteName}/${app.slot}` : app.siteName,
      type: app.slot ? 'Microsoft.Web/sites/slots' : 'Microsoft.Web/sites',
      kind: appKind(app),
      location: locationName(app.location),
      tags: {},
      resourceGroup: app.resourceGroup,
    });
  }
  for (const r of state.registries.filter((x) => inSub(x.subscriptionId))) {
    out.push({
      id: r.id,
      name: r.name,
      type: 'Microsoft.ContainerRegistry/registries',
      location: locationName(r.location),
      tags: {},
      resourceGroup: r.resourceGroup,
    });
  }
  for (const i of state.identities.filter((x) => inSub(x.subscriptionId))) {
    out.push({
      id: i.id,
      name: i.name,
      type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
      location: locationName(i.location),
      tags: {},
      resourceGroup: i.resourceGroup,
    });
  }
  return out;
}

type ResourceField = 'resourceType' | 'name' | 'resourceGroup' | 'location';

/**
 * Parses `field eq 'value'` terms joined by `and` (keywords in any case; values compared case-insensitively,
 * and decoded once more when a client URL-encoded them twice, e.g. `Microsoft.Web%2FSites`). Undefined when a
 * term is something else.
 */
export function parseResourceFilter(
  filter: string | null,
): Partial<Record<ResourceField, string>> | undefined {
  const out: Partial<Record<ResourceField, string>> = {};
  if (!filter?.trim()) return out;
  const fields: Record<string, ResourceField> = {
    resourcetype: 'resourceType',
    name: 'name',
    resourcegroup: 'resourceGroup',
    location: 'location',
  };
  for (const raw of filter.trim().split(/\s+and\s+/i)) {
    const m = /^(\w+)\s+eq\s+'((?:[^']|'')*)'$/i.exec(raw.trim());
    const field = m ? fields[(m[1] ?? '').toLowerCase()] : undefined;
    if (!m || !field) return undefined;
    let value = (m[2] ?? '').replace(/''/g, "'");
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not encoded after all (a literal % sign): keep it.
    }
    out[field] = value;
  }
  return out;
}

function matches(r: GenericResource, f: Partial<Record<ResourceField, string>>): boolean {
  const eq = (a: string, b: string | undefined) => b === undefined || a.toLowerCase() === b.toLowerCase();
  return (
    eq(r.type, f.resourceType) &&
    eq(r.name, f.name) &&
    eq(r.resourceGroup, f.resourceGroup) &&
    eq(r.location, f.location === undefined ? undefined : locationName(f.location))
  );
}

function listResources(ctx: RouteContext, sub: string): HttpReply {
  const gate = subscriptionGate(ctx, sub, 'Microsoft.Resources/subscriptions/resources/read');
  if (gate) return gate;
  const raw = ctx.query.get('$filter');
  const filter = parseResourceFilter(raw);
  if (!filter) {
    return armError(
      400,
      'InvalidFilterInQueryString',
      `Invalid $filter '${raw}' specified in the query string.`,
    );
  }
  const items = resourcesIn(ctx.state, sub)
    .filter((r) => matches(r, filter) && canRead(ctx.state, callerOf(ctx), r.id))
    .map(({ resourceGroup: _rg, kind, ...rest }) => ({ ...rest, ...(kind ? { kind } : {}) }));
  return page(ctx, items, ctx.state.paging.sites);
}

function subscriptionBody(state: EmulatorState, subscriptionId: string): object | undefined {
  const s = state.subscriptions.find((x) => x.subscriptionId.toLowerCase() === subscriptionId.toLowerCase());
  if (!s) return undefined;
  return {
    id: `/subscriptions/${s.subscriptionId}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    subscriptionId: s.subscriptionId,
    tenantId: s.tenantId,
    displayName: s.displayName,
    state: 'Enabled',
    subscriptionPolicies: {
      locationPlacementId: 'Public_2014-09-01',
      quotaId: 'PayAsYouGo_2014-09-01',
      spendingLimit: 'Off',
    },
  };
}

function listSubscriptions(ctx: RouteContext): HttpReply {
  const value = ctx.state.subscriptions
    .filter((s) => canSeeSubscription(ctx.state, callerOf(ctx), s.subscriptionId))
    .map((s) => subscriptionBody(ctx.state, s.subscriptionId));
  return json(200, { count: { type: 'Total', value: value.length }, value });
}

function getSubscription(ctx: RouteContext, sub: string): HttpReply {
  const body = subscriptionBody(ctx.state, sub);
  // A subscription the caller cannot see answers exactly like one that does not exist.
  if (!body || !canSeeSubscription(ctx.state, callerOf(ctx), sub)) return subscriptionNotFound(sub);
  return json(200, body);
}

export const routes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/subscriptions\/([^/]+)\/resources$/,
    handle: (ctx) => listResources(ctx, ctx.path.split('/')[2] ?? ''),
  },
  { method: 'GET', pattern: /^\/subscriptions$/, handle: (ctx) => listSubscriptions(ctx) },
  {
    method: 'GET',
    pattern: /^\/subscriptions\/([^/]+)$/,
    handle: (ctx) => getSubscription(ctx, ctx.path.split('/')[2] ?? ''),
  },
];
