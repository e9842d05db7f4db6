/**
 * Microsoft.ManagedIdentity user-assigned identities: get one, list per resource group or subscription.
 * Bodies follow IdentityGet.json (api-version 2024-11-30); any api-version is accepted.
 */
import { findIdentity, type UserAssignedIdentity } from '../model';
import { canRead, canSeeSubscription } from '../roles';
import {
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

const TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities';

/** An identity as ARM prints it (same keys as the official IdentityGet.json example). */
export function identityBody(i: UserAssignedIdentity): object {
  return {
    name: i.name,
    type: TYPE,
    id: i.id,
    location: i.location,
    properties: {
      clientId: i.clientId,
      isolationScope: 'None',
      principalId: i.principalId,
      tenantId: i.tenantId,
    },
    tags: {},
  };
}

function callerOf(ctx: RouteContext): string {
  return ctx.caller?.objectId ?? '';
}

function hasSubscription(ctx: RouteContext, sub: string): boolean {
  return ctx.state.subscriptions.some((s) => s.subscriptionId.toLowerCase() === sub.toLowerCase());
}

function hasResourceGroup(ctx: RouteContext, sub: string, rg: string): boolean {
  return ctx.state.resourceGroups.some(
    (g) => g.subscriptionId.toLowerCase() === sub.toLowerCase() && g.name.toLowerCase() === rg.toLowerCase(),
  );
}

function getIdentity(ctx: RouteContext): HttpReply {
  const parts = ctx.path.split('/');
  const [sub = '', rg = '', name = ''] = [parts[2], parts[4], parts[8]];
  const id = parts.slice(0, 9).join('/');
  if (!canRead(ctx.state, callerOf(ctx), id)) return authorizationFailed(callerOf(ctx), `${TYPE}/read`, id);
  if (!hasSubscription(ctx, sub)) return subscriptionNotFound(sub);
  if (!hasResourceGroup(ctx, sub, rg)) return resourceGroupNotFound(rg);
  const identity = findIdentity(ctx.state, id);
  if (!identity) return resourceNotFound(TYPE, name, rg);
  return json(200, identityBody(identity));
}

function listIdentities(ctx: RouteContext, sub: string, rg?: string): HttpReply {
  if (!hasSubscription(ctx, sub)) return subscriptionNotFound(sub);
  if (!canSeeSubscription(ctx.state, callerOf(ctx), sub)) {
    return authorizationFailed(callerOf(ctx), `${TYPE}/read`, `/subscriptions/${sub}`);
  }
  if (rg !== undefined && !hasResourceGroup(ctx, sub, rg)) return resourceGroupNotFound(rg);
  const items = ctx.state.identities
    .filter(
      (i) =>
        i.subscriptionId.toLowerCase() === sub.toLowerCase() &&
        (rg === undefined || i.resourceGroup.toLowerCase() === rg.toLowerCase()) &&
        canRead(ctx.state, callerOf(ctx), i.id),
    )
    .map(identityBody);
  return page(ctx, items, ctx.state.paging.identities);
}

const NS = '/providers/microsoft\\.managedidentity/userassignedidentities';

export const routes: Route[] = [
  { method: 'GET', pattern: new RegExp(`^${RG}${NS}/([^/]+)$`), handle: (ctx) => getIdentity(ctx) },
  {
    method: 'GET',
    pattern: new RegExp(`^${RG}${NS}$`),
    handle: (ctx) => {
      const parts = ctx.path.split('/');
      return listIdentities(ctx, parts[2] ?? '', parts[4] ?? '');
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^${SUB}${NS}$`),
    handle: (ctx) => listIdentities(ctx, ctx.path.split('/')[2] ?? ''),
  },
];
