/**
 * Proves the pull for every target, concurrently: decide whether a restart buys evidence (`restart-policy.ts`),
 * read the evidence already in the log, restart only when needed, wake the site,
 * follow the platform docker log until the configured image was pulled (and, with `until: containerStarted`, the
 * container started), and turn the verdict into a result with evidence and, on failure, a TaskError whose remedy
 * is the fix. Only this file wires the real world (ARM, Kudu, the site host) into the pure follow loop.
 */
import { isArmError } from '../arm/client';
import { getSiteStatus, type InstanceFacts, listInstances } from '../arm/instances';
import { createKuduClient } from '../arm/kudu';
import { grantsPull, listRoleAssignments } from '../arm/role-assignments';
import { getSite, getSiteConfigFacts, getSiteState, restart } from '../arm/web-apps';
import type { RunContext } from '../context';
import type { BlockingWarningCode, DriftCode, TaskErrorCode } from '../error-codes';
import { isCancelledError, TaskError } from '../errors';
import { appServiceHosts } from '../http/guard';
import { defaultTransport, withDeadline } from '../http/pipeline';
import { send } from '../http/retry';
import { neutralise } from '../log';
import { type CauseLessFacts, causeLessRemedy } from '../registry/preflight';
import type { Target } from '../targets';
import { type Classification, explain, type PullFailureCause } from './classify';
import { type FollowResult, follow } from './follow';
import { judgeInstances } from './instances';
import { createLogSource, type LogSource } from './log-source';
import { decideRestart, type RestartDecision, type RestartReason } from './restart-policy';

/**
 * How long the task treats a pull grant as possibly still propagating. Azure RBAC troubleshooting ("Role
 * assignment changes are not being detected", https://learn.microsoft.com/azure/role-based-access-control/troubleshooting)
 * says a role assignment can take up to 10 minutes to take effect, and several hours when the managed identity
 * holds the role through a group (a per-resource token cache). 30 minutes is three times the documented figure, so a
 * slow region is not reported as a wrong setting; the messages quote the documented 10 minutes.
 */
export const PROPAGATION_WINDOW_MS = 30 * 60_000;

export interface VerifyTarget {
  readonly target: Target;
  /** The configured image, `myacr.azurecr.io/app:1.0`. */
  readonly image: string;
  /** The app's default host name: the warm-up request goes to `https://{defaultHostName}/`. */
  readonly defaultHostName: string;
  /** The SCM (Kudu) host App Service lists for the target (TargetFacts); undefined → ARM containerlogs. */
  readonly scmHostName: string | undefined;
  /** A config write of this run just restarted the target: we only follow it, so a pull under way is not cut. */
  readonly restartedByWrite: boolean;
  /**
   * Server epoch ms of the last change that decides the pull (the site's lastModifiedTimeUtc, the newest pull
   * grant). A pull logged after it was made with today's settings. Undefined: unknown, so the log proves nothing.
   */
  readonly lastChangeAt?: number;
  /** This run created the pull grant the target uses. */
  readonly grantedThisRun?: boolean;
  /** Server epoch ms when the target's oldest pull grant was created (undefined: unknown). */
  readonly grantCreatedAt?: number;
  /** What the run left in place, re-read once when pulls keep failing unauthorized. */
  readonly expected?: ExpectedPull;
  /** A cause the plan knew and the user configured anyway (`configureAnyway`): the verdict when the pull fails. */
  readonly knownBlocker?: {
    readonly code: BlockingWarningCode;
    readonly message: string;
    readonly fix: string;
  };
  /** What the run knows when the log gives no cause (pre-flight image check, grant age, network): ranks causes. */
  readonly causeLess?: CauseLessFacts;
  /**
   * The first failed pull is the verdict: no waiting through propagation (a live target's switch, whose grant was
   * proven or old enough, is put back at once rather than left down: src/cutover/).
   */
  readonly failFast?: boolean;
}

/** The pull settings the run left on a target. */
export interface ExpectedPull {
  /** The principal that must hold the grant (undefined when unknown). */
  readonly principalId: string | undefined;
  /** `acrUserManagedIdentityID`: a client ID, or null for the system identity. Unused for sidecars. */
  readonly clientId: string | null;
  readonly sidecar: boolean;
  readonly registryId: string;
  readonly abac: boolean;
}

export type VerifyOutcome =
  | 'verified'
  /** A live target's switch failed and it was put back on its registry password (src/cutover/). */
  | 'put_back'
  /** A live target's switch failed and writing its previous pull settings back failed too: it may be down. */
  | 'put_back_failed'
  /** A live target kept its registry password: its switch was not reached (a wait, or an earlier put-back). */
  | 'not_switched'
  /** Its image is not on the granted registry: that pull proves nothing about the identity. */
  | 'not_proven'
  | 'unverified'
  | 'stopped'
  | 'pull_failed'
  | 'start_failed'
  | 'timed_out'
  | 'cancelled'
  | 'skipped';

export interface VerifyResult {
  readonly target: Target;
  readonly outcome: VerifyOutcome;
  /** For `pull_failed` (and `timed_out` when the last attempt seen had failed). */
  readonly cause?: PullFailureCause;
  /** Whether this result should fail the task (a start failure with `until: imagePulled` is only a warning). */
  readonly fatal: boolean;
  readonly seconds: number;
  /** Restarts we made (the first one included). */
  readonly restarts: number;
  /** Why the target was (or was not) restarted. */
  readonly restartReason?: RestartReason;
  /** The deciding log lines, neutralised (safe to print). */
  readonly evidence: readonly string[];
  /** One sentence: what the log showed. */
  readonly summary: string;
  /** Where the log was read from at the end. */
  readonly source?: 'kudu' | 'containerlogs';
  /** Source notes (Kudu refused, fell back to containerlogs...), neutralised. */
  readonly notes: readonly string[];
  /** Set for every outcome but verified and skipped: code, message, remedy. */
  readonly error?: TaskError;
  /**
   * Per instance, when the target runs on more than one: how many are proven ("3 of 3 instances") and one line for
   * each instance that is not, neutralised.
   */
  readonly instances?: {
    readonly coverage: string;
    readonly lines: readonly string[];
    readonly note?: string;
  };
}

export interface VerifyOptions {
  /**
   * Registers the publishing password with the agent. Without it, Kudu is read with the ARM token only (and the
   * ARM containerlogs fallback), never with basic credentials.
   */
  readonly setSecret?: (secret: string) => void;
  /** Clock-skew allowance between ARM and the log writer (default 60 s). */
  readonly skewInMs?: number;
  /** Back-off after a Kudu 406 (default 5 s, the minimum Kudu asks for). */
  readonly rateLimitBackoffInMs?: number;
  /** Timeout of the warm-up request (default 10 s). */
  readonly warmUpTimeoutInMs?: number;
}

/** Follows every target at once; resolves when all are decided (or cancelled). Never throws for one target's failure. */
export async function verifyTargets(
  ctx: RunContext,
  targets: readonly VerifyTarget[],
  options: VerifyOptions = {},
): Promise<VerifyResult[]> {
  const v = ctx.settings.verify;
  if (v.kind === 'off') {
    return targets.map((t) => ({
      target: t.target,
      outcome: 'skipped',
      fatal: false,
      seconds: 0,
      restarts: 0,
      evidence: [],
      summary: 'Verification is off.',
      notes: [],
    }));
  }
  // One listener on the job's signal for all targets: each target gets its own child signal (Node warns past ten
  // listeners on one signal, and every target's requests and sleeps listen to theirs).
  const children = targets.map(() => new AbortController());
  const abortAll = () => {
    for (const c of children) c.abort(ctx.signal.reason);
  };
  if (ctx.signal.aborted) abortAll();
  ctx.signal.addEventListener('abort', abortAll, { once: true });
  try {
    return await Promise.all(
      targets.map((t, i) =>
        verifyOne({ ...ctx, signal: (children[i] as AbortController).signal }, t, v, options),
      ),
    );
  } finally {
    ctx.signal.removeEventListener('abort', abortAll);
  }
}

/** What a dry run says per target: would it restart, and why (reads the log; writes nothing). */
export async function previewRestarts(
  ctx: RunContext,
  targets: readonly VerifyTarget[],
  options: VerifyOptions = {},
): Promise<{ target: VerifyTarget; decision: RestartDecision }[]> {
  const v = ctx.settings.verify;
  if (v.kind === 'off') return [];
  return Promise.all(
    targets.map(async (t) => {
      const stopped = await isStopped(ctx, t);
      const evidence =
        stopped || t.restartedByWrite || ctx.settings.restart === 'always'
          ? { underWay: false }
          : await readEvidence(ctx, sourceFor(ctx, t, options), t, v.until);
      return {
        target: t,
        decision: decideRestart({
          policy: ctx.settings.restart,
          restartedByWrite: t.restartedByWrite,
          stopped,
          evidence: evidence.proof !== undefined,
          underWay: evidence.underWay,
        }),
      };
    }),
  );
}

/** The log source of a target (Kudu, else ARM containerlogs). */
export function sourceFor(
  ctx: RunContext,
  t: Pick<VerifyTarget, 'target' | 'defaultHostName' | 'scmHostName'>,
  options: VerifyOptions,
): LogSource {
  const kudu = kuduFor(() =>
    createKuduClient({
      arm: ctx.arm,
      target: t.target,
      defaultHostName: t.defaultHostName,
      scmHostName: t.scmHostName,
      // Without a way to register the password we never fetch it: a refused bearer falls back to containerlogs.
      setSecret:
        options.setSecret ??
        (() => {
          throw new Error('basic credentials are not used without setSecret');
        }),
      retry: { signal: ctx.signal, clock: ctx.clock },
    }),
  );
  return createLogSource({ arm: ctx.arm, target: t.target, kudu });
}

/**
 * The log's evidence that the target pulls with today's settings: the newest start after the last change pulled
 * the configured image (and started it, with `containerStarted`). `proof` is undefined when there is none, or no
 * change time to judge by, or the log could not be read; `underWay` when that start is still pulling or starting.
 */
async function readEvidence(
  ctx: RunContext,
  source: LogSource,
  t: VerifyTarget,
  until: 'imagePulled' | 'containerStarted',
): Promise<{
  proof?: Classification;
  crashed?: boolean;
  underWay: boolean;
  failed?: boolean;
  coverage?: string;
}> {
  if (t.lastChangeAt === undefined) return { underWay: false };
  const since = t.lastChangeAt;
  try {
    const snapshot = await source.read(since, ctx.signal);
    const instances = await instancesOf(ctx, t, ctx.signal);
    const judged = judgeInstances(snapshot.files, { image: t.image, since, until, instances });
    const c = judged.combined;
    const coverage = judged.views.length > 1 ? judged.coverage : undefined;
    const extra = coverage ? { coverage } : {};
    if (judged.views.some((v) => v.unreadable)) return { underWay: false };
    const proves =
      c.imagePulled &&
      (c.outcome === 'container_started' || (until === 'imagePulled' && c.outcome === 'pull_succeeded'));
    if (proves) return { proof: c, underWay: false, ...extra };
    // The image was pulled after the change, then the container crashed: with imagePulled that is the proof, and
    // a restart cannot help (the first run already said why the container fails).
    const crashedAfterPull =
      until === 'imagePulled' &&
      c.outcome === 'container_start_failed' &&
      judged.views.every((v) => v.classification.imagePulled);
    if (crashedAfterPull) return { proof: c, crashed: true, underWay: false, ...extra };
    return {
      underWay:
        c.outcome === 'in_progress' || (until === 'containerStarted' && c.outcome === 'pull_succeeded'),
      failed: c.outcome === 'pull_failed',
    };
  } catch (e: unknown) {
    if (isCancelledError(e) || ctx.signal.aborted) throw e;
    return { underWay: false }; // no evidence: the follow loop reads (and reports) the log again
  }
}

/** ARM's instance list for the target; undefined when it cannot be read (the log alone then decides). */
async function instancesOf(
  ctx: RunContext,
  t: VerifyTarget,
  signal: AbortSignal,
): Promise<readonly InstanceFacts[] | undefined> {
  try {
    const list = await listInstances(ctx.arm, t.target, signal);
    return list.length > 0 ? list : undefined;
  } catch (e: unknown) {
    if (isCancelledError(e) || signal.aborted) throw e;
    return undefined;
  }
}

async function verifyOne(
  ctx: RunContext,
  t: VerifyTarget,
  v: { timeoutInMs: number; pollIntervalInMs: number; until: 'imagePulled' | 'containerStarted' },
  options: VerifyOptions,
): Promise<VerifyResult> {
  // One deadline for everything this target does: every request and retry wait below is clamped to it, so the
  // run ends within timeoutMinutes plus at most one request timeout.
  // The deadline is computed once, on the run's clock, and the follow loop below ends by the same one.
  const deadline = ctx.clock.now() + v.timeoutInMs;
  ctx = { ...ctx, signal: withDeadline(ctx.signal, deadline) };
  const label = t.target.label;
  const source = sourceFor(ctx, t, options);
  const serverTime = (date: string | null | undefined) => {
    const at = date ? Date.parse(date) : Number.NaN;
    return Number.isNaN(at) ? ctx.clock.now() : at;
  };
  const policy = ctx.settings.restart;
  // A stopped app never pulls, and starting it is not ours to do: say so at once rather than wait for the timeout.
  const state = await siteState(ctx, t);
  if (state.stopped) {
    const stopped = stoppedResult(t, v.until, 0, 0);
    ctx.log.info(`${label}: ${stopped.summary}`);
    return stopped;
  }
  // The agent's clock and ARM's differ: the grant's age is measured on ARM's, the deadline kept on ours.
  const serverOffset = state.serverNow === undefined ? 0 : state.serverNow - ctx.clock.now();
  const found =
    t.restartedByWrite || policy === 'always'
      ? { underWay: false }
      : await readEvidence(ctx, source, t, v.until);
  const evidence = found.proof;
  const decision = decideRestart({
    policy,
    restartedByWrite: t.restartedByWrite,
    stopped: false,
    evidence: evidence !== undefined,
    underWay: found.underWay,
  });
  if (decision.reason === 'logEvidence' && evidence && found.crashed) {
    // Pulled since the last change, then crashed: the pull is proven; the start failure stays a warning.
    const result: VerifyResult = {
      target: t.target,
      outcome: 'start_failed',
      fatal: false,
      seconds: 0,
      restarts: 0,
      restartReason: 'logEvidence',
      evidence: evidenceOf(evidence),
      summary: neutralise(evidence.summary, 500),
      notes: [],
      error: new TaskError(
        'ContainerStartFailed',
        `${label}: ${neutralise(t.image, 300)} was pulled since the last change (found in the log, so no restart), but the container failed to start.`,
        { remedy: explain(evidence).fix ?? '', target: label },
      ),
    };
    ctx.log.info(`${label}: pulled since the last change, not restarted; ${verdictLine(result)}`);
    return result;
  }
  if (decision.reason === 'logEvidence' && evidence) {
    const result: VerifyResult = {
      target: t.target,
      outcome: 'verified',
      fatal: false,
      seconds: 0,
      restarts: 0,
      restartReason: 'logEvidence',
      evidence: evidenceOf(evidence),
      summary: neutralise(evidence.summary, 500),
      notes: [],
      ...(found.coverage ? { instances: { coverage: found.coverage, lines: [] } } : {}),
    };
    ctx.log.info(
      `${label}: verified from the log${found.coverage ? ` on ${found.coverage}` : ''}, no restart (${result.summary})`,
    );
    return result;
  }
  // restart: never. A failure in the log since the last change is evidence too: follow it to its verdict.
  if (decision.reason === 'never' && !found.failed) {
    const unverified = unverifiedResult(t);
    ctx.log.info(`${label}: ${unverified.summary}`);
    return unverified;
  }
  // Role propagation explains an unauthorized pull only while the grant is young (or made by this run).
  const propagationUntil =
    t.knownBlocker || t.failFast
      ? 0
      : t.grantedThisRun
        ? ctx.clock.now() + PROPAGATION_WINDOW_MS
        : t.grantCreatedAt !== undefined
          ? t.grantCreatedAt + PROPAGATION_WINDOW_MS - serverOffset
          : undefined;
  let driftCode: DriftCode | undefined;
  let outcome: FollowResult;
  try {
    outcome = await follow(
      {
        clock: ctx.clock,
        signal: ctx.signal,
        source,
        restart: async (signal) => {
          try {
            return serverTime(await restart(ctx.arm, t.target, signal));
          } catch (e: unknown) {
            if (isCancelledError(e) || signal.aborted) throw e;
            if (isArmError(e) && e.status < 500 && e.status !== 429) throw e;
            // It may have reached the app: sending it again could interrupt the pull it started. Follow the log.
            ctx.log.info(
              `${label}: the restart request failed (${neutralise(isArmError(e) ? `HTTP ${e.status} ${e.code}` : String((e as Error).message ?? e), 200)}); not sent again, following the log.`,
            );
            return ctx.clock.now();
          }
        },
        serverNow: async (signal) => {
          return serverTime((await getSiteState(ctx.arm, t.target, signal)).serverDate);
        },
        warmUp: (signal) => warmUp(ctx, t.defaultHostName, signal, options.warmUpTimeoutInMs ?? 10_000),
        info: (m) => ctx.log.info(m),
        instances: (signal) => instancesOf(ctx, t, signal),
        currentImage: async (signal: AbortSignal) => {
          if (t.expected?.sidecar) return undefined;
          try {
            const config = await getSiteConfigFacts(ctx.arm, t.target, signal);
            return config.linuxImage ?? config.windowsImage;
          } catch (e: unknown) {
            if (isCancelledError(e) || signal.aborted) throw e;
            return undefined;
          }
        },
        ...(t.expected
          ? {
              recheck: async (signal: AbortSignal) => {
                const found = await recheck(ctx, t, t.expected as ExpectedPull, signal);
                driftCode = found?.code;
                return found?.message;
              },
            }
          : {}),
      },
      {
        label,
        image: t.image,
        until: v.until,
        timeoutInMs: v.timeoutInMs,
        deadline,
        pollIntervalInMs: v.pollIntervalInMs,
        restartNeeded: decision.restart,
        ...((decision.reason === 'startUnderWay' || decision.reason === 'never') &&
        t.lastChangeAt !== undefined
          ? { notBefore: t.lastChangeAt }
          : {}),
        mayRestart: policy !== 'never',
        ...(propagationUntil !== undefined ? { propagationUntil } : {}),
        ...(options.skewInMs !== undefined ? { skewInMs: options.skewInMs } : {}),
        ...(options.rateLimitBackoffInMs !== undefined
          ? { rateLimitBackoffInMs: options.rateLimitBackoffInMs }
          : {}),
      },
    );
  } catch (e: unknown) {
    if (isCancelledError(e) || ctx.signal.aborted) {
      return {
        target: t.target,
        outcome: 'cancelled',
        fatal: true,
        seconds: 0,
        restarts: 0,
        evidence: [],
        summary: 'Cancelled.',
        notes: [],
        restartReason: decision.reason,
      };
    }
    throw e;
  }
  let result: VerifyResult = {
    ...toResult(
      t,
      v.until,
      outcome,
      driftCode,
      propagationUntil === undefined || propagationUntil > ctx.clock.now(),
    ),
    restartReason: decision.reason,
  };
  // Stopped while we followed it: that, not the log, is why nothing was pulled.
  if (result.outcome === 'timed_out' && (await isStopped(ctx, t)))
    result = stoppedResult(t, v.until, result.seconds, result.restarts);
  else if (result.outcome !== 'verified' && result.outcome !== 'cancelled')
    result = await withSiteStatus(ctx, t, result);
  ctx.log.info(`${label}: ${verdictLine(result)}`);
  return result;
}

/**
 * What the platform's per-instance status says, beside the log's verdict (newer stamps only: where ARM has no
 * siteStatus, or it cannot be read, the result stays as it is). `Started` is no proof of a pull: a local copy
 * starts too, so the status only explains, it never verifies (docs/azure-behaviour.md#instances).
 */
async function withSiteStatus(ctx: RunContext, t: VerifyTarget, r: VerifyResult): Promise<VerifyResult> {
  try {
    const statuses = await getSiteStatus(ctx.arm, t.target, ctx.signal);
    if (!statuses?.length) return r;
    const machines = new Map(
      ((await instancesOf(ctx, t, ctx.signal)) ?? []).map((i) => [i.instanceId.toLowerCase(), i.machineName]),
    );
    const words = (s: (typeof statuses)[number]) =>
      neutralise(
        `${s.state ?? 'unknown'}${s.action ? ` (${s.action})` : ''}${s.lastError ? `, last error ${s.lastError}` : ''}`,
        200,
      );
    const per = r.instances;
    if (per) {
      const lines = per.lines.map((line) => {
        const s = statuses.find((x) => {
          const m = machines.get(x.instanceId.toLowerCase());
          return m !== undefined && line.includes(`(${m})`);
        });
        return s ? `${line} [siteStatus: ${words(s)}]` : line;
      });
      return { ...r, instances: { ...per, lines } };
    }
    const note = `The platform's status of the instance${statuses.length > 1 ? 's' : ''}: ${statuses.map(words).join('; ')} (a started container is no proof of a fresh pull).`;
    return { ...r, notes: [...r.notes, note] };
  } catch (e: unknown) {
    if (isCancelledError(e) || ctx.signal.aborted) throw e;
    return r; // the status only explains; the verdict stands on the log
  }
}

/** Whether ARM reports the target Stopped. A failed check is not a verdict: it answers false. */
async function isStopped(ctx: RunContext, t: VerifyTarget): Promise<boolean> {
  return (await siteState(ctx, t)).stopped;
}

/**
 * Whether ARM reports the target Stopped, and the server's clock (the `Date` header) to judge grant ages by: the
 * grant's `createdOn` is on that clock, not the agent's. A failed check is not a verdict: not stopped, no clock.
 */
async function siteState(
  ctx: RunContext,
  t: VerifyTarget,
): Promise<{ stopped: boolean; serverNow: number | undefined }> {
  try {
    const r = await getSiteState(ctx.arm, t.target, ctx.signal);
    const date = Date.parse(r.serverDate ?? '');
    return {
      stopped: r.state?.toLowerCase() === 'stopped',
      serverNow: Number.isNaN(date) ? undefined : date,
    };
  } catch {
    return { stopped: false, serverNow: undefined }; // a cancellation is seen by the follow loop right after
  }
}

function stoppedResult(
  t: VerifyTarget,
  until: 'imagePulled' | 'containerStarted',
  seconds: number,
  restarts: number,
): VerifyResult {
  const label = t.target.label;
  return {
    target: t.target,
    outcome: 'stopped',
    // Stopped on purpose is not a failure; it is one when the user asked for a started container.
    fatal: until === 'containerStarted',
    seconds,
    restarts,
    restartReason: 'stopped',
    evidence: [],
    summary: 'The app is stopped: configured, but not started, so its pull is not verified.',
    notes: [],
    error: new TaskError(
      'AppStopped',
      `${label}: the app is stopped, so it does not pull its image; the pull cannot be verified.`,
      {
        remedy: `When it should run: ${cli('start', t)}, then run the task again (it writes nothing and reads the log). Apps meant to stay stopped need nothing.`,
        target: label,
      },
    ),
  };
}

function unverifiedResult(t: VerifyTarget): VerifyResult {
  const label = t.target.label;
  return {
    target: t.target,
    outcome: 'unverified',
    fatal: false,
    seconds: 0,
    restarts: 0,
    restartReason: 'never',
    evidence: [],
    summary: 'Not restarted (restart: never), and the log shows no pull of the image since the last change.',
    notes: [],
    error: new TaskError(
      'PullNotVerified',
      `${label}: the log shows no pull of ${neutralise(t.image, 300)} since the last configuration change, and restart is never.`,
      {
        remedy: `Restart it when convenient (${cli('restart', t)}) and run the task again, or set restart: whenNeeded to let the task restart it once.`,
        target: label,
      },
    ),
  };
}

/** `az webapp <verb>` for a target. */
function cli(verb: string, t: VerifyTarget): string {
  const [, group = '<group>', app = '<app>'] =
    /\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Web\/sites\/([^/]+)/i.exec(t.target.path) ?? [];
  return `az webapp ${verb} --name ${app} --resource-group ${group}${t.target.slot ? ` --slot ${t.target.slot}` : ''}`;
}

/**
 * Re-reads what decides the pull (config/web or the sidecars' auth, the identity, the grant) and says what changed
 * since the run set it up: a deploy step in parallel may have reset the flag or swapped the identity.
 */
async function recheck(
  ctx: RunContext,
  t: VerifyTarget,
  expected: ExpectedPull,
  signal: AbortSignal,
): Promise<{ code: DriftCode; message: string } | undefined> {
  try {
    const label = t.target.label;
    if (!expected.sidecar) {
      const pull = (await getSiteConfigFacts(ctx.arm, t.target, signal)).pull;
      const id = pull.clientId;
      if (pull.useManagedIdentity !== true)
        return {
          code: 'PullSettingsChangedDuringRun',
          message: `${label}: acrUseManagedIdentityCreds was turned off while the task ran (something else wrote config/web, e.g. a deploy step in parallel), so the app no longer pulls with the identity.`,
        };
      if ((id ?? '').toLowerCase() !== (expected.clientId ?? '').toLowerCase())
        return {
          code: 'PullSettingsChangedDuringRun',
          message: `${label}: acrUserManagedIdentityID changed while the task ran (now ${id ?? 'empty'}, set to ${expected.clientId ?? 'empty'}).`,
        };
    }
    const site = await getSite(ctx.arm, t.target, signal);
    const principals = [
      site.identity.systemPrincipalId,
      ...site.identity.userAssigned.map((u) => u.principalId),
    ].filter((p): p is string => !!p);
    const principal = expected.principalId?.toLowerCase();
    if (principal && !principals.some((p) => p.toLowerCase() === principal))
      return {
        code: 'IdentityChangedDuringRun',
        message: `${label}: the identity the task set up (${expected.principalId}) is no longer on the app: it was changed while the task ran.`,
      };
    if (principal) {
      const grants = await listRoleAssignments(ctx.arm, expected.registryId, 'atScope()', signal);
      if (
        !grants.some(
          (g) =>
            g.principalId.toLowerCase() === principal && grantsPull(g, expected.registryId, expected.abac),
        )
      )
        return {
          code: 'PullGrantRemovedDuringRun',
          message: `${label}: the pull role of ${expected.principalId} on the registry was removed while the task ran.`,
        };
    }
    return undefined;
  } catch (e: unknown) {
    if (isCancelledError(e) || signal.aborted) throw e;
    return undefined; // a failed re-read proves nothing changed; the verdict stands on the log
  }
}

/** The Kudu client, or none (ARM containerlogs) when the SCM host cannot be trusted or is not listed. */
function kuduFor(
  create: () => ReturnType<typeof createKuduClient>,
): ReturnType<typeof createKuduClient> | undefined {
  try {
    return create();
  } catch {
    return undefined;
  }
}

/**
 * One GET to the site so an app that starts on demand starts. Any status is fine; TLS is always checked. The body
 * is never read (`accept-encoding: identity`, 0 bytes kept), and the host must be the app's, derived from its
 * default host name in this cloud: anything else is not woken.
 */
async function warmUp(
  ctx: RunContext,
  host: string,
  signal: AbortSignal,
  timeoutInMs: number,
): Promise<void> {
  const hosts =
    appServiceHosts(ctx.arm.armUrl, host, undefined) ?? appServiceHosts(ctx.arm.armUrl, host, host);
  if (!hosts) return;
  const transport = ctx.arm.transport ?? defaultTransport();
  transport.guard.trust(hosts.site, "the app's default host name");
  try {
    await send(
      {
        method: 'GET',
        url: `https://${hosts.site}/`,
        headers: { 'accept-encoding': 'identity' },
      },
      {
        maxAttempts: 1,
        attemptTimeoutInMs: timeoutInMs,
        signal,
        transport,
        clock: ctx.clock,
        maxBodyBytes: 0,
      },
    );
  } catch (e: unknown) {
    if (isCancelledError(e) || signal.aborted) throw e;
    // A 503, a timeout or a reset while the container starts is expected: the request only has to arrive.
  }
}

function evidenceOf(c: Classification): string[] {
  return c.evidence.slice(-10).map((l) => neutralise(l.raw.split('\n').join(' | '), 500));
}

const CODES: Record<PullFailureCause, TaskErrorCode> = {
  unauthorized: 'PullUnauthorized',
  not_found: 'ImageNotFound',
  network: 'RegistryNetworkDenied',
  throttled: 'RegistryThrottled',
  interrupted: 'PullInterrupted',
  unknown: 'PullFailed',
};

function toResult(
  t: VerifyTarget,
  until: 'imagePulled' | 'containerStarted',
  f: FollowResult,
  driftCode: DriftCode | undefined,
  /** Whether role propagation could still explain an unauthorized pull when the verdict was reached. */
  propagationPossible: boolean,
): VerifyResult {
  const label = t.target.label;
  const base = {
    target: t.target,
    seconds: Math.round(f.elapsedInMs / 1000),
    restarts: f.restarts,
    evidence: evidenceOf(f.last),
    summary: neutralise(f.last.summary, 500),
    ...(f.source ? { source: f.source } : {}),
    notes: f.notes.map((n) => neutralise(n, 500)),
    ...instancesOfResult(f),
  };
  const image = neutralise(t.image, 300);
  // Which instances the verdict is about, when there are several: "proven on 2 of 3 instances; instance 3 of 3 (...): ..."
  const per = base.instances;
  const perInstance = per
    ? ` Proven on ${per.coverage}${per.lines.length ? `; ${per.lines.join('; ')}` : ''}.`
    : '';
  // The failure the verdict rests on: the last one seen, even when a later poll (after a restart) saw nothing yet,
  // so the same history always gives the same cause and remedy.
  const failure = f.last.outcome === 'pull_failed' ? f.last : f.lastFailure;
  const cause = failure ? (failure.cause ?? 'unknown') : undefined;
  const facts: RemedyFacts = {
    grantedThisRun: t.grantedThisRun === true,
    propagationPossible,
    knownBlocker: t.knownBlocker,
    causeLess: t.causeLess,
  };
  switch (f.outcome) {
    case 'verified':
      return { ...base, outcome: 'verified', fatal: false };
    case 'partial':
      return {
        ...base,
        outcome: 'unverified',
        fatal: false,
        error: new TaskError(
          'PullNotVerified',
          `${label}: ${image} is proven on ${f.instances?.coverage ?? 'one instance'} only: ${neutralise((f.instances?.lines ?? []).join('; '), 800)}.`,
          {
            remedy:
              "Let the task read the SCM (Kudu) site, which lists every instance's docker log: give the service connection Website Contributor on the app (Microsoft.Web/sites/publish/action), then run the task again (it writes nothing and reads the log first).",
            target: label,
          },
        ),
      };
    case 'cancelled':
      return { ...base, outcome: 'cancelled', fatal: true };
    case 'start_failed':
      return {
        ...base,
        outcome: 'start_failed',
        fatal: until === 'containerStarted',
        error: new TaskError(
          'ContainerStartFailed',
          `${label}: ${image} was pulled, but the container failed to start.${perInstance}`,
          {
            remedy: explain({ ...f.last, outcome: 'container_start_failed' }).fix ?? '',
            target: label,
          },
        ),
      };
    case 'pull_failed': {
      if (f.drift && driftCode) {
        return {
          ...base,
          outcome: 'pull_failed',
          cause: 'unauthorized',
          fatal: true,
          error: new TaskError(driftCode, neutralise(f.drift, 500), {
            remedy:
              "Run this task after any step that rewrites the app's container settings (or keep acrUseManagedIdentityCreds in that step: AzureWebAppContainer@1 configurationStrings: -acrUseManagedIdentityCreds true), then run it again.",
            target: label,
          }),
        };
      }
      const c = cause ?? 'unknown';
      if (t.knownBlocker && (c === 'unauthorized' || c === 'unknown')) {
        return {
          ...base,
          outcome: 'pull_failed',
          cause: c,
          fatal: true,
          error: new TaskError(t.knownBlocker.code, `${label}: ${t.knownBlocker.message}`, {
            remedy: t.knownBlocker.fix,
            target: label,
          }),
        };
      }
      const what =
        c === 'not_found'
          ? `the registry has no tag '${tagOf(t.image)}' for ${image}`
          : c === 'network'
            ? `the registry refused the app's network for ${image}`
            : `pulling ${image} failed (${c})`;
      return {
        ...base,
        outcome: 'pull_failed',
        cause: c,
        fatal: true,
        error: new TaskError(CODES[c], `${label}: ${what}.${perInstance}`, {
          remedy: remedyFor(c, facts),
          target: label,
        }),
      };
    }
    case 'timed_out': {
      const seconds = base.seconds;
      if (f.readError && !failure && f.last.outcome === 'nothing_relevant' && f.last.evidence.length === 0) {
        // We never saw the log: say so, rather than blame a pull that may well have happened.
        return {
          ...base,
          outcome: 'timed_out',
          fatal: true,
          error: new TaskError(
            'VerifyLogUnreadable',
            `${label}: after ${seconds} s the container log still could not be read. ${neutralise(f.readError, 500)}`,
            {
              remedy:
                'Give the service connection Website Contributor on the app (reading the log needs SCM access or Microsoft.Web/sites/containerlogs/action), or set verifyPull: false to skip verification.',
              target: label,
            },
          ),
        };
      }
      const seen = failure
        ? `the last pull attempt failed: ${neutralise(failure.summary, 500)}`
        : f.last.outcome === 'in_progress'
          ? 'the pull was still under way'
          : 'no pull of the image appeared in the log';
      const remedy = cause
        ? remedyFor(cause, facts)
        : f.last.outcome === 'in_progress'
          ? 'The pull was still running: large (Windows) images can take many minutes. Raise timeoutMinutes, or run the task again: it writes nothing and reads the log first.'
          : 'No start of the image appeared in the log: send a request to the site (one without Always On starts on demand) and read the platform log (the app > Log stream); raise timeoutMinutes if starts are slow.';
      return {
        ...base,
        outcome: 'timed_out',
        ...(cause ? { cause } : {}),
        fatal: true,
        error: new TaskError(
          'VerifyTimedOut',
          `${label}: after ${seconds} s and ${f.restarts} restart(s), ${seen}${perInstance}`,
          { remedy, target: label },
        ),
      };
    }
  }
}

interface RemedyFacts {
  readonly grantedThisRun: boolean;
  /** Whether role propagation could still explain an unauthorized pull. */
  readonly propagationPossible: boolean;
  readonly knownBlocker: VerifyTarget['knownBlocker'];
  /** A failure without a cause (2024+ ImagePullFailure) is ranked with what the run knows. */
  readonly causeLess?: CauseLessFacts;
}

/** The fix for a failed pull, fitted to what this run did: propagation is only blamed when a grant is young. */
export function remedyFor(cause: PullFailureCause, facts: RemedyFacts): string {
  if (facts.knownBlocker && (cause === 'unauthorized' || cause === 'unknown')) return facts.knownBlocker.fix;
  if (cause === 'unknown' && facts.causeLess) return causeLessRemedy(facts.causeLess);
  const fix = explain({
    outcome: 'pull_failed',
    cause,
    imagePulled: false,
    evidence: [],
    attempts: 0,
    otherImages: [],
    summary: '',
  }).fix as string;
  if (cause !== 'unauthorized' && cause !== 'unknown') return fix;
  const checks =
    "Check: the identity the site pulls with holds AcrPull (Container Registry Repository Reader on an ABAC registry) on the registry; config/web has acrUseManagedIdentityCreds=true and, for a user-assigned identity, acrUserManagedIdentityID = its client ID; the registry accepts ARM-audience tokens (az acr config authentication-as-arm show); the registry allows the app's network.";
  if (facts.grantedThisRun)
    return `This run granted the pull role, and Azure documents up to 10 minutes for a new role assignment to take effect: run the task again in a few minutes (it writes nothing and reads the log first). If it still fails: ${checks}`;
  if (facts.propagationPossible)
    return `The pull role was granted recently and may still be propagating (Azure documents up to 10 minutes for a role assignment; hours when the identity holds the role only through a group): run the task again later. If it still fails: ${checks}`;
  return `The pull role is older than the propagation window, so waiting will not help. ${checks}`;
}

function tagOf(image: string): string {
  const noDigest = image.split('@')[0] ?? image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(colon + 1) : 'latest';
}

/** The per-instance part of a result: coverage, the instances not proven, and machines no longer listed. */
function instancesOfResult(f: FollowResult): Pick<VerifyResult, 'instances'> {
  const j = f.instances;
  if (!j || (j.views.length <= 1 && j.left.length === 0)) return {};
  const notes = [
    j.expected === undefined
      ? `ARM's instance list could not be read: judged on the ${j.views.length} machines that logged since the change.`
      : undefined,
    j.left.length > 0
      ? `The log also holds ${j.left.length} machine(s) ARM no longer lists (${j.left.slice(0, 5).join(', ')}: an instance moved or the plan scaled in); not counted.`
      : undefined,
  ].filter((x): x is string => !!x);
  return {
    instances: {
      coverage: j.coverage,
      lines: j.lines.slice(0, 10).map((l) => neutralise(l, 300)),
      ...(notes.length ? { note: neutralise(notes.join(' '), 600) } : {}),
    },
  };
}

function verdictLine(r: VerifyResult): string {
  const per = r.instances;
  const detail = per?.lines.length ? ` ${per.lines.join('; ')}.` : '';
  const note = per?.note ? ` ${per.note}` : '';
  switch (r.outcome) {
    case 'verified':
      return `verified in ${r.seconds} s${per ? ` on ${per.coverage}` : ''} (${r.summary})${note}`;
    case 'start_failed':
      return `${r.summary} ${r.fatal ? '' : '(a warning: the image was pulled)'}`.trim();
    default:
      return `${r.outcome}${r.cause ? ` (${r.cause})` : ''} after ${r.seconds} s${per ? ` (proven on ${per.coverage})` : ''}: ${r.summary}${detail}${note}`;
  }
}
