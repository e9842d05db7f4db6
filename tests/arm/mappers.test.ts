/**
 * The mappers in src/arm/: Azure's answers (ARM's shapes, either api-version) in, the task's facts out, and the
 * write bodies built from facts. Tables of the awkward cases Azure really sends.
 */
import assert from 'node:assert/strict';
import { userIdentityFacts } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/identities';
import {
  closedToEveryone,
  publicAccessRestricted,
  type Registry,
  registryFacts,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/registries';
import {
  grantFact,
  grantsPull,
  type RoleAssignment,
  scopeKindOf,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/role-assignments';
import {
  identityBody,
  pullSettingsBody,
  type Site,
  type SiteConfig,
  sidecarAuthDefinition,
  sidecarContainer,
  siteConfigFacts,
  siteFacts,
  targetFacts,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/web-apps';
import type { ScopeKind } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/facts';

const SUB = '11111111-1111-1111-1111-111111111111';
const APP = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/shop`;
const REGISTRY = `/subscriptions/${SUB}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/shopacr`;
const UAMI = `/subscriptions/${SUB}/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/puller`;
const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';

const site = (over: Partial<Site> = {}, properties: Site['properties'] = {}): Site => ({
  id: APP,
  name: 'shop',
  ...over,
  properties,
});

describe('arm mappers: Azure answers to facts', () => {
  describe('sites and slots', () => {
    it('reads state, host names and the last change, with "" for a missing default host name', () => {
      const f = siteFacts(
        site(
          {},
          {
            state: 'Running',
            enabled: true,
            lastModifiedTimeUtc: '2026-11-30T10:00:00.000Z',
            defaultHostName: 'shop.azurewebsites.net',
            hostNameSslStates: [
              { name: 'shop.azurewebsites.net', hostType: 'Standard' },
              { name: 'shop.scm.azurewebsites.net', hostType: 'Repository' },
            ],
          },
        ),
      );
      assert.equal(f.state, 'Running');
      assert.equal(f.enabled, true);
      assert.equal(f.lastModifiedAt, '2026-11-30T10:00:00.000Z');
      assert.equal(f.defaultHostName, 'shop.azurewebsites.net');
      assert.equal(f.scmHostName, 'shop.scm.azurewebsites.net');

      const bare = siteFacts({ id: APP, name: 'shop' });
      assert.deepEqual(
        [
          bare.state,
          bare.enabled,
          bare.lastModifiedAt,
          bare.defaultHostName,
          bare.scmHostName,
          bare.vnetImagePull,
        ],
        [undefined, undefined, undefined, '', undefined, false],
      );
    });

    it('finds the SCM host in the enabled host names when no SSL state names it', () => {
      const f = siteFacts(
        site({}, { enabledHostNames: ['shop.azurewebsites.net', 'shop.scm.azurewebsites.net'] }),
      );
      assert.equal(f.scmHostName, 'shop.scm.azurewebsites.net');
    });

    const vnet: [string, Site['properties'], boolean][] = [
      [
        '2024-11-01 outboundVnetRouting.imagePullTraffic',
        { outboundVnetRouting: { imagePullTraffic: true } },
        true,
      ],
      ['2024-04-01 vnetImagePullEnabled', { vnetImagePullEnabled: true }, true],
      [
        '2024-11-01 routing for all traffic but not image pulls',
        { outboundVnetRouting: { allTraffic: true } },
        false,
      ],
      ['both off', { vnetImagePullEnabled: false, outboundVnetRouting: { imagePullTraffic: false } }, false],
      ['neither field', {}, false],
    ];
    for (const [name, properties, expected] of vnet) {
      it(`reads VNet image pull from ${name}: ${expected}`, () => {
        assert.equal(siteFacts(site({}, properties)).vnetImagePull, expected);
      });
    }

    const windows: [string, Partial<Site>, Site['properties'], boolean][] = [
      ['a Linux container app', { kind: 'app,linux,container' }, {}, false],
      ['a Windows container app by kind', { kind: 'app,container,windows' }, {}, true],
      ['Hyper-V', { kind: 'app' }, { hyperV: true }, true],
      ['no kind', {}, {}, false],
    ];
    for (const [name, over, properties, expected] of windows) {
      it(`says ${name} is ${expected ? '' : 'not '}Windows by kind`, () => {
        assert.equal(siteFacts(site(over, properties)).windowsKind, expected);
      });
    }
  });

  describe('identities of a site', () => {
    it('reports no identity as None, with nothing attached', () => {
      assert.deepEqual(siteFacts(site()).identity, {
        reportedType: 'None',
        system: false,
        systemPrincipalId: undefined,
        userAssigned: [],
      });
    });

    it('keeps user-assigned identity keys in the case App Service stored them, with their IDs', () => {
      const f = siteFacts(
        site({
          identity: {
            type: 'SystemAssigned, UserAssigned',
            principalId: 'p-system',
            userAssignedIdentities: {
              [UAMI.toLowerCase()]: { principalId: 'p-user', clientId: 'c-user' },
              [`${UAMI}2`]: {},
            },
          },
        }),
      );
      assert.equal(f.identity.system, true);
      assert.equal(f.identity.systemPrincipalId, 'p-system');
      assert.equal(f.identity.reportedType, 'SystemAssigned, UserAssigned');
      assert.deepEqual(f.identity.userAssigned, [
        { resourceId: UAMI.toLowerCase(), principalId: 'p-user', clientId: 'c-user' },
        { resourceId: `${UAMI}2`, principalId: undefined, clientId: undefined },
      ]);
    });

    it('reads the system identity whatever the case of its type, and a principal that is not there yet', () => {
      const f = siteFacts(site({ identity: { type: 'systemassigned' } }));
      assert.equal(f.identity.system, true);
      assert.equal(f.identity.systemPrincipalId, undefined);
      assert.equal(siteFacts(site({ identity: { type: 'UserAssigned' } })).identity.system, false);
    });
  });

  describe('config/web', () => {
    const pull: [string, SiteConfig, { useManagedIdentity: boolean | undefined; clientId: string | null }][] =
      [
        ['missing flags', {}, { useManagedIdentity: undefined, clientId: null }],
        [
          'a null client ID',
          { acrUseManagedIdentityCreds: true, acrUserManagedIdentityID: null },
          { useManagedIdentity: true, clientId: null },
        ],
        [
          'an empty client ID',
          { acrUseManagedIdentityCreds: true, acrUserManagedIdentityID: '' },
          { useManagedIdentity: true, clientId: '' },
        ],
        [
          'a client ID',
          { acrUseManagedIdentityCreds: false, acrUserManagedIdentityID: 'c1' },
          { useManagedIdentity: false, clientId: 'c1' },
        ],
      ];
    for (const [name, config, expected] of pull) {
      it(`reads the pull settings with ${name}`, () => {
        assert.deepEqual(siteConfigFacts(config).pull, expected);
      });
    }

    it('reads the images and the runtimes, and spots sidecar apps', () => {
      assert.deepEqual(siteConfigFacts({ linuxFxVersion: 'DOCKER|shopacr.azurecr.io/shop:1' }), {
        pull: { useManagedIdentity: undefined, clientId: null },
        sidecar: false,
        linuxImage: 'shopacr.azurecr.io/shop:1',
        windowsImage: undefined,
        linuxRuntimeSet: true,
        windowsRuntimeSet: false,
      });
      const win = siteConfigFacts({
        windowsFxVersion: 'DOCKER|shopacr.azurecr.io/shop:win',
        linuxFxVersion: '',
      });
      assert.deepEqual(
        [win.windowsImage, win.linuxRuntimeSet, win.windowsRuntimeSet],
        ['shopacr.azurecr.io/shop:win', false, true],
      );
      assert.equal(siteConfigFacts({ linuxFxVersion: ' SITECONTAINERS ' }).sidecar, true);
      assert.equal(siteConfigFacts({ linuxFxVersion: 'NODE|20-lts' }).linuxImage, undefined);
    });
  });

  describe('sidecar containers', () => {
    it('takes the own name, the image, the main flag and the auth, keeping the definition', () => {
      const c = sidecarContainer({
        name: 'shop/main',
        properties: {
          image: 'shopacr.azurecr.io/shop:1',
          isMain: true,
          authType: 'UserCredentials',
          userName: 'shopacr',
          passwordSecret: 'secret-ref',
          targetPort: '8080',
        },
      });
      assert.deepEqual(
        [c.name, c.image, c.isMain, c.authType, c.clientId],
        ['main', 'shopacr.azurecr.io/shop:1', true, 'UserCredentials', undefined],
      );
      assert.ok(!JSON.stringify(c).includes('secret-ref'), 'the facts carry no registry password');
      assert.deepEqual(sidecarAuthDefinition(c, { kind: 'SystemIdentity' }), {
        image: 'shopacr.azurecr.io/shop:1',
        isMain: true,
        authType: 'SystemIdentity',
        targetPort: '8080',
      });
      assert.deepEqual(sidecarAuthDefinition(c, { kind: 'UserAssigned', clientId: 'c1' }), {
        image: 'shopacr.azurecr.io/shop:1',
        isMain: true,
        authType: 'UserAssigned',
        userManagedIdentityClientId: 'c1',
        targetPort: '8080',
      });
    });

    it('reads a container with nothing set as no image, not main, no auth', () => {
      const c = sidecarContainer({ name: 'otel', properties: {} });
      assert.deepEqual([c.name, c.image, c.isMain, c.authType], ['otel', undefined, false, undefined]);
    });
  });

  describe('a target from its parts', () => {
    const target = { label: 'production', slot: undefined, path: APP };

    it('is Windows when only windowsFxVersion is set, and runs that image', () => {
      const t = targetFacts(
        target,
        siteFacts(site()),
        siteConfigFacts({ windowsFxVersion: 'DOCKER|a.azurecr.io/w:1' }),
        [],
        {},
      );
      assert.deepEqual([t.os, t.images], ['windows', ['a.azurecr.io/w:1']]);
    });

    it('runs the images of its sidecars, skipping a container without one', () => {
      const containers = [
        sidecarContainer({ name: 'shop/main', properties: { image: 'a.azurecr.io/main:1', isMain: true } }),
        sidecarContainer({ name: 'shop/empty', properties: {} }),
      ];
      const t = targetFacts(
        target,
        siteFacts(site()),
        siteConfigFacts({ linuxFxVersion: 'sitecontainers' }),
        containers,
        {},
      );
      assert.deepEqual([t.os, t.sidecar, t.images], ['linux', true, ['a.azurecr.io/main:1']]);
    });

    it('runs no image as a code app', () => {
      const t = targetFacts(
        target,
        siteFacts(site()),
        siteConfigFacts({ linuxFxVersion: 'NODE|20-lts' }),
        [],
        {},
      );
      assert.deepEqual(t.images, []);
    });
  });

  describe('write bodies built from facts', () => {
    it('sends the whole identity set, with the type that names it', () => {
      assert.deepEqual(identityBody({ system: true, userAssigned: [] }), { type: 'SystemAssigned' });
      assert.deepEqual(identityBody({ system: true, userAssigned: [UAMI] }), {
        type: 'SystemAssigned, UserAssigned',
        userAssignedIdentities: { [UAMI]: {} },
      });
      assert.deepEqual(identityBody({ system: false, userAssigned: [UAMI] }), {
        type: 'UserAssigned',
        userAssignedIdentities: { [UAMI]: {} },
      });
    });

    it('sends "" (never null) to clear the client ID', () => {
      assert.deepEqual(pullSettingsBody({ useManagedIdentity: true, clientId: '' }), {
        acrUseManagedIdentityCreds: true,
        acrUserManagedIdentityID: '',
      });
    });
  });

  describe('role assignments', () => {
    const assignment = (properties: Partial<RoleAssignment['properties']>): RoleAssignment => ({
      id: `${REGISTRY}/providers/Microsoft.Authorization/roleAssignments/a`,
      name: 'a',
      properties: {
        principalId: 'p1',
        scope: REGISTRY,
        roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}`,
        ...properties,
      },
    });

    const roles: [string, string][] = [
      [
        'the subscription form',
        `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}`,
      ],
      ['the tenant form', `/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}`],
      [
        'upper case',
        `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL.toUpperCase()}`,
      ],
      ['a trailing slash', `/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}/`],
      ['a bare GUID', ACR_PULL],
    ];
    for (const [name, roleDefinitionId] of roles) {
      it(`reads the role GUID from ${name}`, () => {
        assert.equal(grantFact(assignment({ roleDefinitionId })).roleGuid, ACR_PULL);
      });
    }

    const scopes: [string, ScopeKind][] = [
      [REGISTRY, 'resource'],
      [`/subscriptions/${SUB}/resourcegroups/rg-acr`, 'resourceGroup'],
      [`/subscriptions/${SUB}/resourceGroups/rg-acr/`, 'resourceGroup'],
      [`/subscriptions/${SUB}`, 'subscription'],
      ['/providers/Microsoft.Management/managementGroups/mg-platform', 'managementGroup'],
      ['/', 'root'],
      [`${REGISTRY}/scopeMaps/pull`, 'other'],
      ['/providers/Microsoft.Something/else', 'other'],
    ];
    for (const [scope, kind] of scopes) {
      it(`classifies ${scope} as ${kind}`, () => {
        assert.equal(scopeKindOf(scope), kind);
        assert.equal(grantFact(assignment({ scope })).scopeKind, kind);
      });
    }

    const conditions: [string, string | null | undefined, boolean][] = [
      ['no condition', undefined, false],
      ['a null condition', null, false],
      ['an empty condition', '', false],
      ['a blank condition', '   ', false],
      [
        'a repository condition',
        "(@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEquals 'x')",
        true,
      ],
    ];
    for (const [name, condition, conditional] of conditions) {
      it(`${conditional ? 'marks' : 'does not mark'} ${name} as conditional`, () => {
        const g = grantFact(assignment({ condition }));
        assert.equal(g.conditional, conditional);
        assert.equal(grantsPull(g, REGISTRY, false), !conditional);
      });
    }

    it('keeps the dates, and leaves missing ones undefined', () => {
      const g = grantFact(assignment({ createdOn: '2026-11-30T10:00:00.000Z' }));
      assert.deepEqual(
        [g.createdOn, g.updatedOn, g.principalId, g.scope],
        ['2026-11-30T10:00:00.000Z', undefined, 'p1', REGISTRY],
      );
    });

    it('counts a pull grant from a management group (atScope() lists only those above the registry)', () => {
      const g = grantFact(
        assignment({
          scope: '/providers/Microsoft.Management/managementGroups/mg-platform',
          roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}`,
        }),
      );
      assert.equal(grantsPull(g, REGISTRY, false), true);
    });
  });

  describe('registries', () => {
    const registry = (properties: Registry['properties']): Registry => ({
      id: REGISTRY,
      name: 'shopacr',
      properties,
    });

    it('reads login server, ABAC mode, the ARM-token policy and the admin user in any case', () => {
      const f = registryFacts(
        registry({
          loginServer: 'ShopAcr.azurecr.io',
          roleAssignmentMode: 'abacrepositorypermissions',
          policies: { azureADAuthenticationAsArmPolicy: { status: 'DISABLED' } },
          adminUserEnabled: true,
        }),
      );
      assert.deepEqual(
        [f.id, f.name, f.loginServer, f.abac, f.armTokenAuthDisabled, f.adminUserEnabled],
        [REGISTRY, 'shopacr', 'ShopAcr.azurecr.io', true, true, true],
      );
    });

    it('reads a registry without properties as an open legacy registry', () => {
      assert.deepEqual(registryFacts({ id: REGISTRY, name: 'shopacr' }), {
        id: REGISTRY,
        name: 'shopacr',
        loginServer: '',
        abac: false,
        armTokenAuthDisabled: false,
        network: { publicAccess: undefined, defaultAction: undefined, ipRuleCount: 0 },
        adminUserEnabled: false,
      });
    });

    it('keeps an ID or name only when it is a string (observe then refuses the registry)', () => {
      const f = registryFacts({ id: 42, name: null } as unknown as Registry);
      assert.deepEqual([f.id, f.name], ['', '']);
    });

    const network: [string, Registry['properties'], boolean, boolean][] = [
      [
        'open',
        { publicNetworkAccess: 'Enabled', networkRuleSet: { defaultAction: 'Allow', ipRules: [] } },
        false,
        false,
      ],
      ['public access off', { publicNetworkAccess: 'Disabled' }, true, true],
      ['deny by default, no rules', { networkRuleSet: { defaultAction: 'Deny', ipRules: [] } }, true, true],
      [
        'deny by default with an IP rule',
        { networkRuleSet: { defaultAction: 'Deny', ipRules: [{ value: '1.2.3.4' }] } },
        true,
        false,
      ],
      ['deny by default, rules missing', { networkRuleSet: { defaultAction: 'deny' } }, true, true],
    ];
    for (const [name, properties, restricted, closed] of network) {
      it(`reads the network of a registry: ${name}`, () => {
        const f = registryFacts(registry(properties));
        assert.equal(publicAccessRestricted(f.network), restricted);
        assert.equal(closedToEveryone(f.network), closed);
      });
    }
  });

  describe('user-assigned identities', () => {
    it('reads the client, principal and tenant IDs', () => {
      assert.deepEqual(
        userIdentityFacts(
          { id: UAMI, name: 'puller', properties: { clientId: 'c', principalId: 'p', tenantId: 't' } },
          UAMI,
        ),
        { id: UAMI, name: 'puller', clientId: 'c', principalId: 'p', tenantId: 't' },
      );
    });

    it('reads an identity still provisioning as empty IDs, under the ID asked for when none is named', () => {
      assert.deepEqual(userIdentityFacts({ name: 'puller' }, UAMI), {
        id: UAMI,
        name: 'puller',
        clientId: '',
        principalId: '',
        tenantId: '',
      });
    });
  });
});
