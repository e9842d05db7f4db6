import { strict as assert } from 'node:assert';
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
