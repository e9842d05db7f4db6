/**
 * Microsoft.Authorization permissions: what the caller may do on a resource, and whether that includes writing
 * role assignments. Advisory only: deny assignments, ABAC conditions and PIM are invisible here.
 */

import type { ArmClient } from './client';

/** What @azure/arm-authorization 9's permission operations send. */
export const PERMISSIONS_API_VERSION = '2022-04-01';

export interface Permission {
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  readonly dataActions?: readonly string[];
  readonly notDataActions?: readonly string[];
}

/**
 * The caller's effective permissions on `resourceId` (all pages): `GET {resourceId}/providers/Microsoft.Authorization/permissions`
 * (Permissions_ListForResource). The resource is named by its ID, the form the SDK documents for a resource scope:
 * `/subscriptions/{s}/resourceGroups/{g}/providers/{namespace}/[{parentResourcePath}/]{resourceType}/{name}`, the
 * parent part with its slash left out for a top-level resource such as a registry (@azure/arm-authorization 9,
 * `RoleAssignments.listForScope`). The SDK's `permissions.listForResource` has a required `parentResourcePath`
 * and would send `Microsoft.ContainerRegistry//registries` for it (docs/azure-behaviour.md#permissions-of-a-resource).
 */
export async function listPermissions(
  arm: ArmClient,
  resourceId: string,
  signal?: AbortSignal,
): Promise<Permission[]> {
  const id = resourceId.replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  if (!RESOURCE_ID.test(id)) throw new Error(`Not a resource ID in a resource group: ${resourceId}`);
  const pages = await arm.listAll<Permission>(`${id}/providers/Microsoft.Authorization/permissions`, {
    apiVersion: PERMISSIONS_API_VERSION,
    ...(signal ? { signal } : {}),
  });
  return pages.map((p) => ({
    ...(p.actions ? { actions: p.actions } : {}),
    ...(p.notActions ? { notActions: p.notActions } : {}),
    ...(p.dataActions ? { dataActions: p.dataActions } : {}),
    ...(p.notDataActions ? { notDataActions: p.notDataActions } : {}),
  }));
}

/** `/subscriptions/s/resourceGroups/g/providers/NS/[parent/...]type/name`. */
const RESOURCE_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^/]+\/(?:[^/]+\/[^/]+\/)*[^/]+\/[^/]+$/i;

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
