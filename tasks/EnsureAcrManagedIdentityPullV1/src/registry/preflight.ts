/**
 * What the pre-flight image check means for the run, as pure functions the orchestration calls:
 * - `imageCheckLines`: what to print (the skip reason said once, never per image or target);
 * - `missingImageVerdict`: a missing image stops the run BEFORE any write or restart (a config write restarts the
 *   app, and a restart into a tag that does not exist takes down a container that still runs today);
 * - `causeLessCauses`: when the platform log gives no cause (2024+ `ImagePullFailure`), the remaining likely
 *   causes, in order, each with the evidence that ranks it, instead of assuming role propagation.
 */
import { grantsPull } from '../arm/role-assignments';
import type { Applied } from '../configure/apply';
import type { Observed, ObservedTarget } from '../configure/observe';
import { TaskError } from '../errors';
import { type CheckedImage, type ImageCheckReport, splitImage } from './image-check';

/** What the planner decided, as far as the verdict needs it (kept structural so this file stays pure). */
export interface PlannedStep {
  readonly kind: string;
  readonly target: string;
  readonly what: string;
}

/** Steps that make App Service restart the target (a config write restarts the site). */
const RESTARTING = new Set(['setAcrFlags', 'setSidecarAuth', 'removeRegistryCredentials', 'enableIdentity']);

export interface ImageCheckLines {
  readonly info: readonly string[];
  /** A warning, at most one: why the check was skipped. */
  readonly warning: string | undefined;
}

export function imageCheckLines(report: ImageCheckReport | undefined, enabled: boolean): ImageCheckLines {
  if (!enabled) return { info: ['Image check: off (checkImage: false).'], warning: undefined };
  if (!report) return { info: [], warning: undefined };
  const info: string[] = [];
  const cost = `${report.requests} request(s), ${report.ms} ms`;
  for (const o of report.otherRegistryImages)
    info.push(
      `Image check: ${o.image} (${o.targets.join(', ')}) is on another registry than ${report.loginServer}; not checked.`,
    );
  if (report.images.length === 0) return { info, warning: undefined };
  if (report.skipped) {
    return {
      info,
      warning: `The image check was skipped: ${report.skipped.detail}. The task carries on; a missing tag would only show in the container log after the restart.`,
    };
  }
  for (const i of report.images) {
    const s = i.state;
    const where = `${i.image} (${i.targets.join(', ')})`;
    if (s.kind === 'exists') info.push(`Image check: ${where} exists${s.digest ? ` (${s.digest})` : ''}.`);
    else if (s.kind === 'unchecked') info.push(`Image check: ${where} not checked: ${s.detail}.`);
    else info.push(`Image check: ${where} does NOT exist: ${missingWords(i)}.`);
  }
  info.push(`Image check on ${report.loginServer}: ${report.images.length} image(s), ${cost}.`);
  return { info, warning: undefined };
}

function missingWords(i: CheckedImage): string {
  if (i.state.kind !== 'missing') return '';
  switch (i.state.what) {
    case 'repository':
      return `the registry has no repository '${i.repository}'`;
    case 'digest':
      return `repository '${i.repository}' has no manifest ${i.reference}`;
    case 'tag':
      return `repository '${i.repository}' has no tag '${i.reference}'`;
  }
}

function tagsWords(i: CheckedImage): string {
  if (i.state.kind !== 'missing') return '';
  if (i.state.what === 'repository') return '';
  if (i.state.nearestTags === undefined) return ' (its tags could not be listed)';
  if (i.state.nearestTags.length === 0) return ' (the repository has no tags)';
  return ` Existing tags nearest to it: ${i.state.nearestTags.join(', ')}${(i.state.tagCount ?? 0) > i.state.nearestTags.length ? ` (of ${i.state.tagCount})` : ''}.`;
}

const STEP_WORDS: Readonly<Record<string, string>> = {
  enableIdentity: 'turn on the identity',
  assignRole: 'grant the pull role',
  setAcrFlags: 'set acrUseManagedIdentityCreds',
  setSidecarAuth: "set the sidecar containers' identity",
  removeRegistryCredentials: 'remove the registry password settings',
};

/** `turn on the identity (production, staging); grant the pull role (production)`. */
function stepKinds(steps: readonly PlannedStep[]): string {
  const byKind = new Map<string, string[]>();
  for (const s of steps) byKind.set(s.kind, [...new Set([...(byKind.get(s.kind) ?? []), s.target])]);
  return [...byKind]
    .map(([kind, targets]) => `${STEP_WORDS[kind] ?? kind} (${targets.join(', ')})`)
    .join('; ');
}

export interface MissingImageVerdict {
  /** The run must stop before apply: nothing is written, nothing restarts. */
  readonly error: TaskError | undefined;
  /** Targets whose image is missing (for per-target results), with the image. */
  readonly targets: readonly { readonly label: string; readonly image: string }[];
  /** When the run may go on (verification off and nothing to restart): a warning instead. */
  readonly warning: string | undefined;
}

/**
 * A missing image fails the run before any write when the run would restart the target (a planned config write)
 * or verify it (an explicit restart). With verification off and nothing to write for it, the task would not
 * touch that target: a warning then, not a failure. The planned steps are named: they do not depend on the tag
 * and a run after the image exists makes them.
 */
export function missingImageVerdict(
  report: ImageCheckReport | undefined,
  steps: readonly PlannedStep[],
  options: {
    readonly verify: boolean;
    readonly dryRun: boolean;
    /** Where the run stands around the deploy step (settings.ts `Placement`); default standalone. */
    readonly placement?: 'standalone' | 'beforeDeploy' | 'afterDeploy';
  },
): MissingImageVerdict {
  const missing = (report?.images ?? []).filter((i) => i.state.kind === 'missing');
  if (missing.length === 0) return { error: undefined, targets: [], warning: undefined };
  const targets = missing.flatMap((i) => i.targets.map((label) => ({ label, image: i.image })));
  // Before the deploy, the image a target runs today is the deploy's to replace: never block it
  // (run.ts defers what depends on the tag and warns, src/configure/placement.ts).
  if (options.placement === 'beforeDeploy') return { error: undefined, targets, warning: undefined };
  const touches = (label: string) =>
    options.verify || steps.some((s) => s.target === label && RESTARTING.has(s.kind));
  const stops = targets.some((t) => touches(t.label));
  const what = missing
    .map((i) => `${i.image} (${i.targets.join(', ')}): ${missingWords(i)}.${tagsWords(i)}`)
    .join(' ');
  if (!stops) return { error: undefined, targets, warning: `The configured image does not exist: ${what}` };
  const first = missing[0] as CheckedImage;
  const nearest = first.state.kind === 'missing' ? first.state.nearestTags?.[0] : undefined;
  const planned = options.dryRun
    ? 'A dry run ends the way the real run would: Failed, before any change or restart.'
    : steps.length === 0
      ? 'Nothing else needed changing.'
      : `The ${steps.length} planned change(s) do not depend on the tag and were NOT made, so nothing restarted (${stepKinds(steps)}; each is listed in the plan above). Run the task again once the image exists and it makes them.`;
  return {
    targets,
    warning: undefined,
    error: new TaskError(
      'ImageNotFound',
      `The configured image does not exist in the registry, so the ${options.dryRun ? 'dry run stops where a real run would,' : 'run stopped'} before any write or restart: ${what}`,
      {
        remedy: [
          ...(options.placement === 'afterDeploy'
            ? [
                `The deploy step before this one set ${first.image}: check the image its containers input names and that the push step ran before it.`,
              ]
            : []),
          `Push the image (docker push ${withTag(first.image, first.reference)}), or point the app at an image that exists${
            nearest && !first.byDigest ? ` (e.g. ${withTag(first.image, nearest)})` : ''
          } in its container settings (linuxFxVersion / windowsFxVersion, or the sidecar container's image).`,
          planned,
          options.placement === 'afterDeploy'
            ? 'To skip this check, set checkImage: false.'
            : 'If a deploy step after this one sets a new image, set placement: beforeDeploy: the run then warns and writes only the identity and the grant. To skip this check, set checkImage: false.',
        ].join(' '),
        ...(targets.length === 1 ? { target: (targets[0] as { label: string }).label } : {}),
      },
    ),
  };
}

/** The image reference with `tag`, whether it had a tag or not (`acr.io/web` means `acr.io/web:latest`). */
function withTag(image: string, tag: string): string {
  if (image.includes('@')) return image;
  const { host, repository } = splitImage(image);
  return `${host ? `${host}/` : ''}${repository}:${tag}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Cause-less failures

/** What we know when the platform log says only that the pull failed. */
export interface CauseLessFacts {
  /** The pre-flight result for the target's image; undefined when the check did not run. */
  readonly image: CheckedImage | undefined;
  /** Why the check did not cover this image (skip detail), when it did not. */
  readonly skipped: string | undefined;
  /** A pull grant for the target's identity was written by this run (or is younger than the task's 30-minute window). */
  readonly grantIsFresh: boolean;
  /** The registry's firewall or public network access restricts who may pull. */
  readonly registryNetworkRestricted: boolean;
  /** The target pulls over its VNet integration. */
  readonly vnetImagePull: boolean;
  readonly armTokenAuthDisabled: boolean;
}

export interface LikelyCause {
  readonly cause: 'tag' | 'propagation' | 'network' | 'armTokenPolicy' | 'identity';
  readonly evidence: string;
  readonly fix: string;
}

/**
 * The likely causes of a cause-less pull failure, most likely first. A tag the registry confirmed removes "not
 * found"; an agent that reached the registry says nothing about the app's network, so a restricted registry keeps
 * "network" high; propagation leads only when the grant is fresh.
 */
export function causeLessCauses(f: CauseLessFacts): LikelyCause[] {
  const out: LikelyCause[] = [];
  const exists = f.image?.state.kind === 'exists';
  if (f.armTokenAuthDisabled)
    out.push({
      cause: 'armTokenPolicy',
      evidence:
        'the registry refuses ARM-audience tokens (azureADAuthenticationAsArmPolicy disabled), which App Service managed-identity pulls use',
      fix: 'az acr config authentication-as-arm update --registry <registry> --status enabled',
    });
  if (!exists)
    out.push({
      cause: 'tag',
      evidence:
        f.image?.state.kind === 'missing'
          ? `the registry says ${f.image.image} does not exist (${f.image.state.what} missing), so it cannot be pulled`
          : f.image
            ? `the pre-flight check could not confirm ${f.image.image}${f.skipped ? ` (${f.skipped})` : ''}`
            : 'the image was not checked in the registry',
      fix: 'check the tag exists: az acr repository show-tags --name <registry> --repository <repo>',
    });
  const propagation: LikelyCause = {
    cause: 'propagation',
    evidence: f.grantIsFresh
      ? 'the pull grant is younger than 30 minutes (Azure documents up to 10 minutes for a role assignment to take effect; the task allows three times that)'
      : 'the pull grant is older than 30 minutes (three times the 10 minutes Azure documents), so propagation is unlikely',
    fix: 'wait and restart the app once more',
  };
  const network: LikelyCause = {
    cause: 'network',
    evidence: f.registryNetworkRestricted
      ? `the registry restricts network access${f.vnetImagePull ? ' (the app pulls over its VNet: check the private endpoint and DNS)' : ' and the app does not pull over a VNet'}; the agent reaching it says nothing about the app's outbound addresses`
      : 'the registry allows public network access',
    fix: "allow the app's outbound IPs on the registry, or pull over VNet integration with a private endpoint",
  };
  const identity: LikelyCause = {
    cause: 'identity',
    evidence: exists
      ? `${f.image?.image} exists and the registry is reachable, so the identity the app pulls with is the next suspect`
      : 'the identity the app pulls with may not be the one that holds the grant',
    fix: 'check acrUseManagedIdentityCreds=true and acrUserManagedIdentityID (the client ID) in config/web, and the grant for that identity',
  };
  if (f.grantIsFresh) out.push(propagation);
  if (f.registryNetworkRestricted) out.push(network);
  out.push(identity);
  if (!f.grantIsFresh) out.push(propagation);
  if (!f.registryNetworkRestricted) out.push(network);
  return out;
}

/** The causes as one remedy text: numbered, each with its evidence. */
export function causeLessRemedy(f: CauseLessFacts): string {
  const causes = causeLessCauses(f);
  return [
    'The platform did not say why (the 2024+ platform only logs ImagePullFailure). Likely causes, most likely first:',
    ...causes.map((c, i) => `(${i + 1}) ${c.cause}: ${c.evidence}; fix: ${c.fix}.`),
  ].join(' ');
}

/** Per-target results of a run stopped by a missing image: `pull_failed (not_found)`, or skipped for the others. */
export function stoppedResults<T extends { readonly label: string }>(
  targets: readonly T[],
  verdict: MissingImageVerdict,
): {
  target: T;
  outcome: 'pull_failed' | 'skipped';
  cause?: 'not_found';
  fatal: boolean;
  seconds: number;
  restarts: number;
  evidence: string[];
  summary: string;
  notes: string[];
}[] {
  return targets.map((target) => {
    const missing = verdict.targets.find((m) => m.label === target.label);
    return missing
      ? {
          target,
          outcome: 'pull_failed',
          cause: 'not_found',
          fatal: true,
          seconds: 0,
          restarts: 0,
          evidence: [],
          summary: `${missing.image} does not exist in the registry (checked before any restart).`,
          notes: [],
        }
      : {
          target,
          outcome: 'skipped',
          fatal: false,
          seconds: 0,
          restarts: 0,
          evidence: [],
          summary:
            'Not verified: the run stopped before any change because another target’s image is missing.',
          notes: [],
        };
  });
}

/** The task's propagation window: three times the 10 minutes Azure RBAC troubleshooting documents (verify.ts). */
const PROPAGATION_MS = 30 * 60_000;

/** The cause-less facts for one target, from what the run observed and wrote. Pure. */
export function causeLessFactsOf(
  observed: Observed,
  applied: Applied | undefined,
  t: ObservedTarget,
  image: string,
  nowMs: number,
): CauseLessFacts {
  const label = t.target.label;
  const principal =
    observed.userIdentity?.principalId ?? applied?.principals[label] ?? t.identity.systemPrincipalId;
  const grantedNow = (applied?.steps ?? []).some(
    (s) => s.step.kind === 'assignRole' && s.step.forTargets.includes(label),
  );
  const grants = principal
    ? (observed.roleAssignments ?? []).filter(
        (a) =>
          a.principalId.toLowerCase() === principal.toLowerCase() &&
          grantsPull(a, observed.registry.id, observed.registry.abac),
      )
    : [];
  const youngest = Math.max(...grants.map((g) => Date.parse(g.createdOn ?? '') || 0), 0);
  // Unknown age (no createdOn, or grants not readable) counts as fresh: we cannot rule propagation out.
  const grantIsFresh =
    grantedNow || grants.length === 0 || youngest === 0 || nowMs - youngest < PROPAGATION_MS;
  const wanted = splitImage(image);
  const checked = observed.imageCheck?.images.find((i) => {
    const p = splitImage(i.image);
    return p.repository.toLowerCase() === wanted.repository.toLowerCase() && p.reference === wanted.reference;
  });
  return {
    image: checked,
    skipped:
      checked?.state.kind === 'unchecked' ? checked.state.detail : observed.imageCheck?.skipped?.detail,
    grantIsFresh,
    registryNetworkRestricted: observed.registry.publicAccessRestricted,
    vnetImagePull: t.vnetImagePull,
    armTokenAuthDisabled: observed.registry.armTokenAuthDisabled,
  };
}
