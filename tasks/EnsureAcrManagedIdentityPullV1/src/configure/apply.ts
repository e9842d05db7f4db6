/**
 * Carries out a plan. Targets run concurrently (bounded); the phases keep each target's dependency order:
 * identities first (their new principal IDs are needed for the grants), then the pull grants, then the pull
 * settings (config/web flags, sidecar auth, app settings). Returns what was done; the caller logs it.
 */
import { type ArmClient, isArmError } from '../arm/client';
import { createRoleAssignment } from '../arm/role-assignments';
import {
  getSite,
  getSiteConfigFacts,
  listAppSettings,
  replaceAppSettings,
  setIdentities,
  setPullSettings,
  setSidecarAuth,
} from '../arm/web-apps';
import type { RunContext } from '../context';
import { isTaskError, TaskError } from '../errors';
import type { SiteFacts } from '../facts';
import { operationError } from '../phase-errors';
import { parseResourceId } from '../resource-id';
import { untrusted } from '../response-names';
import { mapWithLimit } from './limit';
import type { Observed } from './observe';
import { checkPrincipalId, TARGET_CONCURRENCY } from './observe';
import {
  type AssignRoleStep,
  type EnableIdentityStep,
  type Plan,
  type RemoveRegistryCredentialsStep,
  roleAssignmentForbidden,
  type SetAcrFlagsStep,
  type SetSidecarAuthStep,
  type Step,
} from './plan';

export interface AppliedStep {
  readonly step: Step;
  /** What happened, in words (e.g. `created`, `already existed`, `principal 1234…`). */
  readonly result: string;
  /** False when the write found the change already made (a grant under another name); counts otherwise. */
  readonly changed?: boolean;
}

export interface Applied {
  readonly steps: readonly AppliedStep[];
  /** The principal each target pulls with, after the identities were enabled. */
  readonly principals: Readonly<Record<string, string | undefined>>;
  /** Writes that changed something (0 on a re-run). */
  readonly changeCount: number;
}

/**
 * What has been written so far. `apply` fills it as each write completes, so a run that fails half-way still
 * reports (changeCount, principalIds, the Apply group, the summary) every write it made before the failure.
 */
export interface ApplyProgress {
  readonly steps: AppliedStep[];
  readonly principals: Record<string, string | undefined>;
}

export function startApply(plan: Plan): ApplyProgress {
  return { steps: [], principals: { ...plan.principals } };
}

/** The progress as the Applied result, steps in plan order (concurrent writes complete in any order). */
export function appliedOf(plan: Plan, progress: ApplyProgress): Applied {
  const order = new Map(plan.steps.map((s, i) => [s, i]));
  const steps = [...progress.steps].sort(
    (a, b) => (order.get(a.step) ?? Number.MAX_SAFE_INTEGER) - (order.get(b.step) ?? Number.MAX_SAFE_INTEGER),
  );
  return {
    steps,
    principals: { ...progress.principals },
    changeCount: steps.filter((s) => s.changed !== false).length,
  };
}

export async function apply(
  ctx: RunContext,
  plan: Plan,
  observed: Observed,
  progress: ApplyProgress = startApply(plan),
): Promise<Applied> {
  const { principals } = progress;
  const done = progress.steps;
  const steps = plan.steps;

  // 1. Identities.
  const identitySteps = steps.filter((s): s is EnableIdentityStep => s.kind === 'enableIdentity');
  await mapWithLimit(identitySteps, TARGET_CONCURRENCY, async (step) => {
    const r = await enableIdentity(ctx, step, observed);
    if (r.systemPrincipalId && principals[step.target] === undefined)
      principals[step.target] = r.systemPrincipalId;
    done.push({ step, result: r.systemPrincipalId ? `principal ${r.systemPrincipalId}` : 'identity set' });
  });

  // The caller cannot grant roles but asked for the identities anyway: fail now, with real object IDs.
  if (plan.blockedRoleSteps.length > 0) {
    throw roleAssignmentForbidden(observed, plan.blockedRoleSteps, principals);
  }

  // 2. Pull grants.
  const roleSteps = steps.filter((s): s is AssignRoleStep => s.kind === 'assignRole');
  const forbidden: { step: AssignRoleStep; error: unknown }[] = [];
  await mapWithLimit(roleSteps, TARGET_CONCURRENCY, async (step) => {
    try {
      const r = await assignRole(ctx, step, principals);
      done.push({ step, result: r.text, changed: r.created });
    } catch (e: unknown) {
      if (isArmError(e) && e.status === 403) {
        forbidden.push({ step, error: e });
        return;
      }
      throw e;
    }
  });
  if (forbidden.length > 0) {
    throw roleAssignmentForbidden(
      observed,
      forbidden.map((f) => f.step),
      principals,
      forbidden[0]?.error,
    );
  }

  // 3. Pull settings, per target in order (flags, sidecars, app settings), targets concurrently.
  const configSteps = steps.filter(
    (s): s is SetAcrFlagsStep | SetSidecarAuthStep | RemoveRegistryCredentialsStep =>
      s.kind === 'setAcrFlags' || s.kind === 'setSidecarAuth' || s.kind === 'removeRegistryCredentials',
  );
  const byTarget = new Map<
    string,
    (SetAcrFlagsStep | SetSidecarAuthStep | RemoveRegistryCredentialsStep)[]
  >();
  for (const s of configSteps) byTarget.set(s.target, [...(byTarget.get(s.target) ?? []), s]);
  await mapWithLimit([...byTarget.values()], TARGET_CONCURRENCY, async (targetSteps) => {
    for (const step of targetSteps) {
      try {
        done.push({ step, result: await applyConfigStep(ctx, step, observed) });
      } catch (e: unknown) {
        // The flags were written but did not stick: the write still happened (and restarted the target).
        if (isTaskError(e) && e.code === 'AcrFlagNotApplied')
          done.push({ step, result: 'written, but did not stick' });
        throw e;
      }
    }
  });

  return appliedOf(plan, progress);
}

async function enableIdentity(
  ctx: RunContext,
  step: EnableIdentityStep,
  observed: Observed,
): Promise<{ systemPrincipalId: string | undefined }> {
  let site: SiteFacts | undefined;
  try {
    site = await setIdentities(ctx.arm, { path: step.path }, step.identity, ctx.signal, ctx.clock.sleep);
  } catch (e: unknown) {
    throw operationError(e, {
      kind: 'writeIdentity',
      target: step.target,
      appName: observed.app.name,
      userAssigned: step.identity.userAssigned.length > 0,
    });
  }
  if (!step.identity.system) return { systemPrincipalId: undefined };
  // The PATCH response normally carries the new principal; when it does not (202, or a partial body), read it.
  let principalId = site?.identity.systemPrincipalId;
  if (!principalId)
    principalId = (await getSite(ctx.arm, { path: step.path }, ctx.signal)).identity.systemPrincipalId;
  if (!principalId) {
    throw new TaskError(
      'IdentityNotCreated',
      `Turning on the system identity of ${step.target} returned no principal ID.`,
      {
        remedy:
          "Run the task again in a minute; if it persists, check the app's Identity blade in the portal.",
        target: step.target,
      },
    );
  }
  return { systemPrincipalId: checkPrincipalId(principalId, `The new identity of ${step.target}`) };
}

async function assignRole(
  ctx: RunContext,
  step: AssignRoleStep,
  principals: Readonly<Record<string, string | undefined>>,
): Promise<{ text: string; created: boolean }> {
  const principalId =
    step.principal.kind === 'known' ? step.principal.principalId : principals[step.principal.target];
  if (!principalId) {
    throw new TaskError('IdentityNotCreated', `No principal ID is known for ${step.forTargets.join(', ')}.`, {
      remedy: 'Run the task again; the identity step must succeed before the role can be granted.',
      target: step.target,
    });
  }
  // The grant's principal and scope came from responses: a GUID, and a registry, or nothing is written.
  checkPrincipalId(principalId, `The identity of ${step.forTargets.join(', ')}`);
  if (!parseResourceId(step.scope, 'Microsoft.ContainerRegistry/registries')) {
    throw untrusted(`The grant scope '${step.scope}' is not a container registry.`);
  }
  const result = await createRoleAssignment(
    ctx.arm,
    { scope: step.scope, principalId, roleGuid: step.roleGuid },
    { signal: ctx.signal, retry: { clock: ctx.clock } },
  );
  const waited =
    result.principalNotFoundRetries > 0
      ? ` after waiting out ${result.principalNotFoundRetries} PrincipalNotFound`
      : '';
  return result.outcome === 'created'
    ? { text: `granted to ${principalId} (assignment ${result.name})${waited}`, created: true }
    : { text: `already granted to ${principalId} under another assignment name${waited}`, created: false };
}

async function applyConfigStep(
  ctx: RunContext,
  step: SetAcrFlagsStep | SetSidecarAuthStep | RemoveRegistryCredentialsStep,
  _observed: Observed,
): Promise<string> {
  const arm: ArmClient = ctx.arm;
  switch (step.kind) {
    case 'setAcrFlags': {
      // Other writers (portal, CLI) have been seen resetting these flags: check what stuck in the PATCH's answer
      // (the config as App Service stored it), reading it again only when the answer carried none.
      const after =
        (await setPullSettings(arm, { path: step.path }, step.pull, ctx.signal)) ??
        (await getSiteConfigFacts(arm, { path: step.path }, ctx.signal)).pull;
      const wanted = step.pull.clientId;
      const idStuck = wanted
        ? (after.clientId ?? '').toLowerCase() === wanted.toLowerCase()
        : !after.clientId;
      if (after.useManagedIdentity !== true || !idStuck) {
        throw new TaskError(
          'AcrFlagNotApplied',
          `The site config of ${step.target} did not keep the pull settings: acrUseManagedIdentityCreds=${String(after.useManagedIdentity)}, acrUserManagedIdentityID=${after.clientId ?? 'null'} (wanted true and ${wanted || 'empty'}).`,
          {
            remedy:
              `Check that nothing else rewrites the site config at the same time (a deployment, the portal's Deployment Center), then run the task again. ` +
              `Manually: az resource update --ids ${step.path}/config/web --set properties.acrUseManagedIdentityCreds=true` +
              ` properties.acrUserManagedIdentityID=${wanted || '""'}`,
            target: step.target,
          },
        );
      }
      return 'set and confirmed';
    }
    case 'setSidecarAuth': {
      await setSidecarAuth(arm, { path: step.path }, step.container, step.auth, ctx.signal);
      return `container ${step.container.name} now uses ${step.auth.kind}`;
    }
    case 'removeRegistryCredentials': {
      // The PUT replaces every setting. What was observed may be minutes old (PrincipalNotFound waits): re-read
      // right before it, so a setting someone added meanwhile is sent back too, and skip it if the keys are gone.
      const current = await listAppSettings(arm, { path: step.path }, ctx.signal);
      const removed = new Set(step.keys.map((k) => k.toUpperCase()));
      const keep = Object.fromEntries(Object.entries(current).filter(([k]) => !removed.has(k.toUpperCase())));
      if (Object.keys(keep).length === Object.keys(current).length)
        return 'already removed (nothing written)';
      await replaceAppSettings(arm, { path: step.path }, keep, ctx.signal);
      return `removed ${step.keys.join(', ')}; kept ${Object.keys(keep).length} other setting(s)`;
    }
  }
}

/** The plan as log lines, one per step (warnings are not here: the caller raises them as pipeline warnings). */
export function describePlan(plan: Plan): string[] {
  const lines: string[] = [];
  if (plan.steps.length === 0 && plan.blockedRoleSteps.length === 0)
    lines.push('Nothing to change: everything is already in place.');
  for (const s of plan.steps) lines.push(`[${s.target}] ${s.what} Why: ${s.why}`);
  for (const s of plan.blockedRoleSteps) {
    lines.push(`[${s.target}] BLOCKED (the service connection cannot write role assignments): ${s.what}`);
  }
  return lines;
}
