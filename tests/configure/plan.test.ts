import assert from 'node:assert/strict';
import type { UserAssignedIdentity } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/identities';
import {
  grantFact,
  type RoleAssignment,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/role-assignments';
import {
  identityBody,
  pullSettingsBody,
  type Site,
  type SiteConfig,
  type SiteContainer,
  sidecarAuthDefinition,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/web-apps';
import { describePlan } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/apply';
import type {
  Observed,
  ObservedTarget,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/observe';
import { registryFromImages } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/observe';
import {
  type EnableIdentityStep,
  type Plan,
  plan,
  type SetAcrFlagsStep,
  type SetSidecarAuthStep,
  type Step,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/plan';
import { isTaskError, type TaskError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
import type { Settings } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/settings';
import { targetFromArm } from '../harness/facts';
import { testSettings } from '../harness/settings';

const SUB = '11111111-1111-1111-1111-111111111111';
const APP = `/subscriptions/${SUB}/resourceGroups/rg-app/providers/Microsoft.Web/sites/shop`;
const REGISTRY = `/subscriptions/${SUB}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/shopacr`;
const UAMI = `/subscriptions/${SUB}/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/puller`;
const OTHER_UAMI = `/subscriptions/${SUB}/resourcegroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/logger`;
const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';
const REPO_READER = 'b93aa761-3e63-49ed-ac28-beffa264f7ac';

const puller: UserAssignedIdentity = {
  id: UAMI,
  name: 'puller',
  clientId: 'c1c1c1c1-0000-0000-0000-000000000001',
  principalId: 'b1b1b1b1-0000-0000-0000-000000000001',
  tenantId: 't',
};

function settings(overrides: Partial<Settings> = {}): Settings {
  return testSettings({ appName: 'shop', resourceGroup: 'rg-app', ...overrides });
}

const userSettings = () =>
  settings({
    identity: {
      kind: 'user',
      identity: { id: UAMI, subscriptionId: SUB, resourceGroup: 'rg-id', name: 'puller' },
    },
  });

interface TargetOptions {
  slot?: string;
  identity?: Site['identity'];
  config?: SiteConfig;
  appSettings?: Record<string, string>;
  containers?: SiteContainer[];
  images?: string[];
  os?: 'linux' | 'windows';
  vnetImagePull?: boolean;
}

function target(o: TargetOptions = {}): ObservedTarget {
  const label = o.slot ?? 'production';
  const path = o.slot ? `${APP}/slots/${o.slot}` : APP;
  const sidecar = o.containers !== undefined;
  const image = 'shopacr.azurecr.io/shop:1';
  return targetFromArm(
    {
      target: { label, slot: o.slot, path },
      site: {
        id: path,
        name: o.slot ? `shop/${o.slot}` : 'shop',
        ...(o.identity ? { identity: o.identity } : {}),
      },
      config:
        o.config ?? (sidecar ? { linuxFxVersion: 'sitecontainers' } : { linuxFxVersion: `DOCKER|${image}` }),
      containers: o.containers ?? [],
      appSettings: o.appSettings ?? {},
    },
    {
      os: o.os ?? 'linux',
      sidecar,
      images: o.images ?? (sidecar ? (o.containers ?? []).map((c) => c.properties.image as string) : [image]),
      vnetImagePull: o.vnetImagePull ?? false,
    },
  );
}

/** Role assignments are given as ARM sends them, and mapped to grants as observe maps them. */
function observed(
  targets: ObservedTarget[],
  o: Omit<Partial<Observed>, 'registry' | 'roleAssignments'> & {
    registry?: Partial<Observed['registry']>;
    roleAssignments?: readonly RoleAssignment[] | undefined;
  } = {},
): Observed {
  const { registry, roleAssignments, ...rest } = o;
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
      adminUserEnabled: false,
      source: 'image',
      network: { publicAccess: undefined, defaultAction: undefined, ipRuleCount: 0 },
      ...registry,
    },
    userIdentity: undefined,
    roleAssignments: 'roleAssignments' in o ? roleAssignments?.map(grantFact) : [],
    callerCanWriteRoleAssignments: true,
    tenantId: 't',
    ...rest,
  };
}

const system = (principalId: string, userAssigned?: Record<string, object>): Site['identity'] => ({
  type: userAssigned ? 'SystemAssigned, UserAssigned' : 'SystemAssigned',
  principalId,
  tenantId: 't',
  ...(userAssigned ? { userAssignedIdentities: userAssigned } : {}),
});

function grant(principalId: string, scope: string, role = ACR_PULL, name = 'a'): RoleAssignment {
  return {
    id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    name,
    properties: {
      principalId,
      scope,
      roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
      principalType: 'ServicePrincipal',
    },
  };
}

const configured = (clientId: string | null = null): SiteConfig => ({
  linuxFxVersion: 'DOCKER|shopacr.azurecr.io/shop:1',
  acrUseManagedIdentityCreds: true,
  acrUserManagedIdentityID: clientId,
});

// What each step sends to ARM (the bodies src/arm/web-apps.ts builds from it).
const body = {
  enableIdentity: (s: EnableIdentityStep | undefined) => (s ? identityBody(s.identity) : undefined),
  setAcrFlags: (s: SetAcrFlagsStep | undefined) => (s ? pullSettingsBody(s.pull) : undefined),
  setSidecarAuth: (s: SetSidecarAuthStep | undefined) =>
    s ? sidecarAuthDefinition(s.container, s.auth) : undefined,
};

const kinds = (p: Plan) => p.steps.map((s) => `${s.target}:${s.kind}`);
const stepsOf = <K extends Step['kind']>(p: Plan, kind: K) =>
  p.steps.filter((s): s is Extract<Step, { kind: K }> => s.kind === kind);
const codes = (p: Plan) => p.warnings.map((w) => `${w.target ?? '-'}:${w.code}`);

function catchTaskError(fn: () => unknown): TaskError {
  try {
    fn();
  } catch (e: unknown) {
    if (isTaskError(e)) return e;
    throw e;
  }
  assert.fail('expected a TaskError');
}

describe('plan', () => {
  describe('system-assigned identity', () => {
    it('plans identity, grant and flags for every target of an app configured from nothing', () => {
      const p = plan(observed([target(), target({ slot: 'staging' }), target({ slot: 'qa' })]), settings());
      assert.deepEqual(kinds(p), [
        'production:enableIdentity',
        'staging:enableIdentity',
        'qa:enableIdentity',
        'production:assignRole',
        'staging:assignRole',
        'qa:assignRole',
        'production:setAcrFlags',
        'staging:setAcrFlags',
        'qa:setAcrFlags',
      ]);
      const roles = stepsOf(p, 'assignRole');
      assert.deepEqual(
        roles.map((r) => r.principal),
        ['production', 'staging', 'qa'].map((t) => ({ kind: 'systemIdentityOf', target: t })),
      );
      assert.ok(roles.every((r) => r.roleGuid === ACR_PULL && r.scope === REGISTRY));
      assert.deepEqual(body.setAcrFlags(stepsOf(p, 'setAcrFlags')[0]), {
        acrUseManagedIdentityCreds: true,
        acrUserManagedIdentityID: '',
      });
      assert.deepEqual(body.enableIdentity(stepsOf(p, 'enableIdentity')[0]), { type: 'SystemAssigned' });
    });

    it('plans nothing when everything is already true (a re-run)', () => {
      const o = observed(
        [
          target({ identity: system('p1'), config: configured() }),
          target({ slot: 'staging', identity: system('p2'), config: configured() }),
        ],
        { roleAssignments: [grant('p1', REGISTRY), grant('p2', REGISTRY, ACR_PULL, 'b')] },
      );
      const p = plan(o, settings());
      assert.deepEqual(p.steps, []);
      assert.deepEqual(p.warnings, []);
      assert.deepEqual(p.principals, { production: 'p1', staging: 'p2' });
      assert.deepEqual(describePlan(p), ['Nothing to change: everything is already in place.']);
    });

    it('keeps existing user-assigned identities when it turns the system identity on', () => {
      const o = observed([
        target({ identity: { type: 'UserAssigned', userAssignedIdentities: { [OTHER_UAMI]: {} } } }),
      ]);
      const step = stepsOf(plan(o, settings()), 'enableIdentity')[0];
      assert.deepEqual(body.enableIdentity(step), {
        type: 'SystemAssigned, UserAssigned',
        userAssignedIdentities: { [OTHER_UAMI]: {} },
      });
    });

    it('grants only the principals that lack pull, per slot', () => {
      const o = observed(
        [
          target({ identity: system('p1'), config: configured() }),
          target({ slot: 'staging', identity: system('p2'), config: configured() }),
        ],
        { roleAssignments: [grant('p1', REGISTRY)] },
      );
      const p = plan(o, settings());
      assert.deepEqual(kinds(p), ['staging:assignRole']);
      assert.deepEqual(stepsOf(p, 'assignRole')[0]?.principal, { kind: 'known', principalId: 'p2' });
    });

    it('clears a leftover client ID so the system identity is used', () => {
      const o = observed([target({ identity: system('p1'), config: configured('c-old') })], {
        roleAssignments: [grant('p1', REGISTRY)],
      });
      const p = plan(o, settings());
      assert.deepEqual(kinds(p), ['production:setAcrFlags']);
      // "" and not null: in a PATCH null leaves the stale client ID in place.
      assert.equal(body.setAcrFlags(stepsOf(p, 'setAcrFlags')[0])?.acrUserManagedIdentityID, '');
    });

    it('configures a Windows container app through the same site flags', () => {
      const win = target({
        os: 'windows',
        identity: system('p1'),
        config: { windowsFxVersion: 'DOCKER|shopacr.azurecr.io/shop:win' },
        images: ['shopacr.azurecr.io/shop:win'],
      });
      const p = plan(observed([win], { roleAssignments: [grant('p1', REGISTRY)] }), settings());
      assert.deepEqual(kinds(p), ['production:setAcrFlags']);
    });
  });

  describe('user-assigned identity', () => {
    it('attaches it beside an existing identity, grants it once and puts its CLIENT ID in the flag', () => {
      const o = observed(
        [
          target({ identity: { type: 'UserAssigned', userAssignedIdentities: { [OTHER_UAMI]: {} } } }),
          target({ slot: 'staging', identity: system('p2') }),
        ],
        { userIdentity: puller },
      );
      const p = plan(o, userSettings());
      assert.deepEqual(kinds(p), [
        'production:enableIdentity',
        'staging:enableIdentity',
        'production:assignRole',
        'production:setAcrFlags',
        'staging:setAcrFlags',
      ]);
      const [prod, staging] = stepsOf(p, 'enableIdentity');
      assert.deepEqual(body.enableIdentity(prod), {
        type: 'UserAssigned',
        userAssignedIdentities: { [OTHER_UAMI]: {}, [UAMI]: {} },
      });
      assert.deepEqual(body.enableIdentity(staging), {
        type: 'SystemAssigned, UserAssigned',
        userAssignedIdentities: { [UAMI]: {} },
      });
      const role = stepsOf(p, 'assignRole')[0];
      assert.deepEqual(role?.principal, { kind: 'known', principalId: puller.principalId });
      assert.deepEqual(role?.forTargets, ['production', 'staging']);
      assert.ok(
        stepsOf(p, 'setAcrFlags').every(
          (s) => body.setAcrFlags(s)?.acrUserManagedIdentityID === puller.clientId,
        ),
      );
      assert.deepEqual(p.principals, { production: puller.principalId, staging: puller.principalId });
    });

    it('treats the identity as attached whatever the case of its resource ID', () => {
      const attached = { type: 'UserAssigned', userAssignedIdentities: { [UAMI.toLowerCase()]: {} } };
      const o = observed([target({ identity: attached, config: configured(puller.clientId) })], {
        userIdentity: puller,
        roleAssignments: [grant(puller.principalId, REGISTRY)],
      });
      assert.deepEqual(plan(o, userSettings()).steps, []);
    });

    it('replaces a resource ID stored in the flag with the client ID', () => {
      const attached = { type: 'UserAssigned', userAssignedIdentities: { [UAMI]: {} } };
      const o = observed([target({ identity: attached, config: configured(UAMI) })], {
        userIdentity: puller,
        roleAssignments: [grant(puller.principalId, REGISTRY)],
      });
      const p = plan(o, userSettings());
      assert.equal(body.setAcrFlags(stepsOf(p, 'setAcrFlags')[0])?.acrUserManagedIdentityID, puller.clientId);
    });
  });

  describe('registry kinds and grants', () => {
    it('grants Container Registry Repository Reader on an ABAC registry, and says AcrPull is ignored there', () => {
      const o = observed([target({ identity: system('p1'), config: configured() })], {
        registry: { abac: true },
        roleAssignments: [grant('p1', REGISTRY, ACR_PULL)],
      });
      const p = plan(o, settings());
      const role = stepsOf(p, 'assignRole')[0];
      assert.equal(role?.roleGuid, REPO_READER);
      assert.equal(role?.roleName, 'Container Registry Repository Reader');
      assert.deepEqual(codes(p), ['production:AbacIgnoresLegacyRole']);
    });

    it('reuses a pull grant at the resource group or subscription and reports it', () => {
      const o = observed(
        [
          target({ identity: system('p1'), config: configured() }),
          target({ slot: 's', identity: system('p2'), config: configured() }),
        ],
        {
          roleAssignments: [
            grant('p1', `/subscriptions/${SUB}/resourceGroups/rg-acr`),
            grant('p2', `/subscriptions/${SUB}`, 'b24988ac-6180-42a0-ab88-20f7382dd24c', 'c'),
          ],
        },
      );
      const p = plan(o, settings());
      assert.deepEqual(p.steps, []);
      // p2's grant is Contributor: more than a pull, so the least-privilege audit names it instead.
      assert.deepEqual(codes(p), ['production:WiderScopeGrant', 's:OverPrivilegedGrant']);
      assert.match(p.warnings[1]?.message ?? '', /Contributor/);
    });

    it('does not count a grant on another registry or a non-pull role', () => {
      const o = observed([target({ identity: system('p1'), config: configured() })], {
        roleAssignments: [
          grant('p1', `${REGISTRY}2`),
          grant('p1', REGISTRY, 'f58310d9-a9f6-439a-9e8d-f62e7b41a168', 'x'),
        ],
      });
      assert.deepEqual(kinds(plan(o, settings())), ['production:assignRole']);
    });

    it('reuses a pull grant inherited from a management group (atScope() returns it; its scope is no prefix)', () => {
      const mg = '/providers/Microsoft.Management/managementGroups/mg-platform';
      const o = observed([target({ identity: system('p1'), config: configured() })], {
        callerCanWriteRoleAssignments: false,
        roleAssignments: [
          {
            ...grant('p1', mg),
            properties: {
              ...grant('p1', mg).properties,
              roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}`,
            },
          },
        ],
      });
      const p = plan(o, settings());
      assert.deepEqual(
        p.steps,
        [],
        'no duplicate grant, and no RoleAssignmentForbidden for a grant that exists',
      );
      assert.deepEqual(codes(p), ['production:WiderScopeGrant']);
      assert.match(
        p.warnings[0]?.message ?? '',
        /AcrPull at \/providers\/Microsoft\.Management\/managementGroups\/mg-platform/,
      );
    });

    it('does not count a conditional (ABAC) grant: warns and adds an unconditioned one', () => {
      const condition =
        "(@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase 'other')";
      const conditional = grant('p1', `/subscriptions/${SUB}/resourceGroups/rg-acr`, REPO_READER, 'cond');
      const o = observed([target({ identity: system('p1'), config: configured() })], {
        registry: { abac: true },
        roleAssignments: [{ ...conditional, properties: { ...conditional.properties, condition } }],
      });
      const p = plan(o, settings());
      assert.deepEqual(kinds(p), ['production:assignRole']);
      assert.equal(stepsOf(p, 'assignRole')[0]?.scope, REGISTRY);
      assert.deepEqual(codes(p), ['production:ConditionalPullGrant']);
      assert.match(
        p.warnings[0]?.message ?? '',
        /Container Registry Repository Reader .* only under a condition/,
      );
    });

    it('compares role definitions by GUID in any form: tenant form, upper case, trailing slash', () => {
      for (const roleDefinitionId of [
        `/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}`,
        `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL.toUpperCase()}`,
        `/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}/`,
      ]) {
        const g = grant('p1', `/subscriptions/${SUB}`);
        const o = observed([target({ identity: system('p1'), config: configured() })], {
          roleAssignments: [{ ...g, properties: { ...g.properties, roleDefinitionId } }],
        });
        const p = plan(o, settings());
        assert.deepEqual(p.steps, [], roleDefinitionId);
        assert.match(p.warnings[0]?.message ?? '', /through AcrPull at/, roleDefinitionId);
      }
    });

    it('plans grants blind when the role assignments could not be read', () => {
      const o = observed([target({ identity: system('p1'), config: configured() })], {
        roleAssignments: undefined,
      });
      assert.deepEqual(kinds(plan(o, settings())), ['production:assignRole']);
    });
  });

  describe('sidecar apps', () => {
    const container = (name: string, image: string, props: Record<string, unknown> = {}): SiteContainer => ({
      name: `shop/${name}`,
      properties: {
        image,
        isMain: name === 'main',
        authType: 'UserCredentials',
        userName: 'shopacr',
        ...props,
      },
    });

    it('sets per-container auth on containers from this registry instead of the site flag', () => {
      const t = target({
        identity: system('p1'),
        containers: [
          container('main', 'shopacr.azurecr.io/shop:1', { targetPort: '8080' }),
          container('otel', 'docker.io/otel/collector:1', { authType: 'Anonymous' }),
        ],
      });
      const p = plan(
        observed([t], { roleAssignments: [grant('p1', REGISTRY)], registry: { source: 'input' } }),
        settings(),
      );
      assert.deepEqual(kinds(p), ['production:setSidecarAuth']);
      const step = stepsOf(p, 'setSidecarAuth')[0];
      assert.equal(step?.container.name, 'main');
      assert.deepEqual(body.setSidecarAuth(step), {
        image: 'shopacr.azurecr.io/shop:1',
        isMain: true,
        authType: 'SystemIdentity',
        targetPort: '8080',
      });
      assert.deepEqual(p.warnings, [], 'a public sidecar is not another registry');
    });

    it('derives the registry from the ACR containers of a sidecar app, ignoring public sidecars', () => {
      const t = target({
        containers: [
          container('main', 'shopacr.azurecr.io/shop:1'),
          container('otel', 'otel/opentelemetry-collector:1'),
        ],
      });
      assert.equal(registryFromImages([t]), 'shopacr.azurecr.io');
    });

    it('uses UserAssigned with the client ID for a user-assigned identity, and is idempotent', () => {
      const attached = { type: 'UserAssigned', userAssignedIdentities: { [UAMI]: {} } };
      const before = target({
        identity: attached,
        containers: [container('main', 'shopacr.azurecr.io/shop:1')],
      });
      const o = observed([before], {
        userIdentity: puller,
        roleAssignments: [grant(puller.principalId, REGISTRY)],
      });
      const step = stepsOf(plan(o, userSettings()), 'setSidecarAuth')[0];
      assert.equal(body.setSidecarAuth(step)?.authType, 'UserAssigned');
      assert.equal(body.setSidecarAuth(step)?.userManagedIdentityClientId, puller.clientId);

      const after = target({
        identity: attached,
        containers: [{ name: 'shop/main', properties: body.setSidecarAuth(step) ?? {} }],
      });
      assert.deepEqual(plan({ ...o, targets: [after] }, userSettings()).steps, []);
    });
  });

  describe('registry credentials in app settings', () => {
    const creds = {
      DOCKER_REGISTRY_SERVER_URL: 'https://shopacr.azurecr.io',
      DOCKER_REGISTRY_SERVER_USERNAME: 'shopacr',
      DOCKER_REGISTRY_SERVER_PASSWORD: 'secret',
      WEBSITES_PORT: '8080',
    };

    it('removes only the username and password when asked', () => {
      const o = observed([target({ identity: system('p1'), config: configured(), appSettings: creds })], {
        roleAssignments: [grant('p1', REGISTRY)],
      });
      const p = plan(o, settings({ removeRegistryCredentials: true }));
      assert.deepEqual(kinds(p), ['production:removeRegistryCredentials']);
      assert.deepEqual(stepsOf(p, 'removeRegistryCredentials')[0]?.keys, [
        'DOCKER_REGISTRY_SERVER_USERNAME',
        'DOCKER_REGISTRY_SERVER_PASSWORD',
      ]);
      assert.deepEqual(p.warnings, []);
    });

    it('warns with the exact command when they are kept', () => {
      const o = observed(
        [target({ slot: 'staging', identity: system('p1'), config: configured(), appSettings: creds })],
        {
          roleAssignments: [grant('p1', REGISTRY)],
        },
      );
      const p = plan(o, settings());
      assert.deepEqual(p.steps, []);
      assert.deepEqual(codes(p), ['staging:StaleRegistryCredentials']);
      assert.match(
        p.warnings[0]?.fix ?? '',
        /az webapp config appsettings delete --name shop --resource-group rg-app --slot staging --setting-names DOCKER_REGISTRY_SERVER_USERNAME DOCKER_REGISTRY_SERVER_PASSWORD/,
      );
      assert.doesNotMatch(JSON.stringify(p), /secret/);
    });
  });

  describe('registry warnings', () => {
    const done = () => target({ identity: system('p1'), config: configured() });
    const base = { roleAssignments: [grant('p1', REGISTRY)] };

    it('fails before any write when the registry refuses ARM-audience tokens, naming the policy and the fix', () => {
      const o = observed([done()], { ...base, registry: { armTokenAuthDisabled: true } });
      const e = catchTaskError(() => plan(o, settings()));
      assert.equal(e.code, 'ArmTokenAuthDisabled');
      assert.match(
        e.message,
        // The cause leads (issue #29): it is the first line the summary and the pipeline show.
        /^Registry shopacr refuses ARM-audience Entra tokens \(azureADAuthenticationAsArmPolicy is disabled\).* Nothing needed changing, and nothing was changed; the managed identity still cannot pull the image\.$/,
      );
      assert.match(
        e.remedy,
        /^az acr config authentication-as-arm update -r shopacr --status enabled\n.*configureAnyway: true/,
      );
    });

    it('with configureAnyway, only warns when the registry refuses ARM-audience tokens', () => {
      const p = plan(
        observed([done()], { ...base, registry: { armTokenAuthDisabled: true } }),
        settings({ configureAnyway: true }),
      );
      assert.deepEqual(codes(p), ['-:ArmTokenAuthDisabled']);
      assert.equal(
        p.warnings[0]?.fix,
        'az acr config authentication-as-arm update -r shopacr --status enabled',
      );
    });

    it('warns about a closed registry unless the target pulls over its VNet', () => {
      const o = observed(
        [done(), target({ slot: 'vnet', identity: system('p2'), config: configured(), vnetImagePull: true })],
        {
          roleAssignments: [grant('p1', REGISTRY), grant('p2', REGISTRY, ACR_PULL, 'b')],
          registry: { publicAccessRestricted: true },
        },
      );
      const p = plan(o, settings());
      assert.deepEqual(codes(p), ['production:RegistryNetworkRestricted']);
      assert.match(p.warnings[0]?.fix ?? '', /vnetImagePullEnabled=true/);
    });

    it('warns that the admin user is still enabled', () => {
      const p = plan(observed([done()], { ...base, registry: { adminUserEnabled: true } }), settings());
      assert.deepEqual(codes(p), ['-:AdminUserEnabled']);
      assert.equal(p.warnings[0]?.fix, 'az acr update -n shopacr --admin-enabled false');
    });

    it('warns when a target runs an image from another registry than the one named', () => {
      const t = target({
        identity: system('p1'),
        config: configured(),
        images: ['otheracr.azurecr.io/shop:1'],
      });
      const o = observed([t], { ...base, registry: { source: 'input' } });
      // Another ACR needs its own grant: switching the target to the identity would break its pull.
      assert.equal(catchTaskError(() => plan(o, settings())).code, 'ImageOnOtherRegistry');
      const p = plan(o, settings({ configureAnyway: true }));
      assert.deepEqual(codes(p), ['production:ImageOnOtherRegistry']);
    });

    it('with slots on two ACRs, the other one is a swap registry: granted, not a stop; a stop only where it cannot be granted', () => {
      const prod = target({ identity: system('p1'), config: configured() });
      const staging = target({
        slot: 'staging',
        identity: system('p2'),
        config: configured(),
        images: ['otheracr.azurecr.io/shop:2'],
      });
      const other = `/subscriptions/${SUB}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/otheracr`;
      const swapRegistry = (callerCanWriteRoleAssignments: boolean) => ({
        loginServer: 'otheracr.azurecr.io',
        images: [{ image: 'otheracr.azurecr.io/shop:2', targets: ['staging'] }],
        registry: {
          ...observed([]).registry,
          id: other,
          name: 'otheracr',
          loginServer: 'otheracr.azurecr.io',
        },
        roleAssignments: [],
        callerCanWriteRoleAssignments,
      });
      const o = (canWrite: boolean) =>
        observed([prod, staging], {
          registry: { source: 'input' },
          roleAssignments: [grant('p1', REGISTRY), grant('p2', REGISTRY, ACR_PULL, 'b')],
          swapRegistries: [swapRegistry(canWrite)],
        });
      const p = plan(o(true), settings());
      assert.deepEqual(codes(p), []);
      assert.deepEqual(
        stepsOf(p, 'assignRole').map((st) => `${st.target}:${st.scope === other}`),
        ['production:true', 'staging:true'],
      );
      const e = catchTaskError(() => plan(o(false), settings()));
      assert.equal(e.code, 'ImageOnOtherRegistry');
      assert.match(e.message, /cannot grant staging's identity a pull on otheracr\.azurecr\.io/);
      assert.match(e.remedy ?? '', /--assignee-object-id p2 [^\n]*otheracr/);
    });

    it('with the registry taken from the images, a slot on a second ACR its identity cannot be granted on stops the run before any write', () => {
      const prod = target({ identity: system('p1'), config: configured() });
      const staging = target({
        slot: 'staging',
        identity: system('p2'),
        config: configured(),
        images: ['otheracr.azurecr.io/shop:2'],
      });
      const other = `/subscriptions/${SUB}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/otheracr`;
      const o = (callerCanWriteRoleAssignments: boolean, stagingGranted = false) =>
        observed([prod, staging], {
          roleAssignments: [grant('p1', REGISTRY), grant('p2', REGISTRY, ACR_PULL, 'b')],
          swapRegistries: [
            {
              loginServer: 'otheracr.azurecr.io',
              images: [{ image: 'otheracr.azurecr.io/shop:2', targets: ['staging'] }],
              registry: {
                ...observed([]).registry,
                id: other,
                name: 'otheracr',
                loginServer: 'otheracr.azurecr.io',
              },
              roleAssignments: stagingGranted ? [grantFact(grant('p2', other, ACR_PULL, 'c'))] : [],
              callerCanWriteRoleAssignments,
            },
          ],
        });
      // The connection can grant there: both identities get the grant, nothing stops.
      assert.deepEqual(codes(plan(o(true), settings())), []);
      // It cannot, and staging's identity has no pull there: switching staging would break its own pull.
      const e = catchTaskError(() => plan(o(false), settings()));
      assert.equal(e.code, 'ImageOnOtherRegistry');
      assert.match(e.message, /cannot grant staging's identity a pull on otheracr\.azurecr\.io/);
      assert.match(e.remedy ?? '', /--assignee-object-id p2 [^\n]*otheracr/);
      // Staging already pulls from there with its identity: only production's swap gap is named, nothing stops.
      assert.deepEqual(codes(plan(o(false, true), settings())), ['production:SwapPullGap']);
    });

    it('SwapCredentialsMove names only the registry credentials that are not slot settings', () => {
      const creds = { DOCKER_REGISTRY_SERVER_USERNAME: 'u', DOCKER_REGISTRY_SERVER_PASSWORD: 'p' };
      const both = [
        target({ identity: system('p1'), config: configured(), appSettings: creds }),
        target({ slot: 'staging', identity: system('p2'), config: configured(), appSettings: creds }),
      ];
      const grants = [grant('p1', REGISTRY), grant('p2', REGISTRY, ACR_PULL, 'b')];
      const moves = (slotSettingNames?: string[]) =>
        plan(
          observed(both, { roleAssignments: grants, ...(slotSettingNames ? { slotSettingNames } : {}) }),
          settings(),
        )
          .warnings.filter((w) => w.code === 'SwapCredentialsMove')
          .map((w) => w.fix.replace(/.*--slot-settings /, ''));
      const all = 'DOCKER_REGISTRY_SERVER_USERNAME=<value> DOCKER_REGISTRY_SERVER_PASSWORD=<value>';
      assert.deepEqual(moves(), [all, all], 'unknown: both may move');
      assert.deepEqual(moves([]), [all, all]);
      assert.deepEqual(moves(['docker_registry_server_password']), [
        'DOCKER_REGISTRY_SERVER_USERNAME=<value>',
        'DOCKER_REGISTRY_SERVER_USERNAME=<value>',
      ]);
      assert.deepEqual(moves(['DOCKER_REGISTRY_SERVER_USERNAME', 'DOCKER_REGISTRY_SERVER_PASSWORD']), []);
    });

    it('only warns for a public image on another host, which still pulls anonymously', () => {
      const t = target({
        identity: system('p1'),
        config: configured(),
        images: ['mcr.microsoft.com/appsvc/staticsite:latest'],
      });
      const p = plan(observed([t], { ...base, registry: { source: 'input' } }), settings());
      assert.deepEqual(codes(p), ['production:ImageOnOtherRegistry']);
    });

    it('warns when a target runs no container image at all', () => {
      const t = target({ identity: system('p1'), config: configured(), images: [] });
      assert.deepEqual(codes(plan(observed([t], { ...base, registry: { source: 'input' } }), settings())), [
        'production:NoContainerImage',
      ]);
    });
  });

  describe('missing rights to grant roles', () => {
    it('fails before any write with the az commands for every target', () => {
      const o = observed([target({ identity: system('p1') }), target({ slot: 'staging' })], {
        callerCanWriteRoleAssignments: false,
      });
      const e = catchTaskError(() => plan(o, settings()));
      assert.equal(e.code, 'RoleAssignmentForbidden');
      assert.match(
        e.remedy,
        new RegExp(
          `az role assignment create --assignee-object-id p1 --assignee-principal-type ServicePrincipal --role "AcrPull" --scope ${REGISTRY}`,
        ),
      );
      assert.match(e.remedy, /az webapp identity assign --name shop --resource-group rg-app --slot staging/);
      assert.match(e.remedy, /Role Based Access Control Administrator/);
      assert.match(e.remedy, /User Access Administrator/);
    });

    it('plans only the identities when asked to enable them without role rights', () => {
      const o = observed([target(), target({ slot: 'staging', identity: system('p2') })], {
        callerCanWriteRoleAssignments: false,
      });
      const p = plan(o, settings({ enableIdentityWithoutRoleRights: true }));
      assert.deepEqual(kinds(p), ['production:enableIdentity']);
      assert.deepEqual(
        p.blockedRoleSteps.map((s) => s.target),
        ['production', 'staging'],
      );
      assert.ok(describePlan(p).some((l) => l.includes('BLOCKED')));
    });

    it('does not fail when no grant is missing', () => {
      const o = observed([target({ identity: system('p1'), config: configured() })], {
        callerCanWriteRoleAssignments: false,
        roleAssignments: [grant('p1', REGISTRY)],
      });
      assert.deepEqual(plan(o, settings()).steps, []);
    });
  });

  describe('deriving the registry from the images', () => {
    it('takes the one ACR login server the targets use', () => {
      assert.equal(registryFromImages([target(), target({ slot: 's' })]), 'shopacr.azurecr.io');
    });

    it('asks for the registry input when targets use several registries', () => {
      const e = catchTaskError(() =>
        registryFromImages([target(), target({ slot: 's', images: ['otheracr.azurecr.io/x:1'] })]),
      );
      assert.equal(e.code, 'SeveralRegistries');
      assert.match(e.remedy, /registry input/);
    });

    it('refuses an image that is not on ACR', () => {
      const e = catchTaskError(() => registryFromImages([target({ images: ['nginx:latest'] })]));
      assert.equal(e.code, 'ImageNotOnAcr');
    });
  });
});
