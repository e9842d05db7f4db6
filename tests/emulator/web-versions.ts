/**
 * The parts of Microsoft.Web and Microsoft.ManagedIdentity response bodies that depend on the api-version the
 * request names. Each rule comes from the spec of that version (docs/azure-behaviour.md, "Response shapes by
 * api-version"); tests/conformance/response-shapes.test.ts checks the bodies against the spec models of the
 * versions the task sends.
 */
import type { App, WireOptions } from './model';

/**
 * api-versions are dates (`2024-11-01`, `2022-01-31-preview`): the date part orders them. A request without one
 * (only in-process route tests: ARM requests are refused without) gets the newest shape.
 */
function before(apiVersion: string | undefined, than: string): boolean {
  return apiVersion !== undefined && apiVersion.slice(0, 10) < than;
}

/**
 * The site properties that route outbound traffic over the VNet, in the shape of the request's api-version:
 * - up to 2024-04-01: `vnetRouteAllEnabled`, `vnetImagePullEnabled`, `vnetContentShareEnabled` (no
 *   `outboundVnetRouting`);
 * - 2024-11-01 and 2025-03-01: the version's GetWebApp.json example shows the three flags, its definitions (and
 *   @azure/arm-appservice 17, generated from them) only `outboundVnetRouting` without `managedIdentityTraffic`:
 *   the scenario's `wire.vnetImagePullShape` picks one, or both (default);
 * - 2025-05-01 and later: `outboundVnetRouting` with `managedIdentityTraffic` (GetWebAppSlot.json of 2025-05-01).
 */
export function siteNetworkProperties(
  apiVersion: string | undefined,
  wire: WireOptions,
  app: App,
): Record<string, unknown> {
  const legacy = {
    vnetRouteAllEnabled: app.siteConfig.vnetRouteAllEnabled,
    vnetImagePullEnabled: app.vnetImagePullEnabled,
    vnetContentShareEnabled: false,
  };
  const routing = {
    allTraffic: app.siteConfig.vnetRouteAllEnabled,
    applicationTraffic: false,
    backupRestoreTraffic: false,
    contentShareTraffic: false,
    imagePullTraffic: app.vnetImagePullEnabled,
  };
  if (before(apiVersion, '2024-11-01')) return legacy;
  if (before(apiVersion, '2025-05-01')) {
    const shape = wire.vnetImagePullShape ?? 'both';
    return {
      ...(shape !== 'outboundVnetRouting' ? legacy : {}),
      ...(shape !== 'vnetImagePullEnabled' ? { outboundVnetRouting: routing } : {}),
    };
  }
  return { outboundVnetRouting: { ...routing, managedIdentityTraffic: false } };
}

/**
 * A user-assigned identity's `properties` by api-version: `isolationScope` exists from 2024-11-30
 * (IdentityGet.json of 2024-11-30); 2023-01-31 defines `tenantId`, `principalId` and `clientId` only
 * (UserAssignedIdentityProperties in ManagedIdentity.json of 2023-01-31, @azure/arm-msi 2.1.0).
 */
export function identityProperties(
  apiVersion: string | undefined,
  ids: { clientId: string; principalId: string; tenantId: string },
): Record<string, unknown> {
  return before(apiVersion, '2024-11-30')
    ? { clientId: ids.clientId, principalId: ids.principalId, tenantId: ids.tenantId }
    : {
        clientId: ids.clientId,
        isolationScope: 'None',
        principalId: ids.principalId,
        tenantId: ids.tenantId,
      };
}
