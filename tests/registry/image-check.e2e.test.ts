/**
 * The pre-flight image check through the BUILT task, as an agent behind a proxy runs it: the task reaches the
 * registry by its login server name (`contosoacr.azurecr.io`) through the agent's proxy (Agent.ProxyUrl), which
 * tunnels that name to the emulator; nothing in the task knows it is an emulator. Outcomes are asserted on the
 * emulator's world (restarts, writes) and the task's result, not on call counts.
 */
import assert from 'node:assert/strict';
import { baseScenario, type Emulator, type Scenario } from '../emulator/index';
import { startProxy, type TestProxy } from '../emulator/proxy';
import { manifestDigest } from '../emulator/routes/registry-data-plane';
import { runFederated } from '../harness/connections';
import type { TaskRun } from '../harness/run-task';
import { useEmulator } from '../harness/use-emulator';

const LS = 'contosoacr.azurecr.io';

describe('the pre-flight image check, end to end through the agent proxy', function () {
  this.timeout(90_000);
  let proxy: TestProxy | undefined;
  // Registered before useEmulator's hook (mocha runs hooks in order): the proxy closes before the emulator.
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  const start = useEmulator({ timeScale: 30 });
  let emulator: Emulator | undefined;

  async function run(scenario: Scenario, inputs: Record<string, string> = {}): Promise<TaskRun> {
    // The identities exist already: these runs are about the image, not about turning identities on.
    for (const site of scenario.sites ?? []) site.identity ??= { type: 'SystemAssigned' };
    emulator = await start(scenario);
    const port = Number(new URL(emulator.info.armUrl).port);
    // The agent's proxy: registry names go to the emulator (which serves them by Host); the rest as asked.
    proxy = await startProxy({
      route: (host, p) =>
        /\.azurecr\.io$/i.test(host) && p === 443 ? { host: '127.0.0.1', port } : undefined,
    });
    return runFederated(
      emulator,
      { appName: 'contoso-web', pollIntervalSeconds: '0.5', timeoutMinutes: '1', ...inputs },
      { env: { AGENT_PROXYURL: proxy.url } },
    );
  }

  const restarts = () =>
    (emulator?.requests() ?? []).filter((r) => r.method === 'POST' && /\/restart$/i.test(r.path)).length;
  const registryCalls = () => (emulator?.requests() ?? []).filter((r) => r.host === 'registry');

  it('fails in seconds on a missing tag (2024+ log format), naming the image and the existing tags, with no restart and no write', async () => {
    const s = baseScenario({ tag: '2.0.0', registryTags: ['1.0.0', '1.9.0', '2.0.1'], slots: ['staging'] });
    s.sites![0]!.logFormat = 'platform2024';
    const r = await run(s);
    assert.equal(r.result, 'Failed', r.message + r.stderr);
    assert.match(r.message, /contosoacr\.azurecr\.io\/web:2\.0\.0 \(production, staging\)/);
    assert.match(r.message, /no tag '2\.0\.0'/);
    assert.match(r.message, /nearest to it: 2\.0\.1, 1\.0\.0, 1\.9\.0/);
    assert.match(r.message, /\(ImageNotFound\)\nFix: Push the image/);
    assert.equal(r.outputs.verificationOutcome, 'pull_failed');
    assert.match(r.summary ?? '', /pull_failed \(not\\?_found\)/);
    assert.equal(restarts(), 0, 'nothing restarted');
    assert.equal(emulator?.writes().length, 0, 'nothing written');
    assert.ok(r.durationMs < 20_000, `took ${r.durationMs} ms`);
    assert.ok(proxy?.targets().includes(`${LS}:443`), 'the registry was reached through the agent proxy');
    // One distinct image for two targets: exchange, token, HEAD, tag list.
    assert.equal(registryCalls().length, 4);
  });

  it('names a missing repository', async () => {
    const s = baseScenario();
    s.sites![0]!.image = `${LS}/api:1.0.0`;
    const r = await run(s);
    assert.equal(r.result, 'Failed', r.message);
    assert.match(r.message, /has no repository 'api'/);
    assert.equal(restarts(), 0);
  });

  it('accepts an image pinned by the digest of an existing tag, and proves the pull', async () => {
    const s = baseScenario();
    s.sites![0]!.image = `${LS}/web@${manifestDigest(LS, 'web', '1.0.0')}`;
    const r = await run(s);
    assert.equal(r.result, 'Succeeded', r.message);
    assert.match(r.stdout, /Image check: .*web@sha256:[0-9a-f]{64} \(production\) exists/);
  });

  it('refuses an unknown digest before any restart', async () => {
    const s = baseScenario();
    s.sites![0]!.image = `${LS}/web@sha256:${'1'.repeat(64)}`;
    const r = await run(s);
    assert.equal(r.result, 'Failed', r.message);
    assert.match(r.message, /has no manifest sha256:1{64}/);
    assert.equal(restarts(), 0);
  });

  it('checks every sidecar container: a missing second image stops the run', async () => {
    const s = baseScenario({ platform: 'sidecar' });
    s.registries![0]!.repositories = { web: ['1.0.0'], otel: ['0.9'] };
    s.sites![0]!.siteContainers = [
      { name: 'main', image: `${LS}/web:1.0.0`, isMain: true, targetPort: '8080' },
      { name: 'otel', image: `${LS}/otel:1.0`, isMain: false },
    ];
    const r = await run(s);
    assert.equal(r.result, 'Failed', r.message);
    assert.match(
      r.message,
      /otel:1\.0 \(production\): repository 'otel' has no tag '1\.0'.*nearest to it: 0\.9/,
    );
    assert.equal(restarts(), 0);
    assert.equal(emulator?.writes().length, 0);
  });

  it('skips the check, once, when the connection has no data-plane read (ABAC registry), and the run succeeds', async () => {
    const s = baseScenario();
    s.registries![0]!.roleAssignmentMode = 'AbacRepositoryPermissions';
    const r = await run(s);
    assert.equal(r.result, 'Succeeded', r.message);
    const skips = r.warnings.filter((w) => /image check was skipped/.test(w));
    assert.equal(skips.length, 1, r.warnings.join('\n'));
    assert.match(skips[0] ?? '', /may not read the repository/);
  });

  it('skips the check when the registry firewall blocks the agent, and says so', async () => {
    const s = baseScenario();
    // The app pulls over its VNet; the agent is outside the registry's network rules.
    s.registries![0]!.networkRuleSet = { defaultAction: 'Deny', ipRules: [] };
    s.sites![0]!.vnetImagePullEnabled = true;
    s.sites![0]!.virtualNetworkSubnetId =
      '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-web/providers/Microsoft.Network/virtualNetworks/vnet/subnets/apps';
    const r = await run(s);
    const skip = r.warnings.find((w) => /image check was skipped/.test(w));
    assert.match(skip ?? '', /network rules refuse the agent.*not allowed access/, r.warnings.join('\n'));
    assert.equal(r.result, 'Succeeded', r.message);
  });

  it('on a cause-less 2024+ failure with the tag confirmed and an old grant, ranks the network first, not propagation', async () => {
    const s = baseScenario();
    const site = s.sites![0]!;
    site.logFormat = 'platform2024';
    site.identity = { type: 'SystemAssigned' };
    site.acrUseManagedIdentityCreds = true;
    s.roleAssignments = [{ principal: 'site:contoso-web', role: 'AcrPull', scope: 'registry:contosoacr' }];
    // The agent is allowed by an IP rule; the app (no VNet image pull) is not.
    s.registries![0]!.networkRuleSet = {
      defaultAction: 'Deny',
      ipRules: [{ action: 'Allow', value: '127.0.0.0/8' }],
    };
    // 7 s: the loop's extra restart comes at 3 s, the next one would be at 9 s (after the deadline).
    const r = await run(s, { timeoutMinutes: '0.12' });
    assert.equal(r.result, 'Failed', r.message);
    assert.equal(emulator?.writes().filter((w) => w.method !== 'POST').length, 0, 'nothing to configure');
    assert.match(r.stdout, /Image check: contosoacr\.azurecr\.io\/web:1\.0\.0 \(production\) exists/);
    assert.match(r.message, /only logs ImagePullFailure/);
    assert.match(
      r.message,
      /\(1\) network: the registry restricts network access and the app does not pull over a VNet/,
    );
    assert.match(
      r.message,
      /\(2\) identity: contosoacr\.azurecr\.io\/web:1\.0\.0 exists and the registry is reachable/,
    );
    assert.match(r.message, /\(3\) propagation: the pull grant is older than 30 minutes/);
    assert.doesNotMatch(r.message, /\) tag: /, 'a confirmed tag is not a suspect');
  });

  it('still checks a registry that refuses ARM-audience tokens, with a registry-audience token', async () => {
    const s = baseScenario({ tag: '2.0.0', registryTags: ['1.0.0'] });
    s.registries![0]!.azureADAuthenticationAsArmPolicy = 'disabled';
    const r = await run(s);
    assert.equal(r.result, 'Failed', r.message);
    // The check ran (a registry-audience token), even though the run stops for the ARM-token policy itself.
    assert.match(
      r.stdout,
      /Image check: contosoacr\.azurecr\.io\/web:2\.0\.0 \(production\) does NOT exist: repository 'web' has no tag '2\.0\.0'/,
    );
    assert.equal(restarts(), 0);
  });

  it('skips the check when the registry drops every connection from the agent, and the run goes on', async () => {
    const s = baseScenario();
    s.faults = [{ host: 'registry', drop: true }];
    const r = await run(s);
    const skip = r.warnings.find((w) => /image check was skipped/.test(w));
    assert.match(skip ?? '', /could not be reached from the agent/, r.warnings.join('\n'));
    assert.equal(r.result, 'Succeeded', r.message);
  });

  it('is off with checkImage: false (no registry request at all)', async () => {
    const s = baseScenario({ tag: '2.0.0', registryTags: ['1.0.0'] });
    const r = await run(s, { checkImage: 'false', verifyPull: 'false' });
    assert.equal(registryCalls().length, 0);
    assert.equal(r.result, 'Succeeded', r.message);
  });
});
