/**
 * Microsoft.ContainerRegistry control plane: get a registry, list them per subscription or resource group,
 * and listCredentials. Bodies follow RegistryGet.json (api-version 2025-11-01); any api-version is accepted.
 * Reads answer 403 unless the caller holds a role that can read the registry (at it or above it); lists
 * show only what the caller can read, as ARM filters collection GETs.
 */
import { findRegistry, type Registry } from '../model';
import { canRead, canSeeSubscription } from '../roles';
import {
  armError,
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
import { authorizationFailed, requireAction } from './authorization';

const TYPE = 'Microsoft.ContainerRegistry/registries';

/** A registry as ARM prints it (same keys as the official RegistryGet.json example). */
export function registryBody(r: Registry): object {
  return {
    id: r.id,
    name: r.name,
    type: TYPE,
    location: r.location,
    tags: {},
    sku: { name: r.sku, tier: r.sku },
    properties: {
      loginServer: r.loginServer,
      creationDate: '2024-03-04T09:12:45.1234567Z',
      provisioningState: 'Succeeded',
      adminUserEnabled: r.adminUserEnabled,
      networkRuleSet: { defaultAction: r.networkRuleSet.defaultAction, ipRules: r.networkRuleSet.ipRules },
      policies: {
        quarantinePolicy: { status: 'disabled' },
        trustPolicy: { type: 'Notary', status: 'disabled' },
        retentionPolicy: {
          days: 7,
          lastUpdatedTime: '2024-03-04T09:14:02.5310000+00:00',
          status: 'disabled',
        },
        exportPolicy: { status: 'enabled' },
        azureADAuthenticationAsArmPolicy: { status: r.azureADAuthenticationAsArmPolicy },
      },
      encryption: { status: 'disabled' },
      status: null,
      dataEndpointEnabled: false,
      dataEndpointHostNames: [],
      privateEndpointConnections: [],
      publicNetworkAccess: r.publicNetworkAccess,
      networkRuleBypassOptions: 'AzureServices',
      networkRuleBypassAllowedForTasks: false,
      zoneRedundancy: 'Disabled',
      anonymousPullEnabled: r.anonymousPullEnabled,
      roleAssignmentMode: r.roleAssignmentMode,
    },
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

/** Original-case values of the path segments the lower-case match captured. */
function segments(ctx: RouteContext): string[] {
  return ctx.path.split('/');
}

function getRegistry(ctx: RouteContext): HttpReply {
  const parts = segments(ctx);
  const [sub = '', rg = '', name = ''] = [parts[2], parts[4], parts[8]];
  const id = parts.slice(0, 9).join('/');
  // ARM checks rights before existence: a caller without read rights gets 403 even for a missing registry.
  if (!canRead(ctx.state, callerOf(ctx), id)) {
    return authorizationFailed(callerOf(ctx), `${TYPE}/read`, id);
  }
  if (!hasSubscription(ctx, sub)) return subscriptionNotFound(sub);
  if (!hasResourceGroup(ctx, sub, rg)) return resourceGroupNotFound(rg);
  const registry = findRegistry(ctx.state, id);
  if (!registry) return resourceNotFound(TYPE, name, rg);
  return json(200, registryBody(registry));
}

function listRegistries(ctx: RouteContext, sub: string, rg?: string): HttpReply {
  if (!hasSubscription(ctx, sub)) return subscriptionNotFound(sub);
  if (!canSeeSubscription(ctx.state, callerOf(ctx), sub)) {
    return authorizationFailed(callerOf(ctx), `${TYPE}/read`, `/subscriptions/${sub}`);
  }
  if (rg !== undefined && !hasResourceGroup(ctx, sub, rg)) return resourceGroupNotFound(rg);
  const items = ctx.state.registries
    .filter(
      (r) =>
        r.subscriptionId.toLowerCase() === sub.toLowerCase() &&
        (rg === undefined || r.resourceGroup.toLowerCase() === rg.toLowerCase()) &&
        canRead(ctx.state, callerOf(ctx), r.id),
    )
    .map(registryBody);
  return page(ctx, items, ctx.state.paging.registries);
}

function listCredentials(ctx: RouteContext): HttpReply {
  const parts = segments(ctx);
  const [rg = '', name = ''] = [parts[4], parts[8]];
  const id = parts.slice(0, 9).join('/');
  requireAction(ctx, `${TYPE}/listCredentials/action`, id);
  const registry = findRegistry(ctx.state, id);
  if (!registry) return resourceNotFound(TYPE, name, rg);
  if (!registry.adminUserEnabled) {
    // Code and wording as az acr credential show reports them [unconfirmed: no published example].
    return armError(
      400,
      'UnAuthorizedForCredentialOperations',
      `Cannot perform credential operations for ${id} as admin user is disabled. Kindly enable admin user as per docs: https://docs.microsoft.com/azure/container-registry/container-registry-authentication#admin-account`,
    );
  }
  return json(200, {
    username: registry.adminUsername,
    passwords: registry.adminPasswords.map((value, i) => ({
      name: i === 0 ? 'password' : 'password2',
      value,
    })),
  });
}

const NS = '/providers/microsoft\\.containerregistry/registries';

export const routes: Route[] = [
  { method: 'GET', pattern: new RegExp(`^${RG}${NS}/([^/]+)$`), handle: (ctx) => getRegistry(ctx) },
  {
    method: 'GET',
    pattern: new RegExp(`^${RG}${NS}$`),
    handle: (ctx) => {
      const parts = segments(ctx);
      return listRegistries(ctx, parts[2] ?? '', parts[4] ?? '');
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^${SUB}${NS}$`),
    handle: (ctx) => listRegistries(ctx, segments(ctx)[2] ?? ''),
  },
  {
    method: 'POST',
    pattern: new RegExp(`^${RG}${NS}/([^/]+)/listcredentials$`),
    handle: (ctx) => listCredentials(ctx),
  },
];
