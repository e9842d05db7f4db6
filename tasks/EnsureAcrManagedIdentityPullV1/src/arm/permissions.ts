/**
 * Microsoft.Authorization permissions: what the caller may do on a resource, and whether that includes writing
 * role assignments. Advisory only: deny assignments, ABAC conditions and PIM are invisible here.
 */

import { collectPages, sdkPages } from '../paging';
import type { ArmClient } from './client';
import { authorizationNextLink, sdkCall, sdkClientsFor } from './clients';

/** What @azure/arm-authorization 9's permission operations send (the package fixes it). */
export const PERMISSIONS_API_VERSION = '2022-04-01';

export interface Permission {
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  readonly dataActions?: readonly string[];
  readonly notDataActions?: readonly string[];
}

/** The caller's effective permissions on `resourceId` (all pages), through the SDK's `listForResource`. */
export async function listPermissions(
  arm: ArmClient,
  resourceId: string,
  signal?: AbortSignal,
): Promise<Permission[]> {
  const path = `${resourceId}/providers/Microsoft.Authorization/permissions`;
  const r = resourceParts(resourceId);
  return sdkCall('GET', path, async (o) => {
    const out: Permission[] = [];
    // A top-level resource has no parent: the SDK's path template then holds an empty segment, which ARM ignores.
    const pages = sdkClientsFor(arm)
      .permissions(r.subscriptionId)
      .listForResource(r.resourceGroup, r.namespace, r.parent, r.type, r.name, { abortSignal: signal, ...o });
    const permissions = await collectPages(`GET ${path}`, sdkPages(pages.byPage(), authorizationNextLink), {
      signal,
    });
    for (const p of permissions) {
      out.push({
        ...(p.actions ? { actions: p.actions } : {}),
        ...(p.notActions ? { notActions: p.notActions } : {}),
        ...(p.dataActions ? { dataActions: p.dataActions } : {}),
        ...(p.notDataActions ? { notDataActions: p.notDataActions } : {}),
      });
    }
    return out;
  });
}

/** `/subscriptions/s/resourceGroups/g/providers/NS/[parent/...]type/name` in the SDK's parameters. */
function resourceParts(resourceId: string) {
  const m =
    /^\/*subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/(?:(.+)\/)?([^/]+)\/([^/]+)\/*$/i.exec(
      resourceId,
    );
  if (!m) throw new Error(`Not a resource ID in a resource group: ${resourceId}`);
  const [, subscriptionId = '', resourceGroup = '', namespace = '', parent = '', type = '', name = ''] = m;
  return { subscriptionId, resourceGroup, namespace, parent, type, name };
}

export const ROLE_ASSIGNMENT_WRITE = 'Microsoft.Authorization/roleAssignments/write';

/** `*` in an action pattern matches any run of characters; matching is case-insensitive. */
export function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`, 'i');
  return regex.test(action);
}

/** Whether one permission entry grants `action`: some action pattern matches and no notAction does. */
export function permits(permissions: readonly Permission[], action: string): boolean {
  return permissions.some(
    (p) =>
      (p.actions ?? []).some((a) => actionMatches(a, action)) &&
      !(p.notActions ?? []).some((n) => actionMatches(n, action)),
  );
}

export function canWriteRoleAssignments(permissions: readonly Permission[]): boolean {
  return permits(permissions, ROLE_ASSIGNMENT_WRITE);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
