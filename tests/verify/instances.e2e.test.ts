/**
 * Per-instance proof end to end: verifyTargets with a real ArmClient against the HTTPS emulator, whose apps run on
 * several machines that each pull on their own (tests/emulator/instances.test.ts covers the model). The clock runs
 * on emulated time, 60× faster than real time. A target is verified only when every instance shows a fresh pull.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ClientSecretCredential } from '@azure/identity';
import { createArmClient } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/request';
import { getSite } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/web-apps';
import type { Clock, RunContext } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/context';
import { createTransport } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import type { Logger } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/log';
import {
  type VerifyResult,
  verifyTargets,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/verify';
import { baseScenario, type Emulator, type Scenario, startEmulator } from '../emulator/index';
import type { ScenarioSite } from '../emulator/model';
import { instanceSummaries } from '../emulator/platform';
import { emulatedClock } from '../harness/emulated-clock';
import { trustForFetch, trustPolicy } from '../harness/emulator-trust';
import { testSettings } from '../harness/settings';

const TIME_SCALE = 60;
const APP = 'contoso-web';
const RG = 'rg-web';

/** An app set up for a managed-identity pull (identity, an old AcrPull grant, the flag) on several machines. */
function scenarioFor(site: Partial<ScenarioSite>, tweak?: (s: Scenario) => void): Scenario {
  const s = baseScenario({
    appName: APP,
    resourceGroup: RG,
    tag: '1.0.0',
    ...(site.platform ? { platform: site.platform } : {}),
    delays: { roleAssignmentPropagationSeconds: 0, pullSeconds: 6 },
  });
  const first = s.sites?.[0];
  assert.ok(first);
  Object.assign(first, { identity: { type: 'SystemAssigned' }, acrUseManagedIdentityCreds: true }, site);
  s.roleAssignments = [
    { principal: `site:${APP}`, role: 'AcrPull', scope: 'registry:contosoacr', createdSecondsAgo: 3600 },
  ];
  tweak?.(s);
  return s;
}

async function verifyOn(
  emu: Emulator,
  messages: string[],
  o: { until?: 'imagePulled' | 'containerStarted'; lastChangeAt?: number } = {},
): Promise<VerifyResult> {
  const caPem = readFileSync(emu.info.caCertPath, 'utf8');
  const untrust = await trustForFetch(caPem);
  try {
    const credential = new ClientSecretCredential(
      emu.info.tenantId,
      emu.info.clientId,
      emu.info.clientSecret,
      {
        authorityHost: emu.info.authorityUrl,
        disableInstanceDiscovery: true,
        additionalPolicies: [{ policy: trustPolicy(caPem), position: 'perCall' }],
      },
    );
    const arm = createArmClient({
      armUrl: emu.info.armUrl,
      subscriptionId: emu.info.subscriptionId,
      credential,
      scope: 'https://management.azure.com/.default',
      transport: createTransport({ tls: { ca: [caPem] } }),
    });
    const log: Logger = {
      info: (m) => messages.push(m),
      warn: (m) => messages.push(m),
      error: (m) => messages.push(m),
      debug: () => {},
      group: () => {},
      endGroup: () => {},
    };
    // The emulator's own timeline: a wait moves its clock, no real time passes.
    const clock: Clock = emulatedClock(emu);
    const target = {
      label: 'production',
      slot: undefined,
      path: `/subscriptions/${emu.info.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}`,
    };
    const settings = testSettings({
      connectedServiceId: 'sc',
      appName: APP,
      resourceGroup: RG,
      verify: {
        kind: 'on',
        timeoutInMs: 6 * 60_000,
        pollIntervalInMs: 10_000,
        until: o.until ?? 'containerStarted',
      },
    });
    const ctx: RunContext = { settings, arm, log, signal: new AbortController().signal, clock };
    const site = await getSite(arm, target);
    const [result] = await verifyTargets(ctx, [
      {
        target,
        image: 'contosoacr.azurecr.io/web:1.0.0',
        defaultHostName: site.defaultHostName,
        scmHostName: site.scmHostName,
        restartedByWrite: false,
        // The grant is an hour old (the scenario's): an unauthorized pull is not propagation.
        grantCreatedAt: emu.now() - 3600_000,
        ...(o.lastChangeAt !== undefined ? { lastChangeAt: o.lastChangeAt } : {}),
      },
    ]);
    assert.ok(result);
    return result;
  } finally {
    untrust();
  }
}

interface Case {
  name: string;
  site: Partial<ScenarioSite>;
  tweak?: (s: Scenario) => void;
  check(r: VerifyResult, emu: Emulator, messages: string[]): void;
}

const CASES: Case[] = [
  {
    name: 'three instances all pulling: verified on 3 of 3',
    site: { instances: 3 },
    check(r) {
      assert.equal(r.outcome, 'verified', r.summary);
      assert.equal(r.instances?.coverage, '3 of 3 instances');
    },
  },
  {
    name: 'one instance unauthorized while two pull: not verified, the instance named',
    site: { instances: 3, instanceFates: [{ instance: 2, pull: 'unauthorized' }] },
    check(r, emu) {
      assert.equal(r.outcome, 'pull_failed', r.summary);
      assert.equal(r.cause, 'unauthorized');
      assert.equal(r.fatal, true);
      const machine = emu.state.apps[0]?.instances[1] as string;
      assert.match(r.error?.message ?? '', new RegExp(`instance 2 of 3 \\(${machine}\\)`), r.error?.message);
      assert.match(r.error?.message ?? '', /Proven on 2 of 3 instances/);
    },
  },
  {
    name: 'one instance starts a local copy after a failed pull: not verified',
    site: { instances: 3, localCopy: true, instanceFates: [{ instance: 3, pull: 'unauthorized' }] },
    check(r, emu) {
      assert.notEqual(r.outcome, 'verified', r.summary);
      assert.equal(r.cause, 'unauthorized');
      const app = emu.state.apps[0];
      assert.ok(app);
      // The local copy serves: a running container is no proof.
      assert.equal(instanceSummaries(app)[2]?.fromLocalCopy, true);
      assert.match(
        r.error?.message ?? '',
        /instance 3 of 3 .*pull failed, unauthorized \(it started an older local copy\)/,
      );
    },
  },
  {
    name: 'a newer stamp (2024+ platform) adds what siteStatus says about the failing instance',
    site: { instances: 2, logFormat: 'platform2024', instanceFates: [{ instance: 2, pull: 'unauthorized' }] },
    check(r, _emu, messages) {
      assert.equal(r.outcome, 'pull_failed', r.summary);
      assert.match(
        r.instances?.lines.join('\n') ?? '',
        /instance 2 of 2 .*\[siteStatus: (Stopped \(SiteStopped\), last error ImagePullFailure|Starting \(PullingImage\))\]/,
      );
      assert.ok(
        messages.some((m) => /\[siteStatus: /.test(m)),
        messages.join('\n'),
      );
    },
  },
  {
    name: 'an older stamp without siteStatus: the log alone decides, nothing breaks',
    site: { instances: 2, instanceFates: [{ instance: 2, pull: 'unauthorized' }] },
    check(r) {
      assert.equal(r.outcome, 'pull_failed', r.summary);
      assert.doesNotMatch(r.instances?.lines.join('\n') ?? '', /siteStatus/);
    },
  },
  {
    name: 'Kudu unreadable (ARM containerlogs shows one instance): not verified, and says why',
    site: { instances: 2 },
    tweak: (s) => {
      s.kuduAcceptsArmAudience = false;
    },
    check(r) {
      assert.equal(r.outcome, 'unverified', r.summary);
      assert.equal(r.error?.code, 'PullNotVerified');
      assert.match(r.error?.message ?? '', /proven on 1 of 2 instances only/);
      assert.match(r.error?.remedy ?? '', /Kudu/);
    },
  },
  {
    name: 'a scale-out during verification: the new instance’s pull is awaited',
    site: { instances: 2 },
    tweak: (s) => {
      s.events = [{ kind: 'scaleOut', atSeconds: 6, description: 'autoscale adds a worker mid-pull' }];
    },
    check(r, emu) {
      assert.equal(r.outcome, 'verified', r.summary);
      assert.equal(r.instances?.coverage, '3 of 3 instances');
      const app = emu.state.apps[0];
      assert.ok(app);
      assert.equal(app.instances.length, 3);
      const added = app.logs.find((l) => l.machineName === app.instances[2]);
      assert.ok(
        added?.lines.some((l) => /initialized successfully/.test(l.text)),
        'the new machine pulled and started',
      );
    },
  },
  {
    name: 'a Windows app with 2 instances: verified on 2 of 2',
    site: { instances: 2, platform: 'windows' },
    check(r) {
      assert.equal(r.outcome, 'verified', r.summary);
      assert.equal(r.instances?.coverage, '2 of 2 instances');
    },
  },
  {
    name: 'an instance moved during the run: its old file is explained, not counted',
    site: { instances: 2 },
    tweak: (s) => {
      // A long pull, so the move lands in its middle however long sign-in took.
      s.delays = { ...s.delays, pullSeconds: 60 };
      s.events = [
        { kind: 'moveInstance', instance: 2, atSeconds: 30, description: 'maintenance moves a worker' },
      ];
    },
    check(r, emu, messages) {
      assert.equal(r.outcome, 'verified', r.summary);
      assert.equal(r.instances?.coverage, '2 of 2 instances');
      assert.match(
        r.instances?.note ?? '',
        /1 machine\(s\) ARM no longer lists/,
        `${JSON.stringify(r.instances)} ${JSON.stringify(emu.state.events)} ${messages.join('\n')}`,
      );
    },
  },
];

describe('per-instance proof against the emulator', function () {
  this.timeout(90_000);
  for (const c of CASES) {
    it(c.name, async () => {
      const emu = await startEmulator({ scenario: scenarioFor(c.site, c.tweak), timeScale: TIME_SCALE });
      try {
        const messages: string[] = [];
        const r = await verifyOn(emu, messages);
        c.check(r, emu, messages);
      } finally {
        await emu.close();
      }
    });
  }
});

describe('a re-run reads the evidence of the first run', function () {
  this.timeout(90_000);
  it('a slot whose container crashes after a good pull: the pull is found, no restart is sent', async () => {
    const emu = await startEmulator({
      scenario: scenarioFor({ containerCrashes: -1 }),
      timeScale: TIME_SCALE,
    });
    try {
      const changedAt = emu.now() - 1000;
      const first = await verifyOn(emu, [], { until: 'imagePulled' });
      assert.notEqual(first.outcome, 'pull_failed', first.summary);
      const app = emu.state.apps[0];
      assert.ok(app);
      const restartsBefore = app.runtime.restarts;
      const messages: string[] = [];
      const second = await verifyOn(emu, messages, { until: 'imagePulled', lastChangeAt: changedAt });
      assert.equal(second.outcome, 'start_failed', second.summary);
      assert.equal(second.fatal, false);
      assert.equal(second.restarts, 0);
      assert.equal(second.restartReason, 'logEvidence');
      assert.equal(app.runtime.restarts, restartsBefore, 'no restart reached the app');
      assert.match(second.error?.message ?? '', /was pulled since the last change/);
    } finally {
      await emu.close();
    }
  });
});
