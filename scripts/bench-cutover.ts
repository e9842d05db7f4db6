/**
 * The live-cutover rows of `npm run bench` (issue 24): an app and two slots that serve today with the registry
 * admin user, 3 instances each (holding local copies), a grant that takes 240 s to take effect. The built task runs
 * against the emulator at time scale 30; every time below is emulated seconds (the emulator's clock), every
 * availability figure comes from the harness's downtime probe (tests/harness/downtime.ts). A second run has a grant
 * that never takes effect: everything must keep serving and the first target be put back.
 */

import { startEmulator } from '../tests/emulator/index';
import type { Scenario } from '../tests/emulator/model';
import type { TargetAvailability } from '../tests/harness/downtime';
import { runScenario } from '../tests/harness/scenario-runs';
import { type CutoverFigures, cutoverRows } from './bench-budget';

export type { CutoverFigures };

const TIME_SCALE = 30;
const POLL_SECONDS = 1;
const PROPAGATION_SECONDS = 240;

export function liveCutoverScenario(propagationSeconds: number): Scenario {
  return {
    name: 'bench-live-cutover',
    timeScale: TIME_SCALE,
    resourceGroups: [{ name: 'rg-web', location: 'westeurope' }],
    sites: [
      {
        name: 'contoso-web',
        resourceGroup: 'rg-web',
        platform: 'linux',
        image: 'contosoacr.azurecr.io/web:1.0.0',
        slots: ['staging', 'qa'],
        instances: 3,
        localCopy: true,
        appSettings: {
          DOCKER_REGISTRY_SERVER_URL: 'https://contosoacr.azurecr.io',
          DOCKER_REGISTRY_SERVER_USERNAME: 'contosoacr',
          DOCKER_REGISTRY_SERVER_PASSWORD: 'current-password-1',
        },
      },
    ],
    registries: [
      {
        name: 'contosoacr',
        resourceGroup: 'rg-web',
        repositories: { web: ['1.0.0'] },
        adminUserEnabled: true,
        adminPasswords: ['current-password-1'],
      },
    ],
    delays: {
      roleAssignmentPropagationSeconds: propagationSeconds,
      directoryReplicationSeconds: 20,
      pullSeconds: 8,
      containerStartSeconds: 6,
      startDelaySeconds: 5,
    },
    inputs: { appName: 'contoso-web', resourceGroupName: 'rg-web', targets: 'all', identityType: 'system' },
  } as Scenario;
}

export async function measureCutover(propagationSeconds = PROPAGATION_SECONDS): Promise<CutoverFigures> {
  const scenario = liveCutoverScenario(propagationSeconds);
  const emulator = await startEmulator({ scenario, timeScale: TIME_SCALE });
  try {
    const verifiedAt: Record<string, number> = {};
    const [run] = await runScenario(emulator, scenario, {
      overrides: { pollIntervalSeconds: String(POLL_SECONDS), timeoutMinutes: '1.5' },
      onStdoutLine: (line) => {
        const m = /^(production|staging|qa): verified/.exec(line);
        if (m?.[1] && verifiedAt[m[1]] === undefined) verifiedAt[m[1]] = emulator.now();
      },
    });
    if (!run) throw new Error('bench: the cutover run did not run');
    const state = emulator.state;
    const label = (slot: string | undefined) => slot ?? 'production';
    const firstWrite = emulator.requests().find((r) => r.host === 'arm' && r.write)?.at;
    const production = state.apps.find((a) => !a.slot);
    const grant = state.roleAssignments.find(
      (g) => production?.identity.principalId && g.principalId === production.identity.principalId,
    );
    const effectiveAt = grant ? grant.createdAt + propagationSeconds * 1000 : undefined;
    const verified = verifiedAt.production;
    const availability = run.availability ?? {};
    const pick = (f: (a: TargetAvailability) => number) =>
      Object.fromEntries(Object.entries(availability).map(([k, a]) => [k, f(a)]));
    const results = JSON.parse(run.task.outputs.targetResults ?? '{}') as Record<string, { outcome: string }>;
    return {
      downtimeSeconds: pick((a) => a.downtimeSeconds),
      restartGapSeconds: pick((a) => a.restartGapSeconds),
      restarts: Object.fromEntries(state.apps.map((a) => [label(a.slot), a.runtime.restarts])),
      firstWriteToProductionVerifiedSeconds:
        firstWrite !== undefined && verified !== undefined
          ? Math.round((verified - firstWrite) / 1000)
          : undefined,
      grantEffectiveToVerifiedSeconds:
        effectiveAt !== undefined && verified !== undefined
          ? Math.round((verified - effectiveAt) / 1000)
          : undefined,
      floorSeconds:
        POLL_SECONDS * TIME_SCALE +
        (scenario.delays?.pullSeconds ?? 0) +
        (scenario.delays?.containerStartSeconds ?? 0),
      outcomes: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.outcome])),
      result: run.task.result,
    };
  } finally {
    await emulator.close();
  }
}

/** `npx tsx scripts/bench-cutover.ts`: only these rows. */
if (require.main === module) {
  (async () => {
    const live = await measureCutover();
    const never = await measureCutover(10_000_000);
    for (const r of cutoverRows(live, never))
      console.log(
        `| ${r.figure} | ${r.value} | ${r.target} | ${r.pass === undefined ? '—' : r.pass ? 'pass' : 'FAIL'} |`,
      );
    process.exit(0);
  })().catch((e: unknown) => {
    console.error(e);
    process.exit(2);
  });
}
