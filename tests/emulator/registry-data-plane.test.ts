/**
 * The emulated registry data plane refuses what ACR refuses: unauthenticated calls get a Bearer challenge, a token
 * request that grants nothing is 401, ARM-audience tokens are refused while the registry's ARM-token policy is
 * disabled, a grant younger than the propagation delay does not pull yet, and tag lists page with `n`/`last`.
 */
import assert from 'node:assert/strict';
import { useEmulator } from '../harness/use-emulator';
import { directSend } from '../registry/direct-send';
import { baseScenario, type Emulator, type Scenario } from './index';
import { manifestDigest } from './routes/registry-data-plane';
import { emulatorCredential } from './sdk-client';

const LS = 'contosoacr.azurecr.io';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('emulator: registry data plane', function () {
  this.timeout(30_000);
  const startFor = useEmulator();
  let emulator: Emulator;

  async function start(scenario: Scenario) {
    emulator = await startFor(scenario);
    const send = directSend(emulator.info);
    const credential = emulatorCredential(emulator.info);
    const armToken = async () =>
      (await credential.getToken('https://management.azure.com/.default'))?.token ?? '';
    const exchange = async (accessToken: string) =>
      send({
        method: 'POST',
        url: `https://${LS}/oauth2/exchange`,
        headers: FORM,
        body: new URLSearchParams({
          grant_type: 'access_token',
          service: LS,
          access_token: accessToken,
        }).toString(),
      });
    const token = async (refresh: string, scope: string) =>
      send({
        method: 'POST',
        url: `https://${LS}/oauth2/token`,
        headers: FORM,
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          service: LS,
          scope,
          refresh_token: refresh,
        }).toString(),
      });
    const pullToken = async (repo = 'web') => {
      const refresh = JSON.parse((await exchange(await armToken())).text).refresh_token as string;
      return token(refresh, `repository:${repo}:pull`);
    };
    return { send, armToken, exchange, token, pullToken };
  }

  it('challenges an anonymous call with the realm and service, and an UNAUTHORIZED body', async () => {
    const { send } = await start(baseScenario());
    const r = await send({ method: 'GET', url: `https://${LS}/v2/web/tags/list`, headers: {} });
    assert.equal(r.status, 401);
    assert.equal(
      r.headers.get('www-authenticate'),
      `Bearer realm="https://${LS}/oauth2/token",service="${LS}",scope="repository:web:pull"`,
    );
    assert.equal(JSON.parse(r.text).errors[0].code, 'UNAUTHORIZED');
  });

  it('serves manifests by tag and by digest, with the digest header, and tag lists in pages', async () => {
    const { send, pullToken } = await start(baseScenario({ registryTags: ['1.0.0', '1.1.0', '2.0.0'] }));
    const access = JSON.parse((await pullToken()).text).access_token as string;
    const auth = { authorization: `Bearer ${access}` };
    const byTag = await send({ method: 'HEAD', url: `https://${LS}/v2/web/manifests/1.1.0`, headers: auth });
    assert.equal(byTag.status, 200);
    const digest = byTag.headers.get('docker-content-digest');
    assert.equal(digest, manifestDigest(LS, 'web', '1.1.0'));
    const byDigest = await send({
      method: 'GET',
      url: `https://${LS}/v2/web/manifests/${digest}`,
      headers: auth,
    });
    assert.equal(byDigest.status, 200);
    const missing = await send({ method: 'GET', url: `https://${LS}/v2/web/manifests/9.9`, headers: auth });
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.text).errors[0].code, 'MANIFEST_UNKNOWN');
    const page = await send({ method: 'GET', url: `https://${LS}/v2/web/tags/list?n=2`, headers: auth });
    assert.deepEqual(JSON.parse(page.text), { name: 'web', tags: ['1.0.0', '1.1.0'] });
    assert.match(page.headers.get('link') ?? '', /last=1\.1\.0&n=2>; rel="next"/);
  });

  it('grants no scope it was not asked for: a token for one repository does not read another', async () => {
    const s = baseScenario();
    s.registries![0]!.repositories = { web: ['1.0.0'], api: ['1.0.0'] };
    const { send, pullToken } = await start(s);
    const access = JSON.parse((await pullToken('web')).text).access_token as string;
    const r = await send({
      method: 'HEAD',
      url: `https://${LS}/v2/api/manifests/1.0.0`,
      headers: { authorization: `Bearer ${access}` },
    });
    assert.equal(r.status, 401);
  });

  it('refuses ARM-audience tokens at the exchange while azureADAuthenticationAsArmPolicy is disabled', async () => {
    const s = baseScenario();
    s.registries![0]!.azureADAuthenticationAsArmPolicy = 'disabled';
    const { exchange, armToken } = await start(s);
    const r = await exchange(await armToken());
    assert.equal(r.status, 401);
    assert.match(JSON.parse(r.text).errors[0].message, /azureADAuthenticationAsArmPolicy is disabled/);
  });

  it('answers 401 to a token request that grants nothing (ABAC registry, Owner on the subscription)', async () => {
    const s = baseScenario();
    s.registries![0]!.roleAssignmentMode = 'AbacRepositoryPermissions';
    const { pullToken } = await start(s);
    assert.equal((await pullToken()).status, 401);
  });

  it('honours the propagation delay: a fresh data-plane grant does not pull yet', async () => {
    const s = baseScenario({ delays: { roleAssignmentPropagationSeconds: 600 } });
    s.registries![0]!.roleAssignmentMode = 'AbacRepositoryPermissions';
    s.roleAssignments = [
      {
        principal: 'caller',
        role: 'Container Registry Repository Reader',
        scope: 'registry:contosoacr',
        createdSecondsAgo: 60,
      },
    ];
    const { pullToken } = await start(s);
    assert.equal((await pullToken()).status, 401, 'still propagating');
    emulator.advanceClock(600);
    assert.equal((await pullToken()).status, 200, 'applied');
  });

  it('honours an ABAC condition: a grant for one repository does not read another', async () => {
    const s = baseScenario();
    s.registries![0]!.roleAssignmentMode = 'AbacRepositoryPermissions';
    s.registries![0]!.repositories = { web: ['1.0.0'], api: ['1.0.0'] };
    s.roleAssignments = [
      {
        principal: 'caller',
        role: 'Container Registry Repository Reader',
        scope: 'registry:contosoacr',
        condition:
          "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'})) OR (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEquals 'web'))",
      },
    ];
    const { pullToken } = await start(s);
    assert.equal((await pullToken('web')).status, 200);
    assert.equal((await pullToken('api')).status, 401);
  });

  it('refuses every call from outside the firewall with DENIED', async () => {
    const s = baseScenario();
    s.registries![0]!.publicNetworkAccess = 'Disabled';
    const { exchange, armToken } = await start(s);
    const r = await exchange(await armToken());
    assert.equal(r.status, 403);
    assert.match(r.text, /"code":"DENIED".*client with IP '127\.0\.0\.1' is not allowed access/);
  });
});
