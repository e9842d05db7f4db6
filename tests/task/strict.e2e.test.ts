/**
 * The task against the emulator's strict rules (docs/emulator.md "Strict like Azure"): the built bundle, an
 * agent-style environment, assertions on the emulator's final state, the request log's outcomes and the task
 * result. Each case failed on the task as it was before its fix.
 */
import assert from 'node:assert/strict';
import { apiVersionsFor, providerOf } from '../emulator/api-versions';
import { baseScenario, type Scenario } from '../emulator/index';
import { federatedConnection } from '../harness/connections';
import { assertSucceeded, describeRun, inputs, run, start } from '../reliability/helpers';

describe('the task against the strict emulator (built bundle)', function () {
  this.timeout(120_000);

  it('US Government: Kudu refuses ARM-audience tokens (403), and the task still reads the log through Kudu', async () => {
    const scenario: Scenario = {
      ...baseScenario({ delays: { siteOperationSeconds: 0 } }),
      cloud: 'AzureUSGovernment',
    };
    const emu = await start(scenario);
    try {
      const { connection } = federatedConnection(emu.info);
      connection.data.environment = 'AzureUSGovernment';
      const r = await run(emu, inputs(), { connection });
      assertSucceeded(r);
      const kudu = emu.requests().filter((q) => q.host === 'kudu');
      assert.ok(
        kudu.some((q) => q.path === '/api/logs/docker' && q.status === 200),
        `Kudu's docker log listing was read with an accepted token:\n${kudu.map((q) => `${q.status} ${q.path}`).join('\n')}\n${describeRun(r)}`,
      );
    } finally {
      await emu.close();
    }
  });

  it('a target switched from a user-assigned identity to the system identity gets its client ID cleared ("" not null)', async () => {
    const clientId = '3f2e1d0c-9b8a-4765-8432-10fedcba9876';
    const base = baseScenario({ delays: { siteOperationSeconds: 0 } });
    const scenario: Scenario = {
      ...base,
      identities: [{ name: 'id-pull', resourceGroup: 'rg-web', clientId }],
      sites: (base.sites ?? []).map((s) => ({
        ...s,
        identity: { type: 'UserAssigned' as const, userAssigned: ['id-pull'] },
        acrUseManagedIdentityCreds: true,
        acrUserManagedIdentityID: clientId,
      })),
    };
    const emu = await start(scenario);
    try {
      const r = await run(emu, inputs({ identityType: 'system' }));
      assertSucceeded(r);
      const app = emu.state.apps.find((a) => !a.slot);
      assert.equal(app?.siteConfig.acrUserManagedIdentityID ?? null, null, 'the stale client ID is gone');
      assert.match(app?.identity.type ?? '', /SystemAssigned/);
      assert.doesNotMatch(r.stdout, /AcrFlagNotApplied/);
    } finally {
      await emu.close();
    }
  });

  it('a pull grant inherited from a management group counts: no duplicate grant, no false "missing rights"', async () => {
    const base = baseScenario();
    const scenario: Scenario = {
      ...base,
      managementGroups: [{ name: 'mg-platform' }],
      sites: (base.sites ?? []).map((s) => ({
        ...s,
        identity: { type: 'SystemAssigned' as const },
        acrUseManagedIdentityCreds: true,
      })),
      // Contributor cannot write role assignments: a grant planned again would fail RoleAssignmentForbidden.
      caller: { roles: [{ role: 'Contributor', scope: 'subscription' }] },
      roleAssignments: [{ principal: 'site:contoso-web', role: 'AcrPull', scope: 'mg:mg-platform' }],
    };
    const emu = await start(scenario);
    try {
      const before = emu.state.roleAssignments.length;
      const r = await run(emu, inputs());
      assertSucceeded(r);
      assert.equal(emu.state.roleAssignments.length, before, 'no role assignment was added');
      assert.ok(!emu.writes().some((w) => /roleassignments/i.test(w.path)), 'no role assignment write');
      assert.match(r.stdout, /managementGroups\/mg-platform/, 'the inherited grant is named');
      assert.match(
        r.summary ?? '',
        /AcrPull at `management group mg-platform`/,
        'the summary names the scope kind',
      );
    } finally {
      await emu.close();
    }
  });

  it('a Repository Reader grant whose ABAC condition names other repositories does not count: warn, grant without condition', async () => {
    const onlyOther =
      "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) OR (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase 'other'))";
    const base = baseScenario();
    const scenario: Scenario = {
      ...base,
      registries: (base.registries ?? []).map((g) => ({
        ...g,
        roleAssignmentMode: 'AbacRepositoryPermissions' as const,
      })),
      sites: (base.sites ?? []).map((s) => ({
        ...s,
        identity: { type: 'SystemAssigned' as const },
        acrUseManagedIdentityCreds: true,
        running: false,
      })),
      roleAssignments: [
        {
          principal: 'site:contoso-web',
          role: 'Container Registry Repository Reader',
          scope: 'rg:rg-web',
          condition: onlyOther,
        },
      ],
    };
    const emu = await start(scenario);
    try {
      const r = await run(emu, inputs());
      assertSucceeded(r);
      const app = emu.state.apps.find((a) => !a.slot);
      const registryId = emu.state.registries[0]?.id.toLowerCase();
      const unconditioned = emu.state.roleAssignments.filter(
        (a) =>
          a.principalId === app?.identity.principalId &&
          a.scope.toLowerCase() === registryId &&
          a.roleDefinitionId.toLowerCase().endsWith('b93aa761-3e63-49ed-ac28-beffa264f7ac') &&
          !a.condition,
      );
      assert.equal(unconditioned.length, 1, describeRun(r));
      assert.ok(
        r.warnings.some((w) => /only under a condition/.test(w)),
        describeRun(r),
      );
    } finally {
      await emu.close();
    }
  });

  it('every api-version the task sends is one the emulated providers answer', async () => {
    const emu = await start(baseScenario({ delays: { siteOperationSeconds: 0 } }));
    try {
      const r = await run(emu, inputs());
      assertSucceeded(r);
      const arm = emu.requests().filter((q) => q.host === 'arm');
      assert.ok(arm.length > 0);
      for (const q of arm) {
        const owner = providerOf(q.path);
        if (!owner) continue;
        assert.ok(
          apiVersionsFor('AzureCloud', owner.provider, {}).includes(q.apiVersion ?? ''),
          `${q.method} ${q.path} api-version=${q.apiVersion} (${owner.provider})`,
        );
      }
    } finally {
      await emu.close();
    }
  });

  it('a cloud whose Microsoft.Web lags behind: the failure names the api-version and the cloud', async () => {
    const older = ['2023-12-01', '2023-01-01', '2022-09-01', '2022-03-01', '2018-02-01'];
    const emu = await start({
      ...baseScenario({ delays: { siteOperationSeconds: 0 } }),
      cloud: 'AzureUSGovernment',
      apiVersions: { 'Microsoft.Web': older },
    });
    try {
      const { connection } = federatedConnection(emu.info);
      connection.data.environment = 'AzureUSGovernment';
      const r = await run(emu, inputs(), { connection });
      assert.equal(r.result, 'Failed', describeRun(r));
      assert.match(r.message, /2024-11-01|2025-05-01/, describeRun(r));
      assert.match(r.message, /AzureUSGovernment/, describeRun(r));
      assert.equal(emu.writes().length, 0, 'nothing was written');
    } finally {
      await emu.close();
    }
  });

  it('turning the system identity on follows the async operation (202 + Azure-AsyncOperation) and grants the new principal', async () => {
    // siteOperationSeconds 3 (the default): the principal exists only once the operation has completed.
    const emu = await start(baseScenario({ slots: ['staging'], delays: { siteOperationSeconds: 3 } }));
    try {
      const r = await run(emu, inputs());
      assertSucceeded(r);
      assert.ok(
        emu.requests().some((q) => q.method === 'PATCH' && q.status === 202),
        'the identity PATCH was answered 202',
      );
      const registryId = emu.state.registries[0]?.id.toLowerCase();
      for (const app of emu.state.apps) {
        assert.ok(app.identity.principalId, `${app.slot ?? 'production'} has its principal`);
        assert.ok(
          emu.state.roleAssignments.some(
            (a) => a.principalId === app.identity.principalId && a.scope.toLowerCase() === registryId,
          ),
          `${app.slot ?? 'production'}: the grant names the principal the operation created`,
        );
      }
    } finally {
      await emu.close();
    }
  });
});
