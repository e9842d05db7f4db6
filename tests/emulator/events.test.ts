/**
 * Scenario events, per-app faults, relative log seeding and private outside images, observed the way the task
 * observes Azure: ARM reads, the site host and the Kudu log. The emulator runs at time scale 0 (its clock moves
 * only through advanceClock), so "at 60 s" is exact: unchanged at 59 s, changed at 60 s.
 */
import assert from 'node:assert/strict';
import { useEmulator } from '../harness/use-emulator';
import { baseScenario, type Emulator, type Scenario, startEmulator } from './index';
import type { ScenarioEvent } from './model';
import { emulatorCredential, rawRequest } from './sdk-client';

const WEB = '2024-11-01';
const ACR = '2023-07-01';
const AUTHZ = '2022-04-01';
const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';

interface World {
  emu: Emulator;
  /** Emulated ms of the first request (the zero of `atSeconds`). */
  t0: number;
  /** Moves the clock to t0 + seconds. */
  at(seconds: number): void;
  // biome-ignore lint/suspicious/noExplicitAny: ARM bodies are read field by field in the assertions.
  arm(method: string, path: string, apiVersion?: string): Promise<{ status: number; body: any }>;
  site(slot?: string): Promise<number>;
  dockerLog(slot?: string): Promise<string>;
}

const start = useEmulator({ timeScale: 0 });

async function world(scenario: Scenario): Promise<World> {
  const emu = await start(scenario);
  const token = (await emulatorCredential(emu.info).getToken('https://management.azure.com/.default')).token;
  const t0 = emu.state.runs.firstRequestAt[1];
  assert.ok(t0 !== undefined, 'the token request is the first request');
  const sub = emu.info.subscriptionId;
  const appOf = (slot?: string) => {
    const app = emu.state.apps.find((a) => a.slot === slot);
    assert.ok(app, `app ${slot ?? 'production'}`);
    return app;
  };
  return {
    emu,
    t0,
    at(seconds) {
      const delta = t0 + seconds * 1000 - emu.now();
      assert.ok(delta >= 0, 'the clock only moves forward');
      emu.advanceClock(delta / 1000);
    },
    async arm(method, path, apiVersion = WEB) {
      const full = path.startsWith('/')
        ? path
        : `/subscriptions/${sub}/resourceGroups/rg-web/providers/${path}`;
      const r = await rawRequest(
        emu.info,
        `${emu.info.armUrl.replace(/\/$/, '')}${full}?api-version=${apiVersion}`,
        {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          ...(method === 'POST' || method === 'PATCH' ? { body: '{}' } : {}),
        },
      );
      return { status: r.status, body: r.body ? JSON.parse(r.body) : undefined };
    },
    async site(slot) {
      return (await rawRequest(emu.info, `https://127.0.0.1:${appOf(slot).sitePort}/`)).status;
    },
    async dockerLog(slot) {
      const app = appOf(slot);
      const basic = Buffer.from(`${app.publishingUserName}:${app.publishingPassword}`).toString('base64');
      const list = await rawRequest(emu.info, `https://127.0.0.1:${app.scmPort}/api/logs/docker`, {
        headers: { authorization: `Basic ${basic}` },
      });
      const files = JSON.parse(list.body) as { href: string }[];
      const texts = await Promise.all(
        files.map(
          async (f) =>
            (await rawRequest(emu.info, f.href, { headers: { authorization: `Basic ${basic}` } })).body,
        ),
      );
      return texts.join('\n');
    },
  };
}

function withEvents(events: ScenarioEvent[], tweak: (s: Scenario) => void = () => undefined): Scenario {
  const s = baseScenario({ slots: ['staging'], registryTags: ['1.0.0', '1.1.0'] });
  s.events = events;
  tweak(s);
  return s;
}

const config = (w: World, slot?: string) =>
  w.arm('GET', `Microsoft.Web/sites/contoso-web${slot ? `/slots/${slot}` : ''}/config/web`);

describe('scenario events: the world changes at the emulated second the scenario names', () => {
  it('setSiteConfig: a deploy step rewrites the config at 60 s, and the app restarts at that second', async () => {
    const w = await world(
      withEvents([
        {
          atSeconds: 60,
          kind: 'setSiteConfig',
          target: 'contoso-web',
          siteConfig: {
            linuxFxVersion: 'DOCKER|contosoacr.azurecr.io/web:1.1.0',
            acrUseManagedIdentityCreds: true,
          },
        },
      ]),
    );
    w.at(59);
    assert.equal((await config(w)).body.properties.linuxFxVersion, 'DOCKER|contosoacr.azurecr.io/web:1.0.0');
    w.at(90); // noticed 30 s late...
    const props = (await config(w)).body.properties;
    assert.equal(props.linuxFxVersion, 'DOCKER|contosoacr.azurecr.io/web:1.1.0');
    assert.equal(props.acrUseManagedIdentityCreds, true);
    // ...but applied at its own second: the restart's start attempt began startDelaySeconds (5) after 60 s.
    const rt = w.emu.state.apps.find((a) => !a.slot)?.runtime;
    assert.equal(rt?.attemptStartedAt, w.t0 + 65_000);
    assert.equal(
      (await config(w, 'staging')).body.properties.acrUseManagedIdentityCreds,
      false,
      'only the target',
    );
  });

  it('setAppSettings: merges at 30 s (null removes a setting)', async () => {
    const w = await world(
      withEvents(
        [
          {
            atSeconds: 30,
            kind: 'setAppSettings',
            target: 'contoso-web/staging',
            appSettings: { A: null, B: '2' },
          },
        ],
        (s) => {
          s.sites![0]!.appSettings = { A: '1' };
        },
      ),
    );
    const list = () => w.arm('POST', 'Microsoft.Web/sites/contoso-web/slots/staging/config/appsettings/list');
    w.at(29.9);
    assert.deepEqual((await list()).body.properties, { A: '1' });
    w.at(30);
    assert.deepEqual((await list()).body.properties, { B: '2' });
  });

  it("from configWrite: counts from the run's first config/web write, not from its first request", async () => {
    const w = await world(
      withEvents([
        {
          atSeconds: 10,
          from: 'configWrite',
          kind: 'setAppSettings',
          target: 'contoso-web',
          appSettings: { B: '2' },
        },
      ]),
    );
    const list = () => w.arm('POST', 'Microsoft.Web/sites/contoso-web/config/appsettings/list');
    w.at(40);
    assert.equal((await list()).body.properties.B, undefined, 'no config write yet: the event waits');
    const patched = await w.arm('PATCH', 'Microsoft.Web/sites/contoso-web/config/web');
    assert.equal(patched.status, 200);
    w.at(49.9);
    assert.equal((await list()).body.properties.B, undefined);
    w.at(50);
    assert.equal((await list()).body.properties.B, '2');
  });

  it('swapSlots: configuration and running containers trade places; identities and their pull settings stay', async () => {
    const w = await world(
      withEvents([{ atSeconds: 45, kind: 'swapSlots', source: 'staging', target: 'production' }], (s) => {
        s.sites![0]!.identity = { type: 'SystemAssigned' };
        s.sites![0]!.slotOverrides = {
          staging: { image: 'contosoacr.azurecr.io/web:1.1.0', acrUseManagedIdentityCreds: true },
        };
      }),
    );
    const site = async () => (await w.arm('GET', 'Microsoft.Web/sites/contoso-web')).body;
    const principalBefore = (await site()).identity.principalId;
    w.at(44);
    assert.match((await config(w)).body.properties.linuxFxVersion, /web:1\.0\.0$/);
    w.at(45);
    const production = (await config(w)).body.properties;
    assert.match(production.linuxFxVersion, /web:1\.1\.0$/);
    // "Managed identities and related settings" never swap (docs/azure-behaviour.md#slot-swaps).
    assert.equal(production.acrUseManagedIdentityCreds, false, 'the pull flag stays with its slot');
    const staging = (await config(w, 'staging')).body.properties;
    assert.match(staging.linuxFxVersion, /web:1\.0\.0$/);
    assert.equal(staging.acrUseManagedIdentityCreds, true, 'the pull flag stays with its slot');
    assert.equal((await site()).identity.principalId, principalBefore, 'a managed identity never swaps');
  });

  it('addRoleAssignment / deleteRoleAssignment: grants appear and vanish at their second', async () => {
    const w = await world(
      withEvents(
        [
          {
            atSeconds: 20,
            kind: 'addRoleAssignment',
            principal: 'identity:id-pull',
            role: 'AcrPull',
            scope: 'registry:contosoacr',
          },
          { atSeconds: 40, kind: 'deleteRoleAssignment', principal: 'identity:id-pull', role: 'AcrPull' },
        ],
        (s) => {
          s.identities = [{ name: 'id-pull', resourceGroup: 'rg-web' }];
        },
      ),
    );
    const registryId = w.emu.state.registries[0]!.id;
    const principal = w.emu.state.identities[0]!.principalId;
    const grants = async () =>
      (
        (await w.arm('GET', `${registryId}/providers/Microsoft.Authorization/roleAssignments`, AUTHZ)).body
          .value as { properties: { principalId: string; roleDefinitionId: string } }[]
      ).filter(
        (r) => r.properties.principalId === principal && r.properties.roleDefinitionId.endsWith(ACR_PULL),
      );
    w.at(19);
    assert.equal((await grants()).length, 0);
    w.at(20);
    assert.equal((await grants()).length, 1);
    assert.equal(
      w.emu.state.roleAssignments.find((r) => r.principalId === principal)?.createdAt,
      w.t0 + 20_000,
      'created at its second: propagation counts from there',
    );
    w.at(39);
    assert.equal((await grants()).length, 1);
    w.at(40);
    assert.equal((await grants()).length, 0);
  });

  it('setRegistry: the firewall closes, the ARM policy and admin user change at 30 s', async () => {
    const w = await world(
      withEvents([
        {
          atSeconds: 30,
          kind: 'setRegistry',
          registry: 'contosoacr',
          properties: {
            publicNetworkAccess: 'Disabled',
            networkRuleSet: { defaultAction: 'Deny', ipRules: [] },
            azureADAuthenticationAsArmPolicy: 'disabled',
            adminUserEnabled: true,
          },
        },
      ]),
    );
    const registry = async () =>
      (await w.arm('GET', 'Microsoft.ContainerRegistry/registries/contosoacr', ACR)).body.properties;
    w.at(29);
    assert.equal((await registry()).publicNetworkAccess, 'Enabled');
    assert.equal((await registry()).adminUserEnabled, false);
    w.at(30);
    const p = await registry();
    assert.equal(p.publicNetworkAccess, 'Disabled');
    assert.equal(p.networkRuleSet.defaultAction, 'Deny');
    assert.equal(p.policies.azureADAuthenticationAsArmPolicy.status, 'disabled');
    assert.equal(p.adminUserEnabled, true);
  });

  it('pushTag / deleteTag: a pull finds the tag only while it exists', async () => {
    const w = await world(
      withEvents(
        [
          { atSeconds: 100, kind: 'pushTag', image: 'contosoacr.azurecr.io/web:2.0.0' },
          { atSeconds: 300, kind: 'deleteTag', registry: 'contosoacr', repository: 'web', tag: '2.0.0' },
        ],
        (s) => {
          s.sites![0]!.image = 'contosoacr.azurecr.io/web:2.0.0';
          s.sites![0]!.running = false;
          s.registries![0]!.anonymousPullEnabled = true;
        },
      ),
    );
    const pullAt = async (seconds: number) => {
      w.at(seconds);
      assert.equal((await w.arm('POST', 'Microsoft.Web/sites/contoso-web/restart')).status, 200);
      w.at(seconds + 30);
      return w.site();
    };
    assert.equal(await pullAt(10), 503, 'before the push: manifest unknown');
    assert.match(await w.dockerLog(), /manifest for contosoacr\.azurecr\.io\/web:2\.0\.0 not found/);
    assert.equal(await pullAt(100), 200, 'pushed at 100 s');
    assert.equal(await pullAt(300), 503, 'deleted at 300 s');
  });

  it('stopSite / startSite: the site host answers 403 from 30 s and serves again after 60 s', async () => {
    const w = await world(
      withEvents(
        [
          { atSeconds: 30, kind: 'stopSite', target: 'contoso-web' },
          { atSeconds: 60, kind: 'startSite', target: 'contoso-web' },
        ],
        (s) => {
          s.registries![0]!.anonymousPullEnabled = true;
        },
      ),
    );
    w.at(29);
    assert.equal(await w.site(), 200);
    w.at(30);
    assert.equal(await w.site(), 403);
    assert.equal((await w.arm('GET', 'Microsoft.Web/sites/contoso-web')).body.properties.state, 'Stopped');
    w.at(59);
    assert.equal(await w.site(), 403);
    w.at(60);
    assert.equal((await w.arm('GET', 'Microsoft.Web/sites/contoso-web')).body.properties.state, 'Running');
    w.at(90);
    assert.equal(await w.site(), 200, 'started again, pulled and running');
  });

  it('beforeRun and run: events between runs, and timed events counted from a later run', async () => {
    const w = await world(
      withEvents([
        { beforeRun: 2, kind: 'setAppSettings', appSettings: { DEPLOYED: 'between runs' } },
        { atSeconds: 10, run: 2, kind: 'setAppSettings', appSettings: { DEPLOYED: 'during run 2' } },
      ]),
    );
    const settings = async () =>
      (await w.arm('POST', 'Microsoft.Web/sites/contoso-web/config/appsettings/list')).body.properties
        .DEPLOYED;
    w.at(600);
    assert.equal(await settings(), undefined, 'run 1 never sees them');
    w.emu.beginRun(2);
    assert.equal(w.emu.state.runs.firstRequestAt[2], undefined);
    assert.equal(await settings(), 'between runs');
    const t2 = w.emu.state.runs.firstRequestAt[2]!;
    w.emu.advanceClock((t2 + 9_000 - w.emu.now()) / 1000);
    assert.equal(await settings(), 'between runs');
    w.emu.advanceClock(1);
    assert.equal(await settings(), 'during run 2');
  });

  it('refuses an unknown kind, a bad target and an event that is both timed and between runs', async () => {
    const bad = (e: unknown) => startEmulator({ scenario: withEvents([e as ScenarioEvent]), timeScale: 0 });
    await assert.rejects(bad({ atSeconds: 1, kind: 'restartEverything' }), /events\[0\].*unknown kind/);
    await assert.rejects(bad({ atSeconds: 1, kind: 'stopSite', target: 'nope' }), /no app 'nope'/);
    await assert.rejects(
      bad({ atSeconds: 1, beforeRun: 2, kind: 'stopSite' }),
      /exactly one of atSeconds .* or beforeRun/,
    );
  });

  it('the control API refuses such a scenario or fault with 400 and keeps the running state', async () => {
    const w = await world(withEvents([]));
    const post = (path: string, body: unknown) =>
      rawRequest(w.emu.info, `${w.emu.info.controlUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const seeded = await post(
      '/seed',
      withEvents([{ atSeconds: 1, kind: 'nope' } as unknown as ScenarioEvent]),
    );
    assert.equal(seeded.status, 400);
    assert.match(seeded.body, /unknown kind/);
    assert.equal(w.emu.state.apps.length, 2, 'the running scenario stays');
    assert.equal(await w.site(), 200, 'and keeps serving');
    const faults = await post('/faults', [{ host: 'kudu', app: 'contoso-web/nope', status: 500 }]);
    assert.equal(faults.status, 400);
    assert.match(faults.body, /unknown app 'contoso-web\/nope'/);
  });
});

describe('scenario faults aimed at one app host, relative seeded log lines, createdSecondsAgo', () => {
  it('a fault with app "<site>/<slot>" hits only that slot\'s SCM host', async () => {
    const s = withEvents([]);
    s.faults = [{ host: 'kudu', app: 'contoso-web/staging', status: 503, body: 'busy' }];
    const w = await world(s);
    const kudu = (slot?: string) => {
      const app = w.emu.state.apps.find((a) => a.slot === slot)!;
      const basic = Buffer.from(`${app.publishingUserName}:${app.publishingPassword}`).toString('base64');
      return rawRequest(w.emu.info, `https://127.0.0.1:${app.scmPort}/api/logs/docker`, {
        headers: { authorization: `Basic ${basic}` },
      });
    };
    assert.equal((await kudu('staging')).status, 503);
    assert.equal((await kudu()).status, 200);
    assert.equal(await w.site('staging'), 200, 'its site host is not the SCM host');
  });

  it('seedLogLines: secondsAgo places a line relative to the start, {time} and bare texts get its timestamp', async () => {
    const s = withEvents([]);
    s.sites![0]!.seedLogLines = [
      { secondsAgo: 120, text: '{time} INFO  - seeded with a placeholder' },
      { secondsAgo: 60, text: 'ERROR - seeded without a timestamp' },
    ];
    const w = await world(s);
    const log = await w.dockerLog();
    const start = w.emu.state.apps[0]!.logs[0]!.lines.find((l) => /placeholder/.test(l.text))!;
    assert.equal(start.text, `${new Date(start.at).toISOString()} INFO  - seeded with a placeholder`);
    assert.ok(w.t0 - start.at >= 120_000 && w.t0 - start.at < 125_000);
    assert.match(log, /^\d{4}-\d{2}-\d{2}T\S+Z ERROR - seeded without a timestamp$/m);
  });

  it('createdSecondsAgo: positive is the past; negative is refused with the fix', async () => {
    const s = withEvents([]);
    s.identities = [{ name: 'id', resourceGroup: 'rg-web', createdSecondsAgo: 30 }];
    s.roleAssignments = [
      { principal: 'identity:id', role: 'AcrPull', scope: 'registry:contosoacr', createdSecondsAgo: 30 },
    ];
    const emu = await start(s);
    const grant = emu.state.roleAssignments.find((r) => r.roleDefinitionId.endsWith(ACR_PULL))!;
    assert.equal(emu.now() - grant.createdAt, 30_000);
    const principal = emu.state.principals.find((p) => p.displayName === 'id')!;
    assert.equal(emu.now() - principal.createdAt, 30_000);
    s.roleAssignments[0]!.createdSecondsAgo = -10;
    await assert.rejects(
      startEmulator({ scenario: s, timeScale: 0 }),
      /createdSecondsAgo must be >= 0.*addRoleAssignment event/,
    );
  });
});

describe('externalImages: private images on registries outside the scenario', () => {
  const privateImage = (image: string, settings?: Record<string, string>) => {
    const s = withEvents([]);
    s.sites![0]!.image = image;
    s.sites![0]!.running = false;
    if (settings) s.sites![0]!.appSettings = settings;
    s.externalImages = [
      {
        image: 'docker.io/contoso/private-api',
        requiresAuth: true,
        username: 'contoso',
        password: 'hub-token',
      },
      { image: 'ghcr.io/contoso/api', requiresAuth: true },
    ];
    return s;
  };
  const startAndLook = async (w: World) => {
    await w.arm('POST', 'Microsoft.Web/sites/contoso-web/restart');
    w.at(30);
    return { status: await w.site(), log: await w.dockerLog() };
  };

  it('a private Docker Hub image fails the anonymous pull as Azure logs it', async () => {
    const w = await world(privateImage('contoso/private-api:1.0'));
    const { status, log } = await startAndLook(w);
    assert.equal(status, 503);
    assert.match(
      log,
      /ERROR - DockerApiException: Docker API responded with status code=NotFound, response=\{"message":"pull access denied for contoso\/private-api, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"\}/,
    );
    assert.match(log, /INFO {2}- Pulling image from Docker hub: contoso\/private-api:1\.0/);
    assert.match(
      log,
      /Image pull failed: Verify docker image configuration and credentials \(if using private repository\)/,
    );
  });

  it('the same image pulls with its registry credentials in app settings', async () => {
    const w = await world(
      privateImage('docker.io/contoso/private-api:1.0', {
        DOCKER_REGISTRY_SERVER_URL: 'https://index.docker.io/v1',
        DOCKER_REGISTRY_SERVER_USERNAME: 'contoso',
        DOCKER_REGISTRY_SERVER_PASSWORD: 'hub-token',
      }),
    );
    assert.equal((await startAndLook(w)).status, 200);
  });

  it('in a sidecar app, the private sidecar image is the one the log shows failing', async () => {
    const s = privateImage('contosoacr.azurecr.io/web:1.0.0');
    s.sites![0]!.platform = 'sidecar';
    s.registries![0]!.anonymousPullEnabled = true;
    s.sites![0]!.siteContainers = [
      { name: 'main', image: 'contosoacr.azurecr.io/web:1.0.0', isMain: true },
      { name: 'otel', image: 'ghcr.io/contoso/api:1', isMain: false },
    ];
    const w = await world(s);
    const { status, log } = await startAndLook(w);
    assert.equal(status, 503);
    assert.match(log, /Pulling image: ghcr\.io\/contoso\/api:1/);
    assert.match(log, /ghcr\.io\/v2\/contoso\/api\/manifests\/1\\": unauthorized/);
  });

  it('a private GHCR image answers unauthorized; an undeclared public image still pulls', async () => {
    const ghcr = await world(privateImage('ghcr.io/contoso/api:1'));
    const { status, log } = await startAndLook(ghcr);
    assert.equal(status, 503);
    assert.match(log, /Head \\"https:\/\/ghcr\.io\/v2\/contoso\/api\/manifests\/1\\": unauthorized/);
    const hub = await world(privateImage('nginx:1.27'));
    assert.equal((await startAndLook(hub)).status, 200);
  });
});
