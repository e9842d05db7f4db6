/**
 * Whether the verifier restarts a target, and why, in one pure function: the rule behind the `restart` input.
 * A restart interrupts whatever the app is doing, so it is made only when it buys evidence we lack.
 */
import type { RestartPolicy } from '../settings';

export type RestartReason =
  /** A config write of this run restarted the target by itself: it is followed, a second restart would race it. */
  | 'configWrite'
  /** The log already shows the configured image pulled after the last configuration change: no restart. */
  | 'logEvidence'
  /** A start after the last change is under way (e.g. a deploy step's): followed, a restart would cut it. */
  | 'startUnderWay'
  /** No such pull in the log: restarted once to get the evidence. */
  | 'noEvidence'
  /** `restart: always`. */
  | 'always'
  /** `restart: never` and no evidence in the log: nothing restarted, the target ends unverified. */
  | 'never'
  /** The target is stopped on purpose: it is neither started nor restarted. */
  | 'stopped';

export interface RestartFacts {
  readonly policy: RestartPolicy;
  readonly restartedByWrite: boolean;
  readonly stopped: boolean;
  /** The log shows the configured image pulled after the last configuration change. */
  readonly evidence: boolean;
  /** The log shows a pull or start after the last change still under way. */
  readonly underWay?: boolean;
}

export interface RestartDecision {
  readonly restart: boolean;
  readonly reason: RestartReason;
}

export function decideRestart(f: RestartFacts): RestartDecision {
  if (f.stopped) return { restart: false, reason: 'stopped' };
  if (f.restartedByWrite) return { restart: false, reason: 'configWrite' };
  if (f.policy === 'always') return { restart: true, reason: 'always' };
  if (f.evidence) return { restart: false, reason: 'logEvidence' };
  if (f.underWay) return { restart: false, reason: 'startUnderWay' };
  if (f.policy === 'never') return { restart: false, reason: 'never' };
  return { restart: true, reason: 'noEvidence' };
}

/** Says, in a few words, why a target was (or was not) restarted; `restarts` counts the restarts the task made. */
export function describeRestart(reason: RestartReason, restarts: number): string {
  const extra = restarts > 1 ? `, then ${restarts - 1} more time(s) while the new pull role propagated` : '';
  switch (reason) {
    case 'configWrite':
      return restarts > 0
        ? `its configuration change was followed; restarted ${restarts} more time(s) to see a pull succeed`
        : 'not restarted: its configuration change restarted it';
    case 'logEvidence':
      return 'not restarted: the log shows the pull since the last change';
    case 'startUnderWay':
      return restarts > 0
        ? `a start was under way; restarted ${restarts} time(s) to see a pull succeed`
        : 'not restarted: a start after the last change was under way';
    case 'noEvidence':
      return `restarted: no pull since the last change in the log${extra}`;
    case 'always':
      return `restarted: restart is always${extra}`;
    case 'never':
      return 'not restarted: restart is never';
    case 'stopped':
      return 'not restarted: the app is stopped';
  }
}

/** What a dry run says for a target, before anything is written. */
export function describePlannedRestart(reason: RestartReason): string {
  switch (reason) {
    case 'configWrite':
      return 'will restart by itself when its settings are written (App Service does that, whatever the restart input says); followed, not restarted again';
    case 'logEvidence':
      return 'would not restart: the log shows the configured image pulled since the last change';
    case 'startUnderWay':
      return 'would not restart: a start after the last change is under way; it would be followed';
    case 'noEvidence':
      return 'would restart once: the log shows no pull of the configured image since the last change';
    case 'always':
      return 'would restart (restart: always)';
    case 'never':
      return 'the task sends no restart (restart: never); without a pull in the log it ends unverified';
    case 'stopped':
      return 'would not restart: the app is stopped';
  }
}
