/** Microsoft.ManagedIdentity: read a user-assigned identity's client, principal and tenant IDs. */
import type { UserIdentityFacts } from '../facts';
import type { ArmClient } from './client';

export const IDENTITY_API_VERSION = '2023-01-31';

export type UserAssignedIdentity = UserIdentityFacts;

/** A user-assigned identity as ARM sends it. */
export interface UserAssignedIdentityResource {
  readonly id?: string;
  readonly name: string;
  readonly properties?: { clientId?: string; principalId?: string; tenantId?: string };
}

export async function getUserAssignedIdentity(
  arm: ArmClient,
  identityId: string,
  signal?: AbortSignal,
): Promise<UserAssignedIdentity> {
  const response = await arm.request<UserAssignedIdentityResource>('GET', identityId, {
    apiVersion: IDENTITY_API_VERSION,
    signal,
  });
  return userIdentityFacts(response.body, identityId);
}

/** An identity (ARM's shape) as facts; `requestedId` stands in when the answer names no ID. Missing IDs are "". */
export function userIdentityFacts(
  body: UserAssignedIdentityResource,
  requestedId: string,
): UserIdentityFacts {
  const p = body.properties ?? {};
  return {
    id: body.id ?? requestedId,
    name: body.name,
    clientId: p.clientId ?? '',
    principalId: p.principalId ?? '',
    tenantId: p.tenantId ?? '',
  };
}
