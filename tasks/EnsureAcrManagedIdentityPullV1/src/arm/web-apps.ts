/**
 * Microsoft.Web sites and slots: the site resource, its identity, `config/web`, app settings, sidecar containers,
 * publishing credentials and restart. Every function takes a target (production or a slot: only the path differs),
 * calls @azure/arm-appservice (modular `api/webApps` entry) and returns plain data in the shapes below, mapped from
 * the SDK's models. Nothing here logs.
 */
import type { WebSiteManagementContext } from '@azure/arm-appservice/api';
import * as webApps from '@azure/arm-appservice/api/webApps';
import type {
  Site as SdkSite,
  SiteConfig as SdkSiteConfig,
  SiteContainer as SdkSiteContainer,
} from '@azure/arm-appservice/models';
import {
  createHttpPoller,
  type OperationResponse,
  type OperationState,
  type RunningOperation,
} from '@azure/core-lro';
import { imageFromFxVersion, isSidecarFxVersion } from '../configure/images';
import type {
  AttachedUserIdentity,
  ContainerDefinition,
  PullSettings,
  SidecarAuth,
  SidecarContainer,
  SiteConfigFacts,
  SiteFacts,
  TargetFacts,
  TargetIdentity,
} from '../facts';
import { abortableSleep, parseRetryAfterInMs } from '../http/retry';
import type { Target } from '../targets';
import { type ArmClient, ArmError, armErrorFields } from './client';
import { type RawResponse, sdkCall, sdkClientsFor, toArmError, WEB_API_VERSION } from './clients';

export { WEB_API_VERSION };

/** Anything with an ARM path: a Target, or `{ path }` built on the fly. */
export type PathRef = Pick<Target, 'path'>;

export interface UserAssignedIdentityInfo {
  readonly principalId?: string;
  readonly clientId?: string;
}

export interface ManagedServiceIdentity {
  /** `SystemAssigned`, `UserAssigned`, `SystemAssigned, UserAssigned` or `None`. */
  readonly type?: string;
  readonly principalId?: string;
  readonly tenantId?: string;
  /** Keyed by the identity's full resource ID, in whatever case App Service stored it. */
  readonly userAssignedIdentities?: Readonly<Record<string, UserAssignedIdentityInfo>>;
}

export interface HostNameSslState {
  readonly name?: string;
  readonly sslState?: string;
  /** `Standard` for the site, `Repository` for the SCM (Kudu) host. */
  readonly hostType?: string;
}

export interface SiteConfig {
  readonly linuxFxVersion?: string;
  readonly windowsFxVersion?: string;
  readonly acrUseManagedIdentityCreds?: boolean;
  /** The user-assigned identity's client ID; null/empty for the system identity. */
  readonly acrUserManagedIdentityID?: string | null;
  readonly vnetRouteAllEnabled?: boolean;
  readonly alwaysOn?: boolean;
}

export interface Site {
  readonly id: string;
  /** `app` for a site, `app/slot` for a slot. */
  readonly name: string;
  readonly type?: string;
  /** e.g. `app,linux,container` or `app,container,windows`. */
  readonly kind?: string;
  readonly location?: string;
  readonly identity?: ManagedServiceIdentity;
  readonly properties?: {
    readonly state?: string;
    readonly enabled?: boolean;
    /** When the app's configuration last changed (ISO 8601, UTC). */
    readonly lastModifiedTimeUtc?: string;
    readonly defaultHostName?: string;
    readonly hostNames?: readonly string[];
    readonly enabledHostNames?: readonly string[];
    readonly hostNameSslStates?: readonly HostNameSslState[];
    readonly reserved?: boolean;
    readonly hyperV?: boolean;
    readonly siteConfig?: SiteConfig;
    readonly virtualNetworkSubnetId?: string | null;
    /** Up to api-version 2024-04-01. */
    readonly vnetImagePullEnabled?: boolean;
    /** From 2024-11-01. */
    readonly outboundVnetRouting?: {
      readonly imagePullTraffic?: boolean;
      readonly allTraffic?: boolean;
      readonly applicationTraffic?: boolean;
    };
  };
}

export type SiteContainerAuthType = 'Anonymous' | 'UserCredentials' | 'SystemIdentity' | 'UserAssigned';

export interface SiteContainerProperties {
  readonly image?: string;
  readonly isMain?: boolean;
  readonly authType?: SiteContainerAuthType | string;
  readonly userManagedIdentityClientId?: string | null;
  readonly userName?: string | null;
  readonly passwordSecret?: string | null;
  readonly [key: string]: unknown;
}

export interface SiteContainer {
  readonly id?: string;
  /** As ARM returns it: may be `app/container` or just `container`; use `containerName()`. */
  readonly name: string;
  readonly kind?: string;
  readonly properties: SiteContainerProperties;
}

export interface PublishingCredentials {
  readonly publishingUserName: string;
  readonly publishingPassword: string;
  readonly scmUri?: string;
}

/** The parts of a site or slot path the SDK's operations take. */
interface SiteRef {
  readonly web: WebSiteManagementContext;
  readonly resourceGroup: string;
  readonly name: string;
  readonly slot: string | undefined;
  readonly path: string;
}

const SITE_PATH =
  /^\/*subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Web\/sites\/([^/]+)(?:\/slots\/([^/]+))?\/*$/i;

function siteRef(arm: ArmClient, target: PathRef): SiteRef {
  const m = SITE_PATH.exec(target.path);
  if (!m) throw new Error(`Not a Microsoft.Web site or slot path: ${target.path}`);
  const [, subscriptionId = '', resourceGroup = '', name = '', slot] = m;
  return {
    web: sdkClientsFor(arm).web(decodeURIComponent(subscriptionId)),
    resourceGroup: decodeURIComponent(resourceGroup),
    name: decodeURIComponent(name),
    slot: slot === undefined ? undefined : decodeURIComponent(slot),
    path: target.path,
  };
}

export async function getSite(arm: ArmClient, target: PathRef, signal?: AbortSignal): Promise<SiteFacts> {
  return siteFacts(await readSite(arm, target, signal));
}

/** The site or slot resource in ARM's shape (for this module's own comparisons). */
async function readSite(arm: ArmClient, target: PathRef, signal?: AbortSignal): Promise<Site> {
  const r = siteRef(arm, target);
  const site = await sdkCall('GET', r.path, (o) =>
    r.slot === undefined
      ? webApps.get(r.web, r.resourceGroup, r.name, { abortSignal: signal, ...o })
      : webApps.getSlot(r.web, r.resourceGroup, r.name, r.slot, { abortSignal: signal, ...o }),
  );
  return siteFromSdk(site);
}

/**
 * The site's state as ARM reports it now, with the response's `Date` header (the server's clock), from one plain
 * GET of the site. A generic ARM read: the caller only needs the state and the clock.
 */
export async function getSiteState(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<{ state: string | undefined; serverDate: string | undefined }> {
  const r = await arm.request<Site>('GET', target.path, { apiVersion: WEB_API_VERSION, signal });
  return { state: r.body?.properties?.state, serverDate: r.headers.get('date') ?? undefined };
}

/** Every slot of a site (paged). */
export async function listSlots(
  arm: ArmClient,
  sitePath: string,
  signal?: AbortSignal,
): Promise<SiteFacts[]> {
  const r = siteRef(arm, { path: sitePath });
  return sdkCall('GET', `${sitePath}/slots`, async (o) => {
    const out: SiteFacts[] = [];
    for await (const slot of webApps.listSlots(r.web, r.resourceGroup, r.name, { abortSignal: signal, ...o }))
      out.push(siteFacts(siteFromSdk(slot)));
    return out;
  });
}

/**
 * Sets the whole set of managed identities of a target (`system` on or off, every user-assigned identity it keeps
 * or gains) and returns the site as the operation left it (undefined when ARM answered with none).
 */
export async function setIdentities(
  arm: ArmClient,
  target: PathRef,
  identities: { readonly system: boolean; readonly userAssigned: readonly string[] },
  signal?: AbortSignal,
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>,
): Promise<SiteFacts | undefined> {
  const body = identityBody(identities);
  const site = await updateIdentity(arm, target, body, signal, sleep);
  return site ? siteFacts(site) : undefined;
}

/** The identity body of a site PATCH for a whole set of identities (its `type` replaces the set). */
export function identityBody(identities: {
  readonly system: boolean;
  readonly userAssigned: readonly string[];
}): {
  type: string;
  userAssignedIdentities?: Record<string, Record<string, never>>;
} {
  const user = identities.userAssigned;
  const type = identities.system
    ? user.length > 0
      ? 'SystemAssigned, UserAssigned'
      : 'SystemAssigned'
    : 'UserAssigned';
  return user.length > 0
    ? {
        type,
        userAssignedIdentities: Object.fromEntries(user.map((id) => [id, {} as Record<string, never>])),
      }
    : { type };
}

/** How long we wait (in total, between polls) for one long-running site PATCH before we give up. */
const MAX_OPERATION_WAIT_IN_MS = 5 * 60_000;
const DEFAULT_POLL_INTERVAL_IN_MS = 2000;
const MAX_POLL_INTERVAL_IN_MS = 10_000;

/**
 * PATCHes the identity. The body's `type` replaces the whole set, so callers send the union and every existing
 * user-assigned key. App Service may answer 202 with `Azure-AsyncOperation` (REST spec example UpdateWebApp.json,
 * Azure/azure-rest-api-specs `specification/web/.../examples/UpdateWebApp.json`): the operation is followed with
 * @azure/core-lro's poller until it completes, and the site read at its end (which carries the new principal).
 * Returns undefined when ARM answered with no site body and no operation to follow. The SDK's `webApps.update`
 * is not modelled as long-running (it would read the 202 body as the final site), hence the poller here.
 */
export async function updateIdentity(
  arm: ArmClient,
  target: PathRef,
  identity: { type: string; userAssignedIdentities?: Record<string, Record<string, never>> },
  signal?: AbortSignal,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void> = abortableSleep,
): Promise<Site | undefined> {
  const r = siteRef(arm, target);
  const origin = new URL(arm.armUrl).origin;
  const url = `${r.path}?api-version=${WEB_API_VERSION}`;
  let retryAfterInMs: number | undefined;

  const toLro = (
    response: Awaited<ReturnType<ReturnType<WebSiteManagementContext['pathUnchecked']>['get']>>,
    method: string,
    path: string,
    requestUrl: string,
  ): OperationResponse<unknown> => {
    const status = Number.parseInt(response.status, 10);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(response.headers)) headers[k.toLowerCase()] = String(v);
    if (status < 200 || status >= 300) {
      const fields = armErrorFields(JSON.stringify(response.body ?? {}));
      throw new ArmError({
        status,
        code: fields.code || `Http${status}`,
        message: fields.message || `${method} ${path} answered HTTP ${status}.`,
        method,
        path,
        correlationId: headers['x-ms-correlation-request-id'],
      });
    }
    retryAfterInMs = parseRetryAfterInMs(new Headers(headers));
    return {
      flatResponse: response.body,
      rawResponse: { statusCode: status, headers, body: response.body, request: { method, url: requestUrl } },
    };
  };

  const operation: RunningOperation<unknown> = {
    sendInitialRequest: async () =>
      toLro(
        await r.web
          .pathUnchecked(url)
          .patch({ body: { identity }, contentType: 'application/json', abortSignal: signal }),
        'PATCH',
        r.path,
        `${origin}${url}`,
      ),
    sendPollRequest: async (pollUrl) => {
      // The operation URL comes from a response header: our bearer token goes only to the ARM endpoint.
      const absolute = new URL(pollUrl, origin);
      if (absolute.origin !== origin) {
        throw new Error(
          `Refusing to follow a long-running operation to ${absolute.origin}: the ARM endpoint is ${origin}.`,
        );
      }
      return toLro(
        await r.web.pathUnchecked(absolute.toString()).get({ abortSignal: signal }),
        'GET',
        absolute.pathname,
        absolute.toString(),
      );
    },
  };

  try {
    const poller = createHttpPoller<Site | undefined, OperationState<Site | undefined>>(operation, {
      processResult: async (body: unknown) =>
        body && typeof body === 'object' && 'id' in body
          ? siteFromWire(body as Record<string, unknown>)
          : undefined,
    });
    await poller.submitted();
    // Bounded by the time we spent waiting (our own sleeps), so an emulated clock makes it exact in tests.
    for (let waited = 0; !poller.isDone; ) {
      if (waited >= MAX_OPERATION_WAIT_IN_MS) {
        throw new ArmError({
          status: 504,
          code: 'OperationTimedOut',
          message: `The identity change of ${r.path} was still running after ${MAX_OPERATION_WAIT_IN_MS / 1000} s.`,
          method: 'PATCH',
          path: r.path,
        });
      }
      const wait = Math.min(
        MAX_POLL_INTERVAL_IN_MS,
        Math.max(1000, retryAfterInMs ?? DEFAULT_POLL_INTERVAL_IN_MS),
      );
      await sleep(wait, signal);
      waited += wait;
      await poller.poll({ abortSignal: signal });
    }
    return poller.result;
  } catch (e: unknown) {
    throw lroFailure(e, r.path);
  }
}

/** A failed or cancelled operation, as the callers classify it. */
function lroFailure(e: unknown, path: string): unknown {
  if (
    e instanceof ArmError ||
    (e instanceof Error && (e.name === 'AbortError' || e.name === 'CancelledError'))
  )
    return e;
  const mapped = toArmError(e, 'PATCH', path);
  if (mapped !== e) return mapped;
  // core-lro reports a `Failed` operation as "The long-running operation has failed. <code>. <message>".
  const failed =
    e instanceof Error ? /long-running operation has failed(?:\. ([^.\s]+)\.)?/i.exec(e.message) : null;
  if (e instanceof Error && failed) {
    return new ArmError({
      status: 500,
      code: failed[1] || 'OperationFailed',
      message: e.message,
      method: 'PATCH',
      path,
    });
  }
  return e;
}

export async function getSiteConfig(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<SiteConfig> {
  const r = siteRef(arm, target);
  const config = await sdkCall('GET', `${r.path}/config/web`, (o) =>
    r.slot === undefined
      ? webApps.getConfiguration(r.web, r.resourceGroup, r.name, { abortSignal: signal, ...o })
      : webApps.getConfigurationSlot(r.web, r.resourceGroup, r.name, r.slot, { abortSignal: signal, ...o }),
  );
  return siteConfigFromSdk(config);
}

/** The target's `config/web`, as facts: the pull settings and the images it names. */
export async function getSiteConfigFacts(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<SiteConfigFacts> {
  return siteConfigFacts(await getSiteConfig(arm, target, signal));
}

/**
 * Sets the site-wide pull settings in `config/web` (only those two properties): `clientId` is the user-assigned
 * identity's client ID, or "" for the system identity. In a PATCH, null means "leave unchanged", so only "" clears a
 * stale client ID (Azure CLI sends "" too: azure-cli appservice custom.py, update_site_configs). Returns the
 * settings ARM answered with.
 */
export async function setPullSettings(
  arm: ArmClient,
  target: PathRef,
  settings: { readonly useManagedIdentity: true; readonly clientId: string },
  signal?: AbortSignal,
): Promise<PullSettings> {
  const config = await updateSiteConfig(arm, target, pullSettingsBody(settings), signal);
  return pullSettings(config);
}

/** The `config/web` PATCH properties for the pull settings. */
export function pullSettingsBody(settings: {
  readonly useManagedIdentity: true;
  readonly clientId: string;
}): {
  acrUseManagedIdentityCreds: true;
  acrUserManagedIdentityID: string;
} {
  return {
    acrUseManagedIdentityCreds: settings.useManagedIdentity,
    acrUserManagedIdentityID: settings.clientId,
  };
}

/** PATCH `config/web` with only the given properties; returns the properties ARM answered with. */
export async function updateSiteConfig(
  arm: ArmClient,
  target: PathRef,
  properties: SiteConfig,
  signal?: AbortSignal,
): Promise<SiteConfig> {
  const r = siteRef(arm, target);
  // The SDK serialises only the properties set; `null` and "" go on the wire as given.
  const resource = { ...properties } as Parameters<typeof webApps.updateConfiguration>[3];
  const config = await sdkCall('PATCH', `${r.path}/config/web`, (o) =>
    r.slot === undefined
      ? webApps.updateConfiguration(r.web, r.resourceGroup, r.name, resource, { abortSignal: signal, ...o })
      : webApps.updateConfigurationSlot(r.web, r.resourceGroup, r.name, r.slot, resource, {
          abortSignal: signal,
          ...o,
        }),
  );
  return siteConfigFromSdk(config);
}

export async function listAppSettings(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const r = siteRef(arm, target);
  const settings = await sdkCall('POST', `${r.path}/config/appsettings/list`, (o) =>
    r.slot === undefined
      ? webApps.listApplicationSettings(r.web, r.resourceGroup, r.name, { abortSignal: signal, ...o })
      : webApps.listApplicationSettingsSlot(r.web, r.resourceGroup, r.name, r.slot, {
          abortSignal: signal,
          ...o,
        }),
  );
  return { ...(settings.properties ?? {}) };
}

/** Replaces the WHOLE set of app settings: pass every setting that must survive. */
export async function replaceAppSettings(
  arm: ArmClient,
  target: PathRef,
  settings: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const r = siteRef(arm, target);
  const body = { properties: { ...settings } };
  const result = await sdkCall('PUT', `${r.path}/config/appsettings`, (o) =>
    r.slot === undefined
      ? webApps.updateApplicationSettings(r.web, r.resourceGroup, r.name, body, { abortSignal: signal, ...o })
      : webApps.updateApplicationSettingsSlot(r.web, r.resourceGroup, r.name, r.slot, body, {
          abortSignal: signal,
          ...o,
        }),
  );
  return { ...(result.properties ?? {}) };
}

export async function listSiteContainers(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<SidecarContainer[]> {
  const r = siteRef(arm, target);
  return sdkCall('GET', `${r.path}/sitecontainers`, async (o) => {
    const pages =
      r.slot === undefined
        ? webApps.listSiteContainers(r.web, r.resourceGroup, r.name, { abortSignal: signal, ...o })
        : webApps.listSiteContainersSlot(r.web, r.resourceGroup, r.name, r.slot, {
            abortSignal: signal,
            ...o,
          });
    const out: SidecarContainer[] = [];
    for await (const c of pages) out.push(sidecarContainer(siteContainerFromSdk(c)));
    return out;
  });
}

/** Creates or replaces one sidecar container (PUT sends the full properties). */
export async function putSiteContainer(
  arm: ArmClient,
  target: PathRef,
  name: string,
  properties: SiteContainerProperties,
  signal?: AbortSignal,
): Promise<SiteContainer> {
  const r = siteRef(arm, target);
  const request = { ...properties } as SdkSiteContainer;
  const container = await sdkCall('PUT', `${r.path}/sitecontainers/${name}`, (o) =>
    r.slot === undefined
      ? webApps.createOrUpdateSiteContainer(r.web, r.resourceGroup, r.name, name, request, {
          abortSignal: signal,
          ...o,
        })
      : webApps.createOrUpdateSiteContainerSlot(r.web, r.resourceGroup, r.name, r.slot, name, request, {
          abortSignal: signal,
          ...o,
        }),
  );
  return siteContainerFromSdk(container);
}

/**
 * Sets what one sidecar container pulls with: its definition as observed, with the registry credentials and the
 * client ID replaced by `auth` (the PUT sends the full definition, so every other setting is kept).
 */
export async function setSidecarAuth(
  arm: ArmClient,
  target: PathRef,
  container: SidecarContainer,
  auth: SidecarAuth,
  signal?: AbortSignal,
): Promise<SidecarContainer> {
  const properties = sidecarAuthDefinition(container, auth);
  return sidecarContainer(await putSiteContainer(arm, target, container.name, properties, signal));
}

/** The full definition a PUT sends to make a container pull with `auth`: its own, with the credentials replaced. */
export function sidecarAuthDefinition(
  container: SidecarContainer,
  auth: SidecarAuth,
): SiteContainerProperties {
  const {
    userName: _u,
    passwordSecret: _p,
    userManagedIdentityClientId: _c,
    ...rest
  } = definitionOf(container.definition);
  return auth.kind === 'UserAssigned'
    ? { ...rest, authType: 'UserAssigned', userManagedIdentityClientId: auth.clientId }
    : { ...rest, authType: 'SystemIdentity' };
}

/** The container's own name: ARM returns `app/name` (or `app/slot/name`) in `name`. */
export function containerName(container: SiteContainer): string {
  return container.name.split('/').pop() ?? container.name;
}

/**
 * The publishing (basic-auth) credentials: a long-running POST, followed by the SDK's poller until the body
 * arrives. The password is a secret: register it before anything prints it.
 */
export async function listPublishingCredentials(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<PublishingCredentials> {
  const r = siteRef(arm, target);
  const path = `${r.path}/config/publishingcredentials/list`;
  // The SDK's poller waits with its own timer: bound the whole operation, so a 202 that never ends cannot park us.
  const bounded = AbortSignal.any([
    ...(signal ? [signal] : []),
    AbortSignal.timeout(MAX_OPERATION_WAIT_IN_MS),
  ]);
  const user = await sdkCall('POST', path, (o) => {
    const options = { abortSignal: bounded, updateIntervalInMs: 1000, ...o };
    const poller =
      r.slot === undefined
        ? webApps.listPublishingCredentials(r.web, r.resourceGroup, r.name, options)
        : webApps.listPublishingCredentialsSlot(r.web, r.resourceGroup, r.name, r.slot, options);
    return poller.pollUntilDone({ abortSignal: bounded });
  });
  if (!user?.publishingUserName || typeof user.publishingPassword !== 'string') {
    throw new Error(`The publishing credentials of ${r.path} came back empty.`);
  }
  return {
    publishingUserName: user.publishingUserName,
    publishingPassword: user.publishingPassword,
    ...(user.scmUri ? { scmUri: user.scmUri } : {}),
  };
}

/** Whether basic auth to the SCM (Kudu) site is allowed; false means Kudu takes only bearer tokens. */
export async function getScmBasicAuthAllowed(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<boolean> {
  const r = siteRef(arm, target);
  const policy = await sdkCall('GET', `${r.path}/basicPublishingCredentialsPolicies/scm`, (o) =>
    r.slot === undefined
      ? webApps.getScmAllowed(r.web, r.resourceGroup, r.name, { abortSignal: signal, ...o })
      : webApps.getScmAllowedSlot(r.web, r.resourceGroup, r.name, r.slot, { abortSignal: signal, ...o }),
  );
  return policy.allow === true;
}

/**
 * POST restart. Returns the response's `Date` header (the server's clock at the restart), which the verifier uses
 * as the "newer than" bound for log lines; undefined when the server sent none.
 */
export async function restart(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
  options: { softRestart?: boolean; synchronous?: boolean } = {},
): Promise<string | undefined> {
  const r = siteRef(arm, target);
  const query = {
    ...(options.softRestart !== undefined ? { softRestart: options.softRestart } : {}),
    ...(options.synchronous !== undefined ? { synchronous: options.synchronous } : {}),
  };
  const response = await sdkCall('POST', `${r.path}/restart`, async (o) => {
    let date: string | undefined;
    const restartOptions = {
      ...query,
      abortSignal: signal,
      onResponse: (raw: RawResponse, error?: unknown) => {
        date = raw.headers.get('date') ?? undefined;
        o.onResponse(raw, error);
      },
    };
    await (r.slot === undefined
      ? webApps.restart(r.web, r.resourceGroup, r.name, restartOptions)
      : webApps.restartSlot(r.web, r.resourceGroup, r.name, r.slot, restartOptions));
    return date;
  });
  return response;
}

// ---------------------------------------------------------------------------------------------------------------
// Mappers: the SDK flattens `properties`; the wire shapes above keep ARM's nesting, and the facts mappers below
// turn those into the task's words (src/facts.ts).

function siteFromSdk(s: SdkSite): Site {
  return {
    id: s.id ?? '',
    name: s.name ?? '',
    ...(s.type !== undefined ? { type: s.type } : {}),
    ...(s.kind !== undefined ? { kind: s.kind } : {}),
    ...(s.location !== undefined ? { location: s.location } : {}),
    ...(s.identity ? { identity: s.identity as ManagedServiceIdentity } : {}),
    properties: {
      ...(s.state !== undefined ? { state: s.state } : {}),
      ...(s.lastModifiedTimeUtc !== undefined
        ? { lastModifiedTimeUtc: new Date(s.lastModifiedTimeUtc).toISOString() }
        : {}),
      ...(s.enabled !== undefined ? { enabled: s.enabled } : {}),
      ...(s.defaultHostName !== undefined ? { defaultHostName: s.defaultHostName } : {}),
      ...(s.hostNames ? { hostNames: s.hostNames } : {}),
      ...(s.enabledHostNames ? { enabledHostNames: s.enabledHostNames } : {}),
      ...(s.hostNameSslStates ? { hostNameSslStates: s.hostNameSslStates as HostNameSslState[] } : {}),
      ...(s.reserved !== undefined ? { reserved: s.reserved } : {}),
      ...(s.hyperV !== undefined ? { hyperV: s.hyperV } : {}),
      ...(s.siteConfig ? { siteConfig: siteConfigFromSdk(s.siteConfig) } : {}),
      ...(s.virtualNetworkSubnetId !== undefined ? { virtualNetworkSubnetId: s.virtualNetworkSubnetId } : {}),
      ...(s.outboundVnetRouting ? { outboundVnetRouting: s.outboundVnetRouting } : {}),
    },
  };
}

/** A site as ARM sends it (the long-running PATCH reads raw responses), which is the shape above. */
function siteFromWire(body: Record<string, unknown>): Site {
  return body as unknown as Site;
}

function siteConfigFromSdk(c: SdkSiteConfig): SiteConfig {
  const out: { -readonly [K in keyof SiteConfig]: SiteConfig[K] } = {};
  if (c.linuxFxVersion !== undefined) out.linuxFxVersion = c.linuxFxVersion;
  if (c.windowsFxVersion !== undefined) out.windowsFxVersion = c.windowsFxVersion;
  if (c.acrUseManagedIdentityCreds !== undefined)
    out.acrUseManagedIdentityCreds = c.acrUseManagedIdentityCreds;
  if (c.acrUserManagedIdentityID !== undefined) out.acrUserManagedIdentityID = c.acrUserManagedIdentityID;
  if (c.vnetRouteAllEnabled !== undefined) out.vnetRouteAllEnabled = c.vnetRouteAllEnabled;
  if (c.alwaysOn !== undefined) out.alwaysOn = c.alwaysOn;
  return out;
}

function siteContainerFromSdk(c: SdkSiteContainer): SiteContainer {
  const {
    id,
    name,
    type: _type,
    systemData: _systemData,
    kind,
    ...properties
  } = c as SdkSiteContainer & {
    systemData?: unknown;
  };
  return {
    ...(id !== undefined ? { id } : {}),
    name: name ?? '',
    ...(kind !== undefined ? { kind } : {}),
    properties: properties as SiteContainerProperties,
  };
}

/**
 * The SCM (Kudu) host, taken from the site's host list, never constructed (unique default hostnames and ASEs
 * break any pattern): the `Repository` entry of hostNameSslStates, else an enabled host name containing `.scm.`.
 */
export function scmHostName(site: Site): string | undefined {
  const fromSsl = site.properties?.hostNameSslStates?.find(
    (h) => h.hostType?.toLowerCase() === 'repository',
  )?.name;
  return fromSsl ?? site.properties?.enabledHostNames?.find((h) => h.toLowerCase().includes('.scm.'));
}

/** Pull over VNet integration, under either name ARM uses for it. */
export function vnetImagePullEnabled(site: Site): boolean {
  const p = site.properties;
  return p?.outboundVnetRouting?.imagePullTraffic === true || p?.vnetImagePullEnabled === true;
}

/** A site or slot resource (ARM's shape, either api-version) as facts. */
export function siteFacts(site: Site): SiteFacts {
  const p = site.properties;
  return {
    name: site.name,
    windowsKind: (site.kind?.toLowerCase() ?? '').includes('windows') || p?.hyperV === true,
    state: p?.state,
    enabled: p?.enabled,
    lastModifiedAt: p?.lastModifiedTimeUtc,
    defaultHostName: p?.defaultHostName ?? '',
    scmHostName: scmHostName(site),
    identity: identityFacts(site.identity),
    vnetImagePull: vnetImagePullEnabled(site),
  };
}

function identityFacts(identity: ManagedServiceIdentity | undefined): TargetIdentity {
  const userAssigned: AttachedUserIdentity[] = Object.entries(identity?.userAssignedIdentities ?? {}).map(
    ([resourceId, info]) => ({
      resourceId,
      principalId: info?.principalId ?? undefined,
      clientId: info?.clientId ?? undefined,
    }),
  );
  return {
    reportedType: identity?.type ?? 'None',
    system: (identity?.type ?? '').toLowerCase().includes('systemassigned'),
    systemPrincipalId: identity?.principalId ?? undefined,
    userAssigned,
  };
}

/** `config/web` as facts: the pull settings and which images the runtime strings name. */
export function siteConfigFacts(config: SiteConfig): SiteConfigFacts {
  return {
    pull: pullSettings(config),
    sidecar: isSidecarFxVersion(config.linuxFxVersion),
    linuxImage: imageFromFxVersion(config.linuxFxVersion),
    windowsImage: imageFromFxVersion(config.windowsFxVersion),
    linuxRuntimeSet: !!config.linuxFxVersion,
    windowsRuntimeSet: !!config.windowsFxVersion,
  };
}

function pullSettings(config: SiteConfig): PullSettings {
  return {
    useManagedIdentity: config.acrUseManagedIdentityCreds,
    clientId: config.acrUserManagedIdentityID ?? null,
  };
}

/**
 * A sidecar container (ARM's shape) as facts. Its definition is kept for a later write of its auth, without the
 * registry credentials: that write replaces them, and a password has no business travelling in the facts.
 */
export function sidecarContainer(container: SiteContainer): SidecarContainer {
  const p = container.properties ?? {};
  const { userName: _u, passwordSecret: _p, ...definition } = p;
  return {
    name: containerName(container),
    image: typeof p.image === 'string' && p.image ? p.image : undefined,
    isMain: p.isMain === true,
    authType: p.authType ?? undefined,
    clientId: p.userManagedIdentityClientId,
    definition: definition as unknown as ContainerDefinition,
  };
}

function definitionOf(definition: ContainerDefinition): SiteContainerProperties {
  return definition as unknown as SiteContainerProperties;
}

/**
 * One target from its site resource, its `config/web`, its sidecars and app settings. Windows: the site's kind
 * says so (or Hyper-V), or only windowsFxVersion is set.
 */
export function targetFacts(
  target: Target,
  site: SiteFacts,
  config: SiteConfigFacts,
  containers: readonly SidecarContainer[],
  appSettings: Readonly<Record<string, string>>,
): TargetFacts {
  const windows = site.windowsKind || (config.windowsRuntimeSet && !config.linuxRuntimeSet);
  const images = config.sidecar
    ? containers.map((c) => c.image).filter((i): i is string => !!i)
    : [windows ? config.windowsImage : config.linuxImage].filter((i): i is string => !!i);
  return {
    target,
    os: windows ? 'windows' : 'linux',
    state: site.state,
    enabled: site.enabled,
    lastModifiedAt: site.lastModifiedAt,
    defaultHostName: site.defaultHostName,
    scmHostName: site.scmHostName,
    identity: site.identity,
    pull: config.pull,
    sidecar: config.sidecar,
    containers: config.sidecar ? containers : [],
    images,
    appSettings,
    vnetImagePull: site.vnetImagePull,
  };
}
