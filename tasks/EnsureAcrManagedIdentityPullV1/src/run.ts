/**
 * The task's story, phase by phase: observe -> plan -> (dry run stops here) -> apply -> verify. Each phase is one
 * collapsible log group with one line per step and target. Returns a RunReport; deciding the pipeline result,
 * output variables and the summary from it is `report.ts`'s job, so this file never touches the agent.
 */
import { grantsPull, type RoleAssignment } from './arm/role-assignments';
import { scmHostName } from './arm/web-apps';
import { type Applied, apply, describePlan } from './configure/apply';
import { type Observed, type ObservedTarget, observe } from './configure/observe';
import { type Plan, plan } from './configure/plan';
import type { RunContext } from './context';
import { isCancelledError, isTaskError, TaskError } from './errors';
import { QUESTIONS_URL } from './help';
import { neutralise } from './log';
import { causeLessFactsOf, imageCheckLines, missingImageVerdict, stoppedResults } from './registry/preflight';
import { type VerifyResult, type VerifyTarget, verifyTargets } from './verify/verify';

export type Phase = 'observe' | 'plan' | 'apply' | 'verify';

export interface RunReport {
  readonly observed?: Observed;
  readonly plan?: Plan;
  readonly applied?: Applied;
  readonly verify: readonly VerifyResult[];
  /** The phase that threw, when one did. */
  readonly failedIn?: Phase;
  /** A TaskError (or cancellation) that stopped the run. */
  readonly error?: unknown;
  readonly dryRun: boolean;
}

export interface RunOptions {
  /** Registers values the agent must mask (Kudu publishing passwords). */
  readonly setSecret: (value: string) => void;
}

export async function run(ctx: RunContext, options: RunOptions): Promise<RunReport> {
  const { log, settings } = ctx;
  const report: { -readonly [K in keyof RunReport]: RunReport[K] } = { verify: [], dryRun: settings.dryRun };
  let phase: Phase = 'observe';
  try {
    log.group(`Observe ${settings.appName}`);
    report.observed = await observe(ctx);
    describeObserved(ctx, report.observed);
    const checkLines = imageCheckLines(report.observed.imageCheck, settings.checkImage);
    for (const line of checkLines.info) log.info(neutralise(line));
    log.endGroup();
    if (checkLines.warning) log.warn(neutralise(checkLines.warning));

    phase = 'plan';
    log.group(settings.dryRun ? 'Plan (dry run: nothing will be changed)' : 'Plan');
    report.plan = plan(report.observed, settings);
    for (const line of describePlan(report.plan)) log.info(line);
    // A missing image stops the run here, before any write or restart (src/registry/preflight.ts).
    const missing = missingImageVerdict(report.observed.imageCheck, report.plan.steps, {
      verify: settings.verify.kind === 'on',
      dryRun: settings.dryRun,
    });
    if (missing.warning) log.warn(neutralise(missing.warning));
    if (missing.error) {
      report.verify = stoppedResults(
        report.observed.targets.map((t) => t.target),
        missing,
      );
      for (const r of report.verify.filter((v) => v.outcome === 'pull_failed'))
        log.info(`${r.target.label}: pull_failed (not_found) before any restart: ${neutralise(r.summary)}`);
      throw missing.error;
    }
    log.endGroup();
    for (const w of report.plan.warnings)
      log.warn(`${w.target ? `[${w.target}] ` : ''}${w.message} Fix: ${w.fix}`);
    if (settings.dryRun) return report;

    phase = 'apply';
    log.group('Apply');
    if (report.plan.steps.length === 0) log.info('Nothing to change: a re-run writes nothing.');
    report.applied = await apply(ctx, report.plan, report.observed);
    for (const s of report.applied.steps) log.info(`[${s.step.target}] ${s.step.what} → ${s.result}`);
    log.endGroup();

    phase = 'verify';
    if (settings.verify.kind === 'on') {
      log.group('Verify the pull');
      report.verify = await verifyTargets(
        ctx,
        verifyTargetsOf(report.observed, report.applied, ctx.clock.now()),
        options,
      );
      // Each target's verdict was logged the moment it was known; here, the log lines that decided it.
      for (const r of report.verify.filter((v) => v.evidence.length > 0)) {
        log.info(`[${r.target.label}] ${r.outcome}, decided by:`);
        for (const line of r.evidence) log.info(`    | ${neutralise(line)}`);
      }
      log.endGroup();
    }
  } catch (e: unknown) {
    log.endGroup();
    report.failedIn = phase;
    report.error = e;
    if (!isTaskError(e) && !isCancelledError(e)) throw e;
  }
  return report;
}

function describeObserved(ctx: RunContext, o: Observed): void {
  const { log } = ctx;
  log.info(
    `App ${o.app.name} in resource group ${o.app.resourceGroup} (subscription ${o.app.subscriptionId}).`,
  );
  log.info(
    `Registry ${o.registry.loginServer} (${o.registry.abac ? 'ABAC repository permissions' : 'RBAC'}), ${o.registry.source === 'input' ? 'as given' : "from the apps' images"}: ${o.registry.id}`,
  );
  for (const t of o.targets) {
    const identity = t.site.identity?.type ?? 'None';
    const flag = t.sidecar
      ? 'sidecar containers'
      : `acrUseManagedIdentityCreds=${t.config.acrUseManagedIdentityCreds === true}`;
    log.info(
      `[${t.target.label}] ${t.os}, image ${t.images.join(', ') || '(none)'}, identity ${identity}, ${flag}`,
    );
  }
}

/**
 * What verification needs per target. A target whose configuration was just written restarts by itself; a
 * second, explicit restart right after it can interrupt the pull (docs/azure-behaviour.md#restart-races), so we
 * only follow those.
 */
function verifyTargetsOf(observed: Observed, applied: Applied, nowMs: number): VerifyTarget[] {
  const restartedByWrite = new Set(
    applied.steps
      .filter((s) => ['setAcrFlags', 'setSidecarAuth', 'removeRegistryCredentials'].includes(s.step.kind))
      .map((s) => s.step.target),
  );
  return observed.targets.map((t) => ({
    target: t.target,
    image: mainImage(t),
    defaultHostName: t.site.properties?.defaultHostName ?? '',
    scmHostName: scmHostName(t.site),
    restartNeeded: !restartedByWrite.has(t.target.label),
    causeLess: causeLessFactsOf(observed, applied, t, mainImage(t), nowMs),
  }));
}

function mainImage(t: ObservedTarget): string {
  if (t.sidecar) {
    const main = t.containers.find((c) => c.properties?.isMain);
    if (main?.properties?.image) return main.properties.image;
  }
  return t.images[0] ?? '';
}

/** The scope of the grant each target pulls with after the run (for the summary). */
export function grantScopeOf(report: RunReport, principalId: string | undefined): string | undefined {
  const { observed, plan: p, applied } = report;
  if (!observed || !principalId) return undefined;
  const existing = (observed.roleAssignments ?? []).find(
    (a: RoleAssignment) =>
      a.properties.principalId === principalId && grantsPull(a, observed.registry.id, observed.registry.abac),
  );
  if (existing) return existing.properties.scope;
  const granted = applied?.steps.some(
    (s) => s.step.kind === 'assignRole' && s.step.scope === observed.registry.id,
  );
  return granted || p?.steps.some((s) => s.kind === 'assignRole') ? observed.registry.id : undefined;
}

/** Wraps an unexpected non-TaskError so the caller still reports one clear message. */
export function unexpected(e: unknown, phase: Phase | undefined): TaskError {
  return new TaskError(
    'Unexpected',
    `The task failed unexpectedly${phase ? ` while it tried to ${phase}` : ''}: ${neutralise(e instanceof Error ? e.message : String(e), 500)}`,
    {
      remedy: `Re-run the task with system.debug=true and report it with the debug log (it contains no secrets) at ${QUESTIONS_URL}`,
      cause: e,
    },
  );
}
