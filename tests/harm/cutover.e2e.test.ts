/**
 * Issue 24: the first switch of a live app. Each scenario in tests/emulator/scenarios/cutover/ runs through the
 * built task on the emulator, with the harness's downtime probe (tests/harness/downtime.ts: every target's site,
 * once per emulated second). Every one asserts the final state, the downtime figure and the outcome, and that
 * production's platform log shows no failed pull during the run.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type App, type EmulatorState, loadScenario, startEmulator } from '../emulator/index';
import { runScenario, type ScenarioRun } from '../harness/scenario-runs';

const dir = join(__dirname, '..', 'emulator', 'scenarios', 'cutover');

interface Story {
  run: ScenarioRun;
  state: EmulatorState;
}

interface Case {
  file: string;
  result: 'Succeeded' | 'SucceededWithIssues' | 'Failed';
  /** Per target label: the outcome in targetResults. */
  outcomes: Record<string, string>;
  check?: (story: Story) => void;
  inputs?: Record<string, string>;
}

const app = (state: EmulatorState, slot?: string): App => {
  const found = state.apps.find((a) => (slot ? a.slot === slot : !a.slot));
  assert.ok(found, `app ${slot ?? 'production'}`);
  return found;
};
const hasPassword = (a: App) => a.appSettings.DOCKER_REGISTRY_SERVER_PASSWORD !== undefined;
const targetResults = (s: Story) =>
  JSON.parse(s.run.task.outputs.targetResults ?? '{}') as Record<string, { outcome: string }>;

const cases: Case[] = [
  {
    file: 'admin-credentials.json',
    result: 'Succeeded',
    outcomes: { production: 'verified', staging: 'verified' },
    check: ({ run, state }) => {
      for (const a of [app(state), app(state, 'staging')]) {
        assert.equal(a.siteConfig.acrUseManagedIdentityCreds, true);
        assert.ok(hasPassword(a), 'credentials kept (removeRegistryCredentials is off)');
      }
      assert.match(run.task.stdout, /Cutover/);
    },
  },
  {
    file: 'proof-from-new-slot.json',
    result: 'Succeeded',
    outcomes: { production: 'verified', staging: 'verified', qa: 'verified' },
    check: ({ run }) => {
      assert.match(
        run.task.stdout,
        /\[staging\] Switching to the managed identity: qa proved a fresh identity pull/,
      );
      assert.doesNotMatch(run.task.stdout, /grant is 10 minutes old \(the bound/, 'no wait for the bound');
    },
  },
  {
    file: 'user-assigned-remove-credentials.json',
    result: 'Succeeded',
    outcomes: { production: 'verified', staging: 'verified' },
    check: ({ state }) => {
      for (const a of [app(state), app(state, 'staging')]) {
        assert.equal(a.siteConfig.acrUseManagedIdentityCreds, true);
        assert.equal(hasPassword(a), false, 'credentials removed after the proof');
      }
    },
  },
  {
    file: 'grant-never-effective.json',
    result: 'Failed',
    outcomes: { production: 'not_switched', staging: 'put_back' },
    check: ({ run, state }) => {
      for (const a of [app(state), app(state, 'staging')]) {
        assert.equal(a.siteConfig.acrUseManagedIdentityCreds, false, 'back on the password');
        assert.ok(hasPassword(a), 'credentials kept');
        assert.equal(a.runtime.servingImage, 'contosoacr.azurecr.io/web:1.0.0', 'still serving');
      }
      assert.match(run.task.message, /SwitchPutBack/);
    },
  },
  {
    file: 'scale-out.json',
    result: 'Succeeded',
    outcomes: { production: 'verified', staging: 'verified' },
    check: ({ state }) => {
      assert.equal(app(state).instances.length, 4, 'production scaled out during the wait');
      assert.equal(app(state, 'staging').instances.length, 4, 'staging scaled out during its switch');
      for (const a of [app(state), app(state, 'staging')])
        assert.equal(a.siteConfig.acrUseManagedIdentityCreds, true);
    },
  },
  {
    file: 'placeholder-image.json',
    result: 'SucceededWithIssues',
    outcomes: { production: 'not_proven', staging: 'not_proven' },
    check: ({ run }) => {
      assert.doesNotMatch(run.task.stdout, /Set the registry input to mcr\.microsoft\.com/);
      assert.match(run.task.summary ?? '', /proves nothing about the managed identity/);
      assert.match(run.task.summary ?? '', /then run this task after the deploy/);
    },
  },
  {
    file: 'stale-password.json',
    result: 'Succeeded',
    outcomes: { production: 'verified', staging: 'verified' },
    check: ({ run, state }) => {
      assert.doesNotMatch(run.task.stdout, /Cutover/, 'nothing serves today: the fast path');
      for (const a of [app(state), app(state, 'staging')]) assert.equal(hasPassword(a), false);
    },
  },
];

describe('live cutover (issue 24): no outage, proof before production, a way back', function () {
  this.timeout(240_000);

  it('dryRun shows the sequence, the wait and the fallback, and what restart: never means; writes nothing', async () => {
    const scenario = loadScenario(join(dir, 'admin-credentials.json'));
    const emulator = await startEmulator({ scenario });
    try {
      const [run] = await runScenario(emulator, scenario, {
        overrides: { dryRun: 'true', restart: 'never', pollIntervalSeconds: '0.5' },
      });
      assert.ok(run);
      assert.equal(run.task.result, 'Succeeded', run.task.message);
      assert.equal(run.writes, 0);
      const out = run.task.stdout;
      assert.match(out, /Cutover of 2 target\(s\) that serve today with a registry password/);
      assert.match(out, /1\. \[staging\].*once its grant is 10 minutes old/);
      assert.match(out, /2\. \[production\]/);
      assert.match(out, /put back acrUseManagedIdentityCreds=false/);
      assert.match(
        out,
        /the task sends no restart; App Service restarts a target whenever its settings are written/,
      );
      for (const a of emulator.state.apps) assert.equal(a.siteConfig.acrUseManagedIdentityCreds, false);
    } finally {
      await emulator.close();
    }
  });

  for (const c of cases) {
    it(`${c.file}: ${c.result}, downtime 0, no failed pull in production's log`, async () => {
      const scenario = loadScenario(join(dir, c.file));
      const emulator = await startEmulator({ scenario });
      let story: Story;
      try {
        const [run] = await runScenario(emulator, scenario, {
          overrides: { pollIntervalSeconds: '0.5', timeoutMinutes: '1.5', ...c.inputs },
        });
        assert.ok(run);
        story = { run, state: emulator.state };
      } finally {
        await emulator.close();
      }
      const { run } = story;
      assert.equal(run.task.result, c.result, `${run.task.message}\n${run.task.stdout.slice(-3000)}`);
      const availability = run.availability ?? {};
      for (const [label, a] of Object.entries(availability))
        assert.equal(a.downtimeSeconds, 0, `${label}: downtime ${JSON.stringify(a)}`);
      assert.equal(availability.production?.failedPullLines, 0, "no failed pull in production's log");
      const results = targetResults(story);
      for (const [label, outcome] of Object.entries(c.outcomes))
        assert.equal(results[label]?.outcome, outcome, `${label}: ${JSON.stringify(results[label])}`);
      c.check?.(story);
    });
  }
});
