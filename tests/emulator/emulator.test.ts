/**
 * The emulator through the official SDKs (@azure/arm-appservice, @azure/arm-authorization, @azure/identity)
 * over HTTPS, plus Kudu, the site host, faults and the request log through plain node:https. The CA is handed
 * to each client (sdk-client.ts) because NODE_EXTRA_CA_CERTS is only read at process start.
 */
import assert from 'node:assert/strict';
import { WebSiteManagementClient } from '@azure/arm-appservice';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { useEmulator } from '../harness/use-emulator';
import { exampleBody } from './azure-examples';
import { baseScenario, type Emulator } from './index';
import { emulatorCredential, rawRequest, trustingHttpClient } from './sdk-client';

const RG = 'rg-web';
const APP = 'contoso-web';
const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';

function exampleKeys(file: string): string[] {
  return Object.keys(exampleBody(`Microsoft.Web/${file}`)).sort();
}

describe('the local Azure emulator through the official SDKs', function () {
  this.timeout(20_000);
  let emulator: Emulator;
  let httpClient: HttpClient;
  let web: WebSiteManagementClient;
  let auth: AuthorizationManagementClient;

  const start = useEmulator({ per: 'suite' });
  before(async () => {
    const scenario = baseScenario({
      slots: ['staging', 'qa', 'dev'],
      delays: { roleAssignmentPropagationSeconds: 120, siteOperationSeconds: 3 },
    });
    emulator = await start(scenario);
    httpClient = trustingHttpClient(emulator.info);
    const credential = emulatorCredential(emulator.info, httpClient);
    web = new WebSiteManagementClient(credential, emulator.info.subscriptionId, {
      endpoint: emulator.info.armUrl,
      httpClient,
      credentials: { scopes: ['https://management.azure.com/.default'] },
    });
    auth = new AuthorizationManagementClient(credential, emulator.info.subscriptionId, {
      endpoint: emulator.info.armUrl,
      httpClient,
      credentialScopes: ['https://management.azure.com/.default'],
    });
  });

  it('serves a site and a slot with the keys of the official examples and host names it listens on', async () => {
    const site = await web.webApps.get(RG, APP);
    assert.equal(site.name, APP);
    assert.equal(site.kind, 'app,linux,container');
    const raw = await rawRequest(
      emulator.info,
      `${emulator.info.armUrl}subscriptions/${emulator.info.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}/slots/staging?api-version=2025-05-01`,
      { headers: { authorization: `Bearer ${await token()}` } },
    );
    const slot = JSON.parse(raw.body) as Record<string, unknown> & { properties: Record<string, unknown> };
    for (const key of exampleKeys('GetWebAppSlot.json')) assert.ok(key in slot, `slot body has ${key}`);
    assert.equal(slot.name, `${APP}/staging`);
    assert.equal(slot.type, 'Microsoft.Web/sites/slots');
    const states = slot.properties.hostNameSslStates as { name: string; hostType: string }[];
    const scm = states.find((s) => s.hostType === 'Repository')?.name;
    assert.match(scm ?? '', /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(slot.properties.enabledHostNames, [slot.properties.defaultHostName, scm]);
    const kudu = await rawRequest(emulator.info, `https://${scm}/api/logs/docker`, {
      headers: { authorization: `Bearer ${await token()}` },
    });
    assert.equal(kudu.status, 200);
  });

  it('pages the slot list with nextLink', async () => {
    const names: string[] = [];
    for await (const s of web.webApps.listSlots(RG, APP)) names.push(s.name ?? '');
    assert.deepEqual(names, [`${APP}/staging`, `${APP}/qa`, `${APP}/dev`]);
    const slotLists = emulator.requests().filter((r) => r.method === 'GET' && r.path.endsWith('/slots'));
    assert.equal(slotLists.length, 2, 'page size 2 means two pages for three slots');
  });

  it('turns a system identity on as an async operation: 202 + Azure-AsyncOperation, the principal once it completes', async () => {
    const base = `${emulator.info.armUrl}subscriptions/${emulator.info.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}`;
    const headers = { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ identity: { type: 'SystemAssigned' } });
    const patched = await rawRequest(emulator.info, `${base}?api-version=2024-11-01`, {
      method: 'PATCH',
      headers,
      body,
    });
    assert.equal(patched.status, 202);
    const operation = patched.headers['azure-asyncoperation'];
    assert.match(
      String(operation),
      /\/subscriptions\/[^/]+\/providers\/Microsoft\.Web\/sites\/contoso-web\/operationResults\/[0-9a-f-]{36}\?api-version=2024-11-01$/,
    );
    const accepted = JSON.parse(patched.body) as { identity?: { type?: string; principalId?: string } };
    assert.equal(accepted.identity?.type, 'SystemAssigned');
    assert.equal(accepted.identity?.principalId, undefined, 'no principal before the operation completes');
    const running = await rawRequest(emulator.info, String(operation), { headers });
    assert.equal(JSON.parse(running.body).status, 'InProgress');
    assert.equal((await web.webApps.get(RG, APP)).identity?.principalId, undefined);

    // While it runs, App Service refuses any other write to the site (409 Conflict); the slot is another site.
    const refused = await rawRequest(emulator.info, `${base}?api-version=2024-11-01`, {
      method: 'PATCH',
      headers,
      body,
    });
    assert.equal(refused.status, 409);
    assert.match(
      String(JSON.parse(refused.body).Message),
      /^Cannot modify this site because another operation is in progress\./,
    );
    const slotPatch = await rawRequest(emulator.info, `${base}/slots/staging?api-version=2024-11-01`, {
      method: 'PATCH',
      headers,
      body,
    });
    assert.equal(slotPatch.status, 202);
    emulator.advanceClock(emulator.state.delays.siteOperationSeconds);
    const done = await rawRequest(emulator.info, String(operation), { headers });
    assert.equal(JSON.parse(done.body).status, 'Succeeded');
    const site = await web.webApps.get(RG, APP);
    const slot = await web.webApps.getSlot(RG, APP, 'staging');
    assert.ok(site.identity?.principalId && slot.identity?.principalId);
    assert.notEqual(site.identity.principalId, slot.identity.principalId);
    assert.equal(site.identity.tenantId, emulator.info.tenantId);
    const known = emulator.state.principals.map((p) => p.objectId);
    assert.ok(known.includes(site.identity.principalId) && known.includes(slot.identity.principalId));
    // Nothing changes: 200, as any PATCH that leaves the identity alone.
    const again = await web.webApps.update(RG, APP, { identity: { type: 'SystemAssigned' } });
    assert.equal(again.identity?.principalId, site.identity.principalId);
  });

  it('stores a resource ID in acrUserManagedIdentityID as null and a client ID as given', async () => {
    const resourceId = `/subscriptions/${emulator.info.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-pull`;
    const first = await web.webApps.updateConfiguration(RG, APP, {
      acrUseManagedIdentityCreds: true,
      acrUserManagedIdentityID: resourceId,
    });
    assert.equal(first.acrUseManagedIdentityCreds, true);
    assert.equal(first.acrUserManagedIdentityID ?? null, null);
    const clientId = '0f5a3a5e-1b7c-4c1e-9c4e-4a1f0a7d2b11';
    const second = await web.webApps.updateConfiguration(RG, APP, { acrUserManagedIdentityID: clientId });
    assert.equal(second.acrUserManagedIdentityID, clientId);
    await web.webApps.updateConfiguration(RG, APP, { acrUserManagedIdentityID: '' });
    const read = await web.webApps.getConfiguration(RG, APP);
    assert.equal(read.acrUserManagedIdentityID ?? null, null);
    assert.equal(read.linuxFxVersion, 'DOCKER|contosoacr.azurecr.io/web:1.0.0');
  });

  it('lists and replaces app settings', async () => {
    const before = await web.webApps.listApplicationSettings(RG, APP);
    assert.equal(before.properties?.WEBSITES_ENABLE_APP_SERVICE_STORAGE, 'false');
    await web.webApps.updateApplicationSettings(RG, APP, { properties: { ONLY: 'this' } });
    const after = await web.webApps.listApplicationSettings(RG, APP);
    assert.deepEqual(after.properties, { ONLY: 'this' });
  });

  it('pulls after a restart only once the AcrPull assignment has propagated, as Kudu and containerlogs show', async () => {
    const principalId =
      emulator.state.apps.find((a) => a.siteName === APP && !a.slot)?.identity.principalId ?? '';
    const registry = emulator.state.registries[0];
    assert.ok(registry);
    await auth.roleAssignments.create(registry.id, '3d1bd3a6-8ad8-4f0e-9a37-2d2f8b6b0d5c', {
      roleDefinitionId: `/subscriptions/${emulator.info.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ACR_PULL}`,
      principalId,
      principalType: 'ServicePrincipal',
    });
    await web.webApps.restart(RG, APP);
    emulator.advanceClock(30);
    let text = await containerLog();
    assert.match(text, /unauthorized/i, 'the assignment is still propagating');

    emulator.advanceClock(120);
    const restartedAt = emulator.now();
    await web.webApps.restart(RG, APP);
    const app = emulator.state.apps.find((a) => a.siteName === APP && !a.slot);
    assert.ok(app);
    const hit = await rawRequest(emulator.info, `https://127.0.0.1:${app.sitePort}/`);
    assert.equal(hit.status, 503, 'the site answers 503 while it pulls');
    emulator.advanceClock(30);
    text = await containerLog();
    const newLines = text.split('\n').filter((l) => Date.parse(l.slice(0, 24)) >= restartedAt);
    assert.ok(newLines.some((l) => l.includes('initialized successfully and is ready to serve requests')));
    assert.equal((await rawRequest(emulator.info, `https://127.0.0.1:${app.sitePort}/`)).status, 200);

    // Kudu lists the same file and serves only the bytes after an offset.
    const bearer = { authorization: `Bearer ${await token()}` };
    const listing = JSON.parse(
      (
        await rawRequest(emulator.info, `https://127.0.0.1:${app.scmPort}/api/logs/docker`, {
          headers: bearer,
        })
      ).body,
    ) as { machineName: string; href: string; size: number }[];
    const main = listing.find((f) => !f.machineName.endsWith('_default'));
    assert.ok(main);
    const tail = await rawRequest(emulator.info, main.href, {
      headers: { ...bearer, range: `bytes=${main.size - 20}-` },
    });
    assert.equal(tail.status, 206);
    assert.equal(tail.body.length, 20);
    const past = await rawRequest(emulator.info, main.href, {
      headers: { ...bearer, range: `bytes=${main.size}-` },
    });
    assert.equal(past.status, 416);
  });

  it('refuses Kudu Basic auth once the SCM basic-auth policy is off', async () => {
    const app = emulator.state.apps.find((a) => a.siteName === APP && !a.slot);
    assert.ok(app);
    const basic = {
      authorization: `Basic ${Buffer.from(`${app.publishingUserName}:${app.publishingPassword}`).toString('base64')}`,
    };
    const url = `https://127.0.0.1:${app.scmPort}/api/logs/docker`;
    assert.equal((await rawRequest(emulator.info, url, { headers: basic })).status, 200);
    await web.webApps.updateScmAllowed(RG, APP, { allow: false });
    assert.equal((await rawRequest(emulator.info, url, { headers: basic })).status, 401);
    assert.equal((await rawRequest(emulator.info, url)).status, 401);
  });

  it('applies faults: a 429 with Retry-After the SDK honours, and a dropped connection', async () => {
    emulator.setFaults([
      {
        host: 'arm',
        method: 'GET',
        path: `/sites/${APP}/config/web`,
        status: 429,
        headers: { 'retry-after': '1' },
        body: { error: { code: 'TooManyRequests', message: 'slow down' } },
        times: 1,
      },
      { host: 'kudu', path: '/api/logs/docker', drop: true, times: 1 },
    ]);
    const cfg = await web.webApps.getConfiguration(RG, APP);
    assert.equal(cfg.acrUseManagedIdentityCreds, true);
    const statuses = emulator
      .requests()
      .filter((r) => r.path.endsWith('/config/web') && r.method === 'GET')
      .map((r) => r.status);
    assert.deepEqual(statuses.slice(-2), [429, 200]);
    const app = emulator.state.apps.find((a) => a.siteName === APP && !a.slot);
    await assert.rejects(rawRequest(emulator.info, `https://127.0.0.1:${app?.scmPort}/api/logs/docker`));
    emulator.setFaults([]);
  });

  it('answers 401 without a token and 400 without an api-version', async () => {
    const base = `${emulator.info.armUrl}subscriptions/${emulator.info.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}`;
    const anonymous = await rawRequest(emulator.info, `${base}?api-version=2025-05-01`);
    assert.equal(anonymous.status, 401);
    assert.equal(JSON.parse(anonymous.body).error.code, 'AuthenticationFailed');
    const noVersion = await rawRequest(emulator.info, base, {
      headers: { authorization: `Bearer ${await token()}` },
    });
    assert.equal(noVersion.status, 400);
    assert.equal(JSON.parse(noVersion.body).error.code, 'MissingApiVersionParameter');
    const missing = await rawRequest(emulator.info, `${base}-nope?api-version=2025-05-01`, {
      headers: { authorization: `Bearer ${await token()}` },
    });
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).error.code, 'ResourceNotFound');
  });

  it('records writes only for state-changing calls', () => {
    const writes = emulator.writes().map((r) => `${r.method} ${r.path.split('/').slice(-2).join('/')}`);
    assert.ok(writes.includes('POST contoso-web/restart'));
    assert.ok(writes.includes('PATCH config/web'));
    assert.ok(!writes.some((w) => w.includes('appsettings/list') || w.includes('containerlogs')));
    assert.ok(
      emulator.requests().every((r) => r.host !== 'arm' || r.apiVersion !== undefined || r.status >= 400),
    );
  });

  it('rejects an unknown user-assigned identity with 400', async () => {
    const unknown = `/subscriptions/${emulator.info.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope`;
    await assert.rejects(
      web.webApps.update(RG, APP, {
        identity: { type: 'SystemAssigned, UserAssigned', userAssignedIdentities: { [unknown]: {} } },
      }),
      (e: { statusCode?: number }) => e.statusCode === 400,
    );
  });

  it('validates a Windows image synchronously and serves sidecar containers paged', async () => {
    const scenario = baseScenario({ appName: 'win-app', platform: 'windows' });
    const sidecar = baseScenario({ appName: 'side-app', platform: 'sidecar' }).sites?.[0];
    assert.ok(sidecar);
    sidecar.siteContainers = [
      { name: 'main', image: 'contosoacr.azurecr.io/web:1.0.0', isMain: true },
      { name: 'otel', image: 'mcr.microsoft.com/otel:1' },
      { name: 'proxy', image: 'mcr.microsoft.com/proxy:1' },
    ];
    scenario.sites?.push(sidecar);
    // The same service principal, so the SDK clients' cached tokens stay valid across the reseed.
    const { clientId, clientSecret, objectId } = emulator.state.defaultClient;
    scenario.caller = { clientId, clientSecret, objectId };
    await emulator.seed(scenario);
    const bad = await rawRequest(
      emulator.info,
      `${emulator.info.armUrl}subscriptions/${emulator.info.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/sites/win-app/config/web?api-version=2016-08-01`,
      {
        method: 'PATCH',
        headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { windowsFxVersion: 'DOCKER|contosoacr.azurecr.io/web:9.9.9' } }),
      },
    );
    assert.equal(bad.status, 400);
    assert.match(
      JSON.parse(bad.body).error.message,
      /^The parameter WindowsFxVersion has an invalid value\./,
    );
    const site = await web.webApps.get(RG, 'win-app');
    assert.equal(site.kind, 'app,container,windows');
    assert.equal(site.hyperV, true);

    const names: string[] = [];
    for await (const c of web.webApps.listSiteContainers(RG, 'side-app')) names.push(c.name ?? '');
    assert.deepEqual(names, ['main', 'otel', 'proxy']);
    const updated = await web.webApps.createOrUpdateSiteContainer(RG, 'side-app', 'main', {
      image: 'contosoacr.azurecr.io/web:1.0.0',
      isMain: true,
      authType: 'SystemIdentity',
    });
    assert.equal(updated.authType, 'SystemIdentity');
    const config = await web.webApps.getConfiguration(RG, 'side-app');
    assert.equal(config.linuxFxVersion, 'sitecontainers');
  });

  async function token(): Promise<string> {
    const t = await emulatorCredential(emulator.info, httpClient).getToken(
      'https://management.azure.com/.default',
    );
    return t.token;
  }

  async function containerLog(): Promise<string> {
    const res = await web.webApps.getWebSiteContainerLogs(RG, APP);
    const stream = res.readableStreamBody;
    if (!stream) return '';
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }
});
