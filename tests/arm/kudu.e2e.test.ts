/**
 * Kudu's token choice (arm/kudu.ts) against the emulator's SCM hosts, with the task's own ARM client on the task's
 * pipeline: the App Service audience first; a 401 to it (the token expired by Kudu's clock) renews that token once
 * before anything else is tried; a 403 (audience not accepted) moves on at once.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createKuduClient } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/kudu';
import { createArmClient } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/request';
import { getSite } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/web-apps';
import { createTransport } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import { baseScenario, type Emulator, type Scenario } from '../emulator/index';
import { emulatorCredential } from '../emulator/sdk-client';
import { instantSleep } from '../harness/arm-context';
import { useEmulator } from '../harness/use-emulator';

const APP_SERVICE_SCOPE = 'https://appservice.azure.com/.default';

/** Only the App Service audience opens Kudu, and Basic is off: a wrong turn on the ladder is a denial. */
function strictKudu(): Scenario {
  const base = baseScenario();
  return {
    ...base,
    kuduAcceptsArmAudience: false,
    sites: (base.sites ?? []).map((s) => ({ ...s, scmBasicAuthAllowed: false })),
  };
}

describe('Kudu token choice against the emulator', function () {
  this.timeout(60_000);
  const start = useEmulator();

  async function kuduFor(e: Emulator) {
    // The token caches run on this process's clock; the emulator's clock is moved past the token lifetime, so
    // the cached App Service token is still "valid" here and expired for Kudu (clock skew, early revocation).
    const arm = createArmClient({
      armUrl: e.info.armUrl,
      subscriptionId: e.info.subscriptionId,
      credential: emulatorCredential(e.info),
      scope: 'https://management.azure.com/.default',
      transport: createTransport({ tls: { ca: [readFileSync(e.info.caCertPath, 'utf8')] } }),
      retry: { sleep: instantSleep, baseDelayInMs: 1 },
      kuduScopes: [APP_SERVICE_SCOPE],
    });
    const path = `/subscriptions/${e.info.subscriptionId}/resourceGroups/rg-web/providers/Microsoft.Web/sites/contoso-web`;
    const site = await getSite(arm, { path });
    const kudu = createKuduClient({
      arm,
      target: { path },
      defaultHostName: site.defaultHostName,
      scmHostName: site.scmHostName,
      setSecret: () => assert.fail('Basic is off: the publishing password must not be fetched'),
    });
    assert.ok(kudu, 'the SCM host is known');
    return kudu;
  }

  const kuduLog = (e: Emulator) =>
    e
      .requests()
      .filter((q) => q.host === 'kudu')
      .map((q) => q.status);

  it('renews an App Service token Kudu refuses as expired (401) instead of giving up on that audience', async () => {
    const e = await start(strictKudu());
    const kudu = await kuduFor(e);
    assert.equal((await kudu.listDockerLogs()).kind, 'ok', 'the first token opens Kudu');
    e.advanceClock(e.state.delays.tokenLifetimeSeconds + 60);
    const later = await kudu.listDockerLogs();
    assert.equal(later.kind, 'ok', `after the token expired: ${JSON.stringify(later)}`);
    assert.deepEqual(kuduLog(e), [200, 401, 200], 'one 401, then a fresh App Service token was accepted');
  });

  it('a 403 to the App Service token moves on to the ARM audience at once (no renewal)', async () => {
    const e = await start(baseScenario());
    e.setFaults([{ host: 'kudu', status: 403, body: '403 - Forbidden', times: 1 }]);
    const kudu = await kuduFor(e);
    assert.equal((await kudu.listDockerLogs()).kind, 'ok');
    assert.deepEqual(
      kuduLog(e),
      [403, 200],
      'the ARM-audience token, accepted in the public cloud, came next',
    );
  });
});
