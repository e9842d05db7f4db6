/** Microsoft.ManagedIdentity: read a user-assigned identity's client, principal and tenant IDs. */
import type { ArmClient } from './client';

export const IDENTITY_API_VERSION = '2023-01-31';

export interface UserAssignedIdentity {
  readonly id: string;
  readonly name: string;
  /** Goes into acrUserManagedIdentityID and sidecar userManagedIdentityClientId. */
  readonly clientId: string;
  /** The object ID role assignments name. */
  readonly principalId: string;
  readonly tenantId: string;
}

export async function getUserAssignedIdentity(
  arm: ArmClient,
  identityId: string,
  signal?: AbortSignal,
): Promise<UserAssignedIdentity> {
  const response = await arm.request<{
    id: string;
    name: string;
    properties?: { clientId?: string; principalId?: string; tenantId?: string };
  }>('GET', identityId, { apiVersion: IDENTITY_API_VERSION, signal });
  const p = response.body.properties ?? {};
  return {
    id: response.body.id ?? identityId,
    name: response.body.name,
    clientId: p.clientId ?? '',
    principalId: p.principalId ?? '',
    tenantId: p.tenantId ?? '',
  };
}
