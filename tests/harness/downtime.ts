/**
 * The downtime probe: what every target's site host answered during a run, once per emulated second, read from
 * the availability marks the emulator's platform records (tests/emulator/platform.ts `markAvailability`) — the
 * same answer an HTTP GET to the site host gets at that second, without waking a site that starts on request.
 *
 * Downtime is the seconds a target that served answered errors because a pull failed (the platform stopped the
 * site). A restart's own gap (an explicit restart stops the old container before the new one is up) is counted
 * apart, and so are the seconds a target was already down when the run began (not the run's doing).
 */
import type { Emulator } from '../emulator/index';
import type { App } from '../emulator/model';
import { availabilityAt } from '../emulator/platform';

export interface TargetAvailability {
  /** Seconds probed (one per emulated second of the run). */
  readonly probes: number;
  /** Seconds the site answered errors because a pull failed, after it had served in this run. */
  readonly downtimeSeconds: number;
  /** Seconds of 503 while an explicit restart (or start) brought a new container up. */
  readonly restartGapSeconds: number;
  /** Seconds down (pull or start failed) before the target first served in this run. */
  readonly downBeforeServingSeconds: number;
  /** Seconds the image was pulled but the container did not start, after it had served. */
  readonly startFailedSeconds: number;
  /**
   * Failed pull lines the platform wrote into this target's logs during the run while or after it served (a
   * target already down when the run began fails on its own until the run fixes it: not the run's doing).
   */
  readonly failedPullLines: number;
}

/** Label of an app in a run's figures: `production` / the slot name, prefixed with the site when there are several. */
export function availabilityLabel(app: App, apps: readonly App[]): string {
  const own = app.slot ?? 'production';
  return new Set(apps.map((a) => a.siteName)).size > 1 ? `${app.siteName}/${own}` : own;
}

const FAILED_PULL =
  /unauthorized|Image pull failed|ImagePullFailure|manifest unknown|not found|pull access denied|over VNET failed/i;

/** Probes every target once per emulated second between `fromMs` and `toMs` (emulated epoch ms). */
export function probeAvailability(
  emulator: Emulator,
  fromMs: number,
  toMs: number,
): Record<string, TargetAvailability> {
  // Replay what is due up to now, so attempts that ended unobserved have their marks.
  emulator.advanceClock(0);
  const apps = emulator.state.apps;
  const out: Record<string, TargetAvailability> = {};
  for (const app of apps) {
    let probes = 0;
    let downtime = 0;
    let restartGap = 0;
    let downBefore = 0;
    let startFailed = 0;
    let served = false;
    let firstServedAt: number | undefined;
    for (let t = fromMs; t <= toMs; t += 1000) {
      probes += 1;
      const mark = availabilityAt(app, t);
      if (!mark) continue;
      if (mark.reason === 'serving') {
        served = true;
        firstServedAt ??= t;
      } else if (mark.reason === 'restarting') restartGap += 1;
      else if (mark.reason === 'pullFailed') {
        if (served) downtime += 1;
        else downBefore += 1;
      } else if (mark.reason === 'startFailed') {
        if (served) startFailed += 1;
        else downBefore += 1;
      }
    }
    const failedPullLines = app.logs
      .filter((l) => l.source === 'platform')
      .flatMap((l) => l.lines)
      .filter(
        (l) =>
          firstServedAt !== undefined && l.at >= firstServedAt && l.at <= toMs && FAILED_PULL.test(l.text),
      ).length;
    out[availabilityLabel(app, apps)] = {
      probes,
      downtimeSeconds: downtime,
      restartGapSeconds: restartGap,
      downBeforeServingSeconds: downBefore,
      startFailedSeconds: startFailed,
      failedPullLines,
    };
  }
  return out;
}

/** `downtime 0 s` or `downtime 185 s (production 185 s)`. */
export function downtimeWords(availability: Readonly<Record<string, TargetAvailability>>): string {
  const entries = Object.entries(availability);
  const total = entries.reduce((n, [, a]) => n + a.downtimeSeconds, 0);
  const down = entries.filter(([, a]) => a.downtimeSeconds > 0);
  return down.length === 0
    ? `downtime ${total} s`
    : `downtime ${total} s (${down.map(([k, a]) => `${k} ${a.downtimeSeconds} s`).join(', ')})`;
}
