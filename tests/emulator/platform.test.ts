/**
 * The platform model in process, on an injected clock: what a restart leads to for each scenario file, the
 * propagation delay, interrupted pulls and the back-off of failed starts. No HTTP here (emulator.test.ts covers
 * the transport).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pullAttemptLines, sidecarNoiseLines } from './log-lines';
import type { App, EmulatorState, Scenario } from './model';
import { createPlatform, type Platform } from './platform';
import { ROLE_IDS } from './roles';
import { baseScenario, buildState, loadScenario } from './scenario';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const scenarios = join(__dirname, 'scenarios');

interface World {
  state: EmulatorState;
  platform: Platform;
  tick(seconds: number): void;
  now(): number;
  app(name?: string, slot?: string): App;
}

function world(scenario: Scenario | string): World {
  let t = T0;
  const state = buildState(
    typeof scenario === 'string' ? loadScenario(join(scenarios, `${scenario}.json`)) : scenario,
    T0,
  );
  const platform = createPlatform({ state, now: () => t, lines: { pullAttemptLines, sidecarNoiseLines } });
  return {
    state,
    platform,
    now: () => t,
    tick(seconds) {
      t += seconds * 1000;
      platform.advanceAll();
    },
    app(name, slot) {
      const a = state.apps.find((x) => (!name || x.siteName === name) && x.slot === slot);
      assert.ok(a, `app ${name ?? ''} ${slot ?? ''}`);
      return a;
    },
  };
}

/** What the task does: system identity on, the pull flag on, a pull role at the registry created at `at`. */
function useSystemIdentity(w: World, app: App, role: string = ROLE_IDS.acrPull, ageSeconds = 0): void {
  const principalId = randomUUID();
  app.identity = {
    type: 'SystemAssigned',
    principalId,
    tenantId: w.state.tenantId,
    userAssignedIdentities: {},
  };
  w.state.principals.push({
    objectId: principalId,
    principalType: 'ServicePrincipal',
    displayName: app.siteName,
    createdAt: w.now(),
  });
  app.siteConfig.acrUseManagedIdentityCreds = true;
  grant(w, principalId, role, ageSeconds);
}

function grant(w: World, principalId: string, role: string, ageSeconds = 0): void {
  const registry = w.state.registries[0];
  assert.ok(registry);
  const name = randomUUID();
  w.state.roleAssignments.push({
    id: `${registry.id}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    name,
    scope: registry.id,
    roleDefinitionId: `/subscriptions/${registry.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
    principalId,
    principalType: 'ServicePrincipal',
    createdAt: w.now() - ageSeconds * 1000,
  });
}

/** Lets the scenario's apps pull without credentials, for tests about the start cycle itself. */
function publicRegistry(scenario: Scenario): Scenario {
  for (const r of scenario.registries ?? []) r.anonymousPullEnabled = true;
  return scenario;
}

/** Restart, let the platform start by itself, and return the last attempt's outcome. */
function restartAndSettle(w: World, app: App): string | undefined {
  w.platform.restart(app, 'test');
  w.tick(
    w.state.delays.startDelaySeconds + w.state.delays.pullSeconds + w.state.delays.containerStartSeconds + 10,
  );
  return app.runtime.attemptOutcome;
}

describe('the emulated App Service platform', () => {
  it('builds every scenario file into a state with its inputs', () => {
    const files = readdirSync(scenarios).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 13);
    for (const f of files) {
      const state = buildState(loadScenario(join(scenarios, f)), T0);
      assert.ok(state.apps.length > 0, f);
      assert.ok(state.inputs.appName, `${f} names the app`);
      assert.ok(
        state.apps.every((a) => a.runtime.phase === 'running'),
        `${f}: apps run before the task`,
      );
    }
  });

  it('answers unauthorized while the pull role propagates, and pulls once it has', () => {
    const w = world('default');
    const app = w.app('contoso-web');
    useSystemIdentity(w, app);
    assert.equal(restartAndSettle(w, app), 'unauthorized');
    assert.notEqual(app.runtime.phase, 'running');
    w.tick(90);
    assert.equal(restartAndSettle(w, app), 'succeeded');
    assert.equal(app.runtime.phase, 'running');
    assert.equal(w.platform.siteStatus(app), 200);
  });

  it('gives each slot its own outcome: a slot without its own grant still fails', () => {
    const w = world('default');
    const site = w.app('contoso-web');
    const slot = w.app('contoso-web', 'staging');
    useSystemIdentity(w, site, ROLE_IDS.acrPull, 3600);
    slot.siteConfig.acrUseManagedIdentityCreds = true;
    slot.identity = {
      type: 'SystemAssigned',
      principalId: randomUUID(),
      tenantId: w.state.tenantId,
      userAssignedIdentities: {},
    };
    assert.equal(restartAndSettle(w, site), 'succeeded');
    assert.equal(restartAndSettle(w, slot), 'unauthorized');
  });

  const failures: [scenario: string, expected: string, role?: string][] = [
    ['missing-tag', 'notFound'],
    ['firewall-deny', 'networkDenied'],
    ['arm-token-disabled', 'unauthorized'],
    ['abac-registry', 'unauthorized'],
    ['abac-registry', 'succeeded', ROLE_IDS.repositoryReader],
    ['registry-other-rg', 'succeeded'],
    ['registry-other-subscription', 'succeeded'],
    ['platform2024', 'succeeded'],
    ['windows', 'succeeded'],
  ];
  for (const [name, expected, role] of failures) {
    it(`pulls with an old grant in ${name}${role ? ' with the repository role' : ''}: ${expected}`, () => {
      const w = world(name);
      const app = w.app();
      useSystemIdentity(w, app, role ?? ROLE_IDS.acrPull, 3600);
      if (name === 'windows') w.tick(60);
      assert.equal(restartAndSettle(w, app), expected);
    });
  }

  it('needs the attached identity whose client ID the flag names (user-assigned)', () => {
    const w = world('user-assigned');
    const app = w.app('contoso-web');
    const pull = w.state.identities.find((i) => i.name === 'id-acr-pull');
    assert.ok(pull);
    grant(w, pull.principalId, ROLE_IDS.acrPull, 3600);
    app.siteConfig.acrUseManagedIdentityCreds = true;
    app.siteConfig.acrUserManagedIdentityID = pull.clientId;
    assert.equal(restartAndSettle(w, app), 'unauthorized', 'not attached yet');
    app.identity.userAssignedIdentities[pull.id] = { principalId: pull.principalId, clientId: pull.clientId };
    assert.equal(restartAndSettle(w, app), 'succeeded');
  });

  it('fails with stale admin credentials and pulls with the current password', () => {
    const w = world('stale-admin-credentials');
    const app = w.app('contoso-web');
    assert.equal(restartAndSettle(w, app), 'unauthorized');
    app.appSettings.DOCKER_REGISTRY_SERVER_PASSWORD = 'current-password-2';
    assert.equal(restartAndSettle(w, app), 'succeeded');
  });

  it('checks the auth type of each sidecar container', () => {
    const w = world('sidecar');
    const app = w.app('contoso-web');
    useSystemIdentity(w, app, ROLE_IDS.acrPull, 3600);
    assert.equal(restartAndSettle(w, app), 'unauthorized', 'the main container still pulls anonymously');
    const main = app.siteContainers.find((c) => c.isMain);
    assert.ok(main);
    main.authType = 'SystemIdentity';
    assert.equal(restartAndSettle(w, app), 'succeeded');
  });

  it('writes an interruption when a restart lands during a pull, then pulls again', () => {
    const w = world(publicRegistry(baseScenario({ delays: { pullSeconds: 20 } })));
    const app = w.app();
    w.platform.restart(app, 'config');
    w.tick(w.state.delays.startDelaySeconds + 3);
    assert.equal(app.runtime.phase, 'pulling');
    w.platform.restart(app, 'explicit');
    const text = app.logs.flatMap((l) => l.lines.map((x) => x.text)).join('\n');
    assert.match(text, /Container pull image interrupted/);
    w.tick(60);
    assert.equal(app.runtime.phase, 'running');
  });

  it('waits for a request before starting a site that starts on request', () => {
    const scenario = baseScenario();
    const site = scenario.sites?.[0];
    assert.ok(site);
    site.startsOnRequest = true;
    const w = world(publicRegistry(scenario));
    const app = w.app();
    w.platform.restart(app, 'restart');
    w.tick(600);
    assert.equal(app.runtime.phase, 'pendingStart');
    assert.equal(w.platform.siteStatus(app), 503);
    w.platform.hit(app);
    w.tick(30);
    assert.equal(app.runtime.phase, 'running');
  });

  it('retries failed starts with a growing back-off and then blocks the site', () => {
    const scenario = baseScenario();
    const site = scenario.sites?.[0];
    assert.ok(site);
    site.containerCrashes = -1;
    const w = world(publicRegistry(scenario));
    const app = w.app();
    w.platform.restart(app, 'restart');
    const starts: number[] = [];
    let blocked = false;
    for (let i = 0; i < 720; i += 1) {
      w.tick(10);
      const at = app.runtime.attemptStartedAt;
      if (at !== undefined && at !== starts[starts.length - 1]) starts.push(at);
      blocked ||= app.runtime.phase === 'blocked';
    }
    assert.equal(app.runtime.attemptOutcome, 'succeededButStartFailed');
    assert.ok(blocked, 'the site was blocked after consecutive failures');
    const gaps = starts.slice(1).map((at, i) => at - (starts[i] ?? 0));
    assert.ok(gaps.length >= 4);
    for (let i = 1; i < gaps.length; i += 1)
      assert.ok((gaps[i] ?? 0) >= (gaps[i - 1] ?? 0), 'gaps never shrink');
    assert.ok((gaps[gaps.length - 1] ?? 0) > (gaps[0] ?? 0), 'and they grow');
  });

  it('keeps the old log lines of the start before the task, two hours back', () => {
    const w = world('default');
    const app = w.app('contoso-web');
    const first = app.logs[0]?.lines[0];
    assert.ok(first && first.at < T0 - 3600_000);
  });
});
