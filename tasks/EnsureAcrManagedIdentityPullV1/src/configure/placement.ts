/**
 * Placed before the deploy step (`placement: beforeDeploy`), a run never blocks the deploy that would fix what it
 * finds about the image an app runs today. For a target whose current image no longer exists (ACR retention or
 * `acr purge` removed the tag), the run writes only what does not depend on the tag: the identity and the pull grant,
 * which the deploy's own pull needs. It leaves the pull settings (a config/web write whose restart would pull the
 * purged tag) to the deploy step's `configurationStrings` and the run after it, and does not verify that target. Pure.
 */
import type { Plan, PlanWarning, Step } from './plan';

/** Steps that do not depend on the image: they hold for whatever image the deploy sets. */
const TAG_INDEPENDENT: ReadonlySet<Step['kind']> = new Set(['enableIdentity', 'assignRole']);

export interface Deferral {
  readonly plan: Plan;
  /** Targets left to the deploy (not verified by this run), with the missing image. */
  readonly deferred: readonly { readonly label: string; readonly image: string }[];
}

export function deferToDeploy(
  p: Plan,
  missing: readonly { readonly label: string; readonly image: string }[],
): Deferral {
  const byLabel = new Map<string, string>();
  for (const m of missing) if (!byLabel.has(m.label)) byLabel.set(m.label, m.image);
  if (byLabel.size === 0) return { plan: p, deferred: [] };
  const kept = p.steps.filter((s) => TAG_INDEPENDENT.has(s.kind) || !byLabel.has(s.target));
  const left = p.steps.filter((s) => !kept.includes(s));
  const warnings: PlanWarning[] = [...byLabel].map(([label, image]) => {
    const leftHere = left.filter((s) => s.target === label);
    return {
      target: label,
      code: 'CurrentImageMissingBeforeDeploy',
      message: `${label} runs ${image} today, which no longer exists in the registry (removed by retention or a purge?). Placed before the deploy, the task does not block it: it writes only what does not depend on the tag (identity and pull grant)${leftHere.length > 0 ? ` and leaves ${leftHere.length} change(s) to the deploy (${leftHere.map((s) => s.kind).join(', ')})` : ''}, and does not verify ${label} now.`,
      fix: "Keep -acrUseManagedIdentityCreds true in the deploy step's configurationStrings (this task's configurationStrings output), and run this task again after the deploy with placement: afterDeploy: it sets what is left and verifies the new image.",
    };
  });
  return {
    plan: { ...p, steps: kept, warnings: [...p.warnings, ...warnings] },
    deferred: [...byLabel].map(([label, image]) => ({ label, image })),
  };
}
