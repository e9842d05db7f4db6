/**
 * Issue 24: the emulator tells the truth about a live app (docs/azure-behaviour.md#a-live-app). In process, on an
 * injected clock: the site host answers while a container serves and 503 while none does; a settings change keeps
 * the old container serving until the new one is up; a failed pull stops the site unless the machine holds a local
 * copy of exactly that image; an explicit restart has its own gap; while the flag is on the password is not used.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { pullAttemptLines, sidecarNoiseLines } from './log-lines';
import type { App, EmulatorState, Scenario } from './model';
import { availabilityAt, createPlatform, type Platform } from './platform';
import { ROLE_IDS } from './roles';
import { baseScenario, buildState } from './scenario';

const T0 = Date.parse('2026-03-02T09:00:00Z');

interface World {
  state: EmulatorState;
  platform: Platform;
  at(seconds: number): void;
  app: App;
}

function world(tweak: (s: Scenario) => void = () => undefined): World {
  let t = T0;
  const scenario = baseScenario();
  const site = scenario.sites?.[0];
  assert.ok(site);
  site.appSettings = {
    DOCKER_REGISTRY_SERVER_URL: 'https://contosoacr.azurecr.io',
    DOCKER_REGISTRY_SERVER_USERNAME: 'contosoacr',
    DOCKER_REGISTRY_SERVER_PASSWORD: 'admin-password',
  };
  const registry = scenario.registries?.[0];
  assert.ok(registry);
  registry.adminUserEnabled = true;
  registry.adminPasswords = ['admin-password'];
  scenario.delays = { ...scenario.delays, roleAssignmentPropagationSeconds: 3600 };
  tweak(scenario);
  const state = buildState(scenario, T0);
  const platform = createPlatform({ state, now: () => t, lines: { pullAttemptLines, sidecarNoiseLines } });
  const app = state.apps.find((a) => !a.slot);
  assert.ok(app);
  return {
    state,
    platform,
    app,
    at(seconds) {
      t = T0 + seconds * 1000;
      platform.advanceAll();
    },
  };
}

/** The switch: a system identity whose grant has not taken effect yet, and the flag on (a settings write). */
function switchToIdentity(w: World, grantEffective: boolean): void {
  const principalId = randomUUID();
  w.app.identity = {
    type: 'SystemAssigned',
    principalId,
    tenantId: w.state.tenantId,
    userAssignedIdentities: {},
  };
  w.state.principals.push({
    objectId: principalId,
    principalType: 'ServicePrincipal',
    displayName: w.app.siteName,
    createdAt: T0 - 86_400_000,
  });
  const registry = w.state.registries[0];
  assert.ok(registry);
  w.state.roleAssignments.push({
    id: `${registry.id}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`,
    name: randomUUID(),
    scope: registry.id,
    roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.acrPull}`,
    principalId,
    principalType: 'ServicePrincipal',
    // Not yet effective: created now, with a propagation longer than the test.
    createdAt: grantEffective ? T0 - 86_400_000 : T0,
  });
  w.app.siteConfig.acrUseManagedIdentityCreds = true;
  w.platform.restart(w.app, 'config/web');
}

const status = (w: World) => w.platform.siteStatus(w.app);

describe('emulator: a live app (issue 24)', () => {
  it('a settings write recycles with overlap: the old container serves until the new one is up', () => {
    const w = world();
    assert.equal(status(w), 200);
    w.platform.restart(w.app, 'appsettings');
    w.at(1);
    assert.equal(status(w), 200, 'the old container still serves while the new one pulls');
    w.at(60);
    assert.equal(status(w), 200);
    assert.equal(availabilityAt(w.app, T0 + 30_000)?.reason, 'serving');
  });

  it('an explicit restart stops the container first: a gap of its own (restarting), not downtime', () => {
    const w = world();
    w.platform.restart(w.app, 'restart');
    assert.equal(status(w), 503);
    assert.equal(availabilityAt(w.app, T0)?.reason, 'restarting');
    w.at(60);
    assert.equal(status(w), 200);
  });

  it('a failed pull stops the site: 503 with the reason pullFailed, and "Stopping site" in the log', () => {
    const w = world();
    switchToIdentity(w, false);
    w.at(60);
    assert.equal(status(w), 503);
    assert.equal(availabilityAt(w.app, T0 + 59_000)?.reason, 'pullFailed');
    const text = w.app.logs.flatMap((l) => l.lines.map((x) => x.text)).join('\n');
    assert.match(text, /Stopping site contoso-web because it failed during startup/);
  });

  it('a machine holding a local copy of exactly that image starts it again: the site keeps serving', () => {
    const w = world((s) => {
      const site = s.sites?.[0];
      if (site) site.localCopy = true;
    });
    switchToIdentity(w, false);
    w.at(60);
    assert.equal(status(w), 200, 'the local copy serves (which proves nothing about the identity)');
    const text = w.app.logs.flatMap((l) => l.lines.map((x) => x.text)).join('\n');
    assert.match(text, /Image pull failed\. Defaulting to local copy if present\./);
  });

  it('while acrUseManagedIdentityCreds is on, the password settings are not used', () => {
    const w = world();
    const before = w.platform.evaluatePull(w.app, T0);
    assert.equal(before.outcome, 'succeeded', 'the password pulls while the flag is off');
    switchToIdentity(w, false);
    const after = w.platform.evaluatePull(w.app, T0 + 1000);
    assert.equal(after.outcome, 'unauthorized', 'the valid password is ignored: the identity decides');
  });
});
