import { strict as assert } from 'node:assert';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { RestError } from '@azure/core-rest-pipeline';
import type { ClientSecretCredential } from '@azure/identity';
import { useEmulator } from '../harness/use-emulator';
import { baseScenario, type Emulator, type RoleAssignment } from './index';
import {
  actionMatches,
  canPerform,
  canRead,
  findRoleDefinition,
  permissionsFor,
  pullAccess,
  type RbacState,
  ROLE_IDS,
  readActionFor,
  roleGuidOf,
  scopeCovers,
} from './roles';
import { emulatorCredential, rawRequest, trustingHttpClient } from './sdk-client';

const SUB = '/subscriptions/00000000-0000-0000-0000-000000000001';
const RG = `${SUB}/resourceGroups/rg1`;
const ACR = `${RG}/providers/Microsoft.ContainerRegistry/registries/acr1`;
const SITE = `${RG}/providers/Microsoft.Web/sites/app1`;
const PRINCIPAL = '11111111-1111-1111-1111-111111111111';

function assignment(scope: string, role: string, createdAt = 0, principalId = PRINCIPAL) {
  return {
    name: `${role}-${scope.length}`,
    scope,
    principalId,
    roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
    createdAt,
  };
}

function state(assignments: RbacState['roleAssignments'], extra: Partial<RbacState> = {}): RbacState {
  return { roleAssignments: assignments, ...extra };
}

describe('roles: action patterns', () => {
  const cases: [pattern: string, action: string, expected: boolean][] = [
    ['*', 'Microsoft.Authorization/roleAssignments/write', true],
    ['Microsoft.Authorization/*', 'Microsoft.Authorization/roleAssignments/write', true],
    ['Microsoft.Authorization/*', 'Microsoft.Web/sites/read', false],
    ['*/write', 'Microsoft.Authorization/roleAssignments/write', true],
    ['*/read', 'Microsoft.Authorization/roleAssignments/write', false],
    ['*/read', 'Microsoft.ContainerRegistry/registries/pull/read', true],
    ['Microsoft.Authorization/*/Write', 'microsoft.authorization/roleassignments/write', true],
    ['Microsoft.Web/sites/*', 'Microsoft.Web/sites/config/write', true],
    ['Microsoft.Web/sites/*', 'Microsoft.Web/serverFarms/read', false],
    ['Microsoft.Web/sites.read', 'Microsoft.Web/sitesXread', false],
  ];
  for (const [pattern, action, expected] of cases) {
    it(`treats '${pattern}' as ${expected ? 'matching' : 'not matching'} '${action}'`, () => {
      assert.equal(actionMatches(pattern, action), expected);
    });
  }
});

describe('roles: scopes and IDs', () => {
  it('applies an assignment at its own scope and below, whatever the case, never beside or above', () => {
    assert.equal(scopeCovers(SUB, ACR), true);
    assert.equal(scopeCovers(RG.toUpperCase(), ACR), true);
    assert.equal(scopeCovers(ACR, ACR), true);
    assert.equal(scopeCovers(`${ACR}/`, ACR.replace('/registries/', '//registries/')), true);
    assert.equal(scopeCovers(ACR, RG), false);
    assert.equal(scopeCovers(`${RG}2`, `${RG}2/x`), true);
    assert.equal(scopeCovers(RG, `${RG}2`), false);
    assert.equal(scopeCovers('/', ACR), true);
  });

  it('reads the role GUID from any form of role definition ID', () => {
    assert.equal(
      roleGuidOf(`/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.acrPull}`),
      ROLE_IDS.acrPull,
    );
    assert.equal(
      roleGuidOf(
        `${SUB}/providers/Microsoft.Authorization/roleDefinitions/7F951DDA-4ED3-4680-A7CA-43FE172D538D`,
      ),
      ROLE_IDS.acrPull,
    );
    assert.equal(findRoleDefinition({}, ROLE_IDS.acrPull)?.roleName, 'AcrPull');
    assert.equal(findRoleDefinition({}, '00000000-0000-0000-0000-00000000beef'), undefined);
  });

  it('names the read action of subscriptions, groups, resources and child resources', () => {
    assert.equal(readActionFor(SUB), 'Microsoft.Resources/subscriptions/read');
    assert.equal(readActionFor(RG), 'Microsoft.Resources/subscriptions/resourceGroups/read');
    assert.equal(readActionFor(ACR).toLowerCase(), 'microsoft.containerregistry/registries/read');
    assert.equal(readActionFor(`${SITE}/slots/staging`).toLowerCase(), 'microsoft.web/sites/slots/read');
  });
});

describe('roles: canPerform', () => {
  const write = 'Microsoft.Authorization/roleAssignments/write';
  const cases: [
    label: string,
    role: string,
    scope: string,
    action: string,
    target: string,
    expected: boolean,
  ][] = [
    ['Owner on the subscription may assign roles on a registry', ROLE_IDS.owner, SUB, write, ACR, true],
    ['Contributor on the subscription may not assign roles', ROLE_IDS.contributor, SUB, write, ACR, false],
    ['Contributor may write a site', ROLE_IDS.contributor, SUB, 'Microsoft.Web/sites/write', SITE, true],
    [
      'User Access Administrator on the group may assign roles',
      ROLE_IDS.userAccessAdministrator,
      RG,
      write,
      ACR,
      true,
    ],
    [
      'RBAC Administrator on the registry may assign roles there',
      ROLE_IDS.rbacAdministrator,
      ACR,
      write,
      ACR,
      true,
    ],
    [
      'RBAC Administrator on the registry may not assign roles on the group',
      ROLE_IDS.rbacAdministrator,
      ACR,
      write,
      RG,
      false,
    ],
    ['Reader may read but not write', ROLE_IDS.reader, SUB, 'Microsoft.Web/sites/write', SITE, false],
    [
      'Website Contributor may write sites',
      ROLE_IDS.websiteContributor,
      RG,
      'Microsoft.Web/sites/config/write',
      SITE,
      true,
    ],
    [
      'Website Contributor may not read a registry',
      ROLE_IDS.websiteContributor,
      RG,
      'Microsoft.ContainerRegistry/registries/read',
      ACR,
      false,
    ],
    ['AcrPull grants no role assignment rights', ROLE_IDS.acrPull, ACR, write, ACR, false],
  ];
  for (const [label, role, scope, action, target, expected] of cases) {
    it(label, () => {
      assert.equal(canPerform(state([assignment(scope, role)]), PRINCIPAL, action, target), expected);
    });
  }

  it('unions roles, so Contributor plus User Access Administrator may assign roles', () => {
    const s = state([
      assignment(SUB, ROLE_IDS.contributor),
      assignment(RG, ROLE_IDS.userAccessAdministrator),
    ]);
    assert.equal(canPerform(s, PRINCIPAL, 'Microsoft.Authorization/roleAssignments/write', ACR), true);
  });

  it('ignores assignments of other principals', () => {
    const s = state([assignment(SUB, ROLE_IDS.owner, 0, '22222222-2222-2222-2222-222222222222')]);
    assert.equal(canPerform(s, PRINCIPAL, 'Microsoft.Web/sites/read', SITE), false);
    assert.equal(canRead(s, PRINCIPAL, SITE), false);
  });

  it('returns the permission blocks of every applying role, Owner first', () => {
    const s = state([assignment(SUB, ROLE_IDS.owner), assignment(`${RG}x`, ROLE_IDS.reader)]);
    assert.deepEqual(permissionsFor(s, PRINCIPAL, ACR), [
      { actions: ['*'], notActions: [], dataActions: [], notDataActions: [] },
    ]);
  });

  it('lets Reader read a registry and a Website Contributor read only sites', () => {
    assert.equal(canRead(state([assignment(RG, ROLE_IDS.reader)]), PRINCIPAL, ACR), true);
    assert.equal(canRead(state([assignment(RG, ROLE_IDS.websiteContributor)]), PRINCIPAL, SITE), true);
    assert.equal(canRead(state([assignment(RG, ROLE_IDS.websiteContributor)]), PRINCIPAL, ACR), false);
  });
});

describe('roles: pullAccess', () => {
  const legacy: Partial<RbacState> = {
    registries: [{ id: ACR, roleAssignmentMode: 'LegacyRegistryPermissions' }],
  };
  const abac: Partial<RbacState> = {
    registries: [{ id: ACR, roleAssignmentMode: 'AbacRepositoryPermissions' }],
  };
  const cases: [label: string, role: string, scope: string, mode: Partial<RbacState>, expected: string][] = [
    ['AcrPull on the registry grants a pull', ROLE_IDS.acrPull, ACR, legacy, 'granted'],
    ['AcrPull on the subscription grants a pull', ROLE_IDS.acrPull, SUB, legacy, 'granted'],
    ['AcrPush grants a pull', ROLE_IDS.acrPush, ACR, legacy, 'granted'],
    ['Reader on the group grants a pull', ROLE_IDS.reader, RG, legacy, 'granted'],
    ['Contributor grants a pull', ROLE_IDS.contributor, SUB, legacy, 'granted'],
    ['Owner grants a pull', ROLE_IDS.owner, SUB, legacy, 'granted'],
    ['Repository Reader on a legacy registry grants nothing', ROLE_IDS.repositoryReader, ACR, legacy, 'none'],
    ['AcrPull on an ABAC registry grants nothing', ROLE_IDS.acrPull, ACR, abac, 'none'],
    ['Repository Reader on an ABAC registry grants a pull', ROLE_IDS.repositoryReader, ACR, abac, 'granted'],
    ['Repository Writer on an ABAC registry grants a pull', ROLE_IDS.repositoryWriter, RG, abac, 'granted'],
    [
      'Repository Contributor on an ABAC registry grants a pull',
      ROLE_IDS.repositoryContributor,
      SUB,
      abac,
      'granted',
    ],
    ['AcrPull on another registry grants nothing', ROLE_IDS.acrPull, `${ACR}2`, legacy, 'none'],
    ['Website Contributor grants nothing', ROLE_IDS.websiteContributor, RG, legacy, 'none'],
  ];
  for (const [label, role, scope, mode, expected] of cases) {
    it(label, () => {
      assert.equal(pullAccess(state([assignment(scope, role)], mode), PRINCIPAL, ACR, 1000), expected);
    });
  }

  it('treats an unknown registry as legacy mode', () => {
    assert.equal(pullAccess(state([assignment(ACR, ROLE_IDS.acrPull)]), PRINCIPAL, ACR, 0), 'granted');
  });

  it('reports a fresh assignment as propagating until the scenario delay has passed', () => {
    const s = state([assignment(ACR, ROLE_IDS.acrPull, 10_000)], {
      ...legacy,
      delays: { roleAssignmentPropagationSeconds: 60 },
    });
    assert.equal(pullAccess(s, PRINCIPAL, ACR, 10_000), 'propagating');
    assert.equal(pullAccess(s, PRINCIPAL, ACR, 69_999), 'propagating');
    assert.equal(pullAccess(s, PRINCIPAL, ACR, 70_000), 'granted');
  });

  it('uses the oldest honoured assignment, so an old grant is not hidden by a new one', () => {
    const s = state([assignment(ACR, ROLE_IDS.acrPull, 50_000), assignment(SUB, ROLE_IDS.reader, 0)], {
      ...legacy,
      delays: { roleAssignmentPropagationSeconds: 30 },
    });
    assert.equal(pullAccess(s, PRINCIPAL, ACR, 60_000), 'granted');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Wire level: a started emulator driven by the official @azure/arm-authorization SDK (and raw HTTPS where
// there is no SDK in the project: registries, identities, resources).
// ---------------------------------------------------------------------------------------------------------

const NAME_A = '3c2b1a09-8f7e-4d6c-9b5a-41302f1e0d9c';
const NAME_B = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';

// biome-ignore lint/suspicious/noExplicitAny: replies are JSON to inspect freely in tests
async function rawGet(emu: Emulator, token: string, path: string): Promise<{ status: number; body: any }> {
  const res = await rawRequest(emu.info, new URL(path, emu.info.armUrl).toString(), {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: res.body ? JSON.parse(res.body) : undefined };
}

async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of pages) out.push(item);
  return out;
}

async function restError(promise: Promise<unknown>): Promise<RestError> {
  try {
    await promise;
  } catch (e: unknown) {
    if (e instanceof RestError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('emulator authorization surfaces over HTTPS (official SDK)', function () {
  this.timeout(60_000);
  let emu: Emulator;
  let client: AuthorizationManagementClient;
  let credential: ClientSecretCredential;
  let token: string;
  let acrId: string;
  let rgName: string;
  let acrPullId: string;
  let uamiPrincipal: string;
  let callerOwner: RoleAssignment | undefined;

  const start = useEmulator({ per: 'suite' });
  before(async () => {
    emu = await start({
      ...baseScenario(),
      identities: [
        { name: 'id-pull', resourceGroup: 'rg-web' },
        { name: 'id-fresh', resourceGroup: 'rg-web', createdSecondsAgo: 1 },
      ],
      delays: { directoryReplicationSeconds: 300 },
    });
    const httpClient = trustingHttpClient(emu.info);
    credential = emulatorCredential(emu.info, httpClient);
    client = new AuthorizationManagementClient(credential, emu.info.subscriptionId, {
      endpoint: emu.info.armUrl,
      credentialScopes: ['https://management.azure.com/.default'],
      httpClient,
    });
    const access = await credential.getToken('https://management.azure.com/.default');
    token = access.token;
    const registry = emu.state.registries[0];
    assert.ok(registry);
    acrId = registry.id;
    rgName = registry.resourceGroup;
    acrPullId = `/subscriptions/${emu.info.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.acrPull}`;
    uamiPrincipal = emu.state.identities[0]?.principalId ?? '';
    callerOwner = emu.state.roleAssignments.find((a) => a.principalId === emu.state.defaultClient.objectId);
  });

  it('creates AcrPull on the registry, then answers RoleAssignmentExists with the dashless ID for another name', async () => {
    const created = await client.roleAssignments.create(acrId, NAME_A, {
      roleDefinitionId: acrPullId,
      principalId: uamiPrincipal,
      principalType: 'ServicePrincipal',
    });
    assert.equal(created.name, NAME_A);
    assert.equal(created.scope, acrId);
    assert.ok(created.createdOn instanceof Date);
    // A leading slash makes the SDK send `//subscriptions/...`; the emulator collapses it like ARM.
    const again = await client.roleAssignments.create(`/${acrId}`, NAME_A, {
      roleDefinitionId: acrPullId,
      principalId: uamiPrincipal,
      principalType: 'ServicePrincipal',
    });
    assert.equal(again.id, created.id);
    const conflict = await restError(
      client.roleAssignments.create(acrId, NAME_B, {
        roleDefinitionId: acrPullId,
        principalId: uamiPrincipal,
      }),
    );
    assert.equal(conflict.statusCode, 409);
    assert.equal(conflict.code, 'RoleAssignmentExists');
    assert.match(conflict.message, new RegExp(`existing role assignment is ${NAME_A.replace(/-/g, '')}\\.`));
  });

  it('answers PrincipalNotFound for a fresh identity without principalType and accepts it with one', async () => {
    const fresh = emu.state.identities[1]?.principalId ?? '';
    const name = 'f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f';
    const failed = await restError(
      client.roleAssignments.create(acrId, name, { roleDefinitionId: acrPullId, principalId: fresh }),
    );
    assert.equal(failed.statusCode, 400);
    assert.equal(failed.code, 'PrincipalNotFound');
    assert.match(failed.message, /set the role assignment principalType property/);
    const ok = await client.roleAssignments.create(acrId, name, {
      roleDefinitionId: acrPullId,
      principalId: fresh,
      principalType: 'ServicePrincipal',
    });
    assert.equal(ok.principalId, fresh);
  });

  it('lists with atScope() and assignedTo(), and with principalId eq across pages', async () => {
    const atAcr = await collect(
      client.roleAssignments.listForScope(acrId, { filter: `atScope() and assignedTo('${uamiPrincipal}')` }),
    );
    assert.deepEqual(
      atAcr.map((a) => a.name),
      [NAME_A],
    );
    const previous = emu.state.paging.roleAssignments;
    emu.state.paging.roleAssignments = 1;
    try {
      const all = await collect(
        client.roleAssignments.listForScope(`/subscriptions/${emu.info.subscriptionId}`, {
          filter: `principalId eq '${uamiPrincipal}'`,
        }),
      );
      assert.deepEqual(
        all.map((a) => a.name),
        [NAME_A],
      );
      const everything = await collect(client.roleAssignments.listForResourceGroup(rgName));
      assert.ok(everything.length >= 3, `got ${everything.length}`);
    } finally {
      emu.state.paging.roleAssignments = previous;
    }
  });

  it('reads role definitions by ID and by name', async () => {
    const byId = await client.roleDefinitions.getById(acrPullId);
    assert.equal(byId.roleName, 'AcrPull');
    assert.equal(byId.roleType, 'BuiltInRole');
    const byName = await collect(
      client.roleDefinitions.list(`/subscriptions/${emu.info.subscriptionId}`, {
        filter: "roleName eq 'Container Registry Repository Reader'",
      }),
    );
    assert.deepEqual(
      byName.map((r) => r.name),
      [ROLE_IDS.repositoryReader],
    );
  });

  it('answers the caller permissions on the registry through the SDK empty parent path, and on the group', async () => {
    const name = acrId.split('/').pop() ?? '';
    const onAcr = await collect(
      client.permissions.listForResource(rgName, 'Microsoft.ContainerRegistry', '', 'registries', name),
    );
    assert.deepEqual(onAcr, [{ actions: ['*'], notActions: [], dataActions: [], notDataActions: [] }]);
    const onRg = await collect(client.permissions.listForResourceGroup(rgName));
    assert.deepEqual(onRg[0]?.actions, ['*']);
  });

  it('answers 403 AuthorizationFailed from the gateway when the caller is only Contributor', async () => {
    assert.ok(callerOwner);
    const owner = callerOwner;
    const originalRole = owner.roleDefinitionId;
    owner.roleDefinitionId = originalRole.replace(ROLE_IDS.owner, ROLE_IDS.contributor);
    try {
      const denied = await restError(
        client.roleAssignments.create(acrId, 'c0ffee00-1234-4abc-8def-0123456789ab', {
          roleDefinitionId: acrPullId,
          principalId: emu.state.identities[1]?.principalId ?? '',
          principalType: 'ServicePrincipal',
        }),
      );
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.code, 'AuthorizationFailed');
      assert.equal(denied.response?.headers.get('x-ms-failure-cause'), 'gateway');
      assert.match(denied.message, /Microsoft\.Authorization\/roleAssignments\/write/);
      const permissions = await collect(client.permissions.listForResourceGroup(rgName));
      assert.ok(permissions[0]?.notActions?.includes('Microsoft.Authorization/*/Write'));
    } finally {
      owner.roleDefinitionId = originalRole;
    }
  });

  it('deletes an assignment', async () => {
    const removed = await client.roleAssignments.delete(acrId, NAME_A);
    assert.equal(removed.name, NAME_A);
    const gone = await restError(client.roleAssignments.get(acrId, NAME_A));
    assert.equal(gone.statusCode, 404);
  });

  it('serves the registry, the identity and the resource filter over HTTPS', async () => {
    const registry = await rawGet(emu, token, `${acrId}?api-version=2025-11-01`);
    assert.equal(registry.status, 200);
    assert.equal(registry.body.properties.loginServer, 'contosoacr.azurecr.io');
    const list = await rawGet(
      emu,
      token,
      `/subscriptions/${emu.info.subscriptionId}/providers/Microsoft.ContainerRegistry/registries?api-version=2025-11-01`,
    );
    assert.equal(list.body.value.length, 1);
    const identity = emu.state.identities[0];
    assert.ok(identity);
    const got = await rawGet(emu, token, `${identity.id}?api-version=2024-11-30`);
    assert.equal(got.body.properties.clientId, identity.clientId);
    const filter = encodeURIComponent("resourceType eq 'Microsoft.Web/sites' and name eq 'contoso-web'");
    const found = await rawGet(
      emu,
      token,
      `/subscriptions/${emu.info.subscriptionId}/resources?$filter=${filter}&api-version=2021-04-01`,
    );
    assert.equal(found.status, 200);
    assert.deepEqual(
      found.body.value.map((r: { name: string; type: string }) => `${r.type}:${r.name}`),
      ['Microsoft.Web/sites:contoso-web'],
    );
    const subs = await rawGet(emu, token, '/subscriptions?api-version=2022-12-01');
    assert.deepEqual(
      subs.body.value.map((s: { subscriptionId: string }) => s.subscriptionId),
      [emu.info.subscriptionId],
    );
  });
});
