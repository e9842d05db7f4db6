/**
 * Do no harm, end to end through the built bundle against the emulator: no write that makes things worse, stop
 * early when the cause is known, one honest verdict per target, contradicting inputs warned about, every write
 * accounted for, and a restart sent once. Assertions are on what Azure (the emulator's request log and state) and
 * the agent (result, outputs, summary, warnings) see.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { baseScenario, type Emulator, loadScenario, type Scenario } from '../emulator/index';
import { federatedConnection, runFederated } from '../harness/connections';
import { startTask, type TaskRun } from '../harness/run-task';
import { useEmulator } from '../harness/use-emulator';

const scenarios = join(__dirname, '..', 'emulator', 'scenarios');
const FAST = { pollIntervalSeconds: '0.5', timeoutMinutes: '1' };
const INPUTS = {
  appName: 'contoso-web',
  resourceGroupName: 'rg-web',
  targets: 'all',
  identityType: 'system',
};

const restartPosts = (emu: Emulator, from = 0) =>
  emu
    .requests()
    .slice(from)
    .filter((r) => r.method === 'POST' && /\/(restart|start|stop)$/i.test(r.path));

const results = (
  run: TaskRun,
): Record<string, { outcome: string; restarts: number; restart: string; granted: boolean }> =>
  JSON.parse(run.outputs.targetResults ?? '{}');

/** The `Fix:` line(s) of the run's failure message for one target. */
function fixFor(run: TaskRun, target: string): string {
  const block = run.message.split(/\n(?=\[)/).find((b) => b.startsWith(`[${target}]`)) ?? '';
  return block.slice(block.indexOf('Fix:'));
}

describe('do no harm, through the built task', function () {
  this.timeout(180_000);
  const startFor = useEmulator();
  const start = (scenario: Scenario | string, timeScale?: number) =>
    startFor(scenario, timeScale ? { timeScale } : {});

  describe('no write that makes things worse: fails before any write when the identity cannot pull', () => {
    it('an image on another ACR than the one named: nothing written, the app keeps pulling with its password', async () => {
      const base = baseScenario({ slots: ['staging'], delays: { roleAssignmentPropagationSeconds: 5 } });
      const scenario: Scenario = {
        ...base,
        sites: [
          {
            ...(base.sites?.[0] as NonNullable<Scenario['sites']>[number]),
            image: 'fabrikamacr.azurecr.io/web:1.0.0',
            appSettings: {
              DOCKER_REGISTRY_SERVER_URL: 'https://fabrikamacr.azurecr.io',
              DOCKER_REGISTRY_SERVER_USERNAME: 'fabrikamacr',
              DOCKER_REGISTRY_SERVER_PASSWORD: 'fabrikam-password',
            },
          },
        ],
        registries: [
          ...(base.registries ?? []),
          {
            name: 'fabrikamacr',
            resourceGroup: 'rg-web',
            repositories: { web: ['1.0.0'] },
            adminUserEnabled: true,
            adminPasswords: ['fabrikam-password'],
          },
        ],
      };
      const emu = await start(scenario, 30);
      const run = await runFederated(emu, { ...INPUTS, ...FAST, registry: 'contosoacr.azurecr.io' });
      assert.equal(run.result, 'Failed', run.message);
      assert.match(run.message, /\(ImageOnOtherRegistry\)/);
      assert.match(run.message, /fabrikamacr\.azurecr\.io/);
      assert.match(
        run.message,
        /Fix: Set the registry input to fabrikamacr\.azurecr\.io[\s\S]*configureAnyway: true/,
      );
      assert.deepEqual(emu.writes(), [], 'nothing written');
      assert.equal(run.outputs.verificationOutcome, 'not_run');
      assert.equal(run.outputs.changeCount, '0');
      for (const app of emu.state.apps) assert.equal(app.siteConfig.acrUseManagedIdentityCreds, false);
    });

    for (const [file, code, fix] of [
      [
        'arm-token-disabled.json',
        'ArmTokenAuthDisabled',
        /az acr config authentication-as-arm update -r contosoacr --status enabled/,
      ],
      ['firewall-deny.json', 'RegistryNetworkRestricted', /vnetImagePullEnabled=true/],
    ] as const) {
      it(`${file}: fails with ${code} and its fix before any write`, async () => {
        const emu = await start(join(scenarios, file));
        const run = await runFederated(emu, { ...INPUTS, ...FAST });
        assert.equal(run.result, 'Failed', run.message);
        assert.match(run.message, new RegExp(`\\(${code}\\)`));
        assert.match(run.message, fix);
        assert.deepEqual(emu.writes(), [], 'nothing written, nothing restarted');
        assert.equal(run.outputs.verificationOutcome, 'not_run');
      });
    }
  });

  describe('stop early when the cause is known', () => {
    it('configured anyway with ARM-audience tokens refused: each target ends at once with that cause, no restart loop', async () => {
      const emu = await start(join(scenarios, 'arm-token-disabled.json'));
      const run = await runFederated(emu, {
        ...INPUTS,
        pollIntervalSeconds: '0.5',
        timeoutMinutes: '2',
        configureAnyway: 'true',
      });
      assert.equal(run.result, 'Failed', run.message);
      assert.equal(run.outputs.verificationOutcome, 'pull_failed');
      assert.deepEqual(
        restartPosts(emu),
        [],
        'the config writes restarted the targets; the task restarted none',
      );
      for (const target of ['production', 'staging', 'qa']) {
        assert.match(
          run.message,
          new RegExp(
            `\\[${target}\\] .*azureADAuthenticationAsArmPolicy is disabled.*\\(ArmTokenAuthDisabled\\)`,
          ),
        );
        assert.match(
          fixFor(run, target),
          /az acr config authentication-as-arm update -r contosoacr --status enabled/,
        );
      }
      assert.ok(run.durationMs < 60_000, `ended early, in ${run.durationMs} ms of a 2-minute timeout`);
      assert.doesNotMatch(run.message, /Wait and read the log again/);
    });

    it('an unauthorized pull with a grant older than the propagation window ends at once, after one restart', async () => {
      const emu = await start(join(scenarios, 'default.json'));
      const first = await runFederated(emu, { ...INPUTS, ...FAST });
      assert.equal(first.result, 'Succeeded', first.message);
      // Forty minutes on, the registry refuses the identity for a reason the plan cannot see (the emulator's grant
      // stops counting), and production's settings changed since its last pull (so the log proves nothing).
      emu.advanceClock(40 * 60);
      emu.state.delays.roleAssignmentPropagationSeconds = 10 * 3600;
      const production = emu.state.apps.find((a) => !a.slot);
      assert.ok(production);
      production.lastModifiedAt = emu.now();
      const mark = emu.requests().length;
      const run = await runFederated(emu, { ...INPUTS, pollIntervalSeconds: '0.5', timeoutMinutes: '2' });
      assert.equal(run.result, 'Failed', run.message);
      assert.equal(
        restartPosts(emu, mark).length,
        1,
        'restarted once for evidence, never again for propagation',
      );
      assert.match(run.message, /\[production\] pulling .* failed \(unauthorized\)\. \(PullUnauthorized\)/);
      assert.match(fixFor(run, 'production'), /older than the propagation window, so waiting will not help/);
      assert.doesNotMatch(
        fixFor(run, 'production'),
        /documents up to 10 minutes for a new role|granted recently/,
      );
      assert.ok(run.durationMs < 60_000, `ended early, in ${run.durationMs} ms of a 2-minute timeout`);
      assert.deepEqual(Object.fromEntries(Object.entries(results(run)).map(([t, r]) => [t, r.outcome])), {
        production: 'pull_failed',
        staging: 'verified',
        qa: 'verified',
      });
    });

    it('says so with its own code when a parallel step turns the flag off during the run', async () => {
      const emu = await start(join(scenarios, 'default.json'));
      const { connection, job } = federatedConnection(emu.info);
      const task = startTask({
        inputs: { ...INPUTS, ...FAST, azureSubscription: connection.id },
        connection,
        job,
        caCertPath: emu.info.caCertPath,
      });
      await task.waitForOutput(/staging: pull failing \(unauthorized\)/);
      const staging = emu.state.apps.find((a) => a.slot === 'staging');
      assert.ok(staging);
      staging.siteConfig.acrUseManagedIdentityCreds = false; // what a deploy step running in parallel may do
      const run = await task.done;
      assert.equal(run.result, 'Failed', run.message);
      assert.match(
        run.message,
        /\[staging\] acrUseManagedIdentityCreds was turned off while the task ran.*\(PullSettingsChangedDuringRun\)/,
      );
      assert.equal(results(run).production?.outcome, 'verified');
    });
  });

  describe('one honest verdict per target', () => {
    it('a timeout gives the same cause and fix on every run of the same history, fitted to what the run did', async () => {
      const slow = (): Scenario => ({
        ...baseScenario({ slots: ['staging'], delays: { roleAssignmentPropagationSeconds: 3600 } }),
        timeScale: 30,
      });
      const runs: TaskRun[] = [];
      for (let i = 0; i < 2; i++) {
        const emu = await start(slow(), 30);
        runs.push(await runFederated(emu, { ...INPUTS, pollIntervalSeconds: '0.5', timeoutMinutes: '0.1' }));
      }
      for (const run of runs) {
        assert.equal(run.result, 'Failed', run.message);
        assert.equal(run.outputs.verificationOutcome, 'timed_out');
        assert.match(
          fixFor(run, 'production'),
          /^Fix: This run granted the pull role, and Azure documents up to 10 minutes for a new role assignment to take effect/,
        );
        for (const r of Object.values(results(run))) assert.equal(r.granted, true);
      }
      assert.equal(fixFor(runs[0] as TaskRun, 'production'), fixFor(runs[1] as TaskRun, 'production'));
      assert.equal(fixFor(runs[0] as TaskRun, 'staging'), fixFor(runs[1] as TaskRun, 'staging'));
    });
  });

  it('warns, naming both inputs, when slotNames is set but targets is not slots', async () => {
    const emu = await start(join(scenarios, 'default.json'));
    const run = await runFederated(emu, { ...INPUTS, ...FAST, slotNames: 'staging', dryRun: 'true' });
    assert.equal(run.result, 'Succeeded', run.message);
    assert.ok(
      run.warnings.some((w) =>
        /Input 'slotNames' is set to 'staging' but is ignored, because 'targets' is 'all'/.test(w),
      ),
      run.warnings.join('\n'),
    );
  });

  it('counts the identities turned on before RoleAssignmentForbidden: changeCount, principalIds, Apply and the summary', async () => {
    const emu = await start(join(scenarios, 'no-role-rights.json'));
    const run = await runFederated(emu, { ...INPUTS, ...FAST, enableIdentityWithoutRoleRights: 'true' });
    assert.equal(run.result, 'Failed', run.message);
    assert.match(run.message, /\(RoleAssignmentForbidden\)/);
    const patches = emu.writes().filter((w) => w.method === 'PATCH' && w.status < 300);
    assert.equal(patches.length, 3, 'three identity PATCHes');
    assert.equal(run.outputs.changeCount, '3');
    const principals = JSON.parse(run.outputs.principalIds ?? '{}');
    assert.deepEqual(Object.keys(principals).sort(), ['production', 'qa', 'staging']);
    for (const app of emu.state.apps)
      assert.equal(principals[app.slot ?? 'production'], app.identity.principalId);
    assert.match(
      run.summary ?? '',
      /### Actions taken[\s\S]*Turn on the system-assigned identity of production/,
    );
    assert.match(
      run.stdout,
      /\[production\] Turn on the system-assigned identity of production\. → principal /,
    );
  });

  describe('a restart is sent once', () => {
    const configured = async () => {
      const emu = await start(join(scenarios, 'default.json'));
      const first = await runFederated(emu, { ...INPUTS, ...FAST });
      assert.equal(first.result, 'Succeeded', first.message);
      return emu;
    };

    it('is not repeated after an answer that may have come after the restart (500)', async () => {
      const emu = await configured();
      emu.setFaults([{ method: 'POST', path: 'sites/contoso-web/restart', status: 500, times: 1 }]);
      const mark = emu.requests().length;
      const run = await runFederated(emu, {
        ...INPUTS,
        pollIntervalSeconds: '0.5',
        timeoutMinutes: '0.1',
        restart: 'always',
      });
      const production = restartPosts(emu, mark).filter((r) => /sites\/contoso-web\/restart$/.test(r.path));
      assert.equal(production.length, 1, 'one restart POST for production, not retried');
      assert.match(
        run.stdout,
        /production: the restart request failed \(HTTP 500 .*\); not sent again, following the log/,
      );
    });

    it('is repeated when Azure declined it with 503 and Retry-After (it never ran)', async () => {
      const emu = await configured();
      emu.setFaults([
        {
          method: 'POST',
          path: 'sites/contoso-web/restart',
          status: 503,
          headers: { 'retry-after': '1' },
          times: 1,
        },
      ]);
      const mark = emu.requests().length;
      const run = await runFederated(emu, { ...INPUTS, ...FAST, restart: 'always' });
      assert.equal(run.result, 'Succeeded', run.message);
      const production = restartPosts(emu, mark).filter((r) => /sites\/contoso-web\/restart$/.test(r.path));
      assert.deepEqual(
        production.map((r) => r.status),
        [503, 200],
      );
    });
  });

  it('follows eleven targets at once without a MaxListenersExceededWarning', async () => {
    const slots = Array.from({ length: 10 }, (_, i) => `s${i + 1}`);
    const emu = await start(
      { ...baseScenario({ slots, delays: { roleAssignmentPropagationSeconds: 5 } }), timeScale: 30 },
      30,
    );
    // In process the run's warnings are this process's: watch them (a spawned bundle prints them on its stderr).
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const run = await runFederated(emu, { ...INPUTS, ...FAST });
      await new Promise((r) => setImmediate(r)); // process warnings are emitted on a later tick
      assert.equal(run.result, 'Succeeded', run.message);
      assert.equal(Object.keys(results(run)).length, 11);
      assert.doesNotMatch(run.stderr, /MaxListenersExceededWarning/);
      assert.deepEqual(
        warnings.filter((w) => /MaxListenersExceeded/.test(w)),
        [],
        'no listener leak on a shared signal or emitter',
      );
    } finally {
      process.off('warning', onWarning);
    }
    void loadScenario;
  });
});
