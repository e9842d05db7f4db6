/**
 * Which spec operation an ARM request is, for the operations the task calls: method and path (lower case, as the
 * emulator records it) to the operation's spec in the package of that api-version (spec-models.ts).
 */

import { KnownPrincipalType } from '@azure/arm-authorization';
import type { OperationSpec } from '@azure/core-client';
import { authorization, msi, specOf, web } from './spec-models';

export interface SpecOperation {
  /** The spec's operationId. */
  operationId: string;
  provider: 'Microsoft.Web' | 'Microsoft.Authorization' | 'Microsoft.ManagedIdentity';
  /** The api-version the spec package describes. */
  apiVersion: string;
  spec(): Promise<OperationSpec>;
  /**
   * Extensible enums (`modelAsString`): the mappers type them as strings, the SDK exports their known values
   * (`Known*`). JSON path of the body -> the values the version knows.
   */
  knownValues?: Record<string, readonly string[]>;
}

const SITE =
  '^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\\.web/sites/[^/]+(?:/slots/[^/]+)?';
const WEB = '2024-11-01';
const AUTH = '2022-04-01';
const MSI = '2023-01-31';

interface Entry extends SpecOperation {
  method: string;
  pattern: RegExp;
}

function webOp(method: string, suffix: string, operationId: string, call: () => unknown): Entry {
  return {
    method,
    pattern: new RegExp(`${SITE}${suffix}$`),
    operationId,
    provider: 'Microsoft.Web',
    apiVersion: WEB,
    spec: () => specOf(call),
  };
}

const ROLE_ASSIGNMENT = /^\/.*\/providers\/microsoft\.authorization\/roleassignments\/[^/]+$/;

const TABLE: Entry[] = [
  webOp('GET', '', 'WebApps_Get', () => web.webApps.get('rg', 'site')),
  webOp('PATCH', '', 'WebApps_Update', () => web.webApps.update('rg', 'site', {})),
  webOp('PUT', '', 'WebApps_CreateOrUpdate', () =>
    web.webApps.beginCreateOrUpdate('rg', 'site', { location: 'x' }),
  ),
  webOp('GET', '/slots', 'WebApps_ListSlots', () => web.webApps.listSlots('rg', 'site')),
  webOp('GET', '/config/web', 'WebApps_GetConfiguration', () => web.webApps.getConfiguration('rg', 'site')),
  webOp('PATCH', '/config/web', 'WebApps_UpdateConfiguration', () =>
    web.webApps.updateConfiguration('rg', 'site', {}),
  ),
  webOp('PUT', '/config/web', 'WebApps_CreateOrUpdateConfiguration', () =>
    web.webApps.createOrUpdateConfiguration('rg', 'site', {}),
  ),
  webOp('POST', '/config/appsettings/list', 'WebApps_ListApplicationSettings', () =>
    web.webApps.listApplicationSettings('rg', 'site'),
  ),
  webOp('GET', '/config/slotconfignames', 'WebApps_ListSlotConfigurationNames', () =>
    web.webApps.listSlotConfigurationNames('rg', 'site'),
  ),
  webOp('PUT', '/config/appsettings', 'WebApps_UpdateApplicationSettings', () =>
    web.webApps.updateApplicationSettings('rg', 'site', {}),
  ),
  webOp('GET', '/sitecontainers', 'WebApps_ListSiteContainers', () =>
    web.webApps.listSiteContainers('rg', 'site'),
  ),
  webOp('GET', '/sitecontainers/[^/]+', 'WebApps_GetSiteContainer', () =>
    web.webApps.getSiteContainer('rg', 'site', 'c'),
  ),
  webOp('PUT', '/sitecontainers/[^/]+', 'WebApps_CreateOrUpdateSiteContainer', () =>
    web.webApps.createOrUpdateSiteContainer('rg', 'site', 'c', { image: 'x' }),
  ),
  webOp('POST', '/config/publishingcredentials/list', 'WebApps_ListPublishingCredentials', () =>
    web.webApps.beginListPublishingCredentials('rg', 'site'),
  ),
  webOp('GET', '/basicpublishingcredentialspolicies/scm', 'WebApps_GetScmAllowed', () =>
    web.webApps.getScmAllowed('rg', 'site'),
  ),
  webOp('PUT', '/basicpublishingcredentialspolicies/scm', 'WebApps_UpdateScmAllowed', () =>
    web.webApps.updateScmAllowed('rg', 'site', { allow: true }),
  ),
  {
    method: 'PUT',
    pattern: ROLE_ASSIGNMENT,
    operationId: 'RoleAssignments_Create',
    provider: 'Microsoft.Authorization',
    apiVersion: AUTH,
    knownValues: { '$.properties.principalType': Object.values(KnownPrincipalType) },
    spec: () =>
      specOf(() =>
        authorization.roleAssignments.create('/s', 'n', { roleDefinitionId: 'r', principalId: 'p' }),
      ),
  },
  {
    method: 'GET',
    pattern: ROLE_ASSIGNMENT,
    operationId: 'RoleAssignments_Get',
    provider: 'Microsoft.Authorization',
    apiVersion: AUTH,
    spec: () => specOf(() => authorization.roleAssignments.get('/s', 'n')),
  },
  {
    method: 'GET',
    pattern:
      /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/]+$/,
    operationId: 'UserAssignedIdentities_Get',
    provider: 'Microsoft.ManagedIdentity',
    apiVersion: MSI,
    spec: () => specOf(() => msi.userAssignedIdentities.get('rg', 'id')),
  },
];

/** The spec operation of a request, or undefined when the table has none for it. */
export function operationFor(method: string, path: string): SpecOperation | undefined {
  const lower = path.toLowerCase().replace(/\/{2,}/g, '/');
  return TABLE.find((e) => e.method === method && e.pattern.test(lower));
}
