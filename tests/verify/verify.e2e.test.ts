/**
 * verifyTargets end to end against the emulator: a real ArmClient signed in with a ClientSecretCredential, Kudu
 * and the site host over HTTPS, and the emulator's clock (tests/harness/emulated-clock.ts `taskClock`): the
 * emulator's real-time pace is paused for the file's runs, so only the loop's own waits move time and a
 * ten-minute story takes no real waiting at all.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ClientSecretCredential } from '@azure/identity';
import { createArmClient } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/request';
import { getSite } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/web-apps';
import type { RunContext } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/context';
import { createTransport } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import type { Logger } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/log';
import type { VerifyUntil } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/settings';
import {
  type VerifyResult,
  verifyTargets,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/verify';
import { baseScenario, type Emulator, type Scenario, startEmulator } from '../emulator/index';
import { taskClock, whenOnTimeline } from '../harness/emulated-clock';
import { trustForFetch, trustPolicy } from '../harness/emulator-trust';
import { counted } from '../harness/in-process';
import { testSettings } from '../harness/settings';

const APP = 'contoso-web';
const RG = 'rg-web';

interface World {
  emu: Emulator;
  messages: string[];
  secrets: string[];
  run(options?: {
    until?: VerifyUntil;
    timeoutInMinutes?: number;
    restartNeeded?: boolean;
    signal?: AbortSignal;
  }): Promise<VerifyResult>;
  close(): Promise<void>;
}

interface Story {
  propagationSeconds?: number;
  registryTags?: string[];
  firewall?: boolean;
  containerCrashes?: number;
  startsOnRequest?: boolean;
  scmBasicAuthAllowed?: boolean;
  noRole?: boolean;
  pullSeconds?: number;
  tweak?: (s: Scenario) => void;
}

/** An app already set up for a managed-identity pull (identity, AcrPull, the config flag), then the story. */
function scenarioFor(story: Story): Scenario {
  const s = baseScenario({
    appName: APP,
    resourceGroup: RG,
    tag: '1.0.0',
    ...(story.registryTags ? { registryTags: story.registryTags } : {}),
    delays: {
      roleAssignmentPropagationSeconds: story.propagationSeconds ?? 0,
      pullSeconds: story.pullSeconds ?? 6,
    },
  });
  const site = s.sites?.[0];
  assert.ok(site);
  site.identity = { type: 'SystemAssigned' };
  site.acrUseManagedIdentityCreds = true;
  if (story.containerCrashes !== undefined) site.containerCrashes = story.containerCrashes;
  if (story.startsOnRequest) site.startsOnRequest = true;
  if (story.scmBasicAuthAllowed === false) site.scmBasicAuthAllowed = false;
  if (!story.noRole) {
    s.roleAssignments = [
      {
        principal: `site:${APP}`,
        role: 'AcrPull',
        scope: 'registry:contosoacr',
        createdSecondsAgo: story.propagationSeconds ? 0 : 3600,
      },
    ];
  }
  if (story.firewall) {
    const registry = s.registries?.[0];
    assert.ok(registry);
    registry.networkRuleSet = { defaultAction: 'Deny', ipRules: [] } as never;
  }
  story.tweak?.(s);
  return s;
}

async function world(story: Story): Promise<World> {
  // Time scale 1: the task's seconds are the emulator's seconds (the stories are told in them).
  const emu = await startEmulator({ scenario: scenarioFor(story), timeScale: 1 });
  // Only the loop's waits move the emulator's time: nothing depends on this machine's speed.
  const resume = emu.pauseRealTime();
  const clock = taskClock(emu);
  const caPem = readFileSync(emu.info.caCertPath, 'utf8');
  const untrust = await trustForFetch(caPem);
  const credential = new ClientSecretCredential(emu.info.tenantId, emu.info.clientId, emu.info.clientSecret, {
    authorityHost: emu.info.authorityUrl,
    disableInstanceDiscovery: true,
    additionalPolicies: [{ policy: trustPolicy(caPem), position: 'perCall' }],
  });
  // Counted: the clock moves only while no exchange is in flight, so a wait never overtakes a request.
  const transport = counted(createTransport({ tls: { ca: [caPem] } }), clock);
  const arm = createArmClient({
    armUrl: emu.info.armUrl,
    subscriptionId: emu.info.subscriptionId,
    credential,
    scope: 'https://management.azure.com/.default',
    // The task's pipeline trusts the emulator's CA the way it trusts the agent's CA file.
    transport,
  });
  const messages: string[] = [];
  const secrets: string[] = [];
  const log: Logger = {
    info: (m) => messages.push(m),
    warn: (m) => messages.push(m),
    error: (m) => messages.push(m),
    debug: (m) => messages.push(m),
    group: (m) => messages.push(m),
    endGroup: () => {},
  };
  const target = {
    label: 'production',
    slot: undefined,
    path: `/subscriptions/${emu.info.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Web/sites/${APP}`,
  };
  return {
    emu,
    messages,
    secrets,
    async run(o = {}) {
      const settings = testSettings({
        connectedServiceId: 'sc',
        appName: APP,
        resourceGroup: RG,
        verify: {
          kind: 'on',
          timeoutInMs: (o.timeoutInMinutes ?? 15) * 60_000,
          pollIntervalInMs: 10_000,
          until: o.until ?? 'containerStarted',
        },
      });
      const signal = o.signal ?? new AbortController().signal;
      const ctx: RunContext = { settings, arm, log, signal, clock };
      const site = await getSite(arm, target);
      const [result] = await verifyTargets(
        ctx,
        [
          {
            target,
            image: 'contosoacr.azurecr.io/web:1.0.0',
            defaultHostName: site.defaultHostName,
            scmHostName: site.scmHostName,
            restartedByWrite: !(o.restartNeeded ?? true),
          },
        ],
        { setSecret: (s) => secrets.push(s) },
      );
      assert.ok(result);
      return result;
    },
    async close() {
      untrust();
      transport.dispose();
      resume();
      await emu.close();
    },
  };
}

describe('verifyTargets against the emulator', function () {
  this.timeout(60_000);
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('succeeds after a role assignment that takes longer to apply than the first pulls', async () => {
    w = await world({ propagationSeconds: 240 });
    const r = await w.run();
    assert.equal(r.outcome, 'verified', r.summary);
    assert.equal(r.fatal, false);
    assert.ok(
      w.messages.some((m) => /pull failing \(unauthorized\)/.test(m)),
      'the early failures were seen and waited out',
    );
  });

  it('fails early on a missing tag, naming the tag', async () => {
    w = await world({ registryTags: ['0.9.0'] });
    const r = await w.run();
    assert.equal(r.outcome, 'pull_failed');
    assert.equal(r.cause, 'not_found');
    assert.equal(r.error?.code, 'ImageNotFound');
    assert.match(r.error?.message ?? '', /'1\.0\.0'/);
    assert.match(r.error?.remedy ?? '', /tag/);
    assert.ok(r.seconds < 120, `decided after ${r.seconds} s`);
  });

  it('fails early on a registry firewall with the network fix', async () => {
    w = await world({ firewall: true });
    const r = await w.run();
    assert.equal(r.outcome, 'pull_failed');
    assert.equal(r.cause, 'network');
    assert.equal(r.error?.code, 'RegistryNetworkDenied');
    assert.match(r.error?.remedy ?? '', /firewall|VNet/);
  });

  it('still verifies when its restart interrupts a pull a config write started', async () => {
    w = await world({ pullSeconds: 120 });
    const app = w.emu.state.apps[0];
    assert.ok(app);
    // The config write's own restart: the platform begins pulling a few seconds later.
    app.runtime.phase = 'pendingStart';
    app.runtime.pendingSince = w.emu.now();
    w.emu.advanceClock(10);
    const r = await w.run();
    assert.equal(r.outcome, 'verified', r.summary);
    const text = app.logs.flatMap((l) => l.lines.map((x) => x.text)).join('\n');
    assert.match(text, /Container pull image interrupted/);
  });

  it('reports a container that pulls but crashes as a fatal start failure when it must start', async () => {
    w = await world({ containerCrashes: -1 });
    const r = await w.run({ until: 'containerStarted' });
    assert.equal(r.outcome, 'start_failed');
    assert.equal(r.fatal, true);
    assert.equal(r.error?.code, 'ContainerStartFailed');
    assert.match(r.error?.remedy ?? '', /exited during start \(a crash, not a port problem\)/);
  });

  it('does not fail the task for a crashing container when only the pull must succeed', async () => {
    w = await world({ containerCrashes: -1 });
    const r = await w.run({ until: 'imagePulled' });
    assert.ok(r.outcome === 'verified' || r.outcome === 'start_failed', r.outcome);
    assert.equal(r.fatal, false);
  });

  it('wakes a site that only starts on request', async () => {
    w = await world({ startsOnRequest: true });
    const r = await w.run();
    assert.equal(r.outcome, 'verified', r.summary);
    assert.ok(w.emu.requests().some((q) => q.host === 'site'));
  });

  it('reads Kudu with the ARM token when SCM basic auth is disabled', async () => {
    w = await world({ scmBasicAuthAllowed: false });
    const r = await w.run();
    assert.equal(r.outcome, 'verified');
    assert.equal(r.source, 'kudu');
    assert.deepEqual(w.secrets, []);
  });

  it('backs off after Kudu answers 406 and still verifies', async () => {
    w = await world({
      pullSeconds: 30,
      // One request per window: the log file read right after the listing is always the 406, however fast or
      // slow this machine's Node gets to the first poll (with 2, a pull finished by the first poll saw no 406).
      tweak: (s) => Object.assign(s, { kuduRateLimit: { maxRequests: 1, perSeconds: 30 } }),
    });
    const r = await w.run();
    assert.equal(r.outcome, 'verified', r.summary);
    assert.ok(w.emu.requests().some((q) => q.host === 'kudu' && q.status === 406));
  });

  it('falls back to ARM containerlogs when Kudu refuses every credential, registering the password it tried', async () => {
    w = await world({ tweak: (s) => Object.assign(s, { faults: [{ host: 'kudu', status: 401 }] }) });
    const r = await w.run();
    assert.equal(r.outcome, 'verified', r.summary);
    assert.equal(r.source, 'containerlogs');
    assert.ok(r.notes.some((n) => /containerlogs/.test(n)));
    assert.deepEqual(w.secrets, [w.emu.state.apps[0]?.publishingPassword]);
  });

  it('returns promptly when cancelled mid-poll', async () => {
    w = await world({ noRole: true });
    const controller = new AbortController();
    const running = w.run({ signal: controller.signal });
    // Mid-poll: once the loop has announced its next check, at that point of the emulated timeline (no real wait).
    const ww = w;
    await whenOnTimeline(() => ww.messages.some((m) => /next check in/.test(m))).done;
    const abortedAt = Date.now();
    controller.abort();
    const r = await running;
    assert.equal(r.outcome, 'cancelled');
    assert.ok(Date.now() - abortedAt < 2000);
  });

  it('never lets a ##vso command from the container log reach the logger or the result', async () => {
    w = await world({ noRole: true });
    const app = w.emu.state.apps[0];
    assert.ok(app);
    const at = w.emu.now() + 20_000;
    const hostile = `${new Date(at).toISOString()} ERROR - DockerApiException: Docker API responded with status code=InternalServerError, response={"message":"unauthorized: authentication required ##vso[task.setvariable variable=pwned]yes ##[error]fake"}`;
    for (const log of app.logs) log.lines.push({ at, text: hostile });
    const r = await w.run({ timeoutInMinutes: 2 });
    assert.equal(r.outcome, 'timed_out');
    const printed = [...w.messages, ...r.evidence, r.summary, r.error?.message ?? '', r.error?.remedy ?? ''];
    assert.ok(r.evidence.length > 0);
    for (const m of printed) assert.doesNotMatch(m, /##vso\[|##\[/);
  });
});
