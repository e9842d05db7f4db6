/**
 * The cutover plan for targets that serve today with a registry password (pure: facts in, sequence out).
 *
 * The sequence, from docs/azure-behaviour.md#a-live-app: identities and grants first (planned as usual; they keep
 * the password pull); then, one target at a time, least important first (slots in ARM's order, production last):
 * wait until the target's grant is proven (an earlier target pulling with the same principal, or one whose grant
 * was made in the same run, verified a fresh identity pull) or older than GRANT_SETTLE_MS; write the pull settings
 * (that write restarts the target); follow its pull; on success remove its password settings when asked; on
 * failure put back its previous pull settings (the password is still there) and switch nothing more.
 */

import type { Observed } from '../configure/observe';
import type { RemoveRegistryCredentialsStep, SetAcrFlagsStep, Step } from '../configure/plan';
import type { PullSettings } from '../facts';

/**
 * How old a grant must be before a serving target is switched onto it without other proof. Azure RBAC: "it can
 * take up to 10 minutes for changes to take effect" (Troubleshoot Azure RBAC, "Role assignment changes are not
 * being detected": https://learn.microsoft.com/azure/role-based-access-control/troubleshooting). A grant through a
 * group can take hours: that case ends put back, not down.
 */
export const GRANT_SETTLE_MS = 10 * 60_000;

export interface CutoverTarget {
  readonly target: string;
  readonly path: string;
  /** Why it counts as serving today (log line). */
  readonly why: string;
  /** The switch: the pull settings to write. */
  readonly flags: SetAcrFlagsStep;
  /** Written only after this target verified a fresh identity pull. */
  readonly removeCredentials?: RemoveRegistryCredentialsStep;
  /** What it pulled with before: the put-back writes these again. */
  readonly previous: PullSettings;
  /** A user-assigned identity's principal: one target's proof is every target's. Undefined: its own system identity. */
  readonly sharedPrincipal?: string;
}

export interface CutoverPlan {
  /** In switch order: slots first, production last. */
  readonly order: readonly CutoverTarget[];
  readonly settleMs: number;
}

/** Splits the config steps: serving targets' pull settings go to the cutover, the rest stay on the fast path. */
export function planCutover(
  observed: Observed,
  configSteps: readonly Step[],
  sharedPrincipal: string | undefined,
): { remaining: Step[]; plan: CutoverPlan | undefined } {
  const serving = observed.serving ?? {};
  const order: CutoverTarget[] = [];
  const moved = new Set<Step>();
  const targets = [
    ...observed.targets.filter((t) => t.target.slot),
    ...observed.targets.filter((t) => !t.target.slot),
  ];
  for (const t of targets) {
    const label = t.target.label;
    const fact = serving[label];
    if (!fact?.serving) continue;
    const flags = configSteps.find(
      (s): s is SetAcrFlagsStep => s.kind === 'setAcrFlags' && s.target === label,
    );
    if (!flags) continue;
    const removeCredentials = configSteps.find(
      (s): s is RemoveRegistryCredentialsStep => s.kind === 'removeRegistryCredentials' && s.target === label,
    );
    moved.add(flags);
    if (removeCredentials) moved.add(removeCredentials);
    order.push({
      target: label,
      path: t.target.path,
      why: fact.why,
      flags,
      ...(removeCredentials ? { removeCredentials } : {}),
      previous: t.pull,
      ...(sharedPrincipal ? { sharedPrincipal } : {}),
    });
  }
  return {
    remaining: configSteps.filter((s) => !moved.has(s)),
    plan: order.length > 0 ? { order, settleMs: GRANT_SETTLE_MS } : undefined,
  };
}

/** The sequence, the waits and the fallback, as log lines (dry run and real run alike). */
export function describeCutover(plan: CutoverPlan): string[] {
  const minutes = Math.round(plan.settleMs / 60_000);
  const lines = [
    `Cutover of ${plan.order.length} target(s) that serve today with a registry password, one at a time, production last:`,
  ];
  plan.order.forEach((c, i) => {
    const proof =
      i === 0
        ? `once its grant is ${minutes} minutes old (Azure RBAC: a new role assignment can take up to ${minutes} minutes) unless a target with the same principal proved it first`
        : c.sharedPrincipal
          ? `as soon as ${plan.order[0]?.target} proved the shared identity's pull (same principal), else once its grant is ${minutes} minutes old`
          : `as soon as an earlier target whose grant was made in the same run proved a fresh identity pull, else once its grant is ${minutes} minutes old`;
    lines.push(
      `  ${i + 1}. [${c.target}] ${c.why}. Switch ${proof}: ${c.flags.what} The write restarts it; its password settings stay until it proves a fresh identity pull${c.removeCredentials ? ', then they are removed' : ''}. If its pull fails: put back acrUseManagedIdentityCreds=${String(c.previous.useManagedIdentity ?? false)} (one restart, the password pulls again) and switch nothing more.`,
    );
  });
  return lines;
}
