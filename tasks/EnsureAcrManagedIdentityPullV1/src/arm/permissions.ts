/**
 * Microsoft.Authorization permissions: what the caller may do on a resource, and whether that includes writing
 * role assignments. Advisory only: deny assignments, ABAC conditions and PIM are invisible here.
 */
import type { ArmClient } from './client';

export const PERMISSIONS_API_VERSION = '2022-04-01';

export interface Permission {
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  readonly dataActions?: readonly string[];
  readonly notDataActions?: readonly string[];
}

/** The caller's effective permissions on `resourceId` (all pages). */
export function listPermissions(
  arm: ArmClient,
  resourceId: string,
  signal?: AbortSignal,
): Promise<Permission[]> {
  return arm.listAll<Permission>(`${resourceId}/providers/Microsoft.Authorization/permissions`, {
    apiVersion: PERMISSIONS_API_VERSION,
    signal,
  });
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
