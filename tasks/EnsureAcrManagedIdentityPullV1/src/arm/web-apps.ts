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
import { parseRetryAfterInMs } from '../http/retry';
import { collectPages, sdkPages } from '../paging';
import { NAME_FROM_RESPONSE } from '../response-names';
import type { Target } from '../targets';
import { type ArmClient, ArmError, armErrorFields, clockOf } from './client';
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
    /** Functions on Azure Container Apps: the Container Apps environment the app runs in. */
    readonly managedEnvironmentId?: string | null;
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
  let raw: RawResponse | undefined;
  const site = await sdkCall('GET', r.path, (o) => {
    const options = {
      ...o,
      abortSignal: signal,
      onResponse: (response: RawResponse, error?: unknown) => {
        raw = response;
        o.onResponse(response, error);
      },
    };
    return r.slot === undefined
      ? webApps.get(r.web, r.resourceGroup, r.name, options)
      : webApps.getSlot(r.web, r.resourceGroup, r.name, r.slot, options);
  });
  return siteFromSdk(site, wireProperties(raw?.parsedBody));
}

/** The `properties` of a site as sent (the SDK's model drops what its api-version does not define). */
function wireProperties(body: unknown): Record<string, unknown> | undefined {
  const p = (body as { properties?: unknown } | null | undefined)?.properties;
  return p && typeof p === 'object' ? (p as Record<string, unknown>) : undefined;
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
    // Each page as sent, by slot ID: the SDK's model drops what its api-version does not define.
    const sent = new Map<string, Record<string, unknown>>();
    const options = {
      ...o,
      abortSignal: signal,
      onResponse: (response: RawResponse, error?: unknown) => {
        const value = (response.parsedBody as { value?: unknown } | undefined)?.value;
        if (Array.isArray(value))
          for (const item of value as { id?: unknown }[]) {
            const props = wireProperties(item);
            if (typeof item?.id === 'string' && props) sent.set(item.id.toLowerCase(), props);
          }
        o.onResponse(response, error);
      },
    };
    const pages = webApps.listSlots(r.web, r.resourceGroup, r.name, options).byPage();
    const slots = await collectPages(`GET ${sitePath}/slots`, sdkPages(pages), {
      signal,
      now: clockOf(arm).now,
    });
    return slots.map((slot) => siteFacts(siteFromSdk(slot, sent.get((slot.id ?? '').toLowerCase()))));
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
/**
 * The first wait after a 202 without Retry-After. Azure's Python, .NET and Go SDKs wait 30 s between polls when
 * no Retry-After is sent, JS core-lro 2 s; an identity change usually completes within seconds and the targets
 * wait in parallel, so one longer first wait usually lets a single site GET both see the change and serve as the
 * final read: a request saved per target for a one-time cost of a few seconds.
 */
const FIRST_OPERATION_WAIT_IN_MS = 5000;
const DEFAULT_POLL_INTERVAL_IN_MS = 2000;
const MAX_POLL_INTERVAL_IN_MS = 10_000;

export interface IdentityPatch {
  readonly type: string;
  readonly userAssignedIdentities?: Record<string, Record<string, never>>;
}

/**
 * PATCHes the identity. The body's `type` replaces the whole set, so callers send the union and every existing
 * user-assigned key. App Service may answer 202 with `Azure-AsyncOperation` (REST spec example UpdateWebApp.json,
 * Azure/azure-rest-api-specs `specification/web/.../examples/UpdateWebApp.json`); until that operation ends it
 * refuses other writes to the site (409), so we wait for it. Resource first: after the first wait one site GET;
 * when it shows the change (a system principal; each requested user-assigned key with its IDs) it is both the
 * poll and the final read. Otherwise the operation status is read until it ends, then the site once.
 * Hand-written rather than @azure/core-lro's poller, which reads the status first and then the resource: one more
 * request per target. The SDK's `webApps.update` is not modelled as long-running (it reads the 202 body as the
 * final site). Returns the site at the end, or undefined when a 200/201 carried no site body.
 */
export async function updateIdentity(
  arm: ArmClient,
  target: PathRef,
  identity: IdentityPatch,
  signal?: AbortSignal,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void> = (ms, s) => clockOf(arm).sleep(ms, s),
): Promise<Site | undefined> {
  const r = siteRef(arm, target);
  const origin = new URL(arm.armUrl).origin;
  const url = `${r.path}?api-version=${WEB_API_VERSION}`;
  const accepted = await rawCall(
    () =>
      r.web
        .pathUnchecked(url)
        .patch({ body: { identity }, contentType: 'application/json', abortSignal: signal }),
    'PATCH',
    r.path,
  );
  if (accepted.status !== 202) return siteOrUndefined(accepted.body);

  const operation = operationUrl(accepted.headers, origin);
  // Bounded by the time we spent waiting (our own sleeps), so an emulated clock makes it exact in tests.
  let waited = 0;
  const wait = async (ms: number): Promise<void> => {
    if (waited >= MAX_OPERATION_WAIT_IN_MS) {
      throw new ArmError({
        status: 504,
        code: 'OperationTimedOut',
        message: `The identity change of ${r.path} was still running after ${MAX_OPERATION_WAIT_IN_MS / 1000} s.`,
        method: 'PATCH',
        path: r.path,
      });
    }
    const bounded = Math.min(MAX_POLL_INTERVAL_IN_MS, Math.max(1000, ms));
    await sleep(bounded, signal);
    waited += bounded;
  };

  await wait(accepted.retryAfterInMs ?? FIRST_OPERATION_WAIT_IN_MS);
  const first = await readSite(arm, target, signal);
  if (identityVisible(first, identity)) return first;

  let interval = DEFAULT_POLL_INTERVAL_IN_MS;
  for (;;) {
    let retryAfterInMs: number | undefined;
    if (operation) {
      const status = await rawCall(
        () => r.web.pathUnchecked(operation.url).get({ abortSignal: signal }),
        'GET',
        operation.path,
      );
      const state = operationState(operation.kind, status);
      if (state.done) {
        if (state.error) throw new ArmError({ ...state.error, method: 'PATCH', path: r.path });
        return readSite(arm, target, signal);
      }
      retryAfterInMs = status.retryAfterInMs;
    } else {
      // No operation to follow: the site itself is the only sign of the change.
      const site = await readSite(arm, target, signal);
      if (identityVisible(site, identity)) return site;
    }
    await wait(retryAfterInMs ?? interval);
    interval = Math.min(MAX_POLL_INTERVAL_IN_MS, interval * 2);
  }
}

/** One raw answer of a `pathUnchecked` call: a non-2xx status becomes an ArmError, as sdkCall does. */
interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly retryAfterInMs: number | undefined;
}

async function rawCall(
  call: () => PromiseLike<{ status: string; headers: Record<string, unknown>; body: unknown }>,
  method: string,
  path: string,
): Promise<RawAnswer> {
  let response: Awaited<ReturnType<typeof call>>;
  try {
    response = await call();
  } catch (e: unknown) {
    throw toArmError(e, method, path);
  }
  const status = Number.parseInt(response.status, 10);
  const headers = new Headers();
  for (const [k, v] of Object.entries(response.headers)) if (v !== undefined) headers.set(k, String(v));
  if (status < 200 || status >= 300) {
    const fields = armErrorFields(JSON.stringify(response.body ?? {}));
    throw new ArmError({
      status,
      code: fields.code || `Http${status}`,
      message: fields.message || `${method} ${path} answered HTTP ${status}.`,
      method,
      path,
      correlationId: headers.get('x-ms-correlation-request-id') ?? undefined,
    });
  }
  return { status, headers, body: response.body, retryAfterInMs: parseRetryAfterInMs(headers) };
}

/**
 * The operation to follow: `Azure-AsyncOperation` (a status body), else `Location` (202 until done). It comes
 * from a response header, and our bearer token goes only to the ARM endpoint.
 */
function operationUrl(
  headers: Headers,
  origin: string,
): { kind: 'status' | 'location'; url: string; path: string } | undefined {
  const raw = headers.get('azure-asyncoperation') ?? headers.get('location');
  if (!raw) return undefined;
  const absolute = new URL(raw, origin);
  if (absolute.origin !== origin) {
    throw new Error(
      `Refusing to follow a long-running operation to ${absolute.origin}: the ARM endpoint is ${origin}.`,
    );
  }
  return {
    kind: headers.get('azure-asyncoperation') ? 'status' : 'location',
    url: absolute.toString(),
    path: absolute.pathname,
  };
}

/**
 * Statuses of an operation still running: ARM's `InProgress` (and the `Accepted`, `Running`, `NotStarted` other
 * providers use), App Service's `Created` (its OperationStatus enum: InProgress, Failed, Succeeded, TimedOut,
 * Created). Any other status ends the wait: `Succeeded` well, everything else (Failed, Canceled, TimedOut, a
 * status we do not know) as a failure that names it, rather than polling to our time cap.
 */
const RUNNING_STATUSES = new Set(['inprogress', 'accepted', 'running', 'notstarted', 'created']);

/** Whether an operation has ended, and how it failed (docs/azure-behaviour.md#site-operations-and-the-409-they-cause). */
export function operationState(
  kind: 'status' | 'location',
  answer: RawAnswer,
): { done: boolean; error?: { status: number; code: string; message: string } } {
  if (kind === 'location') return { done: answer.status !== 202 };
  const body = (answer.body ?? {}) as { status?: unknown; error?: { code?: unknown; message?: unknown } };
  const status = typeof body.status === 'string' ? body.status.toLowerCase() : '';
  if (status === 'succeeded') return { done: true };
  // No status yet is still running; a status of our list too.
  if (status === '' || RUNNING_STATUSES.has(status)) return { done: false };
  const code = typeof body.error?.code === 'string' && body.error.code ? body.error.code : '';
  const message = typeof body.error?.message === 'string' ? body.error.message : '';
  return {
    done: true,
    error: {
      status: 500,
      code:
        code ||
        (status === 'failed'
          ? 'OperationFailed'
          : status === 'canceled' || status === 'cancelled'
            ? 'OperationCanceled'
            : `Operation${(body.status as string).replace(/[^A-Za-z0-9]/g, '')}`),
      message: `The identity change ended ${body.status as string}${code ? `: ${code}` : ''}${message ? `. ${message}` : '.'}`,
    },
  };
}

/** The requested identity is in place: a system principal, and every requested user-assigned key with its IDs. */
function identityVisible(site: Site, wanted: IdentityPatch): boolean {
  const type = (site.identity?.type ?? '').toLowerCase();
  const want = wanted.type.toLowerCase();
  if (want.includes('systemassigned') && !(type.includes('systemassigned') && site.identity?.principalId))
    return false;
  if (want.includes('userassigned')) {
    const present = Object.entries(site.identity?.userAssignedIdentities ?? {});
    for (const key of Object.keys(wanted.userAssignedIdentities ?? {})) {
      const entry = present.find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
      if (!entry?.principalId || !entry.clientId) return false;
    }
  }
  if (want === 'none') return type === '' || type === 'none';
  return true;
}

function siteOrUndefined(body: unknown): Site | undefined {
  return body && typeof body === 'object' && 'id' in body
    ? siteFromWire(body as Record<string, unknown>)
    : undefined;
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
 * settings ARM answered with, or undefined when the answer carried none.
 */
export async function setPullSettings(
  arm: ArmClient,
  target: PathRef,
  settings: { readonly useManagedIdentity: boolean; readonly clientId: string },
  signal?: AbortSignal,
): Promise<PullSettings | undefined> {
  const config = await updateSiteConfig(arm, target, pullSettingsBody(settings), signal);
  return config ? pullSettings(config) : undefined;
}

/** The `config/web` PATCH properties for the pull settings. */
export function pullSettingsBody(settings: {
  readonly useManagedIdentity: boolean;
  readonly clientId: string;
}): {
  acrUseManagedIdentityCreds: boolean;
  acrUserManagedIdentityID: string;
} {
  return {
    acrUseManagedIdentityCreds: settings.useManagedIdentity,
    acrUserManagedIdentityID: settings.clientId,
  };
}

/** The pull settings as `az webapp config set --generic-configurations` takes them (the client ID only when set). */
export function pullSettingsCliBody(pull: PullSettings): Record<string, boolean | string> {
  return {
    acrUseManagedIdentityCreds: pull.useManagedIdentity ?? false,
    ...(pull.clientId ? { acrUserManagedIdentityID: pull.clientId } : {}),
  };
}

/**
 * PATCH `config/web` with only the given properties; returns the config ARM answered with (official example
 * UpdateSiteConfig.json: 200 with the SiteConfigResource), or undefined when the answer carried no properties.
 */
export async function updateSiteConfig(
  arm: ArmClient,
  target: PathRef,
  properties: SiteConfig,
  signal?: AbortSignal,
): Promise<SiteConfig | undefined> {
  const r = siteRef(arm, target);
  // The SDK serialises only the properties set; `null` and "" go on the wire as given.
  const resource = { ...properties } as Parameters<typeof webApps.updateConfiguration>[3];
  let answered: RawResponse | undefined;
  try {
    return await sdkCall('PATCH', `${r.path}/config/web`, async (o) => {
      const options = {
        abortSignal: signal,
        onResponse: (raw: RawResponse, error?: unknown) => {
          answered = raw;
          o.onResponse(raw, error);
        },
      };
      const config = await (r.slot === undefined
        ? webApps.updateConfiguration(r.web, r.resourceGroup, r.name, resource, options)
        : webApps.updateConfigurationSlot(r.web, r.resourceGroup, r.name, r.slot, resource, options));
      return hasProperties(answered) ? siteConfigFromSdk(config) : undefined;
    });
  } catch (e: unknown) {
    // A 2xx without a body: the SDK's deserialiser trips over it, but the write was accepted.
    if (answered && answered.status >= 200 && answered.status < 300 && !hasProperties(answered))
      return undefined;
    throw e;
  }
}

function hasProperties(raw: RawResponse | undefined): boolean {
  let body = raw?.parsedBody;
  if (body === undefined && raw?.bodyAsText) {
    try {
      body = JSON.parse(raw.bodyAsText);
    } catch {
      return false;
    }
  }
  const props = (body as { properties?: unknown } | null | undefined)?.properties;
  return typeof props === 'object' && props !== null;
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

/**
 * The app setting names marked as deployment slot settings (`config/slotConfigNames`, a site-level resource: one
 * list for the app and all its slots). A swap leaves those with their slot; every other app setting moves.
 */
export async function listSlotSettingNames(
  arm: ArmClient,
  app: PathRef,
  signal?: AbortSignal,
): Promise<string[]> {
  const r = siteRef(arm, app);
  const names = await sdkCall('GET', `${r.path}/config/slotConfigNames`, (o) =>
    webApps.listSlotConfigurationNames(r.web, r.resourceGroup, r.name, { abortSignal: signal, ...o }),
  );
  return (names.appSettingNames ?? []).filter((n): n is string => typeof n === 'string');
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
    const containers = await collectPages(`GET ${r.path}/sitecontainers`, sdkPages(pages.byPage()), {
      signal,
      now: clockOf(arm).now,
    });
    return containers.map((c) => sidecarContainer(siteContainerFromSdk(c)));
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
  // The spec's SiteContainer allows no null (WebApps.json 2024-11-01): a property we read back as null (unset, e.g.
  // `startUpCommand`) is left out of the PUT, which is what unset means there.
  const request = Object.fromEntries(
    Object.entries(properties).filter(([, v]) => v !== null && v !== undefined),
  ) as SdkSiteContainer;
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
  // ARM names it `<site>/<container>`; a last segment that is no name keeps the whole name, which observe refuses.
  const last = container.name.split('/').pop() ?? '';
  return NAME_FROM_RESPONSE.test(last) ? last : container.name;
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
  // The SDK's poller waits with its own timer: bound the whole operation (on the run's clock), so a 202 that never
  // ends cannot park us.
  const limit = clockOf(arm).timeout(MAX_OPERATION_WAIT_IN_MS);
  const bounded = AbortSignal.any([...(signal ? [signal] : []), limit.signal]);
  const user = await sdkCall('POST', path, (o) => {
    const options = { abortSignal: bounded, updateIntervalInMs: 1000, ...o };
    const poller =
      r.slot === undefined
        ? webApps.listPublishingCredentials(r.web, r.resourceGroup, r.name, options)
        : webApps.listPublishingCredentialsSlot(r.web, r.resourceGroup, r.name, r.slot, options);
    return poller.pollUntilDone({ abortSignal: bounded });
  }).finally(() => limit.clear());
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

/**
 * `wire` is the site's `properties` as sent: at Web 2024-11-01 App Service may name VNet image pull
 * `vnetImagePullEnabled`, which the SDK's model (2025-05-01) no longer has (docs/azure-behaviour.md#vnet-image-pull).
 */
function siteFromSdk(s: SdkSite, wire?: Record<string, unknown>): Site {
  const legacyPull = wire?.vnetImagePullEnabled;
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
      ...(typeof legacyPull === 'boolean' ? { vnetImagePullEnabled: legacyPull } : {}),
      ...(s.managedEnvironmentId ? { managedEnvironmentId: s.managedEnvironmentId } : {}),
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

/**
 * Pull over VNet integration, under either name ARM uses for it: `outboundVnetRouting.imagePullTraffic` when the
 * site states it (the current name), else `vnetImagePullEnabled` (the name up to 2024-04-01, which 2024-11-01 may
 * still answer with alone: docs/azure-behaviour.md#vnet-image-pull).
 */
export function vnetImagePullEnabled(site: Site): boolean {
  const p = site.properties;
  const current = p?.outboundVnetRouting?.imagePullTraffic;
  if (typeof current === 'boolean') return current;
  return p?.vnetImagePullEnabled === true;
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
    hosting: hostingOf(site),
    kind: site.kind,
  };
}

/**
 * What the site hosts, from its `kind` and `managedEnvironmentId` (docs/azure-behaviour.md#hosting-kinds): a
 * function app's kind starts with `functionapp`; Functions on Azure Container Apps carry the environment's ID.
 */
function hostingOf(site: Site): SiteFacts['hosting'] {
  const kind = (site.kind ?? '').toLowerCase();
  if (site.properties?.managedEnvironmentId || kind.includes('azurecontainerapps'))
    return 'functionsOnContainerApps';
  return kind.split(',').includes('functionapp') ? 'functionApp' : 'webApp';
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
