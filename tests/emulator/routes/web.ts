/**
 * Microsoft.Web: sites and slots, config/web, app settings, restart/start/stop, container logs, publishing
 * credentials, the SCM basic-auth policy and sitecontainers. Shapes follow the official examples
 * (GetWebApp.json, GetSiteConfig.json, ListAppSettings.json...) and the facts doc §1; the api-version is checked
 * before routing (api-versions.ts).
 * Changes that restart the site in Azure (config, app settings, identity, containers) restart it here too.
 */
import { randomUUID } from 'node:crypto';
import { currentPlatformLog, latestLogFiles } from '../log-files';
import {
  type App,
  type EmulatorState,
  findIdentity,
  hasResourceGroup,
  hasSubscription,
  type IdentityType,
  isGuid,
  type SiteConfig,
  type SiteContainer,
  type SiteOperation,
} from '../model';
import { instanceSummaries, parseImage } from '../platform';
import {
  armError,
  type HttpReply,
  json,
  page,
  ReplyError,
  RG,
  type Route,
  type RouteContext,
  type RouteHandler,
  resourceGroupNotFound,
  resourceNotFound,
  SUB,
  subscriptionNotFound,
} from '../router';
import { siteNetworkProperties } from '../web-versions';
import { requireAction } from './authorization';
import { zipFiles } from './zip';

const SITE = `^${RG}/providers/microsoft\\.web/sites/([^/]+)(?:/slots/([^/]+))?`;

/**
 * One instance's siteStatus item. The field names and the values `Started`/`SiteStarted`, `Starting`/`PullingImage`,
 * `Stopped`/`SiteStopped` are the ones azure-cli's tests show; `lastError` `ImagePullFailure` for a failed pull is
 * the 2024+ platform's own reason word (an inference: no public sample shows siteStatus after a failed pull). A
 * container started from a local copy is `Started`, as the platform would see it: the status proves no pull.
 */
function siteStatusItem(x: ReturnType<typeof instanceSummaries>[number]) {
  const base = { instanceId: x.instanceId, lastErrorDetails: null, detailsLevel: 'Information' };
  switch (x.phase) {
    case 'running':
      return {
        ...base,
        state: 'Started',
        action: 'SiteStarted',
        details: 'Site is running',
        lastError: null,
        lastErrorTimestamp: null,
      };
    case 'pulling':
    case 'pendingStart':
      return {
        ...base,
        state: 'Starting',
        action: 'PullingImage',
        details: 'Pulling image',
        lastError: null,
        lastErrorTimestamp: null,
        detailsLevel: 'Warning',
      };
    case 'failed':
    case 'blocked':
      return {
        ...base,
        state: 'Stopped',
        action: 'SiteStopped',
        details: 'Stopped',
        lastError: 'ImagePullFailure',
        lastErrorTimestamp: null,
        detailsLevel: 'Error',
      };
    default:
      return {
        ...base,
        state: 'Stopped',
        action: 'SiteStopped',
        details: 'Stopped',
        lastError: null,
        lastErrorTimestamp: null,
      };
  }
}

function re(suffix: string): RegExp {
  return new RegExp(`${SITE}${suffix}$`);
}

/**
 * PATCH and PUT of one site path, answered alike: PUT updates what exists, as PATCH does (creating apps is not
 * modelled: their host listeners are made when the emulator starts).
 */
function patchOrPut(suffix: string, handle: RouteHandler): Route[] {
  return (['PATCH', 'PUT'] as const).map((method) => ({ method, pattern: re(suffix), handle }));
}

/** `Microsoft.Web/sites/...` or `Microsoft.Web/sites/slots/...` for RBAC actions and types. */
function typePrefix(app: { slot?: string | undefined }): string {
  return app.slot ? 'Microsoft.Web/sites/slots' : 'Microsoft.Web/sites';
}

/** Resolves the app a Microsoft.Web route names, answering 403 / 404 as ARM does. */
function appFor(ctx: RouteContext, m: RegExpMatchArray, action: string): App {
  const [, sub = '', rg = '', site = '', slot] = m;
  const scope = ctx.path.slice(0, m[0].length);
  const fullAction = `${typePrefix({ slot })}/${action}`;
  if (!hasSubscription(ctx.state, sub)) throw new ReplyError(subscriptionNotFound(sub));
  requireAction(ctx, fullAction, scope);
  if (!hasResourceGroup(ctx.state, sub, rg)) {
    throw new ReplyError(resourceGroupNotFound(originalSegment(ctx, 4)));
  }
  const app = ctx.state.apps.find(
    (a) =>
      a.subscriptionId.toLowerCase() === sub &&
      a.resourceGroup.toLowerCase() === rg &&
      a.siteName.toLowerCase() === site &&
      (a.slot?.toLowerCase() ?? undefined) === slot,
  );
  if (!app) {
    const name = slot
      ? `${originalSegment(ctx, 8)}/slots/${originalSegment(ctx, 10)}`
      : originalSegment(ctx, 8);
    throw new ReplyError(resourceNotFound('Microsoft.Web/sites', name, originalSegment(ctx, 4)));
  }
  ctx.platform.advance(app);
  return app;
}

/** The n-th path segment in the client's case (1 = "subscriptions"). */
function originalSegment(ctx: RouteContext, n: number): string {
  return ctx.path.split('/')[n] ?? '';
}

function hostOf(ctx: RouteContext, app: App, which: 'site' | 'scm'): string {
  return ctx.appUrl(app, which).replace(/^https:\/\//, '');
}

/**
 * The site's `kind` as ARM prints it: `app,linux,container` (Web App for Containers), `app,container,windows`,
 * `functionapp,linux,container` (a function app on containers, Elastic Premium or Dedicated), and
 * `functionapp,linux,container,azurecontainerapps` for Functions on Azure Container Apps
 * (learn.microsoft.com/azure/azure-functions/functions-container-apps-hosting).
 */
function kindOf(app: App): string {
  if (app.managedEnvironmentId) return 'functionapp,linux,container,azurecontainerapps';
  if (app.hosting === 'functionApp')
    return app.platform === 'windows' ? 'functionapp,container,windows' : 'functionapp,linux,container';
  if (app.platform === 'windows') return 'app,container,windows';
  return 'app,linux,container';
}

function identityBody(app: App, withoutPrincipal = false): object | undefined {
  if (app.identity.type === 'None') return undefined;
  const out: Record<string, unknown> = { type: app.identity.type };
  if (app.identity.principalId && !withoutPrincipal) {
    out.principalId = app.identity.principalId;
    out.tenantId = app.identity.tenantId;
  }
  if (Object.keys(app.identity.userAssignedIdentities).length) {
    out.userAssignedIdentities = app.identity.userAssignedIdentities;
  }
  return out;
}

function siteConfigBody(app: App, full: boolean): Record<string, unknown> {
  const c = app.siteConfig;
  const base: Record<string, unknown> = {
    numberOfWorkers: c.numberOfWorkers,
    linuxFxVersion: c.linuxFxVersion,
    windowsFxVersion: c.windowsFxVersion,
    acrUseManagedIdentityCreds: c.acrUseManagedIdentityCreds,
    acrUserManagedIdentityID: c.acrUserManagedIdentityID,
    alwaysOn: c.alwaysOn,
    vnetRouteAllEnabled: c.vnetRouteAllEnabled,
    http20Enabled: true,
    minTlsVersion: '1.2',
    ftpsState: 'FtpsOnly',
  };
  if (!full) return { ...base, ...c.extra };
  return {
    ...base,
    appCommandLine: '',
    autoHealEnabled: false,
    azureStorageAccounts: {},
    defaultDocuments: [],
    detailedErrorLoggingEnabled: false,
    functionAppScaleLimit: 0,
    functionsRuntimeScaleMonitoringEnabled: false,
    httpLoggingEnabled: false,
    loadBalancing: 'LeastRequests',
    logsDirectorySizeLimit: 35,
    managedPipelineMode: 'Integrated',
    minimumElasticInstanceCount: 1,
    netFrameworkVersion: 'v4.0',
    nodeVersion: '',
    phpVersion: '',
    powerShellVersion: '',
    pythonVersion: '',
    remoteDebuggingEnabled: false,
    requestTracingEnabled: false,
    scmMinTlsVersion: '1.2',
    use32BitWorkerProcess: true,
    virtualApplications: [{ physicalPath: 'site\\wwwroot', preloadEnabled: false, virtualPath: '/' }],
    vnetName: '',
    vnetPrivatePortsCount: 0,
    webSocketsEnabled: false,
    ...c.extra,
  };
}

/**
 * A site or slot as ARM prints it (keys of GetWebApp.json / GetWebAppSlot.json), in the shape of the request's
 * api-version. `options.withoutPrincipal` leaves the system identity's principal out (an identity PATCH answered
 * 200 before the principal shows: scenario `wire.identityPatch: "ok-without-principal"`).
 */
export function siteBody(ctx: RouteContext, app: App, options: { withoutPrincipal?: boolean } = {}): object {
  const siteHost = hostOf(ctx, app, 'site');
  const scmHost = hostOf(ctx, app, 'scm');
  const identity = identityBody(app, options.withoutPrincipal === true);
  return {
    id: app.id,
    name: app.slot ? `${app.siteName}/${app.slot}` : app.siteName,
    type: app.slot ? 'Microsoft.Web/sites/slots' : 'Microsoft.Web/sites',
    kind: kindOf(app),
    location: app.location,
    tags: {},
    ...(identity ? { identity } : {}),
    properties: {
      state: app.state,
      hostNames: [siteHost],
      repositorySiteName: app.siteName,
      usageState: 'Normal',
      enabled: true,
      enabledHostNames: [siteHost, scmHost],
      availabilityState: 'Normal',
      hostNameSslStates: [
        { name: siteHost, sslState: 'Disabled', hostType: 'Standard' },
        { name: scmHost, sslState: 'Disabled', hostType: 'Repository' },
      ],
      serverFarmId: app.serverFarmId,
      reserved: app.platform !== 'windows',
      isXenon: false,
      hyperV: app.platform === 'windows',
      lastModifiedTimeUtc: new Date(app.lastModifiedAt).toISOString(),
      // By api-version (web-versions.ts): the old flags, outboundVnetRouting, or both.
      ...siteNetworkProperties(ctx.apiVersion, ctx.state.wire, app),
      virtualNetworkSubnetId: app.virtualNetworkSubnetId,
      ...(app.managedEnvironmentId ? { managedEnvironmentId: app.managedEnvironmentId } : {}),
      siteConfig: siteConfigBody(app, false),
      scmSiteAlsoStopped: false,
      clientAffinityEnabled: false,
      clientCertEnabled: false,
      clientCertMode: 'Required',
      hostNamesDisabled: false,
      customDomainVerificationId: 'B1E2F0A3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F',
      outboundIpAddresses: '127.0.0.1',
      possibleOutboundIpAddresses: '127.0.0.1',
      containerSize: 0,
      dailyMemoryTimeQuota: 0,
      resourceGroup: app.resourceGroup,
      defaultHostName: siteHost,
      slotSwapStatus: null,
      httpsOnly: true,
      redundancyMode: 'None',
      publicNetworkAccess: 'Enabled',
      keyVaultReferenceIdentity: 'SystemAssigned',
      sku: 'PremiumV3',
    },
  };
}

/**
 * The envelope ARM puts around every `config/{name}` sub-resource of a site or slot: a proxy-only resource (id,
 * name, type, kind; no location: SiteConfigResource and StringDictionary in WebApps.json 2024-11-01, and
 * GetSiteConfig.json / ListAppSettings.json of 2025-05-01).
 */
function configResource(app: App, name: string, properties: object): object {
  return {
    id: `${app.id}/config/${name}`,
    name,
    type: `${typePrefix(app)}/config`,
    kind: kindOf(app),
    properties,
  };
}

function configBody(app: App): object {
  return configResource(app, 'web', siteConfigBody(app, true));
}

function settingsBody(app: App): object {
  return configResource(app, 'appsettings', { ...app.appSettings });
}

function touched(ctx: RouteContext, app: App, reason: string): void {
  app.lastModifiedAt = ctx.now();
  ctx.platform.restart(app, reason);
}

// ---------------------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------------------

const IDENTITY_TYPES: Record<string, IdentityType> = {
  none: 'None',
  systemassigned: 'SystemAssigned',
  userassigned: 'UserAssigned',
  'systemassigned,userassigned': 'SystemAssigned, UserAssigned',
};

interface IdentityPatch {
  type?: string;
  userAssignedIdentities?: Record<string, unknown> | null;
}

/**
 * Applies an `identity` from a PATCH/PUT body. `type` replaces the whole set (ARM convention): a type without
 * UserAssigned drops every user-assigned identity; with UserAssigned, the keys sent become the set (a key with
 * `null` is removed) and, when no keys are sent, the existing ones stay. Returns whether anything changed.
 */
function applyIdentity(
  ctx: RouteContext,
  app: App,
  patch: IdentityPatch,
): { changed: boolean; createsSystemPrincipal: boolean } {
  const before = JSON.stringify(app.identity);
  let createsSystemPrincipal = false;
  const typeKey = (patch.type ?? app.identity.type).replace(/\s+/g, '').toLowerCase();
  const type = IDENTITY_TYPES[typeKey];
  if (!type) {
    throw new ReplyError(
      armError(
        400,
        'BadRequest',
        `The identity type '${patch.type}' is not supported. Supported values are: None, SystemAssigned, UserAssigned, SystemAssigned, UserAssigned.`,
      ),
    );
  }
  if (type.includes('SystemAssigned')) {
    // The principal is made when the async operation completes (settleSiteOperations), not in this request.
    if (!app.identity.principalId) createsSystemPrincipal = true;
  } else {
    delete app.identity.principalId;
    delete app.identity.tenantId;
  }
  if (type.includes('UserAssigned')) {
    const sent = patch.userAssignedIdentities;
    if (sent && Object.keys(sent).length) {
      const next: App['identity']['userAssignedIdentities'] = {};
      for (const [key, value] of Object.entries(sent)) {
        if (value === null) continue;
        const uami = findIdentity(ctx.state, key);
        if (!uami) {
          throw new ReplyError(
            armError(
              400,
              'BadRequest',
              `Resource '${key}' was not found or the user assigned identity does not exist. Please check that the identity resource ID is correct.`,
            ),
          );
        }
        const existingKey = Object.keys(app.identity.userAssignedIdentities).find(
          (k) => k.toLowerCase() === key.toLowerCase(),
        );
        next[existingKey ?? key] = { principalId: uami.principalId, clientId: uami.clientId };
      }
      app.identity.userAssignedIdentities = next;
    }
    if (!Object.keys(app.identity.userAssignedIdentities).length) {
      throw new ReplyError(
        armError(
          400,
          'BadRequest',
          "The 'userAssignedIdentities' property is required when the identity type includes 'UserAssigned'.",
        ),
      );
    }
  } else {
    app.identity.userAssignedIdentities = {};
  }
  app.identity.type = type;
  return {
    changed: createsSystemPrincipal || JSON.stringify(app.identity) !== before,
    createsSystemPrincipal,
  };
}

function sameAppId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Creates the system identity's principal (a directory object a role can be assigned to). */
function createSystemPrincipal(state: EmulatorState, app: App, at: number): void {
  const principalId = randomUUID();
  app.identity.principalId = principalId;
  app.identity.tenantId = state.tenantId;
  state.principals.push({
    objectId: principalId,
    principalType: 'ServicePrincipal',
    displayName: app.slot ? `${app.siteName}/slots/${app.slot}` : app.siteName,
    createdAt: at,
  });
}

/**
 * Completes the site operations whose time has come (called before every ARM request): a system identity
 * turned on by the operation gets its principal now, if the site still wants one.
 */
export function settleSiteOperations(state: EmulatorState, now: number): void {
  for (const op of state.siteOperations) {
    if (op.status !== 'InProgress' || now < op.completesAt) continue;
    op.status = 'Succeeded';
    const app = state.apps.find((a) => sameAppId(a.id, op.appId));
    if (
      op.createsSystemPrincipal &&
      app?.identity.type.includes('SystemAssigned') &&
      !app.identity.principalId
    )
      createSystemPrincipal(state, app, op.completesAt);
  }
}

/**
 * The 202 of a site update that changed the identity: the site as it is now (a new system identity has no
 * principal yet) and `Azure-AsyncOperation` naming the operation to poll. Official example UpdateWebApp.json
 * (Azure/azure-rest-api-specs, specification/web/resource-manager/Microsoft.Web/AppService/stable/2025-05-01/
 * examples/UpdateWebApp.json): 202 with the body and an `azure-asyncoperation` header of the form
 * `/subscriptions/{s}/providers/Microsoft.Web/sites/{name}/operationResults/{guid}?api-version=...`.
 */
function acceptedSiteOperation(ctx: RouteContext, app: App, createsSystemPrincipal: boolean): HttpReply {
  const now = ctx.now();
  const id = ctx.newGuid();
  ctx.state.siteOperations.push({
    id,
    appId: app.id,
    startedAt: now,
    completesAt: now + ctx.state.delays.siteOperationSeconds * 1000,
    status: 'InProgress',
    createsSystemPrincipal,
  });
  const site = app.slot ? `${app.siteName}/slots/${app.slot}` : app.siteName;
  const url = `${ctx.baseUrl}subscriptions/${app.subscriptionId}/providers/Microsoft.Web/sites/${site}/operationResults/${id}?api-version=${encodeURIComponent(ctx.apiVersion ?? '')}`;
  return json(202, siteBody(ctx, app), { 'azure-asyncoperation': url });
}

/**
 * While an identity operation of this site (or slot) runs, App Service refuses any other write to it: HTTP 409,
 * `Conflict`, "Cannot modify this site because another operation is in progress. Details: Id: ..., OperationName:
 * ..., CreatedTime: ..., RequestId: ..., EntityType: 3", in App Service's own error shape (`Code`, `Message`,
 * `Details` with an `ErrorEntity`, ExtendedCode 59205). Public sources: hashicorp/terraform-provider-azurerm#9703
 * and Azure/logicapps#1306 (the site message), Azure/azure-sdk-for-java#1827 (the full body, for a plan),
 * Azure/terraform-azurerm-avm-res-web-site#272 (Microsoft's module retries exactly this 409).
 */
function refuseWhileOperationRuns(ctx: RouteContext, app: App): void {
  const running = ctx.state.siteOperations.find(
    (o) => o.status === 'InProgress' && sameAppId(o.appId, app.id),
  );
  if (!running) return;
  const details = `Id: ${running.id}, OperationName: Update, CreatedTime: ${new Date(running.startedAt).toISOString()}, RequestId: ${ctx.newGuid()}, EntityType: 3`;
  const template = 'Cannot modify this site because another operation is in progress. Details: {0}';
  const message = template.replace('{0}', details);
  throw new ReplyError({
    status: 409,
    body: {
      Code: 'Conflict',
      Message: message,
      Target: null,
      Details: [
        { Message: message },
        { Code: 'Conflict' },
        {
          ErrorEntity: {
            ExtendedCode: '59205',
            MessageTemplate: template,
            Parameters: [details],
            Code: 'Conflict',
            Message: message,
          },
        },
      ],
      Innererror: null,
    },
  });
}

/** ARM's async operation status body (learn.microsoft.com/azure/azure-resource-manager/management/async-operations). */
function operationBody(op: SiteOperation): object {
  return {
    id: op.id,
    name: op.id,
    status: op.status,
    startTime: new Date(op.startedAt).toISOString(),
    ...(op.status === 'Succeeded' ? { endTime: new Date(op.completesAt).toISOString() } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// config/web
// ---------------------------------------------------------------------------------------------------------

const KNOWN_CONFIG: (keyof Omit<SiteConfig, 'extra'>)[] = [
  'linuxFxVersion',
  'windowsFxVersion',
  'acrUseManagedIdentityCreds',
  'acrUserManagedIdentityID',
  'alwaysOn',
  'vnetRouteAllEnabled',
  'numberOfWorkers',
];

/**
 * The Windows image check ARM does synchronously when windowsFxVersion is set
 * (docs/azure-behaviour.md#windows-containers).
 */
function validateWindowsImage(ctx: RouteContext, app: App, fx: string): void {
  const image = /^docker\|(.+)$/i.exec(fx)?.[1];
  if (!image) return;
  const verdict = ctx.platform.evaluatePull(app, ctx.now(), image);
  if (verdict.outcome === 'succeeded') return;
  const { host, repository } = parseImage(image);
  const detail =
    verdict.outcome === 'notFound'
      ? 'NotFound'
      : verdict.outcome === 'networkDenied'
        ? 'Forbidden'
        : 'Unauthorized';
  throw new ReplyError(
    armError(
      400,
      'BadRequest',
      `The parameter WindowsFxVersion has an invalid value. Unexpected exception while validating OS and version. Image: ${image} Error Response: ${detail}. Request: https://${host}/oauth2/token?service=${host}&scope=repository:${repository}:pull`,
    ),
  );
}

/** Merges config properties (keys case-insensitive, as ARM JSON is). Returns whether anything changed. */
function applyConfig(ctx: RouteContext, app: App, props: Record<string, unknown>): boolean {
  const before = JSON.stringify(app.siteConfig);
  const c = app.siteConfig;
  for (const [rawKey, value] of Object.entries(props)) {
    const key = KNOWN_CONFIG.find((k) => k.toLowerCase() === rawKey.toLowerCase());
    switch (key) {
      case 'linuxFxVersion':
        c.linuxFxVersion = typeof value === 'string' ? value : '';
        if (app.platform !== 'windows') {
          app.platform = c.linuxFxVersion.toLowerCase() === 'sitecontainers' ? 'sidecar' : 'linux';
        }
        break;
      case 'windowsFxVersion': {
        const fx = typeof value === 'string' ? value : null;
        if (app.platform === 'windows' && fx && fx !== c.windowsFxVersion) validateWindowsImage(ctx, app, fx);
        c.windowsFxVersion = fx;
        break;
      }
      case 'acrUseManagedIdentityCreds': {
        const on = value === true || value === 'true' || value === 'True';
        // Functions on Azure Container Apps refuse the flag (Azure/azure-functions-on-container-apps#18;
        // docs/azure-behaviour.md#hosting-kinds).
        if (on && app.managedEnvironmentId)
          throw new ReplyError(
            armError(
              400,
              'BadRequest',
              'AcrUseManagedIdentityCreds is not supported for Azure Functions on Azure Container apps.',
            ),
          );
        c.acrUseManagedIdentityCreds = on;
        break;
      }
      case 'acrUserManagedIdentityID':
        // A JSON null is "not specified" in an App Service PATCH: the value stays. Only "" clears it, which is
        // what Azure CLI sends for the system identity (azure-cli appservice custom.py, update_site_configs).
        if (value === null || value === undefined) break;
        // Azure keeps only a client ID here; a resource ID (or anything else) silently becomes null
        // (terraform-provider-azurerm #20344; Azure/app-service-linux-docs PR #170;
        // docs/azure-behaviour.md#acrusermanagedidentityid).
        c.acrUserManagedIdentityID = typeof value === 'string' && isGuid(value) ? value : null;
        break;
      case 'alwaysOn':
        c.alwaysOn = value === true;
        app.startsOnRequest = !c.alwaysOn;
        break;
      case 'vnetRouteAllEnabled':
        c.vnetRouteAllEnabled = value === true;
        break;
      case 'numberOfWorkers':
        if (typeof value === 'number') c.numberOfWorkers = value;
        break;
      default:
        if (value !== null && value !== undefined) c.extra[rawKey] = value;
    }
  }
  return JSON.stringify(app.siteConfig) !== before;
}

// ---------------------------------------------------------------------------------------------------------
// Site properties on PATCH/PUT
// ---------------------------------------------------------------------------------------------------------

interface SitePatch {
  identity?: IdentityPatch | null;
  properties?: {
    siteConfig?: Record<string, unknown> | null;
    vnetImagePullEnabled?: boolean;
    outboundVnetRouting?: { imagePullTraffic?: boolean; allTraffic?: boolean } | null;
    virtualNetworkSubnetId?: string | null;
    enabled?: boolean;
  } | null;
}

/** Applies a site PATCH/PUT body; says whether the identity changed (then the update is an async operation). */
function applySite(
  ctx: RouteContext,
  app: App,
  body: SitePatch,
): { identityChanged: boolean; createsSystemPrincipal: boolean } {
  let restart = false;
  const identity = body.identity
    ? applyIdentity(ctx, app, body.identity)
    : { changed: false, createsSystemPrincipal: false };
  restart = identity.changed;
  const p = body.properties ?? {};
  if (p.siteConfig) restart = applyConfig(ctx, app, p.siteConfig) || restart;
  const pull = p.outboundVnetRouting?.imagePullTraffic ?? p.vnetImagePullEnabled;
  if (typeof pull === 'boolean' && pull !== app.vnetImagePullEnabled) {
    app.vnetImagePullEnabled = pull;
    restart = true;
  }
  if (typeof p.outboundVnetRouting?.allTraffic === 'boolean') {
    app.siteConfig.vnetRouteAllEnabled = p.outboundVnetRouting.allTraffic;
  }
  if (p.virtualNetworkSubnetId !== undefined) app.virtualNetworkSubnetId = p.virtualNetworkSubnetId;
  if (restart) touched(ctx, app, 'site update');
  else app.lastModifiedAt = ctx.now();
  return {
    identityChanged: identity.changed,
    createsSystemPrincipal: identity.createsSystemPrincipal,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Sitecontainers
// ---------------------------------------------------------------------------------------------------------

const CONTAINER_NAME = /^([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;

function containerBody(app: App, c: SiteContainer): object {
  return {
    id: `${app.id}/sitecontainers/${c.name}`,
    name: c.name,
    type: `${typePrefix(app)}/sitecontainers`,
    properties: {
      image: c.image,
      targetPort: c.targetPort,
      isMain: c.isMain,
      startUpCommand: c.startUpCommand,
      authType: c.authType,
      userName: c.userName,
      passwordSecret: null,
      userManagedIdentityClientId: c.userManagedIdentityClientId,
      inheritAppSettingsAndConnectionStrings: c.inheritAppSettingsAndConnectionStrings,
      volumeMounts: c.volumeMounts,
      environmentVariables: c.environmentVariables,
      createdTime: new Date(c.createdAt).toISOString(),
      lastModifiedTime: new Date(c.lastModifiedAt).toISOString(),
    },
  };
}

const AUTH_TYPES = ['Anonymous', 'UserCredentials', 'SystemIdentity', 'UserAssigned'] as const;

function putContainer(ctx: RouteContext, app: App, name: string): HttpReply {
  if (!CONTAINER_NAME.test(name)) {
    return armError(400, 'BadRequest', `The site container name '${name}' is invalid.`);
  }
  const body = ctx.json<{ properties?: Partial<SiteContainer> & { authType?: string } }>();
  const p = body.properties ?? {};
  if (!p.image) return armError(400, 'BadRequest', "The property 'image' is required.");
  const authType = AUTH_TYPES.find((a) => a.toLowerCase() === (p.authType ?? 'Anonymous').toLowerCase());
  if (!authType) return armError(400, 'BadRequest', `The authType '${p.authType}' is not valid.`);
  const existing = app.siteContainers.find((c) => c.name.toLowerCase() === name.toLowerCase());
  const now = ctx.now();
  const next: SiteContainer = {
    name: existing?.name ?? name,
    image: p.image,
    targetPort: p.targetPort ?? null,
    isMain: p.isMain ?? false,
    startUpCommand: p.startUpCommand ?? null,
    authType,
    userName: p.userName ?? null,
    passwordSecret: p.passwordSecret ?? existing?.passwordSecret ?? null,
    userManagedIdentityClientId: p.userManagedIdentityClientId ?? null,
    inheritAppSettingsAndConnectionStrings: p.inheritAppSettingsAndConnectionStrings ?? true,
    volumeMounts: p.volumeMounts ?? [],
    environmentVariables: p.environmentVariables ?? [],
    createdAt: existing?.createdAt ?? now,
    lastModifiedAt: now,
  };
  if (existing) Object.assign(existing, next);
  else app.siteContainers.push(next);
  touched(ctx, app, 'sitecontainers');
  return json(existing ? 200 : 201, containerBody(app, next));
}

// ---------------------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------------------

function listSites(ctx: RouteContext, sub: string, rg: string | undefined): HttpReply {
  if (!hasSubscription(ctx.state, sub)) return subscriptionNotFound(sub);
  const scope = ctx.path.replace(/\/providers\/microsoft\.web\/sites$/i, '');
  requireAction(ctx, 'Microsoft.Web/sites/read', scope);
  const apps = ctx.state.apps.filter(
    (a) => !a.slot && a.subscriptionId.toLowerCase() === sub && (!rg || a.resourceGroup.toLowerCase() === rg),
  );
  return page(
    ctx,
    apps.map((a) => siteBody(ctx, a)),
    ctx.state.paging.sites,
  );
}

export const routes: Route[] = [
  {
    method: 'GET',
    pattern: new RegExp(`^${SUB}/providers/microsoft\\.web/sites$`),
    handle: (ctx, m) => listSites(ctx, m[1] ?? '', undefined),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^${RG}/providers/microsoft\\.web/sites$`),
    handle: (ctx, m) => listSites(ctx, m[1] ?? '', m[2]),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^${RG}/providers/microsoft\\.web/sites/([^/]+)/slots$`),
    handle: (ctx, m) => {
      const site = appFor(ctx, m, 'read');
      requireAction(ctx, 'Microsoft.Web/sites/slots/read', site.id);
      const slots = ctx.state.apps.filter(
        (a) => a.slot && a.siteName === site.siteName && a.resourceGroup === site.resourceGroup,
      );
      for (const s of slots) ctx.platform.advance(s);
      return page(
        ctx,
        slots.map((a) => siteBody(ctx, a)),
        ctx.state.paging.slots,
      );
    },
  },
  { method: 'GET', pattern: re(''), handle: (ctx, m) => json(200, siteBody(ctx, appFor(ctx, m, 'read'))) },
  ...patchOrPut('', (ctx, m) => {
    const app = appFor(ctx, m, 'write');
    refuseWhileOperationRuns(ctx, app);
    const applied = applySite(ctx, app, ctx.json<SitePatch>());
    if (!applied.identityChanged) return json(200, siteBody(ctx, app));
    const answer = ctx.state.wire.identityPatch ?? 'accepted';
    if (answer === 'accepted') return acceptedSiteOperation(ctx, app, applied.createsSystemPrincipal);
    // 200: the change is done when the answer comes (WebApps_Update lists 200 and 202).
    if (applied.createsSystemPrincipal) createSystemPrincipal(ctx.state, app, ctx.now());
    return json(200, siteBody(ctx, app, { withoutPrincipal: answer === 'ok-without-principal' }));
  }),
  {
    method: 'GET',
    pattern: new RegExp(
      `^${SUB}/providers/microsoft\\.web/sites/([^/]+)(?:/slots/([^/]+))?/operationresults/([^/]+)$`,
    ),
    handle: (ctx, m) => {
      const op = ctx.state.siteOperations.find((o) => o.id.toLowerCase() === m[4]);
      const app = op && ctx.state.apps.find((a) => sameAppId(a.id, op.appId));
      if (!op || !app) return armError(404, 'NotFound', `Operation '${m[4]}' was not found.`);
      requireAction(ctx, `${typePrefix(app)}/read`, app.id);
      return json(200, operationBody(op));
    },
  },
  {
    method: 'GET',
    pattern: re('/config/web'),
    handle: (ctx, m) => json(200, configBody(appFor(ctx, m, 'config/read'))),
  },
  ...patchOrPut('/config/web', (ctx, m) => {
    const app = appFor(ctx, m, 'config/write');
    refuseWhileOperationRuns(ctx, app);
    const body = ctx.json<{ properties?: Record<string, unknown> }>();
    if (applyConfig(ctx, app, body.properties ?? {})) touched(ctx, app, 'config/web');
    return json(200, configBody(app));
  }),
  {
    // WebApps_ListSlotConfigurationNames (WebApps.json 2024-11-01): a site-level resource, no slot variant; the
    // names a swap leaves with their slot. Its read action is the site's config/read.
    method: 'GET',
    pattern: re('/config/slotconfignames'),
    handle: (ctx, m) => {
      if (m[4] !== undefined) return armError(404, 'NotFound', 'The resource was not found.');
      const app = appFor(ctx, m, 'config/read');
      return json(
        200,
        configResource(app, 'slotConfigNames', {
          connectionStringNames: null,
          appSettingNames: app.slotSettingNames ? [...app.slotSettingNames] : null,
          azureStorageConfigNames: null,
        }),
      );
    },
  },
  {
    method: 'POST',
    pattern: re('/config/appsettings/list'),
    handle: (ctx, m) => json(200, settingsBody(appFor(ctx, m, 'config/list/action'))),
  },
  {
    method: 'PUT',
    pattern: re('/config/appsettings'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'config/write');
      refuseWhileOperationRuns(ctx, app);
      const body = ctx.json<{ properties?: Record<string, unknown> }>();
      const next: Record<string, string> = {};
      for (const [k, v] of Object.entries(body.properties ?? {})) {
        if (v !== null && v !== undefined) next[k] = String(v);
      }
      const changed = JSON.stringify(next) !== JSON.stringify(app.appSettings);
      app.appSettings = next;
      if (changed) touched(ctx, app, 'appsettings');
      return json(200, settingsBody(app));
    },
  },
  ...(['restart', 'start', 'stop'] as const).map(
    (verb): Route => ({
      method: 'POST',
      pattern: re(`/${verb}`),
      write: true,
      handle: (ctx, m) => {
        const app = appFor(ctx, m, `${verb}/action`);
        refuseWhileOperationRuns(ctx, app);
        if (verb === 'restart') ctx.platform.restart(app, 'restart');
        else if (verb === 'start') ctx.platform.start(app);
        else ctx.platform.stop(app);
        return { status: 200 };
      },
    }),
  ),
  {
    method: 'POST',
    pattern: re('/containerlogs'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'containerlogs/action');
      const text = currentPlatformLog(app, ctx.now());
      if (!text) return { status: 204 };
      return {
        status: 200,
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from(text),
      };
    },
  },
  {
    // Per-instance runtime status (azure-cli `az webapp troubleshoot status`, PR #33673: ARM `.../siteStatus[/{id}]`
    // at api-version 2024-11-01, `{ properties: [...] }` or one item). Only newer stamps answer it (scenario site
    // `siteStatus`, default: Linux apps on the 2024+ platform); elsewhere ARM's 404, as for any route it lacks.
    method: 'GET',
    pattern: re('/sitestatus(?:/([^/]+))?'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'read');
      if (!app.siteStatus)
        throw new ReplyError(
          armError(
            404,
            'NotFound',
            `No route registered for '${ctx.path.slice(ctx.path.toLowerCase().indexOf('/sitestatus'))}'.`,
          ),
        );
      const items = instanceSummaries(app).map((x) => siteStatusItem(x));
      const one = m[5];
      if (one === undefined) return json(200, { properties: items });
      const found = items.find((x) => x.instanceId.toLowerCase() === one.toLowerCase());
      if (!found)
        throw new ReplyError(resourceNotFound(`${typePrefix(app)}/siteStatus`, one, app.resourceGroup));
      return json(200, { properties: found });
    },
  },
  {
    // WebApps_ListInstanceIdentifiers / ListInstanceIdentifiersSlot: the machines the app runs on, `name` = the
    // instance ID (WebSiteInstanceStatus, state READY | STOPPED | UNKNOWN; docs/azure-behaviour.md#instances).
    method: 'GET',
    pattern: re('/instances(?:/([^/]+))?'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'instances/read');
      const one = m[5];
      const all = instanceSummaries(app).map((x) => ({
        id: `${app.id}/instances/${x.instanceId}`,
        name: x.instanceId,
        type: `${typePrefix(app)}/instances`,
        location: app.location,
        properties: {
          state: x.phase === 'running' ? 'READY' : x.phase === 'stopped' ? 'STOPPED' : 'UNKNOWN',
          // The worker's name as Kudu's log files carry it (azure-cli troubleshoot maps the two with it).
          machineName: x.machineName,
        },
      }));
      if (one === undefined) return json(200, { value: all, nextLink: null });
      const found = all.find((x) => x.name.toLowerCase() === one.toLowerCase());
      if (!found)
        throw new ReplyError(resourceNotFound(`${typePrefix(app)}/instances`, one, app.resourceGroup));
      return json(200, found);
    },
  },
  {
    method: 'POST',
    pattern: re('/containerlogs/zip/download'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'containerlogs/action');
      const files = latestLogFiles(app, ctx.now());
      if (!files.length) return { status: 204 };
      return {
        status: 200,
        headers: { 'content-type': 'application/zip' },
        body: zipFiles(files.map((f) => ({ name: f.name, content: f.content, at: f.lastUpdated }))),
      };
    },
  },
  {
    method: 'POST',
    pattern: re('/config/publishingcredentials/list'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'config/list/action');
      const scm = ctx.appUrl(app, 'scm').replace(/^https:\/\//, '');
      return json(200, {
        id: `${app.id}/publishingcredentials/${app.publishingUserName}`,
        name: app.slot ? `${app.siteName}/${app.slot}` : app.siteName,
        type: `${typePrefix(app)}/publishingcredentials`,
        // The `User` model of WebApps.json 2024-11-01: a proxy-only resource (no location) whose properties are
        // the user name, the password, its hash and salt, and the SCM URI.
        properties: {
          publishingUserName: app.publishingUserName,
          publishingPassword: app.publishingPassword,
          publishingPasswordHash: null,
          publishingPasswordHashSalt: null,
          scmUri: `https://${app.publishingUserName}:${app.publishingPassword}@${scm}`,
        },
      });
    },
  },
  {
    method: 'GET',
    pattern: re('/basicpublishingcredentialspolicies'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'basicPublishingCredentialsPolicies/read');
      return json(200, { value: [policyBody(app, 'ftp'), policyBody(app, 'scm')] });
    },
  },
  {
    method: 'GET',
    pattern: re('/basicpublishingcredentialspolicies/(scm|ftp)'),
    handle: (ctx, m) =>
      json(200, policyBody(appFor(ctx, m, 'basicPublishingCredentialsPolicies/read'), m[5] as 'scm' | 'ftp')),
  },
  {
    method: 'PUT',
    pattern: re('/basicpublishingcredentialspolicies/(scm|ftp)'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'basicPublishingCredentialsPolicies/write');
      const allow = ctx.json<{ properties?: { allow?: boolean } }>().properties?.allow;
      if (typeof allow !== 'boolean') return armError(400, 'BadRequest', "The property 'allow' is required.");
      if (m[5] === 'scm') app.scmBasicAuthAllowed = allow;
      else app.ftpBasicAuthAllowed = allow;
      return json(200, policyBody(app, m[5] as 'scm' | 'ftp'));
    },
  },
  {
    method: 'GET',
    pattern: re('/sitecontainers'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'sitecontainers/read');
      return page(
        ctx,
        app.siteContainers.map((c) => containerBody(app, c)),
        ctx.state.paging.siteContainers,
      );
    },
  },
  {
    method: 'GET',
    pattern: re('/sitecontainers/([^/]+)'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'sitecontainers/read');
      const c = app.siteContainers.find((x) => x.name.toLowerCase() === m[5]);
      if (!c) return armError(404, 'NotFound', `Site container '${m[5]}' was not found.`);
      return json(200, containerBody(app, c));
    },
  },
  {
    method: 'PUT',
    pattern: re('/sitecontainers/([^/]+)'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'sitecontainers/write');
      const name = ctx.path.split('/').pop() ?? '';
      return putContainer(ctx, app, name);
    },
  },
  {
    method: 'DELETE',
    pattern: re('/sitecontainers/([^/]+)'),
    handle: (ctx, m) => {
      const app = appFor(ctx, m, 'sitecontainers/delete');
      const before = app.siteContainers.length;
      app.siteContainers = app.siteContainers.filter((x) => x.name.toLowerCase() !== m[5]);
      if (app.siteContainers.length === before) return { status: 204 };
      touched(ctx, app, 'sitecontainers');
      return { status: 200 };
    },
  },
];

function policyBody(app: App, which: 'scm' | 'ftp'): object {
  return {
    id: `${app.id}/basicPublishingCredentialsPolicies/${which}`,
    name: which,
    type: `${typePrefix(app)}/basicPublishingCredentialsPolicies`,
    properties: { allow: which === 'scm' ? app.scmBasicAuthAllowed : app.ftpBasicAuthAllowed },
  };
}
