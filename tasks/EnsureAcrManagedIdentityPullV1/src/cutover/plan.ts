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
import type {
  PlanWarning,
  RemoveRegistryCredentialsStep,
  SetAcrFlagsStep,
  SetSidecarAuthStep,
  Step,
} from '../configure/plan';
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

/**
 * A serving target whose pull settings this run does not touch (it gets its identity and grant only), because no
 * proof can come first: `verifyPull: false` (nothing would follow the switch, so nothing could put it back), or a
 * sidecar app on `UserCredentials` (ARM never returns a container's password, so the task could not write it back).
 */
export interface HeldTarget {
  readonly target: string;
  readonly reason: 'verifyOff' | 'sidecarPassword';
  /** Why, in words: the not_switched result's summary. */
  readonly why: string;
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
  verify = true,
): {
  remaining: Step[];
  plan: CutoverPlan | undefined;
  held: HeldTarget[];
  warnings: PlanWarning[];
} {
  const serving = observed.serving ?? {};
  const order: CutoverTarget[] = [];
  const moved = new Set<Step>();
  const held: HeldTarget[] = [];
  const warnings: PlanWarning[] = [];
  const targets = [
    ...observed.targets.filter((t) => t.target.slot),
    ...observed.targets.filter((t) => !t.target.slot),
  ];
  for (const t of targets) {
    const label = t.target.label;
    const fact = serving[label];
    if (!fact?.serving) continue;
    const ownSteps = configSteps.filter(
      (s) =>
        s.target === label &&
        (s.kind === 'setAcrFlags' || s.kind === 'setSidecarAuth' || s.kind === 'removeRegistryCredentials'),
    );
    if (t.sidecar) {
      // The way back would need the container's password, which ARM never returns: never switch it unproven.
      const auth = ownSteps.filter((s): s is SetSidecarAuthStep => s.kind === 'setSidecarAuth');
      if (auth.length === 0) continue;
      for (const s of ownSteps) moved.add(s);
      const names = auth.map((s) => s.container.name);
      held.push({
        target: label,
        reason: 'sidecarPassword',
        why: `Still serving with its registry password: container(s) ${names.join(', ')} pull with UserCredentials, and the task cannot put a container's password back (ARM never returns it), so it switches no serving sidecar app. Its identity and grant are in place.`,
      });
      warnings.push({
        target: label,
        code: 'SidecarSwitchHeld',
        message: `${label} serves today with UserCredentials on container(s) ${names.join(', ')}; its identity and grant were set up, but its containers were not switched: a failed identity pull could not be put back, because ARM never returns a container's password.`,
        fix: `Prove the identity first where nothing serves (a new slot with the same user-assigned identity, verified by this task), or wait until the grant is 10 minutes old; then, holding the password, switch each container yourself: set authType ${t.identity.userAssigned.length > 0 ? "UserAssigned (with the identity's client ID)" : 'SystemIdentity'} on ${names.join(', ')} (portal: Deployment Center; or az rest --method put on ${t.target.path}/sitecontainers/<name>), watch its pull, and if it fails set authType UserCredentials with its user name and password again.`,
      });
      continue;
    }
    if (!verify) {
      // No verification follows the switch, so nothing would see it fail or put it back: no switch without proof.
      if (!ownSteps.some((s) => s.kind === 'setAcrFlags')) continue;
      for (const s of ownSteps) moved.add(s);
      held.push({
        target: label,
        reason: 'verifyOff',
        why: 'Still serving with its registry password: with verifyPull: false no proof can come before the switch, so its pull settings (and password) were kept. Its identity and grant are in place.',
      });
      warnings.push({
        target: label,
        code: 'ServingSwitchHeld',
        message: `${label} serves today with a registry password, and with verifyPull: false nothing would prove the identity's pull or put it back: its identity and grant were set up, but acrUseManagedIdentityCreds stays false and its password settings stay.`,
        fix: 'Run the task again with verifyPull: true (the cutover switches it once the grant is proven, production last), or place the run after the deploy (placement: afterDeploy) with verification on.',
      });
      continue;
    }
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
    held,
    warnings,
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
