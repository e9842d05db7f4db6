/**
 * The pure cutover tests' fixture (cutover-plan and cutover-held-plan): an app `shop` on registry `shopacr`, its
 * targets as observe returns them, and which of them serve today with the registry password.
 */
import type { SiteConfig } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/web-apps';
import type {
  Observed,
  ObservedTarget,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/observe';
import { targetFromArm } from '../harness/facts';

export const SUB = '11111111-1111-1111-1111-111111111111';
export const APP = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Web/sites/shop`;
export const REGISTRY = `/subscriptions/${SUB}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/shopacr`;
export const IMAGE = 'shopacr.azurecr.io/shop:1';
export const PASSWORD = {
  DOCKER_REGISTRY_SERVER_URL: 'https://shopacr.azurecr.io',
  DOCKER_REGISTRY_SERVER_USERNAME: 'shopacr',
  DOCKER_REGISTRY_SERVER_PASSWORD: 'p',
};

export function target(
  o: { slot?: string; config?: SiteConfig; appSettings?: Record<string, string>; image?: string } = {},
): ObservedTarget {
  const label = o.slot ?? 'production';
  const path = o.slot ? `${APP}/slots/${o.slot}` : APP;
  const image = o.image ?? IMAGE;
  return targetFromArm(
    {
      target: { label, slot: o.slot, path },
      site: { id: path, name: o.slot ? `shop/${o.slot}` : 'shop' },
      config: o.config ?? { linuxFxVersion: `DOCKER|${image}` },
      containers: [],
      appSettings: o.appSettings ?? {},
    },
    { os: 'linux', sidecar: false, images: [image], vnetImagePull: false },
  );
}

export function observed(targets: ObservedTarget[], serving: Record<string, boolean>): Observed {
  return {
    app: { name: 'shop', subscriptionId: SUB, resourceGroup: 'rg-app', path: APP },
    targets,
    allSlots: targets.flatMap((t) => (t.target.slot ? [t.target.slot] : [])),
    registry: {
      id: REGISTRY,
      name: 'shopacr',
      subscriptionId: SUB,
      resourceGroup: 'rg-acr',
      loginServer: 'shopacr.azurecr.io',
      abac: false,
      armTokenAuthDisabled: false,
      publicAccessRestricted: false,
      adminUserEnabled: true,
      source: 'image',
      network: { publicAccess: undefined, defaultAction: undefined, ipRuleCount: 0 },
    },
    userIdentity: undefined,
    roleAssignments: [],
    callerCanWriteRoleAssignments: true,
    tenantId: 't',
    serving: Object.fromEntries(Object.entries(serving).map(([k, v]) => [k, { serving: v, why: 'test' }])),
  };
}
