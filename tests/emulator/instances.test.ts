/**
 * The instance model in process, on an injected clock: each machine pulls on its own and writes its own log, a
 * machine can be given its own fate, a failed pull starts a local copy where the machine holds one, and scale-out
 * and instance moves add machines without one. The classifier reads each machine's file, as the task does.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { classifyLog } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/classify';
import { applyEvent } from './events';
import { latestLogFiles } from './log-files';
import { pullAttemptLines, sidecarNoiseLines } from './log-lines';
import type { App, EmulatorState, Scenario, ScenarioEvent, ScenarioSite } from './model';
import { createPlatform, instanceSummaries, type Platform } from './platform';
import { ROLE_IDS } from './roles';
import { baseScenario, buildState } from './scenario';

const T0 = Date.parse('2026-03-02T09:00:00Z');

interface World {
  state: EmulatorState;
  platform: Platform;
  app: App;
  now(): number;
  tick(seconds: number): void;
  event(e: ScenarioEvent): string;
}

function world(site: Partial<ScenarioSite>, scenario: Partial<Scenario> = {}): World {
  let t = T0;
  const base = baseScenario({});
  const first = base.sites?.[0];
  assert.ok(first);
  const s: Scenario = { ...base, ...scenario, sites: [{ ...first, ...site }] };
  const state = buildState(s, T0);
  const platform = createPlatform({ state, now: () => t, lines: { pullAttemptLines, sidecarNoiseLines } });
  const app = state.apps.find((a) => !a.slot);
  assert.ok(app);
  return {
    state,
    platform,
    app,
    now: () => t,
    tick(seconds) {
      t += seconds * 1000;
      platform.advanceAll();
    },
    event: (e) => applyEvent(state, platform, e, t),
  };
}

/** The task's configuration: the system identity, the flag, a pull role old enough to have propagated. */
function pullWithIdentity(w: World): void {
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
    createdAt: w.now() - 86_400_000,
  });
  w.app.siteConfig.acrUseManagedIdentityCreds = true;
  const registry = w.state.registries[0];
  assert.ok(registry);
  const name = randomUUID();
  w.state.roleAssignments.push({
    id: `${registry.id}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    name,
    scope: registry.id,
    roleDefinitionId: `/subscriptions/${registry.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.acrPull}`,
    principalId,
    principalType: 'ServicePrincipal',
    createdAt: w.now() - 86_400_000,
  });
}

function settle(w: World): void {
  const d = w.state.delays;
  w.tick(d.startDelaySeconds + d.pullSeconds + d.containerStartSeconds + 10);
}

/** Each machine's platform file (as Kudu lists them), classified since `since`. */
function verdicts(w: World, since: number): Record<string, string> {
  const image = w.app.siteConfig.linuxFxVersion.replace(/^DOCKER\|/i, '') || undefined;
  const out: Record<string, string> = {};
  for (const f of latestLogFiles(w.app, w.now())) {
    if (/_(default|msi|easyauth)$/.test(f.machineName)) continue;
    const c = classifyLog(f.content, { image: image ?? w.app.siteConfig.windowsFxVersion?.slice(7), since });
    out[f.machineName] = c.cause ? `${c.outcome}/${c.cause}` : c.outcome;
  }
  return out;
}

describe('emulator instances', () => {
  it('three instances each pull and write their own file', () => {
    const w = world({ instances: 3 });
    pullWithIdentity(w);
    const since = w.now();
    w.platform.restart(w.app, 'test');
    settle(w);
    assert.deepEqual(
      instanceSummaries(w.app).map((x) => x.phase),
      ['running', 'running', 'running'],
    );
    const v = verdicts(w, since);
    assert.equal(Object.keys(v).length, 3, JSON.stringify(v));
    assert.ok(
      Object.values(v).every((x) => x === 'container_started'),
      JSON.stringify(v),
    );
    // Container names carry the instance index, as the platform's do.
    const second = w.app.logs.find((l) => l.machineName === w.app.instances[1]);
    assert.match(second?.lines.map((l) => l.text).join('\n') ?? '', /_1_[0-9a-f]{8} for site/);
  });

  it('one instance with its own fate fails while the others pull', () => {
    const w = world({ instances: 3, instanceFates: [{ instance: 2, pull: 'unauthorized' }] });
    pullWithIdentity(w);
    const since = w.now();
    w.platform.restart(w.app, 'test');
    settle(w);
    const phases = instanceSummaries(w.app).map((x) => x.phase);
    assert.equal(phases[0], 'running');
    assert.notEqual(phases[1], 'running');
    assert.equal(phases[2], 'running');
    const v = verdicts(w, since);
    assert.equal(v[w.app.instances[1] as string], 'pull_failed/unauthorized', JSON.stringify(v));
    // The site still answers: the front end routes to the instances that serve.
    assert.equal(w.platform.siteStatus(w.app), 200);
  });

  it('a failed pull on a machine that holds the image starts the local copy', () => {
    const w = world({
      instances: 2,
      localCopy: true,
      instanceFates: [{ instance: 2, pull: 'unauthorized' }],
    });
    pullWithIdentity(w);
    const since = w.now();
    w.platform.restart(w.app, 'test');
    settle(w);
    const s = instanceSummaries(w.app);
    assert.deepEqual(
      s.map((x) => [x.phase, x.fromLocalCopy]),
      [
        ['running', false],
        ['running', true],
      ],
    );
    const log = w.app.logs.find((l) => l.machineName === w.app.instances[1])?.lines.map((l) => l.text) ?? [];
    const text = log.filter((l) => Date.parse(l.slice(0, 24)) >= since).join('\n');
    assert.match(
      text,
      /Image pull failed\. Defaulting to local copy if present\.[\s\S]*initialized successfully/,
    );
    assert.doesNotMatch(text, /Stopping site/);
    assert.equal(verdicts(w, since)[w.app.instances[1] as string], 'pull_failed/unauthorized');
  });

  it('a stale cache is a fate too; without a local copy the failed machine stays down', () => {
    const image = 'contosoacr.azurecr.io/web:1.0.0';
    const w = world({
      instances: 2,
      image,
      instanceFates: [
        { instance: 1, pull: 'networkDenied', localImages: [image] },
        { instance: 2, pull: 'networkDenied', localImages: [] },
      ],
    });
    pullWithIdentity(w);
    w.platform.restart(w.app, 'test');
    settle(w);
    assert.deepEqual(
      instanceSummaries(w.app).map((x) => [x.phase === 'running', x.fromLocalCopy]),
      [
        [true, true],
        [false, false],
      ],
    );
  });

  it('scale-out adds a machine without a local copy that pulls with today’s settings', () => {
    const w = world({ instances: 2, localCopy: true });
    // The app still runs, but its identity cannot pull: the old machines have the image, the new one does not.
    w.app.siteConfig.acrUseManagedIdentityCreds = true;
    const since = w.now();
    const said = w.event({ kind: 'scaleOut', count: 1 });
    assert.match(said, /out to 3 instances/);
    assert.equal(w.app.instances.length, 3);
    assert.deepEqual(w.app.instanceStates[2]?.localImages, []);
    settle(w);
    const s = instanceSummaries(w.app);
    assert.deepEqual(
      s.map((x) => x.phase === 'running'),
      [true, true, false],
    );
    assert.equal(verdicts(w, since)[w.app.instances[2] as string], 'pull_failed/unauthorized');
  });

  it('an instance move replaces the machine; the old file stays listed', () => {
    const w = world({ instances: 2 });
    pullWithIdentity(w);
    const old = w.app.instances[1] as string;
    w.event({ kind: 'moveInstance', instance: 2 });
    settle(w);
    assert.notEqual(w.app.instances[1], old);
    assert.equal(w.app.instances.length, 2);
    const listed = latestLogFiles(w.app, w.now()).map((f) => f.machineName);
    assert.ok(listed.includes(old), `${listed}`);
    assert.ok(listed.includes(w.app.instances[1] as string), `${listed}`);
    assert.deepEqual(
      instanceSummaries(w.app).map((x) => x.phase),
      ['running', 'running'],
    );
  });

  it('scale-in removes the last machines; a Windows app logs one system file per machine', () => {
    const w = world({ instances: 2, platform: 'windows' });
    pullWithIdentity(w);
    const since = w.now();
    w.platform.restart(w.app, 'test');
    settle(w);
    const files = latestLogFiles(w.app, w.now()).filter((f) => f.machineName.endsWith('_system'));
    assert.equal(files.length, 2);
    const v = verdicts(w, since);
    assert.ok(
      Object.values(v).every((x) => x === 'container_started'),
      JSON.stringify(v),
    );
    w.event({ kind: 'scaleIn', count: 1 });
    assert.equal(w.app.instances.length, 1);
  });
});
