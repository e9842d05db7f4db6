/**
 * The emulator refuses what Azure refuses: each rule of docs/emulator.md "Strict like Azure", checked on the
 * wire (plain HTTPS with tokens the emulator's Entra issued). The task-side consequences are end-to-end tests
 * elsewhere (tests/configure, tests/task).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AZURE_STACK_HUB_2020_09_01_HYBRID, apiVersionsFor } from './api-versions';
import { baseScenario, type Emulator, type Scenario, startEmulator } from './index';
import { pullAccess } from './roles';
import { emulatorCredential, rawRequest } from './sdk-client';

async function tokenFor(emu: Emulator, audience: string): Promise<string> {
  return (await emulatorCredential(emu.info).getToken(`${audience}/.default`)).token;
}

async function kuduStatus(emu: Emulator, audience: string): Promise<number> {
  const app = emu.state.apps.find((a) => !a.slot);
  const res = await rawRequest(emu.info, `https://127.0.0.1:${app?.scmPort}/api/logs/docker`, {
    headers: { authorization: `Bearer ${await tokenFor(emu, audience)}` },
  });
  return res.status;
}

async function withEmulator(scenario: Scenario, body: (emu: Emulator) => Promise<void>): Promise<void> {
  const emu = await startEmulator({ scenario });
  try {
    await body(emu);
  } finally {
    await emu.close();
  }
}

describe('emulator strictness: Kudu checks the token audience per cloud', function () {
  this.timeout(30_000);

  it('public cloud: the App Service audience and (still) the ARM audience are accepted, others are 401', async () => {
    await withEmulator(baseScenario(), async (emu) => {
      assert.equal(await kuduStatus(emu, 'https://appservice.azure.com'), 200);
      assert.equal(await kuduStatus(emu, 'https://management.azure.com'), 200);
      assert.equal(await kuduStatus(emu, emu.info.armUrl.replace(/\/$/, '')), 200);
      assert.equal(await kuduStatus(emu, 'https://appservice.azure.us'), 401);
      assert.equal(await kuduStatus(emu, 'https://vault.azure.net'), 401);
    });
  });

  it('public cloud once the ARM audience is retired: an ARM-audience token is 403', async () => {
    await withEmulator({ ...baseScenario(), kuduAcceptsArmAudience: false }, async (emu) => {
      assert.equal(await kuduStatus(emu, 'https://management.azure.com'), 403);
      assert.equal(await kuduStatus(emu, 'https://appservice.azure.com'), 200);
    });
  });

  it('an App Service token past its expiry (by the emulated clock) is 401, a fresh one 200', async () => {
    await withEmulator(baseScenario(), async (emu) => {
      const app = emu.state.apps.find((a) => !a.slot);
      const token = await tokenFor(emu, 'https://appservice.azure.com');
      const list = (t: string) =>
        rawRequest(emu.info, `https://127.0.0.1:${app?.scmPort}/api/logs/docker`, {
          headers: { authorization: `Bearer ${t}` },
        });
      assert.equal((await list(token)).status, 200);
      emu.advanceClock(emu.state.delays.tokenLifetimeSeconds + 1);
      assert.equal((await list(token)).status, 401);
      assert.equal(await kuduStatus(emu, 'https://appservice.azure.com'), 200);
    });
  });

  it('US Government: only https://appservice.azure.us; the ARM audience is 403', async () => {
    await withEmulator({ ...baseScenario(), cloud: 'AzureUSGovernment' }, async (emu) => {
      assert.equal(await kuduStatus(emu, 'https://appservice.azure.us'), 200);
      assert.equal(await kuduStatus(emu, 'https://management.usgovcloudapi.net'), 403);
      assert.equal(await kuduStatus(emu, emu.info.armUrl.replace(/\/$/, '')), 403);
      assert.equal(await kuduStatus(emu, 'https://appservice.azure.com'), 401);
    });
  });

  it('China: only https://appservice.azure.cn; the ARM audience is 403', async () => {
    await withEmulator({ ...baseScenario(), cloud: 'AzureChinaCloud' }, async (emu) => {
      assert.equal(await kuduStatus(emu, 'https://appservice.azure.cn'), 200);
      assert.equal(await kuduStatus(emu, 'https://management.chinacloudapi.cn'), 403);
    });
  });
});

describe('emulator strictness: config/web acrUserManagedIdentityID, null vs ""', function () {
  this.timeout(30_000);

  it('null leaves the client ID unchanged; "" clears it', async () => {
    await withEmulator(baseScenario(), async (emu) => {
      const url = `${emu.info.armUrl}subscriptions/${emu.info.subscriptionId}/resourceGroups/rg-web/providers/Microsoft.Web/sites/contoso-web/config/web?api-version=2024-11-01`;
      const headers = {
        authorization: `Bearer ${await tokenFor(emu, 'https://management.azure.com')}`,
        'content-type': 'application/json',
      };
      const patch = async (value: unknown) => {
        const res = await rawRequest(emu.info, url, {
          method: 'PATCH',
          headers,
          body: JSON.stringify({
            properties: { acrUseManagedIdentityCreds: true, acrUserManagedIdentityID: value },
          }),
        });
        assert.equal(res.status, 200);
        return (JSON.parse(res.body) as { properties: { acrUserManagedIdentityID: string | null } })
          .properties.acrUserManagedIdentityID;
      };
      const clientId = '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';
      assert.equal(await patch(clientId), clientId);
      assert.equal(await patch(null), clientId, 'null is "not specified": the stale client ID stays');
      assert.equal(await patch(''), null, '"" clears it');
    });
  });
});

describe('emulator strictness: a site refuses writes while its identity operation runs', function () {
  this.timeout(30_000);

  it('answers 409 Conflict "another operation is in progress" to PATCH site, config/web, app settings and restart until the operation completes', async () => {
    await withEmulator(
      baseScenario({ slots: ['staging'], delays: { siteOperationSeconds: 30 } }),
      async (emu) => {
        const site = `${emu.info.armUrl}subscriptions/${emu.info.subscriptionId}/resourceGroups/rg-web/providers/Microsoft.Web/sites/contoso-web`;
        const headers = {
          authorization: `Bearer ${await tokenFor(emu, 'https://management.azure.com')}`,
          'content-type': 'application/json',
        };
        const send = (method: string, path: string, body: unknown) =>
          rawRequest(emu.info, `${site}${path}?api-version=2024-11-01`, {
            method,
            headers,
            body: JSON.stringify(body),
          });
        const identity = { identity: { type: 'SystemAssigned' } };
        assert.equal((await send('PATCH', '', identity)).status, 202);
        const writes: [string, string, unknown][] = [
          ['PATCH', '', { properties: { httpsOnly: true } }],
          ['PATCH', '/config/web', { properties: { acrUseManagedIdentityCreds: true } }],
          ['PUT', '/config/web', { properties: { acrUseManagedIdentityCreds: true } }],
          ['PUT', '/config/appsettings', { properties: { A: 'b' } }],
          ['POST', '/restart', {}],
        ];
        const before = JSON.stringify(emu.state.apps.find((a) => !a.slot));
        for (const [method, path, body] of writes) {
          const res = await send(method, path, body);
          assert.equal(res.status, 409, `${method} ${path || 'site'} while the operation runs`);
          const error = JSON.parse(res.body) as { Code: string; Message: string };
          assert.equal(error.Code, 'Conflict');
          assert.match(
            error.Message,
            /^Cannot modify this site because another operation is in progress\. Details: Id: /,
          );
        }
        assert.equal(JSON.stringify(emu.state.apps.find((a) => !a.slot)), before, 'nothing was written');
        // Reads still work, and another site (the slot) is not locked by this one's operation.
        assert.equal(
          (await rawRequest(emu.info, `${site}/config/web?api-version=2024-11-01`, { headers })).status,
          200,
        );
        assert.equal((await send('PATCH', '/slots/staging/config/web', writes[1]?.[2])).status, 200);
        emu.advanceClock(30);
        for (const [method, path, body] of writes) {
          assert.ok(
            (await send(method, path, body)).status < 300,
            `${method} ${path || 'site'} once it completed`,
          );
        }
      },
    );
  });
});

describe('emulator strictness: role assignments as ARM returns and honours them', function () {
  this.timeout(30_000);
  const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';
  const REPO_READER = 'b93aa761-3e63-49ed-ac28-beffa264f7ac';
  const OTHER_PRINCIPAL = '5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d';

  async function listAtRegistry(emu: Emulator, filter = 'atScope()') {
    const registry = emu.state.registries[0];
    const url = `${emu.info.armUrl}${registry?.id.slice(1)}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=${encodeURIComponent(filter)}`;
    const res = await rawRequest(emu.info, url, {
      headers: { authorization: `Bearer ${await tokenFor(emu, 'https://management.azure.com')}` },
    });
    assert.equal(res.status, 200, res.body);
    return (
      JSON.parse(res.body) as {
        value: { properties: { scope: string; roleDefinitionId: string; principalId: string } }[];
      }
    ).value.map((v) => v.properties);
  }

  it('returns management-group assignments above the registry with atScope(), and the pull honours them', async () => {
    await withEmulator(
      {
        ...baseScenario(),
        managementGroups: [{ name: 'mg-platform' }],
        roleAssignments: [{ principal: OTHER_PRINCIPAL, role: 'AcrPull', scope: 'mg:mg-platform' }],
      },
      async (emu) => {
        const listed = await listAtRegistry(emu);
        const mg = listed.find((a) => a.principalId === OTHER_PRINCIPAL);
        assert.equal(mg?.scope, '/providers/Microsoft.Management/managementGroups/mg-platform');
        assert.equal(mg?.roleDefinitionId, `/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}`);
        const registryId = emu.state.registries[0]?.id ?? '';
        assert.equal(pullAccess(emu.state, OTHER_PRINCIPAL, registryId, emu.now(), 'web'), 'granted');
      },
    );
  });

  it('returns built-in role definition IDs in the tenant form, whatever form the PUT sent', async () => {
    await withEmulator(baseScenario(), async (emu) => {
      const listed = await listAtRegistry(emu, '');
      assert.ok(listed.length > 0);
      for (const a of listed)
        assert.match(
          a.roleDefinitionId,
          /^\/providers\/Microsoft\.Authorization\/roleDefinitions\/[0-9a-f-]{36}$/,
        );
    });
  });

  it('evaluates an ABAC condition on the pull: a grant limited to other repositories does not pull this image', async () => {
    const onlyOther =
      "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND !(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) OR (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase 'other'))";
    const scenario = baseScenario();
    const registries = (scenario.registries ?? []).map((r) => ({
      ...r,
      roleAssignmentMode: 'AbacRepositoryPermissions' as const,
    }));
    await withEmulator(
      {
        ...scenario,
        registries,
        roleAssignments: [
          {
            principal: OTHER_PRINCIPAL,
            role: REPO_READER,
            scope: 'registry:contosoacr',
            condition: onlyOther,
          },
        ],
      },
      async (emu) => {
        const registryId = emu.state.registries[0]?.id ?? '';
        assert.equal(pullAccess(emu.state, OTHER_PRINCIPAL, registryId, emu.now(), 'web'), 'none');
        assert.equal(pullAccess(emu.state, OTHER_PRINCIPAL, registryId, emu.now(), 'other'), 'granted');
        assert.equal(pullAccess(emu.state, OTHER_PRINCIPAL, registryId, emu.now(), 'OTHER'), 'granted');
      },
    );
  });
});

describe('emulator strictness: api-versions per provider and cloud', function () {
  this.timeout(30_000);

  async function get(emu: Emulator, path: string, apiVersion: string) {
    const res = await rawRequest(emu.info, `${emu.info.armUrl}${path.slice(1)}?api-version=${apiVersion}`, {
      headers: { authorization: `Bearer ${await tokenFor(emu, 'https://management.azure.com')}` },
    });
    return {
      status: res.status,
      error: (JSON.parse(res.body) as { error?: { code: string; message: string } }).error,
    };
  }

  it('answers an unknown api-version with Azure 400s: NoRegisteredProviderFound for a provider type, InvalidApiVersionParameter for ARM types', async () => {
    await withEmulator(baseScenario(), async (emu) => {
      const sub = `/subscriptions/${emu.info.subscriptionId}`;
      const site = `${sub}/resourceGroups/rg-web/providers/Microsoft.Web/sites/contoso-web`;
      assert.equal((await get(emu, site, '2024-11-01')).status, 200);
      const web = await get(emu, site, '2099-01-01');
      assert.equal(web.status, 400);
      assert.equal(web.error?.code, 'NoRegisteredProviderFound');
      assert.match(
        web.error?.message ?? '',
        /^No registered resource provider found for location 'westeurope' and API version '2099-01-01' for type 'sites'\. The supported api-versions are '2026-09-01, 2026-07-15, 2026-03-15, 2026-03-01-preview, 2025-05-01, 2025-03-01, 2024-11-01, /,
      );
      const config = await get(emu, `${site}/config/web`, '2099-01-01');
      assert.match(config.error?.message ?? '', /for type 'sites\/config'/);
      const subscription = await get(emu, sub, '2099-01-01');
      assert.equal(subscription.status, 400);
      assert.equal(subscription.error?.code, 'InvalidApiVersionParameter');
      assert.match(
        subscription.error?.message ?? '',
        /^The api-version '2099-01-01' is invalid\. The supported versions are '2024-11-01,/,
      );
    });
  });

  it('a lagging cloud (scenario apiVersions) refuses versions it does not have yet', async () => {
    await withEmulator(
      { ...baseScenario(), cloud: 'AzureUSGovernment', apiVersions: { 'Microsoft.Web': ['2023-12-01'] } },
      async (emu) => {
        const site = `/subscriptions/${emu.info.subscriptionId}/resourceGroups/rg-web/providers/Microsoft.Web/sites/contoso-web`;
        assert.equal((await get(emu, site, '2023-12-01')).status, 200);
        const refused = await get(emu, site, '2024-11-01');
        assert.equal(refused.error?.code, 'NoRegisteredProviderFound');
        assert.match(refused.error?.message ?? '', /supported api-versions are '2023-12-01'/);
      },
    );
  });

  it('an Azure Stack Hub profile (2020-09-01-hybrid) refuses the versions the task needs', async () => {
    await withEmulator(
      { ...baseScenario(), apiVersions: { ...AZURE_STACK_HUB_2020_09_01_HYBRID } },
      async (emu) => {
        const sub = `/subscriptions/${emu.info.subscriptionId}`;
        const site = `${sub}/resourceGroups/rg-web/providers/Microsoft.Web/sites/contoso-web`;
        assert.equal((await get(emu, site, '2018-02-01')).status, 200);
        assert.equal((await get(emu, site, '2024-11-01')).error?.code, 'NoRegisteredProviderFound');
        assert.equal((await get(emu, sub, '2022-12-01')).error?.code, 'InvalidApiVersionParameter');
        assert.equal((await get(emu, sub, '2016-06-01')).status, 200);
      },
    );
  });

  it('knows every api-version the SDK clients the task uses send (@azure/arm-appservice, @azure/arm-authorization)', () => {
    const read = (rel: string) => readFileSync(join(__dirname, '..', '..', 'node_modules', rel), 'utf8');
    const appService = new Set(
      [
        ...read('@azure/arm-appservice/dist/esm/api/webApps/operations.js').matchAll(
          /apiVersion \?\? "([^"]+)"/g,
        ),
      ].map((m) => m[1] ?? ''),
    );
    const authorization = new Set(
      [
        ...read('@azure/arm-authorization/dist/index.js').matchAll(
          /defaultValue: "(\d{4}-\d{2}-\d{2}[^"]*)"/g,
        ),
      ].map((m) => m[1] ?? ''),
    );
    assert.ok(appService.size > 0 && authorization.size > 0, 'found the SDK constants');
    for (const v of appService)
      assert.ok(apiVersionsFor('AzureCloud', 'Microsoft.Web', {}).includes(v), `Microsoft.Web ${v}`);
    for (const v of authorization) {
      assert.ok(
        apiVersionsFor('AzureCloud', 'Microsoft.Authorization', {}).includes(v),
        `Microsoft.Authorization ${v}`,
      );
    }
  });
});
