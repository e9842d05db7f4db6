/**
 * The task's story, phase by phase: observe -> plan -> (dry run stops here) -> apply -> verify. Each phase is one
 * collapsible log group with one line per step and target. Returns a RunReport; deciding the pipeline result,
 * output variables and the summary from it is `report.ts`'s job, so this file never touches the agent.
 */
import { grantsPull } from './arm/role-assignments';
import {
  type Applied,
  type ApplyProgress,
  appliedOf,
  apply,
  describePlan,
  startApply,
} from './configure/apply';
import { registryHostOf } from './configure/images';
import { type Observed, type ObservedTarget, observe } from './configure/observe';
import { deferToDeploy } from './configure/placement';
import {
  type BlockingPlanWarning,
  isBlocking,
  type Plan,
  type PlanWarning,
  plan,
  type Step,
} from './configure/plan';
import type { RunContext } from './context';
import { runCutover } from './cutover/cutover';
import { describeCutover, type HeldTarget } from './cutover/plan';
import { observeServing } from './cutover/serving';
import type { TaskPhase } from './error-codes';
import { TaskError } from './errors';
import type { GrantFact } from './facts';
import { withDeadline } from './http/pipeline';
import { DEFAULT_TIMEOUT_MINUTES } from './inputs';
import { neutralise } from './log';
import { type PhaseErrorContext, toTaskError } from './phase-errors';
import { causeLessFactsOf, imageCheckLines, missingImageVerdict, stoppedResults } from './registry/preflight';
import { CAUSE_IN_WORDS } from './verify/classify';
import { describePlannedRestart, type RestartDecision } from './verify/restart-policy';
import {
  previewRestarts,
  sourceFor,
  type VerifyResult,
  type VerifyTarget,
  verifyTargets,
} from './verify/verify';

/** The phases of a run (the catalogue's phases after the inputs and the connection). */
export type Phase = Exclude<TaskPhase, 'inputs' | 'connect'>;

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
  /** Whether verification was asked for (false when the inputs could not even be read). */
  readonly verifyOn?: boolean;
  /** Writes the cutover of live targets made (switches, put-backs, password removals): part of changeCount. */
  readonly cutoverWrites?: number;
  /** Dry run: per target, whether verification would restart it and why. */
  readonly restartPreview?: readonly { readonly target: string; readonly decision: RestartDecision }[];
}

export interface RunOptions {
  /** Registers values the agent must mask (Kudu publishing passwords). */
  readonly setSecret: (value: string) => void;
  /** What the phase mapper needs to name the cloud and the connection's principal in an Azure error. */
  readonly errors?: PhaseErrorContext;
}

/** The shortest deadline observe gets: a first token and a dozen reads take seconds on a busy agent. */
export const MIN_OBSERVE_DEADLINE_IN_MS = 20_000;
/** The shortest deadline apply gets: a new identity may take 5 minutes to reach the directory (PrincipalNotFound). */
export const MIN_APPLY_DEADLINE_IN_MS = 6 * 60_000;

/**
 * The deadline of a phase before verification, from its start: the verification timeout (15 minutes when
 * verification is off), at least `floor`. Every list stops at it (src/paging.ts) and no retry wait outlasts it;
 * verification then has its own deadline per target.
 */
export function phaseDeadlineInMs(settings: RunContext['settings'], floor: number): number {
  const timeout =
    settings.verify.kind === 'on' ? settings.verify.timeoutInMs : DEFAULT_TIMEOUT_MINUTES * 60_000;
  return Math.max(floor, timeout);
}

export async function run(runCtx: RunContext, options: RunOptions): Promise<RunReport> {
  const { log, settings } = runCtx;
  // Observe and plan share one deadline from the run's first request; apply gets its own (see above).
  const ctx: RunContext = {
    ...runCtx,
    signal: withDeadline(
      runCtx.signal,
      runCtx.clock.now() + phaseDeadlineInMs(settings, MIN_OBSERVE_DEADLINE_IN_MS),
    ),
  };
  const report: { -readonly [K in keyof RunReport]: RunReport[K] } = {
    verify: [],
    dryRun: settings.dryRun,
    verifyOn: settings.verify.kind === 'on',
  };
  for (const w of settings.inputWarnings) log.warn(w);
  let phase: Phase = 'observe';
  let progress: ApplyProgress | undefined;
  const cutoverCounter = { writes: 0 };
  try {
    log.group(`Observe ${settings.appName}`);
    report.observed = await observe(ctx);
    describeObserved(ctx, report.observed);
    const checkLines = imageCheckLines(report.observed.imageCheck, settings.checkImage);
    for (const line of checkLines.info) log.info(neutralise(line));
    // Which targets serve today with a registry password: those are cut over (or, with verifyPull: false, keep
    // their pull settings), never switched at once.
    {
      const o = report.observed;
      const serving = await observeServing(ctx, o.targets, o.registry.loginServer, (t) =>
        sourceFor(ctx, t, options),
      );
      if (Object.keys(serving).length > 0) report.observed = { ...o, serving };
      for (const [label, f] of Object.entries(serving))
        log.info(
          `[${label}] ${f.serving ? 'Serves today' : 'Does not serve today'}: ${f.why}${f.serving ? '' : ' (fast path)'}.`,
        );
    }
    log.endGroup();
    if (checkLines.warning) log.warn(neutralise(checkLines.warning));

    phase = 'plan';
    log.group(settings.dryRun ? 'Plan (dry run: nothing will be changed)' : 'Plan');
    report.plan = plan(report.observed, settings);
    for (const line of describePlan(report.plan)) log.info(line);
    if (report.plan.cutover) for (const line of describeCutover(report.plan.cutover)) log.info(line);
    // A missing image stops the run here, before any write or restart (src/registry/preflight.ts), unless the run
    // is placed before the deploy that replaces it (src/configure/placement.ts).
    const missing = missingImageVerdict(report.observed.imageCheck, report.plan.steps, {
      verify: settings.verify.kind === 'on',
      dryRun: settings.dryRun,
      placement: settings.placement,
    });
    const deferral =
      settings.placement === 'beforeDeploy'
        ? deferToDeploy(report.plan, missing.targets)
        : { plan: report.plan, deferred: [] };
    report.plan = deferral.plan;
    const deferred = new Set(deferral.deferred.map((d) => d.label));
    for (const line of describePlan(report.plan)) log.info(line);
    if (missing.warning) log.warn(neutralise(missing.warning));
    if (missing.error) {
      report.verify = stoppedResults(
        report.observed.targets.map((t) => t.target),
        missing,
      );
      for (const r of report.verify.filter((v) => v.outcome === 'pull_failed'))
        log.info(
          `[${r.target.label}] Pre-flight check failed: ${CAUSE_IN_WORDS.not_found}. ${neutralise(r.summary)}`,
        );
      throw missing.error;
    }
    if (settings.dryRun && settings.verify.kind === 'on') {
      const preview = await previewRestarts(
        ctx,
        verifyTargetsOf(
          report.observed,
          report.plan,
          report.plan.steps,
          report.plan.principals,
          settings.configureAnyway,
          undefined,
          ctx.clock.now(),
        ).filter((t) => !deferred.has(t.target.label)),
        options,
      );
      report.restartPreview = preview.map((p) => ({ target: p.target.target.label, decision: p.decision }));
      for (const p of report.restartPreview)
        log.info(`[${p.target}] Restart: ${describePlannedRestart(p.decision.reason)}.`);
      if (settings.restart === 'never')
        log.info(
          'restart: never — the task sends no restart; App Service restarts a target whenever its settings are written.',
        );
    }
    log.endGroup();
    for (const w of report.plan.warnings)
      log.warn(`${w.target ? `[${w.target}] ` : ''}${w.message} Fix: ${w.fix}`);
    if (settings.dryRun) return report;

    phase = 'apply';
    log.group('Apply');
    if (report.plan.steps.length === 0) log.info('Nothing to change: a re-run writes nothing.');
    progress = startApply(report.plan);
    const applyCtx: RunContext = {
      ...runCtx,
      signal: withDeadline(
        runCtx.signal,
        runCtx.clock.now() + phaseDeadlineInMs(settings, MIN_APPLY_DEADLINE_IN_MS),
      ),
    };
    report.applied = await apply(applyCtx, report.plan, report.observed, progress);
    for (const s of report.applied.steps) log.info(`[${s.step.target}] ${s.step.what} → ${s.result}`);
    log.endGroup();

    phase = 'verify';
    if (settings.verify.kind === 'on') {
      log.group('Verify the pull');
      report.verify = await verifyAll(
        // Verification keeps the job's own signal: each target gets its deadline there (verify.ts).
        runCtx,
        report.observed,
        report.plan,
        verifyTargetsOf(
          report.observed,
          report.plan,
          report.applied.steps.map((s) => s.step),
          report.applied.principals,
          settings.configureAnyway,
          report.applied,
          ctx.clock.now(),
        ).filter((t) => !deferred.has(t.target.label)),
        report.applied.principals,
        options,
        cutoverCounter,
      );
      report.verify = [...report.verify, ...deferredResults(report.observed, deferral.deferred)];
      if (cutoverCounter.writes > 0) report.cutoverWrites = cutoverCounter.writes;
      // Each target's verdict was logged the moment it was known; here, the log lines that decided it.
      for (const r of report.verify.filter((v) => v.evidence.length > 0)) {
        log.info(`[${r.target.label}] ${r.outcome}, decided by:`);
        for (const line of r.evidence) log.info(`    | ${neutralise(line)}`);
      }
      log.endGroup();
    } else if (report.plan.held) report.verify = heldResults(report.observed, report.plan.held);
  } catch (e: unknown) {
    if (cutoverCounter.writes > 0) report.cutoverWrites = cutoverCounter.writes;
    // Writes made before the failure are still the run's writes: report every one of them.
    if (phase === 'apply' && progress && report.plan) {
      report.applied = appliedOf(report.plan, progress);
      for (const s of report.applied.steps) log.info(`[${s.step.target}] ${s.step.what} → ${s.result}`);
    }
    log.endGroup();
    report.failedIn = phase;
    // Azure errors, network errors and bugs become TaskErrors here, once, by phase (cancellations pass).
    report.error = toTaskError(phase, e, options.errors);
  }
  return report;
}

/** Targets left to the deploy: not verified now (a warning, not a failure), in the targets' order. */
function deferredResults(
  observed: Observed,
  deferred: readonly { readonly label: string; readonly image: string }[],
): VerifyResult[] {
  return observed.targets.flatMap((t) => {
    const d = deferred.find((x) => x.label === t.target.label);
    if (!d) return [];
    return [
      {
        target: t.target,
        outcome: 'unverified' as const,
        fatal: false,
        seconds: 0,
        restarts: 0,
        evidence: [],
        summary: `Not verified before the deploy: ${d.image} no longer exists; the deploy step sets the new image, and a run after it (placement: afterDeploy) verifies it.`,
        notes: [],
      },
    ];
  });
}

/**
 * Verifies every target: an image on a registry the task did not check is not proof (not_proven); targets on
 * the fast path are followed as usual; then targets that serve today with a password are cut over (src/cutover/),
 * each carrying over the fast path's proofs. Results in the observed targets' order.
 */
async function verifyAll(
  ctx: RunContext,
  observed: Observed,
  p: Plan,
  all: readonly VerifyTarget[],
  principals: Readonly<Record<string, string | undefined>>,
  options: RunOptions,
  counter: { writes: number },
): Promise<VerifyResult[]> {
  // The registries whose grants the task read (and wrote where it could): the configured one, and with
  // `targets: all` the other registries a swap can bring an image from. A pull from any other host proves nothing.
  const checked = new Set(
    [
      observed.registry.loginServer,
      ...(observed.swapRegistries ?? []).filter((sr) => sr.registry).map((sr) => sr.loginServer),
    ].map((host) => host.toLowerCase()),
  );
  const cutover = new Set(p.cutover?.order.map((c) => c.target) ?? []);
  const anonymous = (t: VerifyTarget) => !!t.image && !checked.has(registryHostOf(t.image).toLowerCase());
  const principalOf = (label: string) =>
    observed.userIdentity?.principalId ??
    principals[label] ??
    observed.targets.find((t) => t.target.label === label)?.identity.systemPrincipalId;
  const byLabel = new Map<string, VerifyResult>();
  for (const t of all.filter(anonymous))
    byLabel.set(t.target.label, notProven(t, observed.registry.loginServer));
  // A held target's pull settings were not touched: its password pull today is no proof of the identity.
  for (const r of heldResults(observed, p.held ?? [])) byLabel.set(r.target.label, r);
  const fast = all.filter(
    (t) => !anonymous(t) && !cutover.has(t.target.label) && !byLabel.has(t.target.label),
  );
  for (const r of await verifyTargets(ctx, fast, options)) byLabel.set(r.target.label, r);
  if (p.cutover) {
    const targets = new Map(all.map((t) => [t.target.label, t]));
    const results = await runCutover(
      ctx,
      {
        plan: p.cutover,
        verifyTarget: (label) => targets.get(label) as VerifyTarget,
        grantAt: Object.fromEntries(all.map((t) => [t.target.label, t.grantCreatedAt])),
        grantedThisRun: new Set(all.filter((t) => t.grantedThisRun).map((t) => t.target.label)),
        principals: Object.fromEntries(all.map((t) => [t.target.label, principalOf(t.target.label)])),
        proven: fast
          .filter((t) => byLabel.get(t.target.label)?.outcome === 'verified')
          .map((t) => ({
            target: t.target.label,
            principalId: principalOf(t.target.label),
            grantAt: t.grantedThisRun ? undefined : t.grantCreatedAt,
            grantedThisRun: t.grantedThisRun === true,
          })),
      },
      options,
      counter,
    );
    for (const r of results) byLabel.set(r.target.label, r);
  }
  return all.map((t) => byLabel.get(t.target.label)).filter((r): r is VerifyResult => r !== undefined);
}

/** Serving targets whose pull settings this run kept (src/cutover/plan.ts): not switched, and saying why. */
function heldResults(observed: Observed, held: readonly HeldTarget[]): VerifyResult[] {
  return observed.targets.flatMap((t) => {
    const h = held.find((x) => x.target === t.target.label);
    if (!h) return [];
    return [
      {
        target: t.target,
        outcome: 'not_switched' as const,
        fatal: false,
        seconds: 0,
        restarts: 0,
        evidence: [],
        summary: h.why,
        notes: [],
      },
    ];
  });
}

/** The target runs an image from elsewhere (a placeholder, a public image): its pull is no proof. */
function notProven(t: VerifyTarget, loginServer: string): VerifyResult {
  const label = t.target.label;
  const image = neutralise(t.image, 300);
  return {
    target: t.target,
    outcome: 'not_proven',
    fatal: false,
    seconds: 0,
    restarts: 0,
    evidence: [],
    summary: `Runs ${image}, which is not on ${loginServer}: its pull (anonymous, or with that registry's own credentials) proves nothing about the identity.`,
    notes: [],
    error: new TaskError(
      'AnonymousPullProvesNothing',
      `${label}: configured, but not verified: it runs ${image}, not an image from ${loginServer}, so its pull proves nothing about the managed identity.`,
      {
        remedy: `Deploy ${label}'s image from ${loginServer} (for example with AzureWebAppContainer@1), then run this task after the deploy: it proves the identity's pull of that image.`,
        target: label,
      },
    ),
  };
}

function describeObserved(ctx: RunContext, o: Observed): void {
  const { log } = ctx;
  log.info(
    `App ${o.app.name} in resource group ${o.app.resourceGroup} (subscription ${o.app.subscriptionId}).`,
  );
  log.info(
    `Registry ${o.registry.loginServer} (${o.registry.abac ? 'ABAC repository permissions' : 'RBAC'}), ${o.registry.source === 'input' ? 'as given' : "from the apps' images"}: ${o.registry.id}`,
  );
  for (const sr of o.swapRegistries ?? [])
    log.info(
      `Swap registry ${sr.loginServer}: ${sr.images.map((i) => `${i.image} (${i.targets.join(', ')})`).join(', ')}; a slot swap can bring it to every other target, so each target's identity must pull from it too.`,
    );
  const given = ctx.settings.identity.kind === 'user' ? ctx.settings.identity.identity : undefined;
  if (given && 'byName' in given && o.userIdentity)
    log.info(
      `User-assigned identity '${given.byName}' is ${o.userIdentity.id} (the only one with that name in the subscription; put this ID in userAssignedIdentityId to skip the lookup).`,
    );
  for (const t of o.targets) {
    const identity = t.identity.reportedType;
    const flag = t.sidecar
      ? 'sidecar containers'
      : `acrUseManagedIdentityCreds=${t.pull.useManagedIdentity === true}`;
    log.info(
      `[${t.target.label}] ${t.os}, image ${t.images.join(', ') || '(none)'}, identity ${identity}, ${flag}`,
    );
  }
}

/**
 * What verification needs per target: whether this run's write restarted it (config/web, app settings, sidecars
 * and identity changes all restart the app; a second, explicit restart right after one can interrupt the pull:
 * docs/azure-behaviour.md#restart-races), when its pull settings last changed, and how young its grant is.
 * `written` are the steps carried out (or, for a dry run, planned).
 */
function verifyTargetsOf(
  observed: Observed,
  p: Plan,
  written: readonly Step[],
  principals: Readonly<Record<string, string | undefined>>,
  configureAnyway: boolean,
  applied: Applied | undefined,
  nowMs: number,
): VerifyTarget[] {
  const restartedByWrite = new Set(
    written
      .filter((s) =>
        ['enableIdentity', 'setAcrFlags', 'setSidecarAuth', 'removeRegistryCredentials'].includes(s.kind),
      )
      .map((s) => s.target),
  );
  const touched = new Set<string>();
  const granted = new Set<string>();
  for (const s of written) {
    if (s.kind === 'assignRole') for (const t of s.forTargets) granted.add(t);
    else touched.add(s.target);
  }
  const r = observed.registry;
  return observed.targets.map((t) => {
    const label = t.target.label;
    const principalId =
      observed.userIdentity?.principalId ?? principals[label] ?? t.identity.systemPrincipalId;
    const grants = (observed.roleAssignments ?? []).filter(
      (a) =>
        !!principalId &&
        a.principalId.toLowerCase() === principalId.toLowerCase() &&
        grantsPull(a, r.id, r.abac),
    );
    const times = (f: (a: GrantFact) => string | undefined) =>
      grants.map((a) => Date.parse(f(a) ?? '')).filter((n) => !Number.isNaN(n));
    // `lastModifiedTimeUtc`: "Last time the app was modified, in UTC" (Site properties in
    // Azure/azure-rest-api-specs specification/web/resource-manager/Microsoft.Web/AppService/stable/2024-11-01/WebApps.json).
    const siteChanged = Date.parse(t.lastModifiedAt ?? '');
    const grantChanged = times((a) => a.updatedOn ?? a.createdOn);
    // Anything this run wrote for the target is newer than every log line: the log then proves nothing.
    const lastChangeAt =
      touched.has(label) || granted.has(label) || Number.isNaN(siteChanged) || grants.length === 0
        ? undefined
        : Math.max(siteChanged, ...grantChanged);
    const created = times((a) => a.createdOn);
    const blocker = configureAnyway ? blockerFor(p.warnings, label) : undefined;
    return {
      target: t.target,
      image: mainImage(t),
      defaultHostName: t.defaultHostName,
      scmHostName: t.scmHostName,
      restartedByWrite: restartedByWrite.has(label),
      ...(lastChangeAt !== undefined ? { lastChangeAt } : {}),
      grantedThisRun: granted.has(label),
      // The oldest grant decides: once one is past the propagation window, the identity can pull.
      ...(created.length > 0 && created.length === grants.length
        ? { grantCreatedAt: Math.min(...created) }
        : {}),
      expected: {
        principalId,
        clientId: observed.userIdentity?.clientId ?? null,
        sidecar: t.sidecar,
        registryId: r.id,
        abac: r.abac,
      },
      ...(blocker
        ? { knownBlocker: { code: blocker.code, message: blocker.message, fix: blocker.fix } }
        : {}),
      causeLess: causeLessFactsOf(observed, applied, t, mainImage(t), nowMs),
    };
  });
}

/** The blocking warning that applies to a target (its own, or the registry's), when configured anyway. */
function blockerFor(warnings: readonly PlanWarning[], label: string): BlockingPlanWarning | undefined {
  return warnings.filter(isBlocking).find((w) => w.target === undefined || w.target === label);
}

function mainImage(t: ObservedTarget): string {
  if (t.sidecar) {
    const main = t.containers.find((c) => c.isMain);
    if (main?.image) return main.image;
  }
  return t.images[0] ?? '';
}

/** The scope of the grant each target pulls with after the run, and what kind of scope it is (for the summary). */
export function grantScopeOf(
  report: RunReport,
  principalId: string | undefined,
): Pick<GrantFact, 'scope' | 'scopeKind'> | undefined {
  const { observed, plan: p, applied } = report;
  if (!observed || !principalId) return undefined;
  const existing = (observed.roleAssignments ?? []).find(
    (a: GrantFact) =>
      a.principalId === principalId && grantsPull(a, observed.registry.id, observed.registry.abac),
  );
  if (existing) return { scope: existing.scope, scopeKind: existing.scopeKind };
  const granted = applied?.steps.some(
    (s) => s.step.kind === 'assignRole' && s.step.scope === observed.registry.id,
  );
  return granted || p?.steps.some((s) => s.kind === 'assignRole')
    ? { scope: observed.registry.id, scopeKind: 'resource' }
    : undefined;
}

/** Kept here for report.ts: the phase mapper builds it. */
export { unexpected } from './phase-errors';
