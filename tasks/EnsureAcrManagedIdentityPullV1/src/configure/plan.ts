/**
 * The planner: observed facts + settings → the changes to make, and the warnings to give. Pure: no I/O, no clock.
 * Nothing already true is planned, so running the task again plans nothing.
 *
 * Per target, in dependency order: identity on → pull role at the registry → ACR flags in config/web (or the
 * sidecar containers' auth) → optional removal of the old registry password settings.
 */
import { closedToEveryone } from '../arm/registries';
import {
  conditionalPullGrant,
  grantsPull,
  normaliseId,
  ROLE_NAMES,
  ROLES,
  scopeCovers,
} from '../arm/role-assignments';
import { type CutoverPlan, type HeldTarget, planCutover } from '../cutover/plan';
import type { BlockingWarningCode, PlanWarningCode } from '../error-codes';
import { TaskError } from '../errors';
import type { GrantFact, SidecarAuth, SidecarContainer } from '../facts';
import type { Settings } from '../settings';
import { isAcrHost, registryHostOf } from './images';
import type { Observed, ObservedTarget } from './observe';

export type StepKind =
  | 'enableIdentity'
  | 'assignRole'
  | 'setAcrFlags'
  | 'setSidecarAuth'
  | 'removeRegistryCredentials';

/** The managed identities a target ends up with: the whole set, since a write replaces it. */
export interface IdentitySet {
  /** The system-assigned identity is on. */
  readonly system: boolean;
  /** Every user-assigned identity (resource ID) the target keeps or gains. */
  readonly userAssigned: readonly string[];
}

interface StepBase {
  /** Target label (`production` or the slot name). */
  readonly target: string;
  /** The change, in words. */
  readonly what: string;
  /** Why it is needed. */
  readonly why: string;
}

export interface EnableIdentityStep extends StepBase {
  readonly kind: 'enableIdentity';
  readonly path: string;
  readonly identity: IdentitySet;
}

/** Whose principal the grant is for: known now, or the system identity the target is about to get. */
export type PrincipalRef =
  | { readonly kind: 'known'; readonly principalId: string }
  | { readonly kind: 'systemIdentityOf'; readonly target: string };

export interface AssignRoleStep extends StepBase {
  readonly kind: 'assignRole';
  /** The registry's resource ID. */
  readonly scope: string;
  readonly roleGuid: string;
  readonly roleName: string;
  readonly principal: PrincipalRef;
  /** The targets this grant serves (several for one user-assigned identity). */
  readonly forTargets: readonly string[];
}

export interface SetAcrFlagsStep extends StepBase {
  readonly kind: 'setAcrFlags';
  readonly path: string;
  /**
   * The site-wide pull settings to set. clientId: the user-assigned identity's client ID, or "" for the system
   * identity (only "" clears a stale client ID: see `setPullSettings` in src/arm/web-apps.ts).
   */
  readonly pull: {
    readonly useManagedIdentity: true;
    readonly clientId: string;
  };
}

export interface SetSidecarAuthStep extends StepBase {
  readonly kind: 'setSidecarAuth';
  readonly path: string;
  /** The container as observed (every other setting of it is kept). */
  readonly container: SidecarContainer;
  /** What it pulls with from now on. */
  readonly auth: SidecarAuth;
}

export interface RemoveRegistryCredentialsStep extends StepBase {
  readonly kind: 'removeRegistryCredentials';
  readonly path: string;
  /** The keys removed; every other app setting is sent back unchanged. */
  readonly keys: readonly string[];
}

export type Step =
  | EnableIdentityStep
  | AssignRoleStep
  | SetAcrFlagsStep
  | SetSidecarAuthStep
  | RemoveRegistryCredentialsStep;

/** The planner's finding codes: the catalogue (`../error-codes.ts`) lists them, with which may block. */
export type WarningCode = PlanWarningCode;

interface PlanWarningFields {
  /** Target label, or undefined when it is about the registry. */
  readonly target: string | undefined;
  readonly message: string;
  /** The exact fix (a command or an input to change). */
  readonly fix: string;
}

/**
 * A finding. Only the codes the catalogue lets block may set `blocking`: the plan knows the image will not pull
 * with the identity, and configuring would switch a target onto a credential that cannot pull. The run then fails
 * before any write (as a TaskError with the warning's code) unless `configureAnyway` is on.
 */
export type PlanWarning =
  | (PlanWarningFields & { readonly code: BlockingWarningCode; readonly blocking?: boolean })
  | (PlanWarningFields & {
      readonly code: Exclude<WarningCode, BlockingWarningCode>;
      readonly blocking?: false;
    });

export type BlockingPlanWarning = Extract<PlanWarning, { readonly code: BlockingWarningCode }>;

/** A warning that stops the run (unless `configureAnyway`). */
export function isBlocking(w: PlanWarning): w is BlockingPlanWarning {
  return w.blocking === true;
}

export interface Plan {
  readonly steps: readonly Step[];
  readonly warnings: readonly PlanWarning[];
  /** The role that grants pull on this registry (AcrPull, or Repository Reader on ABAC registries). */
  readonly role: { readonly guid: string; readonly name: string };
  /** The principal each target pulls with; undefined when its system identity is still to be enabled. */
  readonly principals: Readonly<Record<string, string | undefined>>;
  /**
   * Set when the caller cannot write role assignments but `enableIdentityWithoutRoleRights` is on: the plan holds only
   * the identity steps, and apply fails with this code after them, naming the real object IDs.
   */
  readonly blockedRoleSteps: readonly AssignRoleStep[];
  /**
   * Targets that serve today with a registry password: their pull settings (and the password's removal) are not
   * in `steps` but switched one at a time after the grant is proven or old enough (src/cutover/). Undefined: none.
   */
  readonly cutover?: CutoverPlan;
  /** Serving targets whose pull settings this run keeps (identity and grant only): src/cutover/plan.ts. */
  readonly held?: readonly HeldTarget[];
}

export const REGISTRY_CREDENTIAL_KEYS = [
  'DOCKER_REGISTRY_SERVER_USERNAME',
  'DOCKER_REGISTRY_SERVER_PASSWORD',
] as const;

export function plan(observed: Observed, settings: Settings): Plan {
  const registry = observed.registry;
  const role = registry.abac
    ? { guid: ROLES.repositoryReader, name: ROLE_NAMES[ROLES.repositoryReader] as string }
    : { guid: ROLES.acrPull, name: ROLE_NAMES[ROLES.acrPull] as string };
  const user = settings.identity.kind === 'user' ? observed.userIdentity : undefined;
  if (settings.identity.kind === 'user' && !user) {
    throw new Error('plan: a user-assigned identity was requested but not observed.');
  }

  const identitySteps: Step[] = [];
  const roleSteps: AssignRoleStep[] = [];
  const configSteps: Step[] = [];
  const warnings: PlanWarning[] = [];
  const principals: Record<string, string | undefined> = {};

  for (const t of observed.targets) {
    const label = t.target.label;
    const idStep = user ? planUserIdentity(t, user.id) : planSystemIdentity(t);
    if (idStep) identitySteps.push(idStep);
    principals[label] = user ? user.principalId : idStep ? undefined : t.identity.systemPrincipalId;
  }

  // Pull grants: one per distinct principal (a user-assigned identity is one principal for every target).
  const grantsFor = (principalId: string | undefined) =>
    principalId === undefined
      ? []
      : (observed.roleAssignments ?? []).filter(
          (g) =>
            g.principalId.toLowerCase() === principalId.toLowerCase() &&
            grantsPull(g, registry.id, registry.abac),
        );
  const principalsDone = new Set<string>();
  for (const t of observed.targets) {
    const label = t.target.label;
    const principalId = principals[label];
    if (principalId !== undefined) {
      if (principalsDone.has(principalId.toLowerCase())) continue;
      principalsDone.add(principalId.toLowerCase());
    }
    const existing = grantsFor(principalId);
    const forTargets = user ? observed.targets.map((x) => x.target.label) : [label];
    const who = user ? `the user-assigned identity ${user.name}` : `the system identity of ${label}`;
    if (existing.length > 0) {
      const atRegistry = existing.some((g) => normaliseId(g.scope) === normaliseId(registry.id));
      const wide = existing[0] as GrantFact;
      // A role beyond pull is the audit's (overPrivilegedWarnings), with its own narrowing commands.
      if (!atRegistry && !MORE_THAN_PULL[wide.roleGuid])
        warnings.push(widerScopeWarning(wide, who, user ? undefined : label, registry.id, role.name));
      continue;
    }
    if (principalId) {
      const conditional = (observed.roleAssignments ?? []).find(
        (g) =>
          g.principalId.toLowerCase() === principalId.toLowerCase() &&
          conditionalPullGrant(g, registry.id, registry.abac),
      );
      if (conditional)
        warnings.push(conditionalGrantWarning(conditional, who, user ? undefined : label, role, registry.id));
    }
    if (registry.abac && principalId) {
      const legacy = legacyGrantOnAbac(observed, principalId, registry.id);
      if (legacy) {
        warnings.push({
          target: user ? undefined : label,
          code: 'AbacIgnoresLegacyRole',
          message: `${who} holds ${ROLE_NAMES[legacy] ?? legacy} on ${registry.name}, but the registry uses ABAC repository permissions, which ignore that role.`,
          fix: `Nothing to do: the task grants ${role.name} instead. The old assignment can be removed.`,
        });
      }
    }
    roleSteps.push({
      kind: 'assignRole',
      target: user ? (observed.targets[0]?.target.label ?? label) : label,
      what: `Grant ${role.name} on registry ${registry.name} to ${who}${principalId ? ` (${principalId})` : ''}.`,
      why: `The identity needs pull rights on the registry${registry.abac ? ' (an ABAC registry: AcrPull is not honoured there)' : ''}.`,
      scope: registry.id,
      roleGuid: role.guid,
      roleName: role.name,
      principal: principalId ? { kind: 'known', principalId } : { kind: 'systemIdentityOf', target: label },
      forTargets,
    });
  }

  const swap = planSwapGrants(observed, principals, user);
  warnings.push(...swap.warnings);
  warnings.push(...overPrivilegedWarnings(observed, principals, user, role.name));
  warnings.push(...missingIdentityWarnings(observed, user));

  for (const t of observed.targets) {
    // Sidecar containers on a swap registry the task grants on pull with the identity too.
    const loginServers = [
      registry.loginServer,
      ...(observed.swapRegistries ?? []).filter((sr) => sr.registry).map((sr) => sr.loginServer),
    ];
    configSteps.push(...planPullAuth(t, user, loginServers));
    const stale = REGISTRY_CREDENTIAL_KEYS.filter((k) => hasKey(t.appSettings, k)).map((k) =>
      actualKey(t.appSettings, k),
    );
    if (stale.length > 0) {
      if (settings.removeRegistryCredentials) {
        configSteps.push({
          kind: 'removeRegistryCredentials',
          target: t.target.label,
          what: `Remove the app settings ${stale.join(', ')} (every other setting is kept).`,
          why: 'The registry password is no longer needed once the identity pulls, and it may override the identity.',
          path: t.target.path,
          keys: stale,
        });
      } else {
        warnings.push({
          target: t.target.label,
          code: 'StaleRegistryCredentials',
          message: `${t.target.label} still has ${stale.join(' and ')}: a registry password next to the managed identity.`,
          fix: `Set the input removeRegistryCredentials: true, or run: ${appSettingsDeleteCommand(observed, t, stale)}`,
        });
        // App settings move with a swap unless they are slot settings (docs/azure-behaviour.md#slot-swaps): the
        // password would land on the other slot, where it may override that slot's identity.
        const moving = movingWithSwap(stale, observed.slotSettingNames);
        if (observed.targets.length > 1 && moving.length > 0)
          warnings.push({
            target: t.target.label,
            code: 'SwapCredentialsMove',
            message: observed.slotSettingNames
              ? `${t.target.label}'s ${moving.join(' and ')} ${moving.length === 1 ? 'is not a deployment slot setting, so it moves' : 'are not deployment slot settings, so they move'} with a slot swap, while each slot's identity and acrUseManagedIdentityCreds stay: after a swap the other slot would carry this password.`
              : `${t.target.label}'s ${moving.join(' and ')} move with a slot swap unless they are deployment slot settings (the app's slot setting names could not be read), while each slot's identity and acrUseManagedIdentityCreds stay: after a swap the other slot would carry this password.`,
            fix: `Set removeRegistryCredentials: true, or mark them as slot settings: az webapp config appsettings set --name ${observed.app.name} --resource-group ${observed.app.resourceGroup}${slotArg(t)} --slot-settings ${moving.map((k) => `${k}=<value>`).join(' ')}`,
          });
      }
    }
  }

  warnings.push(...registryWarnings(observed, swap.gaps));

  // Targets that serve today with a password keep it until their own switch is proven (src/cutover/plan.ts).
  const cut = planCutover(observed, configSteps, user?.principalId, settings.verify.kind === 'on');
  configSteps.splice(0, configSteps.length, ...cut.remaining);
  // A held target still pulls with its password: advice to delete it would take it down.
  const held = new Set(cut.held.map((h) => h.target));
  warnings.splice(
    0,
    warnings.length,
    ...warnings.filter((w) => !(w.code === 'StaleRegistryCredentials' && w.target && held.has(w.target))),
    ...cut.warnings,
  );

  const blocking = warnings.filter(isBlocking);
  if (blocking.length > 0 && !settings.configureAnyway)
    throw pullCannotWork(blocking, identitySteps.length + roleSteps.length + configSteps.length > 0);

  if (roleSteps.length > 0 && observed.callerCanWriteRoleAssignments === false) {
    if (!settings.enableIdentityWithoutRoleRights) {
      throw roleAssignmentForbidden(observed, roleSteps, principals);
    }
    return { steps: identitySteps, warnings, role, principals, blockedRoleSteps: roleSteps };
  }
  return {
    steps: [...identitySteps, ...roleSteps, ...swap.steps, ...configSteps],
    warnings,
    role,
    principals,
    blockedRoleSteps: [],
    ...(cut.plan ? { cutover: cut.plan } : {}),
    ...(cut.held.length > 0 ? { held: cut.held } : {}),
  };
}

/** The keys a swap would move: all of them when the slot setting names are unknown (names compare case-insensitively). */
function movingWithSwap(keys: readonly string[], slotSettingNames: readonly string[] | undefined): string[] {
  if (!slotSettingNames) return [...keys];
  const sticky = new Set(slotSettingNames.map((n) => n.toLowerCase()));
  return keys.filter((k) => !sticky.has(k.toLowerCase()));
}

function planSystemIdentity(t: ObservedTarget): EnableIdentityStep | undefined {
  const identity = t.identity;
  if (identity.system && identity.systemPrincipalId) return undefined;
  const userKeys = identity.userAssigned.map((u) => u.resourceId);
  return {
    kind: 'enableIdentity',
    target: t.target.label,
    what:
      userKeys.length > 0
        ? `Turn on the system-assigned identity of ${t.target.label}, keeping its ${userKeys.length} user-assigned identit${userKeys.length === 1 ? 'y' : 'ies'}.`
        : `Turn on the system-assigned identity of ${t.target.label}.`,
    why: 'The app pulls with its own managed identity; identities are per slot.',
    path: t.target.path,
    identity: { system: true, userAssigned: distinctIds(userKeys) },
  };
}

function planUserIdentity(t: ObservedTarget, identityId: string): EnableIdentityStep | undefined {
  const identity = t.identity;
  const userKeys = identity.userAssigned.map((u) => u.resourceId);
  if (userKeys.some((k) => normaliseId(k) === normaliseId(identityId))) return undefined;
  const hasSystem = identity.system;
  const name = identityId.split('/').pop();
  return {
    kind: 'enableIdentity',
    target: t.target.label,
    what: `Attach the user-assigned identity ${name} to ${t.target.label}${hasSystem || userKeys.length ? ', keeping its other identities' : ''}.`,
    why: 'The app pulls with this identity, so it must be assigned to every target.',
    path: t.target.path,
    identity: { system: hasSystem, userAssigned: distinctIds([...userKeys, identityId]) },
  };
}

/** The site flags, or for sidecar apps each container on this registry. */
function planPullAuth(
  t: ObservedTarget,
  user: Observed['userIdentity'],
  loginServers: readonly string[],
): (SetAcrFlagsStep | SetSidecarAuthStep)[] {
  const label = t.target.label;
  if (t.sidecar) {
    const steps: SetSidecarAuthStep[] = [];
    for (const c of t.containers) {
      const image = c.image;
      if (!image || !loginServers.includes(registryHostOf(image))) continue;
      const done = user
        ? c.authType === 'UserAssigned' && (c.clientId ?? '').toLowerCase() === user.clientId.toLowerCase()
        : c.authType === 'SystemIdentity';
      if (done) continue;
      steps.push({
        kind: 'setSidecarAuth',
        target: label,
        what: `Set container ${c.name} of ${label} to pull with ${user ? `the user-assigned identity (client ID ${user.clientId})` : 'the system identity'} (was ${c.authType ?? 'unset'}).`,
        why: 'Sidecar apps authenticate per container; the site-wide ACR flag does not apply to them.',
        path: t.target.path,
        container: c,
        auth: user ? { kind: 'UserAssigned', clientId: user.clientId } : { kind: 'SystemIdentity' },
      });
    }
    return steps;
  }
  const wantedId = user ? user.clientId : '';
  const currentId = t.pull.clientId;
  const idOk = user ? (currentId ?? '').toLowerCase() === user.clientId.toLowerCase() : !currentId;
  if (t.pull.useManagedIdentity === true && idOk) return [];
  const changes: string[] = [];
  if (t.pull.useManagedIdentity !== true) changes.push('acrUseManagedIdentityCreds = true');
  if (!idOk) changes.push(`acrUserManagedIdentityID = ${wantedId || 'empty (system identity)'}`);
  return [
    {
      kind: 'setAcrFlags',
      target: label,
      what: `Set ${changes.join(' and ')} in the site config of ${label}.`,
      why: user
        ? 'App Service pulls with the identity whose CLIENT ID is in acrUserManagedIdentityID.'
        : 'With acrUserManagedIdentityID empty, App Service pulls with the system identity.',
      path: t.target.path,
      pull: { useManagedIdentity: true, clientId: wantedId },
    },
  ];
}

function registryWarnings(observed: Observed, swapGaps: ReadonlyMap<string, string>): PlanWarning[] {
  const r = observed.registry;
  const out: PlanWarning[] = [];
  if (r.armTokenAuthDisabled) {
    out.push({
      target: undefined,
      code: 'ArmTokenAuthDisabled',
      message: `Registry ${r.name} refuses ARM-audience Entra tokens (azureADAuthenticationAsArmPolicy is disabled); App Service managed-identity pulls use them and will fail with UNAUTHORIZED.`,
      fix: `az acr config authentication-as-arm update -r ${r.name} --status enabled`,
      blocking: true,
    });
  }
  if (r.adminUserEnabled) {
    out.push({
      target: undefined,
      code: 'AdminUserEnabled',
      message: `The admin user of registry ${r.name} is still enabled; once every app pulls with an identity it is an unused shared password.`,
      fix: `az acr update -n ${r.name} --admin-enabled false`,
    });
  }
  for (const t of observed.targets) {
    const label = t.target.label;
    if (r.publicAccessRestricted && !t.vnetImagePull) {
      out.push({
        target: label,
        code: 'RegistryNetworkRestricted',
        // With IP rules the app's outbound addresses may be allowed: only a registry shut to every public
        // address is known to refuse it.
        blocking: closedToEveryone(r.network),
        message: `Registry ${r.name} blocks public network access (or denies by default), and ${label} does not pull its image over its virtual network: the pull will be denied.`,
        fix:
          `Integrate the app with a virtual network that reaches the registry's private endpoint, then run: ` +
          `az resource update --ids ${t.target.path} --set properties.vnetImagePullEnabled=true`,
      });
    }
    if (t.images.length === 0) {
      out.push({
        target: label,
        code: 'NoContainerImage',
        message: `${label} does not run a container image (no DOCKER| image in its site config); the pull settings are set but nothing is pulled.`,
        fix: `az webapp config container set --name ${observed.app.name} --resource-group ${observed.app.resourceGroup}${slotArg(t)} --container-image-name ${r.loginServer}/<repo>:<tag>`,
      });
    }
    if (r.source !== 'input') {
      // Registry taken from the images, slots on two ACRs: a target whose own image is on the other one pulls it with
      // its identity once switched, so where the task cannot grant that identity a pull there, switching breaks it.
      for (const host of new Set(t.images.map(registryHostOf))) {
        const gapFix = swapGaps.get(swapGapKey(host, label));
        if (gapFix === undefined) continue;
        out.push({
          target: label,
          code: 'ImageOnOtherRegistry',
          blocking: true,
          message: `${label} runs an image from ${host}, and the task cannot grant ${label}'s identity a pull on ${host}: switching ${label} to the identity would break its pull.`,
          fix: `${gapFix}; or point ${label} at an image in ${r.loginServer}.`,
        });
      }
    }
    if (r.source === 'input') {
      // Public sidecars (docker.io...) pull anonymously; only another ACR, or a main image elsewhere, is news.
      const other = t.images
        .map(registryHostOf)
        .filter((h) => h !== r.loginServer && (!t.sidecar || isAcrHost(h)));
      const password = REGISTRY_CREDENTIAL_KEYS.some((k) => hasKey(t.appSettings, k));
      for (const host of new Set(other)) {
        // Slots on two registries (`targets: all`): another ACR is a swap registry, granted to this target's
        // identity by planSwapGrants. Only where that grant cannot be made does switching this target break its pull.
        const swapRegistry = (observed.swapRegistries ?? []).some((sr) => sr.loginServer === host);
        const gapFix = swapGaps.get(swapGapKey(host, label));
        if (swapRegistry && gapFix === undefined) continue;
        out.push({
          target: label,
          code: 'ImageOnOtherRegistry',
          // Another ACR needs its own grant; a private registry reached with a password today would lose it. A
          // public image without credentials still pulls anonymously.
          blocking: isAcrHost(host) || password,
          message: swapRegistry
            ? `${label} runs an image from ${host}, not from the registry the task configures (${r.loginServer}), and the task cannot grant ${label}'s identity a pull on ${host}: switching ${label} to the identity would break its pull.`
            : `${label} runs an image from ${host}, not from the registry the task configures (${r.loginServer}); that image will not pull with this grant.`,
          fix: gapFix
            ? `${gapFix}; or set the registry input to ${host}, or point ${label} at an image in ${r.loginServer}.`
            : isAcrHost(host)
              ? `Set the registry input to ${host}, or point ${label} at an image in ${r.loginServer}.`
              : `Deploy ${label}'s image from ${r.loginServer} (for example with AzureWebAppContainer@1), then run this task after the deploy: a pull from ${host} is anonymous or uses its own password, and proves nothing about the identity.`,
        });
      }
    }
  }
  return out;
}

/**
 * The plan knows at least one target would not pull with the identity: fail before any write, naming each
 * registry or policy and its fix, and the input that configures anyway.
 */
export function pullCannotWork(blocking: readonly BlockingPlanWarning[], wouldWrite = true): TaskError {
  const first = blocking[0] as BlockingPlanWarning;
  // The cause leads (the first line is what the summary header and the pipeline's first error line show; the
  // edge labels it with the first target and appends the code); why nothing was written comes after it.
  const others = blocking.slice(1).map((w) => `${w.target ? `[${w.target}] ` : ''}${w.message}`);
  const fixes = [...new Set(blocking.map((w) => w.fix))];
  const more = others.length > 0 ? ` (and ${others.length} more finding(s) below)` : '';
  return new TaskError(
    first.code,
    [
      `${first.message}${more} ${
        wouldWrite
          ? 'Nothing was changed: switching to the managed identity now would break a pull that may work today.'
          : 'Nothing needed changing, and nothing was changed; the managed identity still cannot pull the image.'
      }`,
      ...others,
    ].join('\n'),
    {
      remedy: [
        ...fixes,
        'Then run the task again. If a later step fixes this (the deploy step points the app at the granted registry), set configureAnyway: true.',
      ].join('\n'),
      ...(first.target ? { target: first.target } : {}),
    },
  );
}

/** A pull role with an ABAC condition: not counted, so an unconditioned grant is added at the registry. */
function conditionalGrantWarning(
  grant: GrantFact,
  who: string,
  target: string | undefined,
  role: { readonly guid: string; readonly name: string },
  registryId: string,
): PlanWarning {
  const heldGuid = grant.roleGuid;
  const held = ROLE_NAMES[heldGuid] ?? 'a pull role';
  // The new grant has the same principal, role and scope: Azure may answer that it exists already.
  const sameSlot = heldGuid === role.guid && normaliseId(grant.scope) === normaliseId(registryId);
  return {
    target,
    code: 'ConditionalPullGrant',
    message: `${who} holds ${held} at ${grant.scope} only under a condition (assignment ${grant.id}), which may limit it to other repositories; the task does not count it as a pull grant and grants ${role.name} on the registry without a condition.`,
    fix: sameSlot
      ? `If the pull still fails because Azure reports that assignment as already existing, remove its condition or delete it (az role assignment delete --ids ${grant.id}) and run the task again.`
      : `Nothing is required. To keep repository-level limits instead, make the condition of assignment ${grant.id} include the app's repository, and remove the unconditioned grant.`,
  };
}

function widerScopeWarning(
  grant: GrantFact,
  who: string,
  target: string | undefined,
  registryId: string,
  roleName: string,
): PlanWarning {
  const held = ROLE_NAMES[grant.roleGuid] ?? 'a pull role';
  return {
    target,
    code: 'WiderScopeGrant',
    message: `${who} can already pull through ${held} at ${grant.scope}, a scope wider than the registry; the task reuses it and never removes it.`,
    fix: `Nothing is required. To follow least privilege, narrow it: ${narrowCommands(grant, registryId, roleName)}`,
  };
}

/**
 * Swap-ready slots (`targets: all`): identities and their pull settings stay with their slot while the image moves
 * (docs/azure-behaviour.md#slot-swaps), so every target must be able to pull every image another target runs,
 * with its own identity. For each other registry a target pulls from, each target's identity without a pull grant
 * there gets one (a step: fixed), unless the connection cannot write role assignments there or cannot see the
 * registry: then the gap is named with the command (a warning). Its own image's registry counts too: a slot that
 * runs an image from a second registry needs that grant to pull it at all.
 */
function planSwapGrants(
  observed: Observed,
  principals: Readonly<Record<string, string | undefined>>,
  user: Observed['userIdentity'],
): { steps: AssignRoleStep[]; warnings: PlanWarning[]; gaps: Map<string, string> } {
  const steps: AssignRoleStep[] = [];
  const warnings: PlanWarning[] = [];
  /** swapGapKey(loginServer, target) -> the grant command, for each target whose identity the task cannot grant there. */
  const gaps = new Map<string, string>();
  for (const sr of observed.swapRegistries ?? []) {
    const reg = sr.registry;
    const role = reg?.abac
      ? { guid: ROLES.repositoryReader, name: ROLE_NAMES[ROLES.repositoryReader] as string }
      : { guid: ROLES.acrPull, name: ROLE_NAMES[ROLES.acrPull] as string };
    const done = new Set<string>();
    for (const t of observed.targets) {
      const label = t.target.label;
      const principalId = user ? user.principalId : principals[label];
      const key = (principalId ?? `system:${label}`).toLowerCase();
      if (done.has(key)) continue;
      done.add(key);
      const covered =
        !!principalId &&
        !!reg &&
        (sr.roleAssignments ?? []).some(
          (g) => g.principalId.toLowerCase() === principalId.toLowerCase() && grantsPull(g, reg.id, reg.abac),
        );
      if (covered) continue;
      const forTargets = user ? observed.targets.map((x) => x.target.label) : [label];
      const who = user ? `the user-assigned identity ${user.name}` : `the system identity of ${label}`;
      const images = sr.images.map((i) => `${i.image} (${i.targets.join(', ')})`).join(', ');
      const own = sr.images.some((i) => i.targets.some((x) => forTargets.includes(x)));
      const why = own
        ? `${forTargets.join(', ')} run${forTargets.length === 1 ? 's' : ''} an image from ${sr.loginServer} today.`
        : `A slot swap can bring ${images} to ${forTargets.join(', ')}, which then pulls it with its own identity (identities and their pull settings never swap).`;
      if (!reg || sr.callerCanWriteRoleAssignments === false) {
        const fix = `Ask an administrator of ${sr.loginServer} to run: az role assignment create --assignee-object-id ${principalId ?? `<${label}'s principalId, in this run's principalIds output>`} --assignee-principal-type ServicePrincipal --role "${role.name}" --scope ${reg?.id ?? `$(az acr show --name ${sr.loginServer.split('.')[0]} --query id -o tsv)`}`;
        for (const x of forTargets) gaps.set(swapGapKey(sr.loginServer, x), fix);
        warnings.push({
          target: user ? undefined : label,
          code: 'SwapPullGap',
          message: `${who} cannot pull from ${sr.loginServer}: ${why} ${reg ? 'The service connection may not write role assignments on that registry' : 'The service connection cannot see that registry'}, so the task cannot grant it.`,
          fix,
        });
        continue;
      }
      steps.push({
        kind: 'assignRole',
        target: forTargets[0] ?? label,
        what: `Grant ${role.name} on registry ${reg.name} to ${who}${principalId ? ` (${principalId})` : ''}.`,
        why,
        scope: reg.id,
        roleGuid: role.guid,
        roleName: role.name,
        principal: principalId ? { kind: 'known', principalId } : { kind: 'systemIdentityOf', target: label },
        forTargets,
      });
    }
  }
  return { steps, warnings, gaps };
}

function swapGapKey(loginServer: string, target: string): string {
  return `${loginServer}\n${target}`;
}

/**
 * Roles that give an app identity more than a pull on the registry: writing images, deleting them, managing the
 * registry, or assigning roles. (AcrPull and Container Registry Repository Reader are the pull roles; Reader is
 * left alone: it reads the control plane, writes nothing.)
 */
const MORE_THAN_PULL: Readonly<Record<string, string>> = {
  [ROLES.owner]: 'Owner',
  [ROLES.contributor]: 'Contributor',
  [ROLES.acrPush]: 'AcrPush',
  [ROLES.repositoryWriter]: 'Container Registry Repository Writer',
  [ROLES.repositoryContributor]: 'Container Registry Repository Contributor',
  'c2f4ef07-c644-48eb-af81-4b1b4947fb11': 'AcrDelete',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  'f58310d9-a9f6-439a-9e8d-f62e7b41a168': 'Role Based Access Control Administrator',
};

/** The two commands that narrow a grant: the pull role at the registry first, then the wide one goes. */
function narrowCommands(grant: GrantFact, registryId: string, roleName: string): string {
  return `az role assignment create --assignee-object-id ${grant.principalId} --assignee-principal-type ServicePrincipal --role "${roleName}" --scope ${registryId} && az role assignment delete --ids ${grant.id}`;
}

/**
 * The least-privilege audit: an app identity holding more than a pull role on the registry (at the registry or any
 * scope above it) is a warning with the commands to narrow it. The task never removes a grant by itself: the
 * identity may need it for something else, and removing rights is the owner's call.
 */
function overPrivilegedWarnings(
  observed: Observed,
  principals: Readonly<Record<string, string | undefined>>,
  user: Observed['userIdentity'],
  roleName: string,
): PlanWarning[] {
  const registry = observed.registry;
  const out: PlanWarning[] = [];
  const seen = new Set<string>();
  for (const t of observed.targets) {
    const principalId = user ? user.principalId : principals[t.target.label];
    if (!principalId) continue;
    const who = user ? `the user-assigned identity ${user.name}` : `the system identity of ${t.target.label}`;
    for (const g of observed.roleAssignments ?? []) {
      const name = MORE_THAN_PULL[g.roleGuid];
      if (!name || g.principalId.toLowerCase() !== principalId.toLowerCase()) continue;
      const inherited = g.scopeKind === 'managementGroup' || g.scopeKind === 'root';
      if (!inherited && !scopeCovers(g.scope, registry.id)) continue;
      if (seen.has(g.id.toLowerCase())) continue;
      seen.add(g.id.toLowerCase());
      const wider = normaliseId(g.scope) !== normaliseId(registry.id);
      out.push({
        target: user ? undefined : t.target.label,
        code: 'OverPrivilegedGrant',
        message: `${who} holds ${name} at ${g.scope}${wider ? ' (wider than the registry)' : ''}: more than the pull it needs from ${registry.name}. The task keeps it (it never removes a grant).`,
        fix: `If the app needs nothing else from it, narrow it to ${roleName} at the registry: ${narrowCommands(g, registry.id, roleName)}`,
      });
    }
  }
  return out;
}

/**
 * A target set to pull with a managed identity it does not have: a slot created with `--configuration-source`
 * copies the flag and client ID but no identity (docs/azure-behaviour.md#hosting-kinds). Said, then fixed by the
 * identity steps.
 */
function missingIdentityWarnings(observed: Observed, user: Observed['userIdentity']): PlanWarning[] {
  const out: PlanWarning[] = [];
  for (const t of observed.targets) {
    if (t.sidecar || t.pull.useManagedIdentity !== true) continue;
    const clientId = (t.pull.clientId ?? '').toLowerCase();
    const has = clientId
      ? t.identity.userAssigned.some((u) => (u.clientId ?? '').toLowerCase() === clientId)
      : t.identity.system;
    if (has) continue;
    out.push({
      target: t.target.label,
      code: 'SlotIdentityMissing',
      message: `${t.target.label} is set to pull with ${clientId ? `the user-assigned identity with client ID ${t.pull.clientId}` : 'its system identity'} (acrUseManagedIdentityCreds=true) but has no such identity (a slot created from another's configuration copies the settings, not the identity): its pull fails today.`,
      fix: `Nothing: the task ${user ? `attaches ${user.name} to it and sets its client ID` : 'turns on its system identity and grants it'}.`,
    });
  }
  return out;
}

function legacyGrantOnAbac(observed: Observed, principalId: string, registryId: string): string | undefined {
  const legacy = (observed.roleAssignments ?? []).find(
    (g) =>
      g.principalId.toLowerCase() === principalId.toLowerCase() &&
      grantsPull(g, registryId, false) &&
      !grantsPull(g, registryId, true) &&
      scopeCovers(g.scope, registryId),
  );
  return legacy ? legacy.roleGuid : undefined;
}

/** Stands for the connection's client ID in the remedy below; main.ts, which knows the connection, fills it in. */
export const CALLER_CLIENT_ID = '<service connection client ID>';

/** The TaskError for a caller that cannot grant roles: every command an admin needs, per target. */
export function roleAssignmentForbidden(
  observed: Observed,
  roleSteps: readonly AssignRoleStep[],
  principals: Readonly<Record<string, string | undefined>>,
  cause?: unknown,
): TaskError {
  const r = observed.registry;
  const lines: string[] = [];
  for (const step of roleSteps) {
    const principalId =
      step.principal.kind === 'known' ? step.principal.principalId : principals[step.principal.target];
    const forWhom = step.forTargets.join(', ');
    if (principalId) {
      lines.push(
        `  # ${forWhom}`,
        `  az role assignment create --assignee-object-id ${principalId} --assignee-principal-type ServicePrincipal --role "${step.roleName}" --scope ${r.id}`,
      );
    } else {
      const t = observed.targets.find((x) => x.target.label === step.forTargets[0]);
      lines.push(
        `  # ${forWhom}: its system identity does not exist yet. Enable it first (or set enableIdentityWithoutRoleRights: true and run the task again):`,
        `  az webapp identity assign --name ${observed.app.name} --resource-group ${observed.app.resourceGroup}${t ? slotArg(t) : ''}`,
        `  # then grant the role to the principalId it prints:`,
        `  az role assignment create --assignee-object-id <principalId> --assignee-principal-type ServicePrincipal --role "${step.roleName}" --scope ${r.id}`,
      );
    }
  }
  const remedy = [
    `Ask an administrator of registry ${r.name} to run:`,
    ...lines,
    'Or let the service connection write the pull grants itself: Role Based Access Control Administrator on the registry,',
    'constrained to the pull roles (it can then assign nothing else):',
    `  ${connectionGrantCommand(CALLER_CLIENT_ID, r.id)}`,
    '(User Access Administrator or Owner would work too, but they can assign any role.) Then run the task again.',
  ].join('\n');
  return new TaskError(
    'RoleAssignmentForbidden',
    `The service connection may not create role assignments on registry ${r.name} (Microsoft.Authorization/roleAssignments/write), and ${roleSteps.length} pull grant${roleSteps.length === 1 ? ' is' : 's are'} missing.`,
    { remedy, cause },
  );
}

/**
 * The grant the service connection needs, in its least-privilege form: Role Based Access Control Administrator on
 * the registry with a condition that lets it create and delete only AcrPull and Container Registry Repository
 * Reader assignments (docs/azure-behaviour.md#delegating-role-assignments-with-a-condition).
 */
export function connectionGrantCommand(assignee: string, registryId: string): string {
  const roles = `{${ROLES.acrPull}, ${ROLES.repositoryReader}}`;
  const condition =
    `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR ` +
    `(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals ${roles})) AND ` +
    `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR ` +
    `(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals ${roles}))`;
  return `az role assignment create --assignee ${assignee} --role "Role Based Access Control Administrator" --scope ${registryId} --condition "${condition}" --condition-version 2.0`;
}

function slotArg(t: ObservedTarget): string {
  return t.target.slot ? ` --slot ${t.target.slot}` : '';
}

function appSettingsDeleteCommand(observed: Observed, t: ObservedTarget, keys: readonly string[]): string {
  return `az webapp config appsettings delete --name ${observed.app.name} --resource-group ${observed.app.resourceGroup}${slotArg(t)} --setting-names ${keys.join(' ')}`;
}

function hasKey(settings: Readonly<Record<string, string>>, key: string): boolean {
  return Object.keys(settings).some((k) => k.toUpperCase() === key);
}

function actualKey(settings: Readonly<Record<string, string>>, key: string): string {
  return Object.keys(settings).find((k) => k.toUpperCase() === key) ?? key;
}

/** Resource IDs without repeats (compared as resource IDs), each in the case first seen. */
function distinctIds(ids: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(normaliseId(id))) continue;
    seen.add(normaliseId(id));
    out.push(id);
  }
  return out;
}
