/**
 * Microsoft.ManagedIdentity user-assigned identities: get one, list per resource group or subscription.
 * Bodies follow IdentityGet.json (api-version 2024-11-30), less what older versions do not define
 * (web-versions.ts `identityProperties`); the api-version is checked before routing (api-versions.ts). The checks and paging
 * are those of every tracked resource (routes/tracked-resources.ts).
 */
import type { UserAssignedIdentity } from '../model';
import type { Route } from '../router';
import { identityProperties } from '../web-versions';
import { trackedResourceRoutes } from './tracked-resources';

const TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities';

/** An identity as ARM prints it (same keys as the official IdentityGet.json example). */
export function identityBody(i: UserAssignedIdentity, apiVersion?: string): object {
  return {
    name: i.name,
    type: TYPE,
    id: i.id,
    location: i.location,
    properties: identityProperties(apiVersion, i),
    tags: {},
  };
}

export const routes: Route[] = trackedResourceRoutes({
  type: TYPE,
  ns: '/providers/microsoft\\.managedidentity/userassignedidentities',
  all: (state) => state.identities,
  body: identityBody,
  paging: 'identities',
});
