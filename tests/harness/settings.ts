import type { Settings } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/settings';

/** Settings as readSettings would return them for the defaults, with the overrides a test needs. */
export function testSettings(overrides: Partial<Settings> = {}): Settings {
  return {
    connectedServiceId: 'conn',
    appName: 'contoso-web',
    resourceGroup: 'rg-web',
    targets: { kind: 'all' },
    identity: { kind: 'system' },
    registry: { kind: 'fromImage' },
    removeRegistryCredentials: false,
    enableIdentityWithoutRoleRights: false,
    checkImage: false,
    verify: { kind: 'off' },
    dryRun: false,
    restart: 'whenNeeded',
    configureAnyway: false,
    placement: 'standalone',
    inputWarnings: [],
    ...overrides,
  };
}
