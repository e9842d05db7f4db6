/**
 * Which targets serve today with a registry password: the ones a switch to the identity could take down. A target
 * serves today when it pulls with registry credentials (the flag off and DOCKER_REGISTRY_SERVER_USERNAME/PASSWORD
 * set), its image is on the registry the task grants, it is running, and the newest start in its platform log
 * pulled and started that image. Such a target is cut over (src/cutover/cutover.ts); every other one (new, broken,
 * stopped) keeps the fast path. `servingFact` is pure; `observeServing` reads the logs.
 */

import { registryHostOf } from '../configure/images';
import type { ObservedTarget } from '../configure/observe';
import type { RunContext } from '../context';
import { isCancelledError } from '../errors';
import { neutralise } from '../log';
import type { Classification } from '../verify/classify';
import { judgeInstances } from '../verify/instances';
import type { LogSource } from '../verify/log-source';

export interface ServingFact {
  readonly serving: boolean;
  /** Why, in words (for the plan's log lines). */
  readonly why: string;
}

const CREDENTIAL_KEYS = ['DOCKER_REGISTRY_SERVER_USERNAME', 'DOCKER_REGISTRY_SERVER_PASSWORD'];

/** Whether the target pulls with a registry password today (and so may be serving with it). */
export function pullsWithPassword(t: ObservedTarget, loginServer: string): boolean {
  if (t.sidecar) return sidecarPasswordContainers(t, loginServer).length > 0;
  if (t.pull.useManagedIdentity === true) return false;
  const keys = Object.keys(t.appSettings).map((k) => k.toUpperCase());
  if (!CREDENTIAL_KEYS.every((k) => keys.includes(k))) return false;
  const image = t.images[0];
  return !!image && registryHostOf(image) === loginServer.toLowerCase();
}

/**
 * A sidecar app's containers on the granted registry that pull with `UserCredentials` today. ARM never returns a
 * container's passwordSecret, so the task cannot write one back: such a target is never switched on its own proof
 * (src/cutover/plan.ts holds it).
 */
export function sidecarPasswordContainers(t: ObservedTarget, loginServer: string): string[] {
  if (!t.sidecar) return [];
  return t.containers
    .filter(
      (c) =>
        (c.authType ?? '').toLowerCase() === 'usercredentials' &&
        !!c.image &&
        registryHostOf(c.image) === loginServer.toLowerCase(),
    )
    .map((c) => c.name);
}

/** Pure: the serving verdict from the target's facts and its log's newest start (undefined: log unread). */
export function servingFact(
  t: ObservedTarget,
  loginServer: string,
  newest: Classification | undefined,
): ServingFact {
  if (!pullsWithPassword(t, loginServer))
    return { serving: false, why: 'does not pull with a registry password' };
  if ((t.state ?? '').toLowerCase() === 'stopped') return { serving: false, why: 'is stopped' };
  // An unreadable log is no proof it does not serve: treat it as serving (the careful way).
  if (!newest) return { serving: true, why: 'pulls with a registry password (its log could not be read)' };
  if (newest.outcome === 'container_started' || newest.outcome === 'pull_succeeded')
    return { serving: true, why: 'pulls with a registry password and its newest start runs the image' };
  if (newest.outcome === 'in_progress')
    return { serving: true, why: 'pulls with a registry password and a start is under way' };
  if (newest.outcome === 'nothing_relevant')
    return { serving: true, why: 'pulls with a registry password (no start in its log)' };
  return {
    serving: false,
    why: `pulls with a registry password that does not work today (${neutralise(newest.summary, 200)})`,
  };
}

/** Reads the log of every target that pulls with a password today; the others need no read. */
export async function observeServing(
  ctx: RunContext,
  targets: readonly ObservedTarget[],
  loginServer: string,
  sourceOf: (t: ObservedTarget) => LogSource,
): Promise<Record<string, ServingFact>> {
  const out: Record<string, ServingFact> = {};
  await Promise.all(
    targets.map(async (t) => {
      if (!pullsWithPassword(t, loginServer)) return;
      let newest: Classification | undefined;
      try {
        const snapshot = await sourceOf(t).read(0, ctx.signal);
        newest = judgeInstances(snapshot.files, {
          image: (t.sidecar ? t.containers.find((c) => c.isMain)?.image : undefined) ?? t.images[0] ?? '',
          since: 0,
          until: 'containerStarted',
        }).combined;
      } catch (e: unknown) {
        if (isCancelledError(e) || ctx.signal.aborted) throw e;
      }
      out[t.target.label] = servingFact(t, loginServer, newest);
    }),
  );
  return out;
}
