/**
 * Microsoft.ContainerRegistry control plane: get a registry, list them per subscription or resource group,
 * and listCredentials. Bodies follow RegistryGet.json (api-version 2025-11-01); the api-version is checked before routing (api-versions.ts).
 * Get and lists answer as every tracked resource does (routes/tracked-resources.ts: rights before existence,
 * lists filtered to what the caller can read).
 */
import { findRegistry, type Registry } from '../model';
import {
  armError,
  type HttpReply,
  json,
  RG,
  type Route,
  type RouteContext,
  resourceNotFound,
} from '../router';
import { requireAction } from './authorization';
import { trackedResourceRoutes } from './tracked-resources';

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

function listCredentials(ctx: RouteContext): HttpReply {
  // Original-case segments: the route patterns match the lower-cased path.
  const parts = ctx.path.split('/');
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
  ...trackedResourceRoutes({
    type: TYPE,
    ns: NS,
    all: (state) => state.registries,
    body: registryBody,
    paging: 'registries',
  }),
  {
    method: 'POST',
    pattern: new RegExp(`^${RG}${NS}/([^/]+)/listcredentials$`),
    handle: (ctx) => listCredentials(ctx),
  },
];
