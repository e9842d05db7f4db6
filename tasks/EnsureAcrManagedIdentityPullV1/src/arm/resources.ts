/**
 * Generic resource lookups: find which resource group holds the app when the input leaves it empty.
 */

import { splitResourceId } from '../resource-id';
import type { ArmClient } from './client';

export const RESOURCES_API_VERSION = '2021-04-01';

/** Where the lookup found web apps of that name: exactly one group, none, or several. */
export type AppGroupLookup =
  | { readonly kind: 'found'; readonly resourceGroup: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'several'; readonly resourceGroups: readonly string[] };

/**
 * The resource group of the web app `appName` in `subscriptionId`. Zero matches or several (the same name in two
 * groups) are answers, not errors: the caller says what to set (`phase-errors.ts` `appLookupError`).
 */
export async function findAppResourceGroup(
  arm: ArmClient,
  subscriptionId: string,
  appName: string,
  signal?: AbortSignal,
): Promise<AppGroupLookup> {
  const quoted = appName.replace(/'/g, "''");
  const found = await arm.listAll<{ id: string; name: string }>(
    `/subscriptions/${subscriptionId}/resources`,
    {
      apiVersion: RESOURCES_API_VERSION,
      query: { $filter: `resourceType eq 'Microsoft.Web/sites' and name eq '${quoted}'` },
      signal,
    },
  );
  const groups = new Map<string, string>();
  for (const resource of found) {
    if (resource.name.toLowerCase() !== appName.toLowerCase()) continue;
    const group = splitResourceId(resource.id)?.resourceGroup;
    if (group && !groups.has(group.toLowerCase())) groups.set(group.toLowerCase(), group);
  }
  const list = [...groups.values()];
  if (list.length === 1) return { kind: 'found', resourceGroup: list[0] as string };
  if (list.length === 0) return { kind: 'none' };
  return { kind: 'several', resourceGroups: list };
}

/** The IDs of the user-assigned identities named `name` in `subscriptionId` (any resource group). */
export async function findIdentitiesByName(
  arm: ArmClient,
  subscriptionId: string,
  name: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const quoted = name.replace(/'/g, "''");
  const found = await arm.listAll<{ id: string; name: string }>(
    `/subscriptions/${subscriptionId}/resources`,
    {
      apiVersion: RESOURCES_API_VERSION,
      query: {
        $filter: `resourceType eq 'Microsoft.ManagedIdentity/userAssignedIdentities' and name eq '${quoted}'`,
      },
      signal,
    },
  );
  return found.filter((r) => r.name?.toLowerCase() === name.toLowerCase()).map((r) => r.id);
}

/** The names of the web apps in `subscriptionId` the connection can read (for a "did you mean" on a typo). */
export async function listAppNames(
  arm: ArmClient,
  subscriptionId: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const found = await arm.listAll<{ id: string; name: string }>(
    `/subscriptions/${subscriptionId}/resources`,
    {
      apiVersion: RESOURCES_API_VERSION,
      query: { $filter: "resourceType eq 'Microsoft.Web/sites'" },
      signal,
    },
  );
  return [...new Set(found.map((r) => r.name).filter((n) => typeof n === 'string' && !n.includes('/')))];
}
