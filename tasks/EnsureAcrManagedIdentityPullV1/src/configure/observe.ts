/**
 * Reads everything the planner needs, and nothing it does not: the app and its slots, per target the identity,
 * `config/web`, sidecars and app settings; the registry; the user-assigned identity; the pull grants that already
 * exist; and whether the caller may write role assignments. No writes, no logging.
 *
 * Request budget (a benchmark holds us to it): a constant handful for the app, the registry, the identity, the
 * role assignments (ONE `atScope()` list at the registry covers registry, group and subscription scopes for every
 * principal) and the permissions; then 2 per target (config/web, app settings), 3 for sidecar apps. Slot sites
 * come from the paged slot list, so no per-slot GET.
 */
import { type ArmClient, isArmError } from '../arm/client';
import { getUserAssignedIdentity } from '../arm/identities';
import { canWriteRoleAssignments, listPermissions } from '../arm/permissions';
import {
  findRegistryByLoginServer,
  getRegistry,
  listRegistries,
  publicAccessRestricted,
} from '../arm/registries';
import { findAppResourceGroup, findIdentitiesByName, listAppNames } from '../arm/resources';
import { grantsPull, listRoleAssignments } from '../arm/role-assignments';
import { getSubscriptionTenantId } from '../arm/subscriptions';
import {
  getSite,
  getSiteConfigFacts,
  listAppSettings,
  listSiteContainers,
  listSlotSettingNames,
  listSlots,
  targetFacts,
} from '../arm/web-apps';
import type { RunContext } from '../context';
import type { ServingFact } from '../cutover/serving';
import { isTaskError, TaskError } from '../errors';
import type { GrantFact, RegistryFacts, SiteFacts, TargetFacts, UserIdentityFacts } from '../facts';
import { identityIdCommands } from '../inputs';
import { appLookupError, identityNameError, operationError } from '../phase-errors';
import { checkImages, type ImageCheckReport } from '../registry/image-check';
import {
  armPath,
  GUID,
  parseResourceId,
  RESOURCE_GROUP,
  resourceIdProblem,
  resourcePath,
  sameResourceId,
} from '../resource-id';
import { checkNameFromResponse, SLOT_FROM_RESPONSE, untrusted } from '../response-names';
import { type IdentityName, PRODUCTION, type ResourceRef, type Settings } from '../settings';
import { closestSpelling } from '../spelling';
import type { Target } from '../targets';
import { isAcrHost, registryHostOf } from './images';
import { mapWithLimit } from './limit';

/**
 * The registry audience: Entra tokens for it are accepted by every registry, including those that refuse
 * ARM-audience tokens (learn.microsoft.com/azure/container-registry/container-registry-disable-authentication-as-arm).
 */
const ACR_SCOPE = 'https://containerregistry.azure.net/.default';

/** How many targets are read (and later written) at once. */
export const TARGET_CONCURRENCY = 8;

export type { TargetOs } from '../facts';

/** One selected target: the site or slot, its config, sidecars and app settings, as facts. */
export type ObservedTarget = TargetFacts;

/** The registry the task configures: its facts, checked, with where it lives and how the task found it. */
export interface ObservedRegistry extends RegistryFacts {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** Lower-cased. */
  readonly loginServer: string;
  /** Public network access off, or a firewall that denies by default. */
  readonly publicAccessRestricted: boolean;
  /** How the task found it. */
  readonly source: 'input' | 'image';
}

export interface Observed {
  readonly app: {
    readonly name: string;
    readonly subscriptionId: string;
    readonly resourceGroup: string;
    readonly path: string;
  };
  /** The selected targets, production first, then slots in ARM's order. */
  readonly targets: readonly ObservedTarget[];
  /** Every slot the app has (names), for messages. */
  readonly allSlots: readonly string[];
  readonly registry: ObservedRegistry;
  /** Set when the identity input is a user-assigned identity. */
  readonly userIdentity: UserIdentityFacts | undefined;
  /**
   * Every role assignment at the registry and its parent scopes (group, subscription, management groups), for every
   * principal: the planner picks the pull grants (`grantsPull`). Undefined when the caller may not list them (then
   * grants are planned blind; the PUT is idempotent).
   */
  readonly roleAssignments: readonly GrantFact[] | undefined;
  /**
   * From the permissions API. Undefined when it could not be read (it is advisory anyway) or was not needed (every
   * target's principal already holds a pull grant).
   */
  readonly callerCanWriteRoleAssignments: boolean | undefined;
  /** The connection's tenant, from the token or the subscription (undefined if neither told us). */
  readonly tenantId: string | undefined;
  /** The pre-flight image check (undefined when it is off or no registry transport was given). */
  readonly imageCheck?: ImageCheckReport;
  /** Per target label: whether it serves today with a registry password (src/cutover/serving.ts). */
  readonly serving?: Readonly<Record<string, ServingFact>>;
  /**
   * With `targets: all`, the other registries the app's targets pull from: a swap can bring each of those images to
   * every other slot, which then pulls it with its own identity (docs/azure-behaviour.md#slot-swaps). Empty when
   * every target uses the configured registry.
   */
  readonly swapRegistries?: readonly SwapRegistry[];
  /**
   * The app setting names marked as deployment slot settings (`config/slotConfigNames`: they stay with their slot
   * in a swap). Read only when a swap could move a registry password (several targets, one with
   * DOCKER_REGISTRY_SERVER_* settings the run keeps); undefined when not read or not readable.
   */
  readonly slotSettingNames?: readonly string[];
}

/** A registry whose images a swap can bring to targets that do not pull from it today. */
export interface SwapRegistry {
  readonly loginServer: string;
  /** The images on it, with the targets that run each today. */
  readonly images: readonly { readonly image: string; readonly targets: readonly string[] }[];
  /** Undefined when the connection cannot see the registry (the gap is then named, not fixed). */
  readonly registry: ObservedRegistry | undefined;
  /** Its role assignments (atScope()); undefined when they could not be read. */
  readonly roleAssignments: readonly GrantFact[] | undefined;
  readonly callerCanWriteRoleAssignments: boolean | undefined;
}

export async function observe(ctx: RunContext): Promise<Observed> {
  const { arm, settings, signal } = ctx;
  const subscriptionId = arm.subscriptionId;
  const resourceGroup =
    settings.resourceGroup || (await lookUpResourceGroup(arm, subscriptionId, settings.appName, signal));
  // The group may come from a response (the lookup): it becomes a path segment, so it must be a group name.
  if (!RESOURCE_GROUP.test(resourceGroup)) {
    throw untrusted(
      `The resource lookup named the app's resource group '${resourceGroup}', which is not a resource group name.`,
    );
  }
  const appPath = armPath(
    'subscriptions',
    subscriptionId,
    'resourceGroups',
    resourceGroup,
    'providers',
    'Microsoft.Web',
    'sites',
    settings.appName,
  );
  const app = { name: settings.appName, subscriptionId, resourceGroup, path: appPath };

  // The slot list needs only the app's path: read it alongside the app (one round trip less before the targets).
  const needSlots = settings.targets.kind !== 'production';
  const slotsPromise = needSlots ? listSlots(arm, appPath, signal) : Promise.resolve([]);
  slotsPromise.catch(() => {}); // awaited below; a missing app is reported by the getSite error instead

  const production = await getSite(arm, { path: appPath }, signal).catch(async (e: unknown) => {
    const mapped = operationError(e, {
      kind: 'readApp',
      appName: settings.appName,
      resourceGroup,
      subscriptionId,
    });
    throw isTaskError(mapped) && mapped.code === 'AppNotFound'
      ? await withAppGuess(arm, mapped, settings.appName, signal)
      : mapped;
  });

  // Before anything else is read or written: a hosting kind that cannot use the pull settings is refused.
  refuseUnsupportedHosting(production, app);

  const slotSites = await slotsPromise;
  for (const slot of slotSites) checkSlot(slot, settings.appName);
  const allSlots = slotSites.map((s) => slotNameOf(s));
  const selected = selectTargets(settings, app, production, slotSites, allSlots);

  // The registry, the user identity and the tenant do not depend on the targets: read them alongside.
  const userIdentityPromise =
    settings.identity.kind === 'user'
      ? identityRef(ctx, settings.identity.identity, resourceGroup).then((ref) =>
          readUserIdentity(arm, ref, signal),
        )
      : undefined;
  userIdentityPromise?.catch(() => {}); // awaited below; avoid an unhandled rejection while targets load

  const targets = await mapWithLimit(selected, TARGET_CONCURRENCY, ({ target, site }) =>
    observeTarget(arm, target, site, signal),
  );

  const registry = await resolveRegistry(arm, settings, targets, signal);
  // With the registry input set, another ACR counts as a swap registry only when some target runs the named one
  // (slots on two registries); when none does, the input names the wrong registry and the plan stops before writing.
  const swapRegistriesPromise =
    settings.targets.kind === 'all' &&
    (settings.registry.kind === 'fromImage' ||
      targets.some((t) => t.images.some((i) => registryHostOf(i) === registry.loginServer)))
      ? readSwapRegistries(arm, targets, registry.loginServer, signal)
      : Promise.resolve([]);
  swapRegistriesPromise.catch(() => {}); // awaited below
  // One request for the app (the list is site-wide), only when a swap could move a kept registry password.
  const slotSettingNamesPromise =
    targets.length > 1 &&
    !settings.removeRegistryCredentials &&
    targets.some((t) =>
      Object.keys(t.appSettings).some((k) => /^DOCKER_REGISTRY_SERVER_(USERNAME|PASSWORD)$/i.test(k)),
    )
      ? listSlotSettingNames(arm, { path: appPath }, signal).catch((e: unknown) => {
          if (isCancelled(e)) throw e;
          return undefined; // unreadable: the warning says the settings move unless they are slot settings
        })
      : Promise.resolve(undefined);
  slotSettingNamesPromise.catch(() => {}); // awaited below
  // The image check needs only the registry and the images: run it alongside the identity and grant reads.
  const dataPlane = settings.checkImage && registry.loginServer ? ctx.registry : undefined;
  // A login server from a response gets a token only when it is the registry's name under the cloud's suffix.
  const refused = dataPlane?.allow(registry.name, registry.loginServer).refused;
  const imageCheckPromise = dataPlane
    ? checkImages(
        {
          ...(refused ? { untrustedLoginServer: refused } : {}),
          send: dataPlane.send,
          getToken: (s) => arm.getToken(s),
          ...(arm.getTokenFor
            ? { getRegistryToken: (s?: AbortSignal) => arm.getTokenFor?.(ACR_SCOPE, s) ?? arm.getToken(s) }
            : {}),
          signal,
          now: ctx.clock.now,
        },
        registry,
        targets.map((t) => ({ label: t.target.label, images: t.images })),
      )
    : undefined;
  imageCheckPromise?.catch(() => {}); // awaited below
  const userIdentity = await userIdentityPromise;
  const tenantId = userIdentity ? await connectionTenant(arm, signal) : undefined;
  if (
    userIdentity &&
    tenantId &&
    userIdentity.tenantId &&
    userIdentity.tenantId.toLowerCase() !== tenantId.toLowerCase()
  ) {
    throw new TaskError(
      'IdentityInOtherTenant',
      `The user-assigned identity ${userIdentity.id} belongs to tenant ${userIdentity.tenantId}, but the service connection signs in to tenant ${tenantId}.`,
      { remedy: 'Use a user-assigned identity from the same tenant as the app and the service connection.' },
    );
  }

  const roleAssignments = await readRoleAssignments(arm, registry.id, signal);
  // The permissions only matter when a grant is missing; on a re-run every principal has one, so skip the call.
  const callerCanWrite = everyPrincipalCanPull(targets, userIdentity, registry, roleAssignments)
    ? undefined
    : await listPermissions(arm, registry.id, signal).then(
        (p) => canWriteRoleAssignments(p),
        (e: unknown) => {
          if (isCancelled(e)) throw e;
          return undefined;
        },
      );

  const imageCheck = await imageCheckPromise;
  const swapRegistries = await swapRegistriesPromise;
  const slotSettingNames = await slotSettingNamesPromise;
  return {
    swapRegistries,
    ...(slotSettingNames ? { slotSettingNames } : {}),
    app,
    targets,
    allSlots,
    registry,
    userIdentity,
    roleAssignments,
    callerCanWriteRoleAssignments: callerCanWrite,
    tenantId,
    ...(imageCheck ? { imageCheck } : {}),
  };
}

/**
 * Functions on Azure Container Apps refuse `acrUseManagedIdentityCreds` ("not supported for Azure Functions on
 * Azure Container apps": docs/azure-behaviour.md#hosting-kinds): say so before any write, with the alternative.
 * Function apps on App Service plans (`functionapp,linux,container`) use the same settings as web apps.
 */
function refuseUnsupportedHosting(site: SiteFacts, app: Observed['app']): void {
  if (site.hosting !== 'functionsOnContainerApps') return;
  throw new TaskError(
    'HostingNotSupported',
    `${app.name} is a function app on Azure Container Apps (kind '${site.kind ?? ''}', a Container Apps environment), which does not support acrUseManagedIdentityCreds: App Service's managed-identity pull settings do not apply there. Nothing was changed.`,
    {
      remedy: [
        'Give the function app its registry on its container settings instead:',
        `  az functionapp config container set --name ${app.name} --resource-group ${app.resourceGroup} --image <login server>/<repo>:<tag> --registry-server <login server> --registry-username <user> --registry-password <password>`,
        'or host it on an Elastic Premium or Dedicated (App Service) plan, where this task configures the managed-identity pull, and remove this step for this app.',
      ].join('\n'),
    },
  );
}

/** The app's resource group when the input leaves it empty; none or several is a TaskError naming the fix. */
async function lookUpResourceGroup(
  arm: ArmClient,
  subscriptionId: string,
  appName: string,
  signal: AbortSignal,
): Promise<string> {
  const lookup = await findAppResourceGroup(arm, subscriptionId, appName, signal);
  if (lookup.kind === 'found') return lookup.resourceGroup;
  // A typo is the likeliest cause of none: offer the closest app name (one more list call, on this path only).
  const guess =
    lookup.kind === 'none'
      ? closestSpelling(appName, await listAppNames(arm, subscriptionId, signal).catch(() => [] as string[]))
      : undefined;
  throw appLookupError(lookup, appName, subscriptionId, guess);
}

/** AppNotFound with a "did you mean" when an app of the subscription is one typo away (one list call, this path only). */
async function withAppGuess(
  arm: ArmClient,
  e: TaskError,
  appName: string,
  signal: AbortSignal,
): Promise<TaskError> {
  const names = await listAppNames(arm, arm.subscriptionId, signal).catch(() => [] as string[]);
  const guess = closestSpelling(appName, names);
  if (!guess) return e;
  return new TaskError(e.code, `${e.message} Did you mean '${guess}'?`, {
    remedy: `If you meant ${guess}, set the appName input to ${guess} (and resourceGroupName to its group, or leave it empty). Otherwise: ${e.remedy}`,
    cause: e.cause,
  });
}

/** True when every target already has an identity that holds a pull grant on the registry. */
function everyPrincipalCanPull(
  targets: readonly ObservedTarget[],
  userIdentity: UserIdentityFacts | undefined,
  registry: ObservedRegistry,
  assignments: readonly GrantFact[] | undefined,
): boolean {
  if (!assignments) return false;
  return targets.every((t) => {
    const principalId = userIdentity?.principalId ?? t.identity.systemPrincipalId;
    return (
      !!principalId &&
      assignments.some(
        (a) =>
          a.principalId.toLowerCase() === principalId.toLowerCase() &&
          grantsPull(a, registry.id, registry.abac),
      )
    );
  });
}

function slotNameOf(slot: SiteFacts): string {
  return slot.name.split('/').pop() ?? slot.name;
}

/** The slot list names a slot the task can address, under this app, or the run stops before any write. */
function checkSlot(slot: SiteFacts, appName: string): void {
  const [app, name, ...rest] = slot.name.split('/');
  if (
    rest.length > 0 ||
    !name ||
    app?.toLowerCase() !== appName.toLowerCase() ||
    !SLOT_FROM_RESPONSE.test(name)
  ) {
    throw untrusted(
      `The slot list of '${appName}' holds a slot named '${slot.name}', which is not '${appName}/<slot>' with a slot name of letters, digits and hyphens.`,
    );
  }
}

/** A principal (object) ID from a response, before it is named in a grant. */
export function checkPrincipalId(principalId: string, where: string): string {
  if (!GUID.test(principalId))
    throw untrusted(`${where} has the principal ID '${principalId}', which is not a GUID.`);
  return principalId;
}

function selectTargets(
  settings: Settings,
  app: Observed['app'],
  production: SiteFacts,
  slotSites: SiteFacts[],
  allSlots: string[],
): { target: Target; site: SiteFacts }[] {
  const prod = { target: { label: PRODUCTION, slot: undefined, path: app.path }, site: production };
  const slotTarget = (site: SiteFacts) => {
    const slot = slotNameOf(site);
    return { target: { label: slot, slot, path: `${app.path}/slots/${encodeURIComponent(slot)}` }, site };
  };
  switch (settings.targets.kind) {
    case 'all':
      return [prod, ...slotSites.map(slotTarget)];
    case 'production':
      return [prod];
    case 'slots': {
      const wanted = settings.targets.slots;
      const missing = wanted.filter((w) => !allSlots.some((s) => s.toLowerCase() === w.toLowerCase()));
      if (missing.length > 0) {
        throw new TaskError(
          'SlotNotFound',
          `The app '${app.name}' has no slot named ${missing.map((m) => `'${m}'`).join(', ')}.`,
          {
            remedy: allSlots.length
              ? `Use one of its slots in the slotNames input: ${allSlots.join(', ')}.`
              : `The app has no deployment slots; set targets to production, or create the slot first.`,
          },
        );
      }
      const slots = slotSites.filter((s) =>
        wanted.some((w) => w.toLowerCase() === slotNameOf(s).toLowerCase()),
      );
      return [...(settings.targets.includeProduction ? [prod] : []), ...slots.map(slotTarget)];
    }
  }
}

async function observeTarget(
  arm: ArmClient,
  target: Target,
  site: SiteFacts,
  signal: AbortSignal,
): Promise<ObservedTarget> {
  const [config, appSettings] = await Promise.all([
    getSiteConfigFacts(arm, target, signal),
    listAppSettings(arm, target, signal),
  ]);
  const principalId = site.identity.systemPrincipalId;
  if (principalId) checkPrincipalId(principalId, `The identity of ${target.label}`);
  const containers = config.sidecar ? await listSiteContainers(arm, target, signal) : [];
  // A container's name becomes the path of its PUT (`.../sitecontainers/<name>`): one safe segment, or no write.
  for (const c of containers) checkNameFromResponse(c.name, `The sidecar list of ${target.label}`);
  return targetFacts(target, site, config, containers, appSettings);
}

async function resolveRegistry(
  arm: ArmClient,
  settings: Settings,
  targets: readonly ObservedTarget[],
  signal: AbortSignal,
): Promise<ObservedRegistry> {
  const setting = settings.registry;
  if (setting.kind === 'resourceId') {
    const path = resourcePath(setting.registry, REGISTRY_TYPE);
    const resource = await getRegistry(arm, path, signal).catch((e: unknown) => {
      throw operationError(e, { kind: 'readRegistry', registryId: setting.registry.id });
    });
    if (!sameResourceId(resource.id ?? '', setting.registry.id)) {
      throw untrusted(
        `Reading the registry ${setting.registry.id} returned the resource '${resource.id}', a different resource; the pull role is granted only on the registry the input names.`,
      );
    }
    return describeRegistry(resource, 'input');
  }

  let loginServer: string;
  let source: ObservedRegistry['source'];
  if (setting.kind === 'loginServer') {
    loginServer = setting.loginServer.toLowerCase();
    source = 'input';
  } else {
    loginServer = registryFromImages(targets, settings.targets.kind === 'all');
    source = 'image';
  }
  const resource = await findRegistryByLoginServer(arm, loginServer, signal);
  if (!resource) {
    // A typo is the likeliest cause: offer the closest login server the connection can see (one more list call,
    // on this failure path only).
    const visible = await listRegistries(arm, arm.subscriptionId, signal).then(
      (list) => list.map((r) => r.loginServer).filter(Boolean),
      () => [] as string[],
    );
    const guess = closestSpelling(loginServer, visible);
    throw new TaskError(
      'RegistryNotFound',
      `No container registry with login server '${loginServer}' is visible to the service connection (searched subscription ${arm.subscriptionId} and every other subscription it can list).${guess ? ` Did you mean '${guess}'?` : ''}`,
      {
        remedy:
          (guess
            ? `If you meant ${guess}, set the registry input to ${guess}${source === 'image' ? " (or fix the image name in the app's container settings)" : ''}. Otherwise give`
            : 'Give') +
          " the service connection Reader on the registry, or set the registry input to the registry's resource ID " +
          '(/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>).',
      },
    );
  }
  return describeRegistry(resource, source);
}

/**
 * The one ACR login server the selected targets pull from; TaskError when there is none or several. With
 * `swapSet` (targets: all, every slot a swap partner of every other) several registries are fine: production's
 * (else the first target's) is configured, and the others are swap registries (readSwapRegistries).
 */
export function registryFromImages(targets: readonly ObservedTarget[], swapSet = false): string {
  const hosts = new Map<string, string[]>();
  for (const t of targets) {
    // A sidecar app may run public helper containers (an OpenTelemetry collector...): only its ACR images count.
    const acrImages = t.images.filter((i) => isAcrHost(registryHostOf(i)));
    const images = t.sidecar && acrImages.length > 0 ? acrImages : t.images;
    for (const image of images) {
      const host = registryHostOf(image);
      if (!isAcrHost(host)) {
        throw new TaskError(
          'ImageNotOnAcr',
          `Target ${t.target.label} runs the image '${image}', which is not on Azure Container Registry (registry host '${host}').`,
          {
            remedy:
              'Point the app at an image in your Azure Container Registry (<name>.azurecr.io/<repo>:<tag>), or set the ' +
              'registry input to the registry the identity should pull from.',
            target: t.target.label,
          },
        );
      }
      hosts.set(host, [...(hosts.get(host) ?? []), t.target.label]);
    }
  }
  if (hosts.size === 1) return [...hosts.keys()][0] as string;
  if (swapSet && hosts.size > 1) return [...hosts.keys()][0] as string;
  if (hosts.size === 0) {
    throw new TaskError(
      'NoContainerImage',
      'None of the selected targets runs a container image, so the registry cannot be derived.',
      {
        remedy:
          'Set the registry input (login server or resource ID), or configure the app to run a container image first.',
      },
    );
  }
  const list = [...hosts].map(([h, labels]) => `${h} (${labels.join(', ')})`).join('; ');
  throw new TaskError('SeveralRegistries', `The selected targets pull from several registries: ${list}.`, {
    remedy: 'Set the registry input to the registry to configure, or select targets that use one registry.',
  });
}

const REGISTRY_TYPE = 'Microsoft.ContainerRegistry/registries';

/**
 * The registry's ID decides where the pull role is granted: it must be a registry resource ID whose name is the
 * registry's, or nothing is written (a response naming a resource group would otherwise widen the grant).
 */
function describeRegistry(resource: RegistryFacts, source: ObservedRegistry['source']): ObservedRegistry {
  const id = resource.id;
  const ref = parseResourceId(id, REGISTRY_TYPE);
  if (!ref) {
    throw untrusted(
      `Azure described the registry '${resource.name}' with the ID '${id}', which is not a container registry resource ID (${resourceIdProblem(id, REGISTRY_TYPE)}); the pull role is granted only at a registry.`,
    );
  }
  if (resource.name && resource.name.toLowerCase() !== ref.name.toLowerCase()) {
    throw untrusted(
      `Azure described the registry '${resource.name}' with the ID '${id}', which names another registry.`,
    );
  }
  return {
    id: ref.id,
    name: ref.name,
    subscriptionId: ref.subscriptionId,
    resourceGroup: ref.resourceGroup,
    loginServer: resource.loginServer.toLowerCase(),
    abac: resource.abac,
    armTokenAuthDisabled: resource.armTokenAuthDisabled,
    network: resource.network,
    publicAccessRestricted: publicAccessRestricted(resource.network),
    adminUserEnabled: resource.adminUserEnabled,
    source,
  };
}

/**
 * The identity's resource reference; a bare name is looked up in the connection's subscription and used when
 * exactly one identity has it (the ID comes from a response, so it must parse as an identity ID).
 */
async function identityRef(
  ctx: RunContext,
  given: ResourceRef | IdentityName,
  appGroup: string,
): Promise<ResourceRef> {
  if (!('byName' in given)) return given;
  const { arm, signal } = ctx;
  const name = given.byName;
  const ids = await findIdentitiesByName(arm, arm.subscriptionId, name, signal);
  const refs = ids.map((id) => parseResourceId(id, IDENTITY_TYPE));
  if (refs.some((r) => r === undefined))
    throw untrusted(`The resource list named a user-assigned identity '${name}' with an ID that is not one.`);
  const found = refs as ResourceRef[];
  if (found.length === 1) return found[0] as ResourceRef;
  throw identityNameError(name, arm.subscriptionId, found, identityIdCommands(name, appGroup));
}

async function readUserIdentity(
  arm: ArmClient,
  ref: ResourceRef,
  signal: AbortSignal,
): Promise<UserIdentityFacts> {
  const id = ref.id;
  try {
    const identity = await getUserAssignedIdentity(arm, resourcePath(ref, IDENTITY_TYPE), signal);
    if (!identity.clientId || !identity.principalId) {
      throw new TaskError(
        'IdentityIncomplete',
        `The user-assigned identity ${id} has no client ID or principal ID yet.`,
        {
          remedy: 'Wait until the identity has finished provisioning, then run the task again.',
        },
      );
    }
    // The identity's IDs go into a grant and into the site config: they must be this identity's, and GUIDs.
    if (!sameResourceId(identity.id, id) || !parseResourceId(identity.id, IDENTITY_TYPE)) {
      throw untrusted(
        `Reading the user-assigned identity ${id} returned the resource '${identity.id}', a different resource.`,
      );
    }
    checkPrincipalId(identity.principalId, `The user-assigned identity ${id}`);
    if (!GUID.test(identity.clientId))
      throw untrusted(
        `The user-assigned identity ${id} has the client ID '${identity.clientId}', which is not a GUID.`,
      );
    return identity;
  } catch (e: unknown) {
    throw operationError(e, { kind: 'readUserIdentity', identityId: id });
  }
}

const IDENTITY_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities';

/**
 * Every assignment at the registry and above, for every principal, in one `atScope()` list. When the caller may
 * not read role assignments, undefined: the grants are then planned blind (the PUT is idempotent).
 */
/** Each ACR (other than the configured one) that a selected target pulls from, with its grants and our rights. */
async function readSwapRegistries(
  arm: ArmClient,
  targets: readonly ObservedTarget[],
  configured: string,
  signal: AbortSignal,
): Promise<SwapRegistry[]> {
  const byHost = new Map<string, Map<string, string[]>>();
  for (const t of targets) {
    for (const image of t.images) {
      const host = registryHostOf(image);
      if (!isAcrHost(host) || host === configured) continue;
      const images = byHost.get(host) ?? new Map<string, string[]>();
      images.set(image, [...(images.get(image) ?? []), t.target.label]);
      byHost.set(host, images);
    }
  }
  return Promise.all(
    [...byHost].map(async ([loginServer, images]) => {
      const list = [...images].map(([image, labels]) => ({ image, targets: labels }));
      const resource = await findRegistryByLoginServer(arm, loginServer, signal);
      if (!resource)
        return {
          loginServer,
          images: list,
          registry: undefined,
          roleAssignments: undefined,
          callerCanWriteRoleAssignments: undefined,
        };
      const registry = describeRegistry(resource, 'image');
      const [roleAssignments, callerCanWrite] = await Promise.all([
        readRoleAssignments(arm, registry.id, signal),
        listPermissions(arm, registry.id, signal).then(
          (p) => canWriteRoleAssignments(p),
          (e: unknown) => {
            if (isCancelled(e)) throw e;
            return undefined;
          },
        ),
      ]);
      return {
        loginServer,
        images: list,
        registry,
        roleAssignments,
        callerCanWriteRoleAssignments: callerCanWrite,
      };
    }),
  );
}

async function readRoleAssignments(
  arm: ArmClient,
  registryId: string,
  signal: AbortSignal,
): Promise<GrantFact[] | undefined> {
  try {
    return await listRoleAssignments(arm, registryId, 'atScope()', signal);
  } catch (e: unknown) {
    if (isArmError(e) && (e.status === 403 || e.status === 401)) return undefined;
    throw e;
  }
}

/**
 * The tenant the connection signs in to: the token's `tid` claim when the token is a JWT, else the
 * subscription's tenantId. Undefined when neither is available (the check is then skipped).
 */
async function connectionTenant(arm: ArmClient, signal: AbortSignal): Promise<string | undefined> {
  const claims = jwtClaims(await arm.getToken(signal));
  if (typeof claims?.tid === 'string') return claims.tid;
  try {
    return await getSubscriptionTenantId(arm, arm.subscriptionId, signal);
  } catch (e: unknown) {
    if (isCancelled(e)) throw e;
    return undefined;
  }
}

/** The payload of a JWT (no signature check: we only read our own token's tenant). */
function jwtClaims(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isCancelled(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || e.name === 'CancelledError');
}
