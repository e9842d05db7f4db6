/**
 * Microsoft.Web sites and slots: the site resource, its identity, `config/web`, app settings, sidecar containers,
 * publishing credentials and restart. Every function takes a target (production or a slot: only the path differs),
 * calls ARM and returns plain data. Nothing here logs.
 */
import { abortableSleep } from '../http/retry';
import type { Target } from '../targets';
import type { ArmClient } from './client';

/**
 * One api-version for every Microsoft.Web call: 2024-11-01 knows acrUseManagedIdentityCreds, sitecontainers and
 * `outboundVnetRouting.imagePullTraffic` (the former `vnetImagePullEnabled`).
 */
export const WEB_API_VERSION = '2024-11-01';

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

const opts = (signal: AbortSignal | undefined) => ({ apiVersion: WEB_API_VERSION, signal });

export async function getSite(arm: ArmClient, target: PathRef, signal?: AbortSignal): Promise<Site> {
  return (await arm.request<Site>('GET', target.path, opts(signal))).body;
}

/** Every slot of a site (paged). */
export function listSlots(arm: ArmClient, sitePath: string, signal?: AbortSignal): Promise<Site[]> {
  return arm.listAll<Site>(`${sitePath}/slots`, opts(signal));
}

/**
 * PATCHes the identity. The body's `type` replaces the whole set, so callers send the union and every existing
 * user-assigned key. Returns the site from the response, or undefined when ARM answered 202 with no body.
 */
export async function updateIdentity(
  arm: ArmClient,
  target: PathRef,
  identity: { type: string; userAssignedIdentities?: Record<string, Record<string, never>> },
  signal?: AbortSignal,
): Promise<Site | undefined> {
  const response = await arm.request<Site | undefined>('PATCH', target.path, {
    ...opts(signal),
    body: { identity },
  });
  return response.body && typeof response.body === 'object' && 'id' in response.body
    ? response.body
    : undefined;
}

export async function getSiteConfig(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<SiteConfig> {
  const response = await arm.request<{ properties?: SiteConfig }>(
    'GET',
    `${target.path}/config/web`,
    opts(signal),
  );
  return response.body?.properties ?? {};
}

/** PATCH `config/web` with only the given properties; returns the properties ARM answered with. */
export async function updateSiteConfig(
  arm: ArmClient,
  target: PathRef,
  properties: SiteConfig,
  signal?: AbortSignal,
): Promise<SiteConfig> {
  const response = await arm.request<{ properties?: SiteConfig }>('PATCH', `${target.path}/config/web`, {
    ...opts(signal),
    body: { properties },
  });
  return response.body?.properties ?? {};
}

export async function listAppSettings(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const response = await arm.request<{ properties?: Record<string, string> }>(
    'POST',
    `${target.path}/config/appsettings/list`,
    opts(signal),
  );
  return { ...(response.body?.properties ?? {}) };
}

/** Replaces the WHOLE set of app settings: pass every setting that must survive. */
export async function replaceAppSettings(
  arm: ArmClient,
  target: PathRef,
  settings: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const response = await arm.request<{ properties?: Record<string, string> }>(
    'PUT',
    `${target.path}/config/appsettings`,
    { ...opts(signal), body: { properties: settings } },
  );
  return { ...(response.body?.properties ?? {}) };
}

export function listSiteContainers(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<SiteContainer[]> {
  return arm.listAll<SiteContainer>(`${target.path}/sitecontainers`, opts(signal));
}

/** Creates or replaces one sidecar container (PUT sends the full properties). */
export async function putSiteContainer(
  arm: ArmClient,
  target: PathRef,
  name: string,
  properties: SiteContainerProperties,
  signal?: AbortSignal,
): Promise<SiteContainer> {
  const response = await arm.request<SiteContainer>(
    'PUT',
    `${target.path}/sitecontainers/${encodeURIComponent(name)}`,
    { ...opts(signal), body: { properties } },
  );
  return response.body;
}

/** The container's own name: ARM returns `app/name` (or `app/slot/name`) in `name`. */
export function containerName(container: SiteContainer): string {
  return container.name.split('/').pop() ?? container.name;
}

/**
 * The publishing (basic-auth) credentials. A long-running POST: a 202 is followed through `Location` /
 * `Azure-AsyncOperation` until the body arrives. The password is a secret: register it before anything prints it.
 */
export async function listPublishingCredentials(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void> = abortableSleep,
): Promise<PublishingCredentials> {
  type Body = { properties?: PublishingCredentials };
  let response = await arm.request<Body>(
    'POST',
    `${target.path}/config/publishingcredentials/list`,
    opts(signal),
  );
  for (let poll = 0; response.status === 202 && poll < 30; poll++) {
    const next = response.headers.get('location') ?? response.headers.get('azure-asyncoperation');
    if (!next) break;
    await sleep(1000 * Number(response.headers.get('retry-after') ?? 1), signal);
    response = await arm.request<Body>('GET', next, opts(signal));
  }
  const properties = response.body?.properties;
  if (!properties?.publishingUserName || typeof properties.publishingPassword !== 'string') {
    throw new Error(
      `The publishing credentials of ${target.path} came back empty (HTTP ${response.status}).`,
    );
  }
  return properties;
}

/** Whether basic auth to the SCM (Kudu) site is allowed; false means Kudu takes only bearer tokens. */
export async function getScmBasicAuthAllowed(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<boolean> {
  const response = await arm.request<{ properties?: { allow?: boolean } }>(
    'GET',
    `${target.path}/basicPublishingCredentialsPolicies/scm`,
    opts(signal),
  );
  return response.body?.properties?.allow === true;
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
  const query: Record<string, string> = {};
  if (options.softRestart !== undefined) query.softRestart = String(options.softRestart);
  if (options.synchronous !== undefined) query.synchronous = String(options.synchronous);
  // Sent once: a second restart would interrupt the pull the first one started.
  const response = await arm.request('POST', `${target.path}/restart`, {
    ...opts(signal),
    query,
    retryOnlyUndelivered: true,
  });
  return response.headers.get('date') ?? undefined;
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
