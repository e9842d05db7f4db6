import assert from 'node:assert/strict';
import {
  actionMatches,
  canWriteRoleAssignments,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/permissions';
import {
  grantFact,
  grantsPull,
  type RoleAssignment,
  roleAssignmentName,
  scopeCovers,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/role-assignments';
import {
  scmHostName,
  vnetImagePullEnabled,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/web-apps';
import {
  imageFromFxVersion,
  isAcrHost,
  registryHostOf,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/images';
import { splitResourceId as parseResourceId } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/resource-id';

const REGISTRY = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr';

describe('Azure surface helpers', () => {
  describe('role assignment names', () => {
    it('are the same for the same scope, principal and role, whatever the case', () => {
      const a = roleAssignmentName(REGISTRY, 'ABC', '7F951DDA-4ED3-4680-A7CA-43FE172D538D');
      const b = roleAssignmentName(
        `/${REGISTRY.toLowerCase()}/`,
        'abc',
        '7f951dda-4ed3-4680-a7ca-43fe172d538d',
      );
      assert.equal(a, b);
      assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('differ when the principal or the role differs', () => {
      const base = roleAssignmentName(REGISTRY, 'p1', 'r1');
      assert.notEqual(base, roleAssignmentName(REGISTRY, 'p2', 'r1'));
      assert.notEqual(base, roleAssignmentName(REGISTRY, 'p1', 'r2'));
    });
  });

  describe('which grants let a principal pull', () => {
    const assignment = (scope: string, role: string): RoleAssignment => ({
      id: 'x',
      name: 'x',
      properties: {
        scope,
        principalId: 'p',
        roleDefinitionId: `/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/${role}`,
      },
    });
    const table: [string, string, string, boolean, boolean][] = [
      ['AcrPull at the registry', REGISTRY, '7f951dda-4ed3-4680-a7ca-43fe172d538d', false, true],
      [
        'AcrPull at the group',
        '/subscriptions/s1/resourcegroups/RG',
        '7f951dda-4ed3-4680-a7ca-43fe172d538d',
        false,
        true,
      ],
      [
        'Reader at the subscription',
        '/subscriptions/s1',
        'acdd72a7-3385-48ef-bd42-f606fba81ae7',
        false,
        true,
      ],
      [
        'AcrPull on a registry whose name extends ours',
        `${REGISTRY}2`,
        '7f951dda-4ed3-4680-a7ca-43fe172d538d',
        false,
        false,
      ],
      ['AcrPull on an ABAC registry', REGISTRY, '7f951dda-4ed3-4680-a7ca-43fe172d538d', true, false],
      ['Repository Reader on an ABAC registry', REGISTRY, 'b93aa761-3e63-49ed-ac28-beffa264f7ac', true, true],
      ['Website Contributor', REGISTRY, 'de139f84-1756-47ae-9be6-808fbbe84772', false, false],
    ];
    for (const [name, scope, role, abac, expected] of table) {
      it(`${expected ? 'counts' : 'does not count'} ${name}`, () => {
        assert.equal(grantsPull(grantFact(assignment(scope, role)), REGISTRY, abac), expected);
      });
    }

    it('compares scopes segment by segment', () => {
      assert.equal(scopeCovers('/subscriptions/s1/resourceGroups/rg', REGISTRY), true);
      assert.equal(scopeCovers('/subscriptions/s1/resourceGroups/r', REGISTRY), false);
    });
  });

  describe('permission to write role assignments', () => {
    const table: [string, { actions: string[]; notActions: string[] }[], boolean][] = [
      ['Owner (*)', [{ actions: ['*'], notActions: [] }], true],
      [
        'Contributor (* minus Microsoft.Authorization/*/Write)',
        [
          {
            actions: ['*'],
            notActions: ['Microsoft.Authorization/*/Write', 'Microsoft.Authorization/*/Delete'],
          },
        ],
        false,
      ],
      [
        'User Access Administrator',
        [{ actions: ['*/read', 'Microsoft.Authorization/*'], notActions: [] }],
        true,
      ],
      [
        'RBAC Administrator',
        [{ actions: ['Microsoft.Authorization/roleAssignments/write'], notActions: [] }],
        true,
      ],
      ['Reader', [{ actions: ['*/read'], notActions: [] }], false],
      ['*/write', [{ actions: ['*/write'], notActions: [] }], true],
      [
        'Contributor plus a separate RBAC Administrator entry',
        [
          { actions: ['*'], notActions: ['Microsoft.Authorization/*/Write'] },
          { actions: ['Microsoft.Authorization/roleAssignments/*'], notActions: [] },
        ],
        true,
      ],
      ['nothing', [], false],
    ];
    for (const [name, permissions, expected] of table) {
      it(`${name}: ${expected ? 'can' : 'cannot'}`, () =>
        assert.equal(canWriteRoleAssignments(permissions), expected));
    }

    it('matches case-insensitively and treats regex characters literally', () => {
      assert.equal(
        actionMatches(
          'microsoft.authorization/ROLEASSIGNMENTS/write',
          'Microsoft.Authorization/roleAssignments/write',
        ),
        true,
      );
      assert.equal(
        actionMatches(
          'Microsoft.Authorization/roleAssignments.write',
          'Microsoft.Authorization/roleAssignmentsXwrite',
        ),
        false,
      );
    });
  });

  describe('images and registries', () => {
    const images: [string | undefined, string | undefined][] = [
      ['DOCKER|contosoacr.azurecr.io/web:1.0', 'contosoacr.azurecr.io/web:1.0'],
      ['Docker|contosoacr.azurecr.io/web:1.0', 'contosoacr.azurecr.io/web:1.0'],
      ['sitecontainers', undefined],
      ['NODE|20-lts', undefined],
      ['', undefined],
      [
        `COMPOSE|${Buffer.from('services:\n  web:\n    image: "acr.azurecr.io/a:1"\n').toString('base64')}`,
        'acr.azurecr.io/a:1',
      ],
    ];
    for (const [fx, image] of images) {
      it(`reads '${(fx ?? '').slice(0, 30)}' as ${image ?? 'no image'}`, () =>
        assert.equal(imageFromFxVersion(fx), image));
    }

    it('finds the registry host the way docker does', () => {
      assert.equal(registryHostOf('ContosoAcr.azurecr.io/web:1'), 'contosoacr.azurecr.io');
      assert.equal(registryHostOf('nginx:latest'), 'docker.io');
      assert.equal(registryHostOf('library/nginx'), 'docker.io');
      assert.equal(registryHostOf('localhost:5000/x'), 'localhost:5000');
      assert.equal(isAcrHost('eteliosacr-hvawabdbgge7e0fu.azurecr.io'), true);
      assert.equal(isAcrHost('x.azurecr.cn'), true);
      assert.equal(isAcrHost('ghcr.io'), false);
    });
  });

  describe('site helpers', () => {
    it('takes the SCM host from the Repository entry, never building it', () => {
      const site = {
        id: 'x',
        name: 'app',
        properties: {
          hostNameSslStates: [
            { name: 'app-h4sh.westeurope-01.azurewebsites.net', hostType: 'Standard' },
            { name: 'app-h4sh.scm.westeurope-01.azurewebsites.net', hostType: 'Repository' },
          ],
        },
      };
      assert.equal(scmHostName(site), 'app-h4sh.scm.westeurope-01.azurewebsites.net');
      assert.equal(
        scmHostName({ id: 'x', name: 'a', properties: { enabledHostNames: ['a.net', 'a.scm.net'] } }),
        'a.scm.net',
      );
    });

    it('reads image pull over VNet under both of its names', () => {
      assert.equal(
        vnetImagePullEnabled({ id: 'x', name: 'a', properties: { vnetImagePullEnabled: true } }),
        true,
      );
      assert.equal(
        vnetImagePullEnabled({
          id: 'x',
          name: 'a',
          properties: { outboundVnetRouting: { imagePullTraffic: true } },
        }),
        true,
      );
      assert.equal(vnetImagePullEnabled({ id: 'x', name: 'a', properties: {} }), false);
    });

    it('splits a resource ID', () => {
      assert.deepEqual(
        parseResourceId('/subscriptions/s/resourcegroups/rg/providers/Microsoft.Web/sites/app/slots/x'),
        {
          id: '/subscriptions/s/resourcegroups/rg/providers/Microsoft.Web/sites/app/slots/x',
          subscriptionId: 's',
          resourceGroup: 'rg',
          name: 'app',
        },
      );
      assert.equal(parseResourceId('/subscriptions/s'), undefined);
    });
  });
});
