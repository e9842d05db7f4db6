/**
 * The emulator refuses what Azure refuses: each rule of docs/emulator.md "Strict like Azure", checked on the
 * wire (plain HTTPS with tokens the emulator's Entra issued). The task-side consequences are end-to-end tests
 * elsewhere (tests/configure, tests/task).
 */
import assert from 'node:assert/strict';
import { baseScenario, type Emulator, type Scenario, startEmulator } from './index';
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
