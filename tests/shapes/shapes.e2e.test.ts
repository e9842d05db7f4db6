/**
 * The pipeline shapes people use (issue #26), end to end: the built task against the emulator, each shape as a
 * scenario whose events play the other pipeline steps (the deploy step's config/web write, a slot swap), and each
 * case asserting the outcome and the emulator's final state.
 */
import assert from 'node:assert/strict';
import { type Emulator, type EmulatorState, startEmulator } from '../emulator/index';
import type { Scenario } from '../emulator/model';
import { baseScenario } from '../emulator/scenario';
import { runScenario, type ScenarioRun } from '../harness/scenario-runs';

const FAST = { pollIntervalSeconds: '0.5', timeoutMinutes: '1' };
const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';
const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const LOGIN = 'contosoacr.azurecr.io';

const app = (s: EmulatorState, slot?: string) => {
  const a = s.apps.find((x) => (slot ? x.slot === slot : !x.slot));
  assert.ok(a, `app ${slot ?? 'production'}`);
  return a;
};
const grantsOf = (s: EmulatorState, principalId: string | undefined, role: string) =>
  s.roleAssignments.filter(
    (g) => !!principalId && g.principalId === principalId && g.roleDefinitionId.toLowerCase().endsWith(role),
  );
const outcomes = (r: ScenarioRun) =>
  Object.fromEntries(
    Object.entries(
      JSON.parse(r.task.outputs.targetResults ?? '{}') as Record<string, { outcome: string }>,
    ).map(([k, v]) => [k, v.outcome]),
  );
const said = (r: ScenarioRun) => `${r.task.message}\n${r.task.stdout.slice(-4000)}`;

/** Production on contosoacr; staging runs web:2.0.0 from a second registry, stagingacr (another group). */
function secondRegistry(): Scenario {
  const s = baseScenario({ slots: ['staging'] });
  s.resourceGroups = [...(s.resourceGroups ?? []), { name: 'rg-staging', location: 'westeurope' }];
  s.registries = [
    ...(s.registries ?? []),
    { name: 'stagingacr', resourceGroup: 'rg-staging', repositories: { web: ['2.0.0'] } },
  ];
  const site = s.sites?.[0];
  assert.ok(site);
  site.slotOverrides = { staging: { image: 'stagingacr.azurecr.io/web:2.0.0' } };
  return s;
}

interface Shape {
  scenario: () => Scenario;
  check: (runs: ScenarioRun[], state: EmulatorState) => void;
}

const shapes: Record<string, Shape> = {
  'before the deploy with a purged current tag: warns, writes only identity and grant; after it, verifies the new tag':
    {
      scenario: () => {
        const s = baseScenario({ registryTags: ['2.0.0'] }); // 1.0.0, which the app runs, was purged
        s.runs = [{ inputs: { placement: 'beforeDeploy' } }, { inputs: { placement: 'afterDeploy' } }];
        s.events = [
          // AzureWebAppContainer@1: the new image and its configurationStrings in one config/web PATCH.
          {
            beforeRun: 2,
            kind: 'setSiteConfig',
            target: 'contoso-web',
            siteConfig: { linuxFxVersion: `DOCKER|${LOGIN}/web:2.0.0`, acrUseManagedIdentityCreds: true },
          },
        ];
        return s;
      },
      check: ([before, after], state) => {
        assert.ok(before && after);
        assert.equal(before.task.result, 'SucceededWithIssues', said(before));
        assert.ok(
          before.task.warnings.some((w) => /no longer exists/.test(w) && /placement: afterDeploy/.test(w)),
          before.task.warnings.join('\n'),
        );
        assert.equal(outcomes(before).production, 'unverified');
        assert.match(before.task.outputs.configurationStrings ?? '', /^-acrUseManagedIdentityCreds true$/);
        assert.equal(after.task.result, 'Succeeded', said(after));
        assert.equal(outcomes(after).production, 'verified');
        const prod = app(state);
        assert.equal(prod.identity.type, 'SystemAssigned', 'the identity was written before the deploy');
        assert.equal(grantsOf(state, prod.identity.principalId, ACR_PULL).length, 1, 'and the grant');
        assert.equal(prod.runtime.runningImage, `${LOGIN}/web:2.0.0`);
        assert.equal(prod.siteConfig.acrUseManagedIdentityCreds, true);
      },
    },

  'before the deploy with a purged tag, the run writes no config/web (the tag-dependent change is left to the deploy)':
    {
      scenario: () => {
        const s = baseScenario({ registryTags: ['2.0.0'] });
        s.runs = [{ inputs: { placement: 'beforeDeploy' } }];
        return s;
      },
      check: ([run], state) => {
        assert.ok(run);
        assert.equal(run.task.result, 'SucceededWithIssues', said(run));
        assert.equal(
          app(state).siteConfig.acrUseManagedIdentityCreds,
          false,
          'no flag write before the deploy',
        );
        assert.equal(run.writes, 2, 'identity PATCH and grant PUT only');
      },
    },

  'deploy to staging, verify staging, swap (an event), verify production': {
    scenario: () => {
      const s = baseScenario({ slots: ['staging'], registryTags: ['1.0.0', '2.0.0'] });
      s.runs = [
        {},
        { inputs: { targets: 'slots', slotNames: 'staging', placement: 'afterDeploy' } },
        { inputs: { targets: 'production' } },
      ];
      s.events = [
        {
          beforeRun: 2,
          kind: 'setSiteConfig',
          target: 'contoso-web/staging',
          siteConfig: { linuxFxVersion: `DOCKER|${LOGIN}/web:2.0.0`, acrUseManagedIdentityCreds: true },
        },
        { beforeRun: 3, kind: 'swapSlots', source: 'staging', target: 'production' },
      ];
      return s;
    },
    check: (runs, state) => {
      for (const r of runs) assert.equal(r.task.result, 'Succeeded', said(r));
      assert.equal(outcomes(runs[1] as ScenarioRun).staging, 'verified');
      assert.equal(outcomes(runs[2] as ScenarioRun).production, 'verified');
      const prod = app(state);
      assert.equal(prod.runtime.runningImage, `${LOGIN}/web:2.0.0`, 'production runs the swapped-in image');
      assert.equal(prod.siteConfig.acrUseManagedIdentityCreds, true, "production's own flag stayed");
      assert.ok((runs[2] as ScenarioRun).restarts >= 1, 'the proof is a pull with production’s identity');
      assert.equal(app(state, 'staging').runtime.runningImage, `${LOGIN}/web:1.0.0`);
    },
  },

  'staging runs an image from a second registry: production is granted on it before the swap, then verified after it':
    {
      scenario: () => {
        const s = secondRegistry();
        s.runs = [{}, { inputs: { targets: 'production' } }];
        s.events = [{ beforeRun: 2, kind: 'swapSlots', source: 'staging', target: 'production' }];
        return s;
      },
      check: ([before, after], state) => {
        assert.ok(before && after);
        assert.equal(before.task.result, 'Succeeded', said(before));
        assert.match(
          before.task.stdout,
          /Grant AcrPull on registry stagingacr to the system identity of production/,
        );
        assert.match(
          before.task.stdout,
          /A slot swap can bring stagingacr\.azurecr\.io\/web:2\.0\.0 \(staging\)/,
        );
        const stagingAcr = state.registries.find((r) => r.name === 'stagingacr');
        const prod = app(state);
        assert.ok(
          grantsOf(state, prod.identity.principalId, ACR_PULL).some((g) => g.scope === stagingAcr?.id),
          'production can pull what the swap brings',
        );
        assert.equal(after.task.result, 'Succeeded', said(after));
        assert.equal(outcomes(after).production, 'verified');
        assert.equal(prod.runtime.runningImage, 'stagingacr.azurecr.io/web:2.0.0');
      },
    },

  'a second registry the connection may not grant on: the gap is named before the swap, nothing else fails': {
    scenario: () => {
      const s = secondRegistry();
      const site = s.sites?.[0];
      assert.ok(site);
      site.slotOverrides = {
        staging: {
          ...site.slotOverrides?.staging,
          identity: { type: 'SystemAssigned' },
          acrUseManagedIdentityCreds: true,
        },
      };
      s.roleAssignments = [
        { principal: 'site:contoso-web/staging', role: 'AcrPull', scope: 'registry:stagingacr' },
      ];
      s.caller = {
        roles: [
          { role: 'Owner', scope: 'rg:rg-web' },
          { role: 'Reader', scope: 'rg:rg-staging' },
        ],
      };
      return s;
    },
    check: ([run], state) => {
      assert.ok(run);
      assert.equal(run.task.result, 'Succeeded', said(run));
      const w = run.task.warnings.find((x) => /cannot pull from stagingacr\.azurecr\.io/.test(x));
      assert.ok(w, run.task.warnings.join('\n'));
      assert.match(w, /system identity of production/);
      assert.match(
        w,
        /az role assignment create --assignee-object-id <production's principalId, in this run's principalIds output> .*--scope \/subscriptions\/.*\/registries\/stagingacr/,
      );
      const stagingAcr = state.registries.find((r) => r.name === 'stagingacr');
      assert.equal(
        grantsOf(state, app(state).identity.principalId, ACR_PULL).filter((g) => g.scope === stagingAcr?.id)
          .length,
        0,
      );
    },
  },

  'a sidecar app whose staging slot pulls from a second registry: that container pulls with the identity too':
    {
      scenario: () => {
        const s = secondRegistry();
        const site = s.sites?.[0];
        assert.ok(site);
        site.platform = 'sidecar';
        return s;
      },
      check: ([run], state) => {
        assert.ok(run);
        assert.equal(run.task.result, 'Succeeded', said(run));
        const main = app(state, 'staging').siteContainers.find((c) => c.isMain);
        assert.equal(main?.image, 'stagingacr.azurecr.io/web:2.0.0');
        assert.equal(main?.authType, 'SystemIdentity');
        assert.deepEqual(outcomes(run), { production: 'verified', staging: 'verified' });
      },
    },

  'a Contributor grant on the registry: warned with the narrowing commands, kept': {
    scenario: () => {
      const s = baseScenario();
      const site = s.sites?.[0];
      assert.ok(site);
      site.identity = { type: 'SystemAssigned' };
      site.acrUseManagedIdentityCreds = true;
      s.roleAssignments = [
        { principal: 'site:contoso-web', role: 'Contributor', scope: 'registry:contosoacr' },
      ];
      return s;
    },
    check: ([run], state) => {
      assert.ok(run);
      assert.equal(run.task.result, 'Succeeded', said(run));
      const w = run.task.warnings.find((x) => /holds Contributor/.test(x));
      assert.ok(w, run.task.warnings.join('\n'));
      assert.match(w, /az role assignment create .*--role "AcrPull".*&& az role assignment delete --ids /);
      const principal = app(state).identity.principalId;
      assert.equal(grantsOf(state, principal, CONTRIBUTOR).length, 1, 'the task never removes a grant');
      assert.equal(grantsOf(state, principal, ACR_PULL).length, 0, 'nor adds one: Contributor pulls today');
      assert.equal(run.writes - run.restarts, 0, 'nothing but (at most) the restart that proves the pull');
    },
  },

  'a function app on containers (kind functionapp,linux,container) with a slot': {
    scenario: () => {
      const s = baseScenario({ slots: ['staging'] });
      const site = s.sites?.[0];
      assert.ok(site);
      site.hosting = 'functionApp';
      return s;
    },
    check: ([run], state) => {
      assert.ok(run);
      assert.equal(run.task.result, 'Succeeded', said(run));
      assert.deepEqual(outcomes(run), { production: 'verified', staging: 'verified' });
      for (const slot of [undefined, 'staging']) {
        const a = app(state, slot);
        assert.equal(a.siteConfig.acrUseManagedIdentityCreds, true);
        assert.equal(grantsOf(state, a.identity.principalId, ACR_PULL).length, 1);
      }
    },
  },

  'Functions on Azure Container Apps: refused before any write, with the reason and the alternative': {
    scenario: () => {
      const s = baseScenario();
      const site = s.sites?.[0];
      assert.ok(site);
      site.managedEnvironmentId =
        '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-web/providers/Microsoft.App/managedEnvironments/env';
      return s;
    },
    check: ([run], state) => {
      assert.ok(run);
      assert.equal(run.task.result, 'Failed');
      assert.match(run.task.message, /HostingNotSupported/);
      assert.match(run.task.message, /az functionapp config container set/);
      assert.equal(run.writes, 0);
      assert.equal(app(state).identity.type, 'None');
    },
  },

  'a slot created from a configuration source (flag copied, no identity) is fixed': {
    scenario: () => {
      const s = baseScenario({ slots: ['staging'] });
      const site = s.sites?.[0];
      assert.ok(site);
      site.identity = { type: 'SystemAssigned' };
      site.acrUseManagedIdentityCreds = true;
      site.slotOverrides = { staging: { identity: { type: 'None' }, acrUseManagedIdentityCreds: true } };
      s.roleAssignments = [{ principal: 'site:contoso-web', role: 'AcrPull', scope: 'registry:contosoacr' }];
      return s;
    },
    check: ([run], state) => {
      assert.ok(run);
      assert.equal(run.task.result, 'Succeeded', said(run));
      assert.ok(
        run.task.warnings.some((w) => /staging is set to pull with its system identity/.test(w)),
        run.task.warnings.join('\n'),
      );
      const staging = app(state, 'staging');
      assert.equal(staging.identity.type, 'SystemAssigned');
      assert.equal(grantsOf(state, staging.identity.principalId, ACR_PULL).length, 1);
      assert.equal(outcomes(run).staging, 'verified');
    },
  },
};

describe('pipeline shapes, end to end on the emulator (#26)', function () {
  this.timeout(240_000);
  for (const [name, shape] of Object.entries(shapes)) {
    it(name, async () => {
      const scenario = { ...shape.scenario(), timeScale: 30 };
      let emulator: Emulator | undefined;
      try {
        emulator = await startEmulator({ scenario, timeScale: 30 });
        const runs = await runScenario(emulator, scenario, { overrides: FAST });
        // The task ends once the pull is proven; let the container start it began play out before the state is read
        // (the emulator replays what is due only when asked).
        emulator.advanceClock(60);
        shape.check(runs, emulator.state);
      } finally {
        await emulator?.close();
      }
    });
  }
});
