/**
 * Proves the pull for every target, concurrently: restart (unless a config write already did), wake the site,
 * follow the platform docker log until the configured image was pulled (and, with `until: containerStarted`, the
 * container started), and turn the verdict into a result with evidence and, on failure, a TaskError whose remedy
 * is the fix. Only this file wires the real world (ARM, Kudu, the site host) into the pure follow loop.
 */
import { createKuduClient } from '../arm/kudu';
import { getSite, restart, WEB_API_VERSION } from '../arm/web-apps';
import type { RunContext } from '../context';
import { isCancelledError, TaskError } from '../errors';
import { appServiceHosts } from '../http/guard';
import { defaultTransport, withDeadline } from '../http/pipeline';
import { send } from '../http/retry';
import { neutralise } from '../log';
import { type CauseLessFacts, causeLessRemedy } from '../registry/preflight';
import type { Target } from '../targets';
import { type Classification, explain, type PullFailureCause } from './classify';
import { type FollowResult, follow } from './follow';
import { createLogSource } from './log-source';

export interface VerifyTarget {
  readonly target: Target;
  /** The configured image, `myacr.azurecr.io/app:1.0`. */
  readonly image: string;
  /** `properties.defaultHostName`: the warm-up request goes to `https://{defaultHostName}/`. */
  readonly defaultHostName: string;
  /** From `hostNameSslStates[hostType=Repository]` (web-apps `scmHostName`); undefined → ARM containerlogs. */
  readonly scmHostName: string | undefined;
  /** False when a config write just restarted the target: then we only follow, so a pull under way is not cut. */
  readonly restartNeeded: boolean;
  /** What the run knows when the log gives no cause (pre-flight image check, grant age, network): ranks causes. */
  readonly causeLess?: CauseLessFacts;
}

export type VerifyOutcome =
  | 'verified'
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
  return Promise.all(targets.map((t) => verifyOne(ctx, t, v, options)));
}

async function verifyOne(
  ctx: RunContext,
  t: VerifyTarget,
  v: { timeoutInMs: number; pollIntervalInMs: number; until: 'imagePulled' | 'containerStarted' },
  options: VerifyOptions,
): Promise<VerifyResult> {
  const label = t.target.label;
  // One deadline for everything this target does: every request and retry wait below is clamped to it, so the
  // run ends within timeoutMinutes plus at most one request timeout.
  const signal = withDeadline(ctx.signal, Date.now() + v.timeoutInMs);
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
      retry: { signal },
    }),
  );
  const source = createLogSource({ arm: ctx.arm, target: t.target, kudu });
  const serverTime = (date: string | null | undefined) => {
    const at = date ? Date.parse(date) : Number.NaN;
    return Number.isNaN(at) ? ctx.clock.now() : at;
  };
  // A stopped app never pulls: say so at once rather than wait for the timeout.
  if (await isStopped(ctx, t)) return stoppedResult(t, 0, 0);
  let outcome: FollowResult;
  try {
    outcome = await follow(
      {
        clock: ctx.clock,
        signal,
        source,
        restart: async (signal) => serverTime(await restart(ctx.arm, t.target, signal)),
        serverNow: async (signal) => {
          const r = await ctx.arm.request('GET', t.target.path, { apiVersion: WEB_API_VERSION, signal });
          return serverTime(r.headers.get('date'));
        },
        warmUp: (signal) => warmUp(ctx, t.defaultHostName, signal, options.warmUpTimeoutInMs ?? 10_000),
        info: (m) => ctx.log.info(m),
      },
      {
        label,
        image: t.image,
        until: v.until,
        timeoutInMs: v.timeoutInMs,
        pollIntervalInMs: v.pollIntervalInMs,
        restartNeeded: t.restartNeeded,
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
      };
    }
    throw e;
  }
  let result = toResult(t, v.until, outcome);
  // Stopped while we followed it: that, not the log, is why nothing was pulled.
  if (result.outcome === 'timed_out' && (await isStopped(ctx, t)))
    result = stoppedResult(t, result.seconds, result.restarts);
  ctx.log.info(`${label}: ${verdictLine(result)}`);
  return result;
}

/** Whether ARM reports the target Stopped. A failed check is not a verdict: it answers false. */
async function isStopped(ctx: RunContext, t: VerifyTarget): Promise<boolean> {
  try {
    const site = await getSite(ctx.arm, t.target, ctx.signal);
    return site.properties?.state?.toLowerCase() === 'stopped';
  } catch {
    return false; // a cancellation is seen by the follow loop right after
  }
}

function stoppedResult(t: VerifyTarget, seconds: number, restarts: number): VerifyResult {
  const label = t.target.label;
  const [, group = '<group>', app = '<app>'] =
    /\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Web\/sites\/([^/]+)/i.exec(t.target.path) ?? [];
  const slot = t.target.slot ? ` --slot ${t.target.slot}` : '';
  return {
    target: t.target,
    outcome: 'start_failed',
    fatal: true,
    seconds,
    restarts,
    evidence: [],
    summary: 'The app is stopped.',
    notes: [],
    error: new TaskError(
      'AppStopped',
      `${label}: the app is stopped, so it does not pull its image; the pull cannot be verified.`,
      {
        remedy: `Start it (az webapp start --name ${app} --resource-group ${group}${slot}) and run the task again, or set verifyPull: false for apps that are meant to stay stopped.`,
        target: label,
      },
    ),
  };
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
      { maxAttempts: 1, attemptTimeoutInMs: timeoutInMs, signal, transport, maxBodyBytes: 0 },
    );
  } catch (e: unknown) {
    if (isCancelledError(e) || signal.aborted) throw e;
    // A 503, a timeout or a reset while the container starts is expected: the request only has to arrive.
  }
}

function evidenceOf(c: Classification): string[] {
  return c.evidence.slice(-10).map((l) => neutralise(l.raw.split('\n').join(' | '), 500));
}

const CODES: Record<PullFailureCause, string> = {
  unauthorized: 'PullUnauthorized',
  not_found: 'ImageNotFound',
  network: 'RegistryNetworkDenied',
  throttled: 'RegistryThrottled',
  interrupted: 'PullInterrupted',
  unknown: 'PullFailed',
};

function toResult(t: VerifyTarget, until: 'imagePulled' | 'containerStarted', f: FollowResult): VerifyResult {
  const label = t.target.label;
  const base = {
    target: t.target,
    seconds: Math.round(f.elapsedInMs / 1000),
    restarts: f.restarts,
    evidence: evidenceOf(f.last),
    summary: neutralise(f.last.summary, 500),
    ...(f.source ? { source: f.source } : {}),
    notes: f.notes.map((n) => neutralise(n, 500)),
  };
  // A failure without a cause (2024+ ImagePullFailure): rank the remaining causes with what the run knows.
  const fix =
    f.last.outcome === 'pull_failed' && (f.last.cause ?? 'unknown') === 'unknown' && t.causeLess
      ? causeLessRemedy(t.causeLess)
      : explain(f.last).fix;
  const image = neutralise(t.image, 300);
  switch (f.outcome) {
    case 'verified':
      return { ...base, outcome: 'verified', fatal: false };
    case 'cancelled':
      return { ...base, outcome: 'cancelled', fatal: true };
    case 'start_failed':
      return {
        ...base,
        outcome: 'start_failed',
        fatal: until === 'containerStarted',
        error: new TaskError(
          'ContainerStartFailed',
          `${label}: ${image} was pulled, but the container failed to start.`,
          {
            remedy: fix ?? explain({ ...f.last, outcome: 'container_start_failed' }).fix ?? '',
            target: label,
          },
        ),
      };
    case 'pull_failed': {
      const cause = f.last.cause ?? 'unknown';
      const what =
        cause === 'not_found'
          ? `the registry has no tag '${tagOf(t.image)}' for ${image}`
          : cause === 'network'
            ? `the registry refused the app's network for ${image}`
            : `pulling ${image} failed (${cause})`;
      return {
        ...base,
        outcome: 'pull_failed',
        cause,
        fatal: true,
        error: new TaskError(CODES[cause], `${label}: ${what}.`, { remedy: fix ?? '', target: label }),
      };
    }
    case 'timed_out': {
      const seconds = base.seconds;
      if (f.readError && f.last.outcome === 'nothing_relevant' && f.last.evidence.length === 0) {
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
      const cause = f.last.outcome === 'pull_failed' ? (f.last.cause ?? 'unknown') : undefined;
      const seen =
        f.last.outcome === 'nothing_relevant' && f.last.evidence.length === 0
          ? 'no pull of the image appeared in the log'
          : `the log last showed: ${base.summary}`;
      return {
        ...base,
        outcome: 'timed_out',
        ...(cause ? { cause } : {}),
        fatal: true,
        error: new TaskError(
          'VerifyTimedOut',
          `${label}: after ${seconds} s and ${f.restarts} restart(s), ${seen}`,
          {
            remedy:
              fix ??
              'Raise timeoutMinutes, or read the container log in the portal (the app > Log stream, or Deployment Center > Logs) for the last start attempt.',
            target: label,
          },
        ),
      };
    }
  }
}

function tagOf(image: string): string {
  const noDigest = image.split('@')[0] ?? image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(colon + 1) : 'latest';
}

function verdictLine(r: VerifyResult): string {
  switch (r.outcome) {
    case 'verified':
      return `verified in ${r.seconds} s (${r.summary})`;
    case 'start_failed':
      return `${r.summary} ${r.fatal ? '' : '(a warning: the image was pulled)'}`.trim();
    default:
      return `${r.outcome}${r.cause ? ` (${r.cause})` : ''} after ${r.seconds} s: ${r.summary}`;
  }
}
