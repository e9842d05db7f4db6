/**
 * observe against the emulator returns facts (src/facts.ts) that say what the emulator holds: the SDK's models and
 * ARM's answers go through the mappers in src/arm/ and nothing of their shape reaches the result.
 */
import assert from 'node:assert/strict';
import { apply } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/apply';
import { observe } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/observe';
import { plan } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/plan';
import type { Settings } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/settings';
import { baseScenario, type Emulator } from '../emulator/index';
import { emulatorRunContext } from '../harness/arm-context';
import { testSettings } from '../harness/settings';
import { useEmulator } from '../harness/use-emulator';

const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';

describe('observe returns facts that match the emulator', function () {
  this.timeout(60_000);
  const start = useEmulator();

  const configure = async (e: Emulator, settings: Settings) => {
    const ctx = emulatorRunContext(e, settings);
    const observed = await observe(ctx);
    await apply(ctx, plan(observed, settings), observed);
  };

  it('describes an app nothing configured yet: hosts, state, image, no identity, registry', async () => {
    const e = await start(baseScenario({ slots: ['staging'] }));
    const o = await observe(emulatorRunContext(e, testSettings()));
    assert.deepEqual(
      o.targets.map((t) => t.target.label),
      ['production', 'staging'],
    );
    for (const t of o.targets) {
      const app = e.state.apps.find((a) => (a.slot ?? 'production') === t.target.label);
      assert.ok(app);
      assert.equal(t.os, 'linux');
      assert.equal(t.state, app.state);
      assert.equal(t.lastModifiedAt, new Date(app.lastModifiedAt).toISOString());
      // The emulator serves each site and its SCM host on their own loopback ports.
      assert.equal(t.defaultHostName, `127.0.0.1:${app.sitePort}`);
      assert.equal(t.scmHostName, `127.0.0.1:${app.scmPort}`);
      assert.deepEqual(t.images, ['contosoacr.azurecr.io/web:1.0.0']);
      assert.equal(t.identity.system, false);
      assert.equal(t.identity.systemPrincipalId, undefined);
      assert.deepEqual(t.identity.userAssigned, []);
      assert.equal(t.pull.useManagedIdentity, app.siteConfig.acrUseManagedIdentityCreds);
      assert.equal(t.vnetImagePull, app.vnetImagePullEnabled);
      assert.equal(t.sidecar, false);
    }
    const registry = e.state.registries[0];
    assert.ok(registry);
    assert.equal(o.registry.loginServer, registry.loginServer.toLowerCase());
    assert.equal(o.registry.abac, registry.roleAssignmentMode === 'AbacRepositoryPermissions');
    assert.equal(o.registry.adminUserEnabled, registry.adminUserEnabled);
    assert.deepEqual(o.registry.network, {
      publicAccess: registry.publicNetworkAccess.toLowerCase(),
      defaultAction: registry.networkRuleSet.defaultAction.toLowerCase(),
      ipRuleCount: registry.networkRuleSet.ipRules.length,
    });
  });

  it('after a configure run, reads the system identity, the pull settings and the grant back as facts', async () => {
    const e = await start(baseScenario());
    await configure(e, testSettings());
    const o = await observe(emulatorRunContext(e, testSettings()));
    const t = o.targets[0];
    const app = e.state.apps.find((a) => !a.slot);
    assert.ok(t && app?.identity.principalId);
    assert.equal(t.identity.system, true);
    assert.equal(t.identity.systemPrincipalId, app.identity.principalId);
    assert.equal(t.pull.useManagedIdentity, true);
    assert.ok(!t.pull.clientId, 'no client ID: the system identity pulls');
    const grants = (o.roleAssignments ?? []).filter((g) => g.principalId === app.identity.principalId);
    assert.equal(grants.length, 1);
    assert.deepEqual(
      grants.map((g) => [g.roleGuid, g.scope.toLowerCase(), g.scopeKind, g.conditional]),
      [[ACR_PULL, o.registry.id.toLowerCase(), 'resource', false]],
    );
  });

  it('reads a user-assigned identity with its IDs, and a sidecar app with each container and its auth', async () => {
    const s = baseScenario({ platform: 'sidecar' });
    s.identities = [{ name: 'puller' }];
    const e = await start(s);
    const puller = e.state.identities.find((i) => i.name === 'puller');
    assert.ok(puller);
    const settings = testSettings({
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
    await configure(e, settings);
    const o = await observe(emulatorRunContext(e, settings));
    assert.deepEqual(o.userIdentity && [o.userIdentity.clientId, o.userIdentity.principalId], [
      puller.clientId,
      puller.principalId,
    ]);
    const t = o.targets[0];
    assert.ok(t);
    assert.deepEqual(
      t.identity.userAssigned.map((u) => [u.resourceId.toLowerCase(), u.principalId, u.clientId]),
      [[puller.id.toLowerCase(), puller.principalId, puller.clientId]],
    );
    assert.equal(t.sidecar, true);
    const app = e.state.apps.find((a) => !a.slot);
    assert.deepEqual(
      t.containers.map((c) => [c.name, c.image, c.isMain, c.authType]),
      (app?.siteContainers ?? []).map((c) => [c.name, c.image, c.isMain, c.authType]),
    );
    const main = t.containers.find((c) => c.image?.startsWith('contosoacr.azurecr.io/'));
    assert.deepEqual([main?.authType, main?.clientId], ['UserAssigned', puller.clientId]);
  });
});
