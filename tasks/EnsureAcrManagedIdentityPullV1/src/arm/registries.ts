/**
 * Microsoft.ContainerRegistry: read a registry by ID, or find it by login server across the subscriptions the
 * service connection can see. Returns data only.
 */
import type { RegistryFacts, RegistryNetwork } from '../facts';
import type { ArmClient } from './client';

/** Knows roleAssignmentMode and the ARM-audience token policy (@azure/arm-containerregistry 12 uses it). */
export const REGISTRY_API_VERSION = '2025-11-01';
const SUBSCRIPTIONS_API_VERSION = '2022-12-01';

/** A registry as ARM sends it. */
export interface Registry {
  readonly id: string;
  readonly name: string;
  readonly location?: string;
  readonly sku?: { readonly name?: string };
  readonly properties?: {
    readonly loginServer?: string;
    readonly adminUserEnabled?: boolean;
    readonly anonymousPullEnabled?: boolean;
    /** `Enabled` | `Disabled`. */
    readonly publicNetworkAccess?: string;
    readonly networkRuleBypassOptions?: string;
    readonly networkRuleSet?: { readonly defaultAction?: string; readonly ipRules?: readonly unknown[] };
    readonly policies?: { readonly azureADAuthenticationAsArmPolicy?: { readonly status?: string } };
    /** `LegacyRegistryPermissions` | `AbacRepositoryPermissions`. */
    readonly roleAssignmentMode?: string;
  };
}

export async function getRegistry(
  arm: ArmClient,
  registryId: string,
  signal?: AbortSignal,
): Promise<RegistryFacts> {
  return registryFacts(
    (await arm.request<Registry>('GET', registryId, { apiVersion: REGISTRY_API_VERSION, signal })).body,
  );
}

export async function listRegistries(
  arm: ArmClient,
  subscriptionId: string,
  signal?: AbortSignal,
): Promise<RegistryFacts[]> {
  const list = await arm.listAll<Registry>(
    `/subscriptions/${subscriptionId}/providers/Microsoft.ContainerRegistry/registries`,
    {
      apiVersion: REGISTRY_API_VERSION,
      signal,
    },
  );
  return list.map(registryFacts);
}

/** The subscriptions the caller can see (IDs only). */
export async function listSubscriptionIds(arm: ArmClient, signal?: AbortSignal): Promise<string[]> {
  const subs = await arm.listAll<{ subscriptionId: string }>('/subscriptions', {
    apiVersion: SUBSCRIPTIONS_API_VERSION,
    signal,
  });
  return subs.map((s) => s.subscriptionId);
}

/**
 * The registry whose `properties.loginServer` equals `loginServer` (case-insensitive; never split from the name:
 * domain-name-label registries have a hash in it). Looks in the connection's subscription first and only then in
 * the other visible subscriptions. Undefined when none matches.
 */
export async function findRegistryByLoginServer(
  arm: ArmClient,
  loginServer: string,
  signal?: AbortSignal,
): Promise<RegistryFacts | undefined> {
  const wanted = loginServer.toLowerCase();
  const match = (list: RegistryFacts[]) => list.find((r) => r.loginServer.toLowerCase() === wanted);
  const own = match(await listRegistries(arm, arm.subscriptionId, signal));
  if (own) return own;
  let others: string[];
  try {
    others = (await listSubscriptionIds(arm, signal)).filter(
      (s) => s.toLowerCase() !== arm.subscriptionId.toLowerCase(),
    );
  } catch {
    // Listing subscriptions is a convenience; a connection scoped to one subscription may not be allowed to.
    return undefined;
  }
  for (const subscriptionId of others) {
    const found = match(await listRegistries(arm, subscriptionId, signal).catch(() => []));
    if (found) return found;
  }
  return undefined;
}

/**
 * A registry (ARM's shape) as facts. `id` and `name` are kept only when they are strings: observe checks them
 * before anything is granted on the registry.
 */
export function registryFacts(registry: Registry): RegistryFacts {
  const p = registry.properties;
  return {
    id: typeof registry.id === 'string' ? registry.id : '',
    name: typeof registry.name === 'string' ? registry.name : '',
    loginServer: p?.loginServer ?? '',
    abac: isAbacRegistry(registry),
    armTokenAuthDisabled: armTokenAuthDisabled(registry),
    network: networkOf(registry),
    adminUserEnabled: p?.adminUserEnabled === true,
  };
}

function networkOf(registry: Registry): RegistryNetwork {
  const p = registry.properties;
  const access = p?.publicNetworkAccess?.toLowerCase();
  const action = p?.networkRuleSet?.defaultAction?.toLowerCase();
  return {
    publicAccess: access === 'enabled' || access === 'disabled' ? access : undefined,
    defaultAction: action === 'allow' || action === 'deny' ? action : undefined,
    ipRuleCount: (p?.networkRuleSet?.ipRules ?? []).length,
  };
}

function isAbacRegistry(registry: Registry): boolean {
  return registry.properties?.roleAssignmentMode?.toLowerCase() === 'abacrepositorypermissions';
}

/** App Service pulls with ARM-audience tokens; a registry that refuses them rejects every managed-identity pull. */
function armTokenAuthDisabled(registry: Registry): boolean {
  return (
    registry.properties?.policies?.azureADAuthenticationAsArmPolicy?.status?.toLowerCase() === 'disabled'
  );
}

/** Public network access off, or a firewall that denies by default. */
export function publicAccessRestricted(network: RegistryNetwork): boolean {
  return network.publicAccess === 'disabled' || network.defaultAction === 'deny';
}

/** Closed to every public address: public access off, or deny by default with no IP rule to let anyone in. */
export function closedToEveryone(network: RegistryNetwork): boolean {
  return (
    network.publicAccess === 'disabled' || (network.defaultAction === 'deny' && network.ipRuleCount === 0)
  );
}
