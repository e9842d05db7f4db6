/**
 * observe → plan → apply against the local Azure emulator, with a real ArmClient and the emulator's service
 * principal signing in through @azure/identity. Assertions are on the emulator's final state and write log.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type Applied, apply } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/apply';
import { type Observed, observe } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/observe';
import { type Plan, plan } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/plan';
import type { Settings } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/settings';
import { baseScenario, type Emulator } from '../emulator/index';
import { emulatorRunContext, taskErrorOf } from '../harness/arm-context';
import { testSettings } from '../harness/settings';
import { useEmulator } from '../harness/use-emulator';

const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';
const REPO_READER = 'b93aa761-3e63-49ed-ac28-beffa264f7ac';

function settingsFor(o: Partial<Settings> = {}): Settings {
  return testSettings(o);
}

// Back-off and operation polls move the emulator's clock instead of waiting: long-running operations complete.
const contextFor = emulatorRunContext;

interface Run {
  observed: Observed;
  plan: Plan;
  applied: Applied;
  /** ARM requests this run made (emulator log). */
  requests: number;
  writes: number;
}

async function run(emu: Emulator, settings: Settings): Promise<Run> {
  const before = armRequests(emu).length;
  const beforeWrites = emu.writes().length;
  const ctx = contextFor(emu, settings);
  const observed = await observe(ctx);
  const p = plan(observed, settings);
  const applied = await apply(ctx, p, observed);
  return {
    observed,
    plan: p,
    applied,
    requests: armRequests(emu).length - before,
    writes: emu.writes().length - beforeWrites,
  };
}

const armRequests = (emu: Emulator) => emu.requests().filter((r) => r.host === 'arm');

const expectTaskError = taskErrorOf;

const apps = (emu: Emulator) => emu.state.apps.filter((a) => a.siteName === 'contoso-web');
const pullGrants = (emu: Emulator, registryName = 'contosoacr', role = ACR_PULL) => {
  const registry = emu.state.registries.find((r) => r.name === registryName);
  return emu.state.roleAssignments.filter(
    (a) =>
      a.scope.toLowerCase() === registry?.id.toLowerCase() && a.roleDefinitionId.toLowerCase().endsWith(role),
  );
};

describe('configure against the emulator', function () {
  this.timeout(60_000);
  const start = useEmulator();

  it('configures production and three slots from nothing, and a re-run writes nothing', async () => {
    const e = await start(baseScenario({ slots: ['staging', 'qa', 'canary'] }));
    const first = await run(e, settingsFor());

    const targets = apps(e);
    assert.equal(targets.length, 4);
    for (const app of targets) {
      assert.ok(app.identity.type.includes('SystemAssigned'), `${app.id} has a system identity`);
      assert.equal(app.siteConfig.acrUseManagedIdentityCreds, true);
      assert.equal(app.siteConfig.acrUserManagedIdentityID ?? null, null);
      const grants = pullGrants(e).filter((g) => g.principalId === app.identity.principalId);
      assert.equal(grants.length, 1, `one AcrPull grant for ${app.id}`);
      assert.equal(grants[0]?.principalType, 'ServicePrincipal');
    }
    assert.equal(first.applied.changeCount, 12);
    assert.ok(first.requests <= 8 * 4 + 8, `first run made ${first.requests} ARM requests`);

    const second = await run(e, settingsFor());
    assert.deepEqual(second.plan.steps, []);
    assert.equal(second.writes, 0);
    assert.equal(second.applied.changeCount, 0);
    assert.ok(second.requests <= 4 * 4 + 8, `re-run made ${second.requests} ARM requests`);
    if (process.env.SHOW_REQUESTS) {
      for (const r of armRequests(e)) console.log(r.method, r.path, r.status);
      console.log(`      requests: first run ${first.requests}, re-run ${second.requests} (4 targets)`);
    }
  });

  it('confirms the pull flags from the config/web PATCH answer: no read-back GET on the normal path', async () => {
    const e = await start(baseScenario());
    await run(e, settingsFor());
    const log = armRequests(e);
    const patch = log.findIndex((r) => r.method === 'PATCH' && /\/config\/web$/i.test(r.path));
    assert.ok(patch >= 0 && log[patch]?.status === 200, 'the flags were written');
    assert.ok(
      !log.slice(patch + 1).some((r) => r.method === 'GET' && /\/config\/web$/i.test(r.path)),
      'config/web was not read again after the PATCH',
    );
    assert.ok(!log.some((r) => r.status === 409), 'no write met the identity operation still running');
    assert.equal(apps(e)[0]?.siteConfig.acrUseManagedIdentityCreds, true);
  });

  it('AcrFlagNotApplied when the PATCH answer shows the flag unchanged (another writer reset it)', async () => {
    const e = await start(baseScenario());
    e.setFaults([
      {
        host: 'arm',
        method: 'PATCH',
        pathRegex: '/config/web(\\?|$)',
        status: 200,
        body: {
          id: `${apps(e)[0]?.id}/config/web`,
          name: 'web',
          type: 'Microsoft.Web/sites/config',
          properties: { acrUseManagedIdentityCreds: false, acrUserManagedIdentityID: null },
        },
      },
    ]);
    const error = await expectTaskError(run(e, settingsFor()));
    assert.equal(error.code, 'AcrFlagNotApplied');
    assert.match(error.message, /acrUseManagedIdentityCreds=false/);
    assert.match(
      error.remedy,
      /az resource update --ids \S+\/config\/web --set properties\.acrUseManagedIdentityCreds=true/,
    );
  });

  it('reads config/web once when the PATCH answers without a body, and judges what stuck from that read', async () => {
    const settings = settingsFor();
    for (const stuck of [true, false]) {
      const e = await start(baseScenario());
      const ctx = contextFor(e, settings);
      const observed = await observe(ctx);
      const p = plan(observed, settings);
      // The PATCH is answered 200 with no body; the write itself "happened" (stuck) or was undone (not stuck).
      e.setFaults([{ host: 'arm', method: 'PATCH', pathRegex: '/config/web(\\?|$)', status: 200, body: '' }]);
      const app = apps(e)[0];
      if (app) app.siteConfig.acrUseManagedIdentityCreds = stuck;
      const before = armRequests(e).length;
      const outcome = await apply(ctx, p, observed).then(
        () => 'applied',
        (err: unknown) => (err as { code?: string }).code,
      );
      assert.equal(outcome, stuck ? 'applied' : 'AcrFlagNotApplied');
      const after = armRequests(e).slice(before);
      const patch = after.findIndex((r) => r.method === 'PATCH' && /\/config\/web$/i.test(r.path));
      assert.equal(
        after.slice(patch + 1).filter((r) => r.method === 'GET' && /\/config\/web$/i.test(r.path)).length,
        1,
        'one read of config/web after the bodiless PATCH',
      );
    }
  });

  it('attaches a user-assigned identity beside an existing one and uses its client ID', async () => {
    const s = baseScenario({ slots: ['staging'] });
    s.identities = [{ name: 'puller' }, { name: 'logger' }];
    const site = s.sites?.[0];
    if (site) site.identity = { type: 'UserAssigned', userAssigned: ['logger'] };
    const e = await start(s);
    const puller = e.state.identities.find((i) => i.name === 'puller');
    const logger = e.state.identities.find((i) => i.name === 'logger');
    assert.ok(puller && logger);
    const settings = settingsFor({
      identity: {
        kind: 'user',
        identity: {
          id: puller.id,
          subscriptionId: puller.subscriptionId,
          resourceGroup: puller.resourceGroup,
          name: 'puller',
        },
      },
    });
    const first = await run(e, settings);
    if (process.env.SHOW_REQUESTS)
      console.log(`      user identity, 2 targets: first run ${first.requests} requests`);

    for (const app of apps(e)) {
      const keys = Object.keys(app.identity.userAssignedIdentities).map((k) => k.toLowerCase());
      assert.ok(keys.includes(puller.id.toLowerCase()), `${app.id} has the puller`);
      assert.ok(keys.includes(logger.id.toLowerCase()), `${app.id} kept the logger`);
      assert.equal(app.siteConfig.acrUseManagedIdentityCreds, true);
      assert.equal(app.siteConfig.acrUserManagedIdentityID, puller.clientId);
    }
    assert.equal(pullGrants(e).filter((g) => g.principalId === puller.principalId).length, 1);

    const again = await run(e, settings);
    assert.equal(again.writes, 0);
    if (process.env.SHOW_REQUESTS)
      console.log(`      user identity, 2 targets: re-run ${again.requests} requests`);
  });

  it('grants Container Registry Repository Reader on an ABAC registry', async () => {
    const s = baseScenario();
    const registry = s.registries?.[0];
    if (registry) registry.roleAssignmentMode = 'AbacRepositoryPermissions';
    const e = await start(s);
    await run(e, settingsFor());
    const app = apps(e)[0];
    assert.equal(
      pullGrants(e, 'contosoacr', REPO_READER).filter((g) => g.principalId === app?.identity.principalId)
        .length,
      1,
    );
    assert.equal(pullGrants(e, 'contosoacr', ACR_PULL).length, 0);
  });

  it('finds a registry in another resource group from the image', async () => {
    const s = baseScenario();
    s.resourceGroups?.push({ name: 'rg-shared', location: 'westeurope' });
    const registry = s.registries?.[0];
    if (registry) registry.resourceGroup = 'rg-shared';
    const e = await start(s);
    const r = await run(e, settingsFor({ resourceGroup: undefined }));
    assert.equal(r.observed.registry.resourceGroup, 'rg-shared');
    assert.equal(r.observed.app.resourceGroup, 'rg-web');
    assert.equal(pullGrants(e).length, 1);
  });

  it('uses a registry given by resource ID in another subscription', async () => {
    const other = randomUUID();
    const s = baseScenario({ registryName: 'sharedacr' });
    s.subscriptions = [{}, { subscriptionId: other, displayName: 'shared' }];
    s.resourceGroups?.push({ name: 'rg-registry', subscription: other, location: 'westeurope' });
    const registry = s.registries?.[0];
    if (registry) {
      registry.subscription = other;
      registry.resourceGroup = 'rg-registry';
    }
    s.caller = {
      roles: [
        { role: 'Owner', scope: 'subscription' },
        { role: 'Owner', scope: `/subscriptions/${other}` },
      ],
    };
    const e = await start(s);
    const id = e.state.registries[0]?.id ?? '';
    const r = await run(
      e,
      settingsFor({
        registry: {
          kind: 'resourceId',
          registry: { id, subscriptionId: other, resourceGroup: 'rg-registry', name: 'sharedacr' },
        },
      }),
    );
    assert.equal(r.observed.registry.subscriptionId, other);
    assert.equal(pullGrants(e, 'sharedacr').length, 1);
    assert.ok(pullGrants(e, 'sharedacr')[0]?.roleDefinitionId.startsWith(`/subscriptions/${other}/`));
  });

  it('sets per-container identity auth on a sidecar app', async () => {
    const e = await start(baseScenario({ platform: 'sidecar' }));
    await run(e, settingsFor());
    const app = apps(e)[0];
    const main = app?.siteContainers.find((c) => c.image.includes('contosoacr.azurecr.io'));
    assert.equal(main?.authType, 'SystemIdentity');
    assert.equal(pullGrants(e).length, 1);
    const again = await run(e, settingsFor());
    assert.equal(again.writes, 0);
  });

  it('configures a Windows container app', async () => {
    const e = await start(baseScenario({ platform: 'windows' }));
    const r = await run(e, settingsFor());
    assert.equal(r.observed.targets[0]?.os, 'windows');
    assert.equal(apps(e)[0]?.siteConfig.acrUseManagedIdentityCreds, true);
  });

  it('removes stale registry credentials and keeps every other setting', async () => {
    const s = baseScenario({ slots: ['staging'] });
    const site = s.sites?.[0];
    if (site) {
      site.appSettings = {
        DOCKER_REGISTRY_SERVER_URL: 'https://contosoacr.azurecr.io',
        DOCKER_REGISTRY_SERVER_USERNAME: 'contosoacr',
        DOCKER_REGISTRY_SERVER_PASSWORD: 'hunter2',
        WEBSITES_PORT: '8080',
        FEATURE_X: 'on',
      };
    }
    const e = await start(s);
    const before = new Map(apps(e).map((a) => [a.id, { ...a.appSettings }]));
    await run(e, settingsFor({ removeRegistryCredentials: true }));
    for (const app of apps(e)) {
      const expected = { ...before.get(app.id) };
      delete expected.DOCKER_REGISTRY_SERVER_USERNAME;
      delete expected.DOCKER_REGISTRY_SERVER_PASSWORD;
      assert.deepEqual(app.appSettings, expected);
      assert.equal(app.appSettings.FEATURE_X, 'on');
      assert.equal(app.appSettings.DOCKER_REGISTRY_SERVER_URL, 'https://contosoacr.azurecr.io');
    }
  });

  it('fails before any write when the caller cannot grant roles, with the az commands in the remedy', async () => {
    const s = baseScenario({ slots: ['staging'] });
    const site = s.sites?.[0];
    if (site) site.identity = { type: 'SystemAssigned' };
    s.caller = { roles: [{ role: 'Contributor', scope: 'subscription' }] };
    const e = await start(s);
    const error = await expectTaskError(run(e, settingsFor()));
    assert.equal(error.code, 'RoleAssignmentForbidden');
    assert.equal(e.writes().length, 0);
    const registryId = e.state.registries[0]?.id ?? '';
    for (const app of apps(e)) {
      assert.ok(app.identity.principalId);
      assert.ok(
        error.remedy.includes(
          `az role assignment create --assignee-object-id ${app.identity.principalId} --assignee-principal-type ServicePrincipal --role "AcrPull" --scope ${registryId}`,
        ),
        `remedy names ${app.id}`,
      );
    }
  });

  it('enables identities first when asked, then fails naming their real object IDs', async () => {
    const s = baseScenario({ slots: ['staging'] });
    s.caller = { roles: [{ role: 'Contributor', scope: 'subscription' }] };
    const e = await start(s);
    const error = await expectTaskError(run(e, settingsFor({ enableIdentityWithoutRoleRights: true })));
    assert.equal(error.code, 'RoleAssignmentForbidden');
    for (const app of apps(e)) {
      assert.ok(app.identity.principalId, `${app.id} got its identity`);
      assert.ok(error.remedy.includes(`--assignee-object-id ${app.identity.principalId}`));
      assert.equal(app.siteConfig.acrUseManagedIdentityCreds, false);
    }
  });

  it('waits out PrincipalNotFound and treats RoleAssignmentExists as done', async () => {
    const e = await start(baseScenario({ slots: ['staging'] }));
    e.setFaults([
      {
        method: 'PUT',
        path: '/providers/microsoft.authorization/roleassignments/',
        status: 400,
        body: {
          error: {
            code: 'PrincipalNotFound',
            message:
              'Principal x does not exist in the directory y. Check that you have the correct principal ID.',
          },
        },
        times: 2,
      },
    ]);
    const settings = settingsFor();
    const ctx = contextFor(e, settings);
    const observed = await observe(ctx);
    const p = plan(observed, settings);
    const applied = await apply(ctx, p, observed);
    assert.ok(
      applied.steps.some((s) => s.step.kind === 'assignRole' && s.result.includes('PrincipalNotFound')),
    );
    assert.equal(pullGrants(e).length, 2);

    // Another pipeline grants production under a different name between our observe and our apply.
    const prod = apps(e).find((a) => !a.slot);
    const ours = pullGrants(e).find((g) => g.principalId === prod?.identity.principalId);
    assert.ok(prod && ours);
    e.state.roleAssignments = e.state.roleAssignments.filter((a) => a !== ours);
    const observedAgain = await observe(ctx);
    const planAgain = plan(observedAgain, settings);
    e.state.roleAssignments.push({
      ...ours,
      name: randomUUID(),
      id: ours.id.replace(ours.name, randomUUID()),
    });
    const appliedAgain = await apply(ctx, planAgain, observedAgain);
    const role = appliedAgain.steps.find((s) => s.step.kind === 'assignRole');
    assert.match(role?.result ?? '', /already granted/);
    assert.equal(pullGrants(e).filter((g) => g.principalId === prod.identity.principalId).length, 1);
  });

  it('turns a role assignment write refused by ARM into RoleAssignmentForbidden with the commands', async () => {
    const s = baseScenario();
    const site = s.sites?.[0];
    if (site) site.identity = { type: 'SystemAssigned' };
    const e = await start(s);
    e.setFaults([
      {
        method: 'PUT',
        path: '/providers/microsoft.authorization/roleassignments/',
        status: 403,
        headers: { 'x-ms-failure-cause': 'gateway' },
        body: { error: { code: 'AuthorizationFailed', message: 'The client does not have authorization.' } },
      },
    ]);
    const error = await expectTaskError(run(e, settingsFor()));
    assert.equal(error.code, 'RoleAssignmentForbidden');
    assert.ok(error.remedy.includes(`--assignee-object-id ${apps(e)[0]?.identity.principalId}`));
    assert.equal(
      apps(e)[0]?.siteConfig.acrUseManagedIdentityCreds,
      false,
      'no flag written after the refusal',
    );
  });

  it('finds the resource group of the app, and asks for it when two groups hold the same name', async () => {
    const s = baseScenario();
    const e = await start(s);
    const found = await run(e, settingsFor({ resourceGroup: undefined, targets: { kind: 'production' } }));
    assert.equal(found.observed.app.resourceGroup, 'rg-web');

    const twice = baseScenario();
    twice.resourceGroups?.push({ name: 'rg-copy', location: 'westeurope' });
    const copy = twice.sites?.[0];
    if (copy) twice.sites?.push({ ...copy, resourceGroup: 'rg-copy' });
    await e.seed(twice);
    const error = await expectTaskError(run(e, settingsFor({ resourceGroup: undefined })));
    assert.equal(error.code, 'AppAmbiguous');
    assert.match(error.remedy, /rg-web/);
    assert.match(error.remedy, /rg-copy/);

    const missing = await expectTaskError(run(e, settingsFor({ resourceGroup: undefined, appName: 'nope' })));
    assert.equal(missing.code, 'AppNotFound');
  });

  it('refuses a user-assigned identity from another tenant before any write', async () => {
    const s = baseScenario();
    s.identities = [{ name: 'foreign' }];
    const e = await start(s);
    const foreign = e.state.identities[0];
    assert.ok(foreign);
    foreign.tenantId = randomUUID();
    const error = await expectTaskError(
      run(
        e,
        settingsFor({
          identity: {
            kind: 'user',
            identity: {
              id: foreign.id,
              subscriptionId: foreign.subscriptionId,
              resourceGroup: foreign.resourceGroup,
              name: 'foreign',
            },
          },
        }),
      ),
    );
    assert.equal(error.code, 'IdentityInOtherTenant');
    assert.equal(e.writes().length, 0);
  });

  it('names the existing slots when a requested slot does not exist', async () => {
    const e = await start(baseScenario({ slots: ['staging', 'qa'] }));
    const error = await expectTaskError(
      run(e, settingsFor({ targets: { kind: 'slots', slots: ['stagng'], includeProduction: false } })),
    );
    assert.equal(error.code, 'SlotNotFound');
    assert.match(error.remedy, /staging, qa/);
  });
});
