/**
 * The follow loop for one target: restart, wake the site, read the log every poll interval, and decide. The
 * decision (`decide`) is pure; the loop gets everything with side effects injected (clock, log source, restart,
 * warm-up), so unit tests script a log and run without real time.
 *
 * Rules (docs/azure-behaviour.md#polling-rules): only lines at or after the restart minus a clock-skew allowance count, and the last
 * start attempt decides. `unauthorized` (and the 2024+ platform's cause-less failure) early after a grant is
 * usually propagation: keep waiting and restart again after 6, 12, 24... polls of continued failure. An
 * interrupted pull gets another restart. A missing tag or a network denial will not heal by waiting: stop early.
 * An unauthorized pull is only waited out (and restarted for) while role propagation can explain it: a grant this
 * run made, or one younger than the propagation window. Otherwise it is the verdict at once, after one re-read of
 * the target's settings (a parallel deploy step may have turned the flag off or changed the identity).
 */
import { isArmError } from '../arm/client';
import type { InstanceFacts } from '../arm/instances';
import type { Clock } from '../context';
import { describeError, isCancelledError } from '../errors';
import { type Classification, ClassifyStoppedError, type PullFailureCause, sameImage } from './classify';
import { type InstancesVerdict, judgeInstances } from './instances';
import type { LogSource } from './log-source';

/** `partial`: every instance the log source can show is proven, but the source cannot show them all. */
export type FollowOutcome =
  | 'verified'
  | 'partial'
  | 'pull_failed'
  | 'start_failed'
  | 'timed_out'
  | 'cancelled';

export interface FollowState {
  /** Consecutive polls whose last attempt failed with unauthorized/unknown since the last restart. */
  readonly failingPolls: number;
  /** Restarts the loop made because failures continued (not counting the first restart). */
  readonly retryRestarts: number;
  readonly interruptedRestarts: number;
  /** Failures whose newest line is older than this (server ms) were seen before our last restart: stale. */
  readonly freshAfter: number | undefined;
}

export type Decision =
  | { readonly kind: 'wait'; readonly state: FollowState }
  | { readonly kind: 'restart'; readonly reason: 'propagation' | 'interrupted'; readonly state: FollowState }
  | { readonly kind: 'done'; readonly outcome: 'verified' | 'pull_failed' | 'start_failed' };

/** Polls of continued failure before the first extra restart; it doubles after each one (6, 12, 24...). */
export const POLLS_BEFORE_RETRY_RESTART = 6;
/** More interruptions than this are treated like any cause-less failure. */
const MAX_INTERRUPTED_RESTARTS = 3;

export const initialFollowState: FollowState = {
  failingPolls: 0,
  retryRestarts: 0,
  interruptedRestarts: 0,
  freshAfter: undefined,
};

function newestEvidenceAt(c: Classification): number | undefined {
  let newest: number | undefined;
  for (const l of c.evidence)
    if (l.at !== undefined && (newest === undefined || l.at > newest)) newest = l.at;
  return newest;
}

/** What to do after one poll. Pure. */
export function decide(
  c: Classification,
  until: 'imagePulled' | 'containerStarted',
  s: FollowState,
  propagationPossible = true,
): Decision {
  const wait = (state: FollowState = s): Decision => ({ kind: 'wait', state });
  switch (c.outcome) {
    case 'container_started':
      return c.imagePulled ? { kind: 'done', outcome: 'verified' } : wait();
    case 'pull_succeeded':
      return until === 'imagePulled'
        ? { kind: 'done', outcome: 'verified' }
        : wait({ ...s, failingPolls: 0 });
    case 'container_start_failed':
      return { kind: 'done', outcome: 'start_failed' };
    case 'in_progress':
    case 'nothing_relevant':
      return wait({ ...s, failingPolls: 0 });
    case 'pull_failed': {
      const at = newestEvidenceAt(c);
      // A failure written before our last restart is the attempt we restarted away from.
      if (s.freshAfter !== undefined && at !== undefined && at < s.freshAfter) return wait();
      const cause: PullFailureCause = c.cause ?? 'unknown';
      if (cause === 'not_found' || cause === 'network') return { kind: 'done', outcome: 'pull_failed' };
      // Without a young grant, an unauthorized (or cause-less) failure will not heal by waiting.
      if (!propagationPossible && cause !== 'interrupted') return { kind: 'done', outcome: 'pull_failed' };
      if (cause === 'interrupted' && s.interruptedRestarts < MAX_INTERRUPTED_RESTARTS)
        return {
          kind: 'restart',
          reason: 'interrupted',
          state: { ...s, failingPolls: 0, interruptedRestarts: s.interruptedRestarts + 1 },
        };
      const failingPolls = s.failingPolls + 1;
      if (failingPolls >= POLLS_BEFORE_RETRY_RESTART * 2 ** s.retryRestarts)
        return {
          kind: 'restart',
          reason: 'propagation',
          state: { ...s, failingPolls: 0, retryRestarts: s.retryRestarts + 1 },
        };
      return wait({ ...s, failingPolls });
    }
  }
}

export interface FollowDeps {
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly source: LogSource;
  /** POST restart; resolves with the server's time of the restart (epoch ms). */
  readonly restart: (signal: AbortSignal) => Promise<number>;
  /** The server's current time (epoch ms), when no restart is made. */
  readonly serverNow: (signal: AbortSignal) => Promise<number>;
  /** One request to the site so a site that starts on demand starts; never throws. */
  readonly warmUp: (signal: AbortSignal) => Promise<void>;
  /** One line per poll and per decision; remote text reaches it only neutralised. */
  readonly info: (message: string) => void;
  /**
   * Re-reads the target's pull settings, identity and grant; says what changed since the run configured them
   * (undefined: nothing). Called at most once, when pulls keep failing unauthorized.
   */
  readonly recheck?: (signal: AbortSignal) => Promise<string | undefined>;
  /**
   * The image the target is configured with now (undefined: unknown). Asked when the log pulls another image: a
   * deploy step may have switched the app to a new tag while we follow it.
   */
  readonly currentImage?: (signal: AbortSignal) => Promise<string | undefined>;
  /**
   * The instances the target runs on, as ARM lists them (undefined: unknown, e.g. the list is not readable).
   * Read when the follow starts, when the log shows a machine it does not list, every few polls, and once more
   * before a verdict of verified (a scale-out during the run adds an instance whose pull must be awaited).
   */
  readonly instances?: (signal: AbortSignal) => Promise<readonly InstanceFacts[] | undefined>;
}

export interface FollowOptions {
  readonly label: string;
  readonly image: string;
  readonly until: 'imagePulled' | 'containerStarted';
  readonly timeoutInMs: number;
  readonly pollIntervalInMs: number;
  readonly restartNeeded: boolean;
  /**
   * Server epoch ms from which log lines count when no restart is made first (a start under way since then);
   * default: now minus the skew allowance.
   */
  readonly notBefore?: number;
  /** False under `restart: never`: the loop then only waits, never restarts (default true). */
  readonly mayRestart?: boolean;
  /**
   * Until when (clock ms) an unauthorized pull may still be role propagation: a grant this run made or a young one.
   * Undefined: always possible (nothing is known about the grant).
   */
  readonly propagationUntil?: number;
  /** Allowance for the log writer's clock running behind ARM's (default 60 s). */
  readonly skewInMs?: number;
  /** Wait at least this long after a Kudu 406 (default 5 s). */
  readonly rateLimitBackoffInMs?: number;
}

export interface FollowResult {
  readonly outcome: FollowOutcome;
  /** The last classification (the verdict's, or what was seen when time ran out). */
  readonly last: Classification;
  readonly restarts: number;
  readonly elapsedInMs: number;
  /** The log source in use at the end. */
  readonly source: 'kudu' | 'containerlogs' | undefined;
  /** Notes from the sources (fallbacks, read errors), for the summary. */
  readonly notes: readonly string[];
  /** Set when the latest read of the log failed (no read succeeded after it): why. */
  readonly readError?: string;
  /** The newest failed attempt seen during the whole follow (the verdict's basis when time runs out later). */
  readonly lastFailure?: Classification;
  /** What the re-read found changed during the run (the flag turned off, another identity...). */
  readonly drift?: string;
  /** The per-instance judgement of the last read (undefined before the first read). */
  readonly instances?: InstancesVerdict;
}

/** Re-read ARM's instance list at least this often (in polls) while following. */
const POLLS_PER_INSTANCE_REFRESH = 6;
/** A progress line that says the same as the last one is repeated at most this often. */
export const PROGRESS_REPEAT_MS = 60_000;

const EMPTY: Classification = {
  outcome: 'nothing_relevant',
  imagePulled: false,
  evidence: [],
  attempts: 0,
  otherImages: [],
  summary: 'No platform log lines since the restart yet.',
};

/** A failed read in one line: which call, what Azure answered (never a stack). */
function readFailure(e: unknown): string {
  if (!isArmError(e)) return describeError(e);
  return `${e.method} ${e.path.split('/').pop() ?? e.path} answered HTTP ${e.status} ${e.code}: ${e.message}`;
}

function describePoll(c: Classification, judged?: InstancesVerdict): string {
  const several = judged && judged.views.length > 1 ? ` (proven on ${judged.coverage})` : '';
  return `${describeOne(c)}${several}`;
}

function describeOne(c: Classification): string {
  if (c.outcome === 'pull_failed' && c.cause === 'unauthorized')
    return 'pull failing (unauthorized), which is expected for a few minutes after a new role assignment';
  if (c.outcome === 'pull_failed') return `pull failing (${c.cause ?? 'unknown'})`;
  if (c.outcome === 'pull_succeeded') return 'image pulled, container starting';
  if (c.outcome === 'in_progress') return 'pulling or starting';
  if (c.outcome === 'container_started' && !c.imagePulled)
    return 'a container started without a pull of the image';
  return 'waiting for the platform to start the pull';
}

/**
 * Checks in a row with no platform line about a start (two warm-up knocks in between) after which a followed start
 * is taken as one that never came. At the default 10 s interval: two minutes of silence.
 */
export const QUIET_POLLS_BEFORE_RESTART = 12;

export async function follow(deps: FollowDeps, o: FollowOptions): Promise<FollowResult> {
  const { clock, signal } = deps;
  const skew = o.skewInMs ?? 60_000;
  const started = clock.now();
  const deadline = started + o.timeoutInMs;
  const notes: string[] = [];
  let readError: string | undefined;
  let restarts = 0;
  let last = EMPTY;
  let source: FollowResult['source'];
  let lastFailure: Classification | undefined;
  let drift: string | undefined;
  let rechecked = false;
  const mayRestart = o.mayRestart ?? true;
  let image = o.image;
  const askedAbout = new Set<string>();
  let listed: readonly InstanceFacts[] | undefined;
  let pollsSinceListing = 0;
  // Machines the log showed that ARM did not list: each one triggers one re-read of the list, not one per poll.
  const leftSeen = new Set<string>();
  let judged: InstancesVerdict | undefined;
  let lastProgress: { text: string; at: number } | undefined;
  const refreshInstances = async () => {
    pollsSinceListing = 0;
    if (!deps.instances) return;
    try {
      listed = (await deps.instances(signal)) ?? listed;
    } catch (e: unknown) {
      if (isCancelledError(e)) throw e;
      // Without the list, every machine that logs since the change stands for an instance.
    }
  };
  const result = (outcome: FollowOutcome): FollowResult => ({
    outcome,
    last,
    restarts,
    elapsedInMs: clock.now() - started,
    source,
    notes,
    ...(readError ? { readError } : {}),
    ...(lastFailure ? { lastFailure } : {}),
    ...(drift ? { drift } : {}),
    ...(judged ? { instances: judged } : {}),
  });

  try {
    let restartAt: number;
    if (o.restartNeeded) {
      restartAt = await deps.restart(signal);
      restarts++;
    } else {
      restartAt = await deps.serverNow(signal);
    }
    let since =
      !o.restartNeeded && o.notBefore !== undefined
        ? Math.min(o.notBefore, restartAt - skew)
        : restartAt - skew;
    await deps.warmUp(signal);
    await refreshInstances();
    let state: FollowState = initialFollowState;
    let rateLimitedStreak = 0;
    let quietPolls = 0;
    // Reads that succeeded and showed nothing about a start: a log we could not read proves no silence.
    let quietReads = 0;
    for (;;) {
      const remaining = deadline - clock.now();
      if (remaining <= 0) return result('timed_out');
      // Kudu's 406 asks for at least 5 s; consecutive ones double the back-off (up to a minute).
      const backoff = Math.min(
        60_000,
        (o.rateLimitBackoffInMs ?? 5000) * 2 ** Math.max(0, rateLimitedStreak - 1),
      );
      const interval = rateLimitedStreak > 0 ? Math.max(o.pollIntervalInMs, backoff) : o.pollIntervalInMs;
      const wait = Math.min(interval, remaining);
      // Progress: a line when what we see changes, else at most once a minute (a long wait stays readable).
      const progress = describePoll(last, judged);
      const now = clock.now();
      if (!lastProgress || lastProgress.text !== progress || now - lastProgress.at >= PROGRESS_REPEAT_MS) {
        deps.info(`${o.label}: ${progress}; next check in ${Math.ceil(wait / 1000)} s.`);
        lastProgress = { text: progress, at: now };
      }
      await clock.sleep(wait, signal);

      const snapshot = await deps.source.read(since, signal).catch((e: unknown) => {
        if (isCancelledError(e)) throw e;
        // Keep polling (it may heal), but remember why: a timeout must not blame a log we never read.
        const note = `The log could not be read: ${readFailure(e)}`;
        if (notes.at(-1) !== note) {
          notes.push(note);
          deps.info(`${o.label}: ${note}`);
        }
        readError = note;
        return undefined;
      });
      if (snapshot) {
        readError = undefined;
        source = snapshot.source;
        rateLimitedStreak = snapshot.rateLimited ? rateLimitedStreak + 1 : 0;
        if (snapshot.note && notes.at(-1) !== snapshot.note) {
          notes.push(snapshot.note);
          deps.info(`${o.label}: ${snapshot.note}`);
        }
        pollsSinceListing++;
        const judge = () =>
          judgeInstances(snapshot.files, { image, since, until: o.until, instances: listed });
        judged = judge();
        // The log shows a machine ARM did not list, or it is time: read the instance list again.
        const unknownMachine = judged.left.some((m) => !leftSeen.has(m));
        for (const m of judged.left) leftSeen.add(m);
        if (deps.instances && (unknownMachine || pollsSinceListing >= POLLS_PER_INSTANCE_REFRESH)) {
          await refreshInstances();
          judged = judge();
        }
        last = judged.combined;
        // The log pulls an image we have not asked about: was the app switched to it (a deploy during the run)?
        const fresh = last.otherImages.filter((i) => !askedAbout.has(i));
        if (fresh.length > 0 && deps.currentImage) {
          for (const i of fresh) askedAbout.add(i);
          const now = await deps.currentImage(signal);
          if (now && !sameImage(now, image) && fresh.some((i) => sameImage(i, now))) {
            deps.info(`${o.label}: the app was switched to ${now} during the run; verifying that image.`);
            image = now;
            judged = judge();
            last = judged.combined;
          }
        }
        // About to call it verified: make sure no instance joined since the list was read.
        if (deps.instances && decide(last, o.until, initialFollowState).kind === 'done' && !last.cause) {
          const before = listed?.length;
          await refreshInstances();
          if (listed?.length !== before) {
            judged = judge();
            last = judged.combined;
          }
        }
        // Every instance the source shows is proven, but it cannot show them all (ARM containerlogs).
        const readable = judged.views.filter((v) => !v.unreadable);
        // (Only once Kudu is given up: a throttled Kudu read that fell back for one poll will show the rest later.)
        if (
          snapshot.source === 'containerlogs' &&
          readable.length < judged.views.length &&
          readable.every((v) => v.proven)
        )
          return result('partial');
      }
      if (last.outcome === 'pull_failed') lastFailure = last;
      const propagation = o.propagationUntil === undefined || clock.now() < o.propagationUntil;
      let decision = decide(last, o.until, state, propagation);
      const unauthorized =
        last.outcome === 'pull_failed' && ['unauthorized', 'unknown'].includes(last.cause ?? 'unknown');
      // Pulls keep failing unauthorized: once, check nobody changed the settings under us before blaming the grant.
      if (
        unauthorized &&
        !rechecked &&
        deps.recheck &&
        (decision.kind === 'done' || (decision.kind === 'restart' && decision.reason === 'propagation'))
      ) {
        rechecked = true;
        drift = await deps.recheck(signal);
        if (drift) return result('pull_failed');
      }
      if (decision.kind === 'restart' && !mayRestart) decision = { kind: 'wait', state: decision.state };
      if (decision.kind === 'done') return result(decision.outcome);
      state = decision.state;
      if (decision.kind === 'restart') {
        deps.info(
          decision.reason === 'interrupted'
            ? `${o.label}: the pull was interrupted by a restart; restarting once more.`
            : `${o.label}: the pull still fails (${last.cause ?? 'unknown'}); the pull role is young enough to be still propagating, so restarting again.`,
        );
        restartAt = await deps.restart(signal);
        restarts++;
        since = restartAt - skew;
        state = { ...state, freshAfter: restartAt };
        await deps.warmUp(signal);
        continue;
      }
      // A site without Always On starts only on a request: knock again when nothing happens for a while.
      quietPolls = last.outcome === 'nothing_relevant' ? quietPolls + 1 : 0;
      if (last.outcome !== 'nothing_relevant') quietReads = 0;
      else if (snapshot && !snapshot.rateLimited) quietReads++;
      if (quietReads >= QUIET_POLLS_BEFORE_RESTART && restarts === 0 && mayRestart) {
        // We followed a start that never came: the write changed nothing (another run had made the same change,
        // so the platform did not restart) or the platform dropped it. Nothing is under way, so a restart cuts
        // nothing and is the only way to get the evidence.
        deps.info(
          `${o.label}: nothing has started since the configuration change (${quietReads} checks); restarting once to see the pull.`,
        );
        restartAt = await deps.restart(signal);
        restarts++;
        since = restartAt - skew;
        state = { ...state, freshAfter: restartAt };
        quietPolls = 0;
        quietReads = 0;
        await deps.warmUp(signal);
        continue;
      }
      if (quietPolls > 0 && quietPolls % 6 === 0) await deps.warmUp(signal);
    }
  } catch (e: unknown) {
    if (e instanceof ClassifyStoppedError) return result('timed_out');
    if (isCancelledError(e) || signal.aborted) return result('cancelled');
    throw e;
  }
}
