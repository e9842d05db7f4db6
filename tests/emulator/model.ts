/**
 * The emulator's whole state, as plain JSON-serialisable data (GET /_emulator/state returns it as is), and the
 * Scenario format that seeds it. Route handlers read and mutate `EmulatorState` directly; nothing here has
 * behaviour beyond small lookups that every route needs.
 *
 * Conventions:
 * - Times are emulated epoch milliseconds (`...At` fields), durations are seconds (`...Seconds`) as the
 *   scenario author thinks in seconds.
 * - Resource IDs are stored as ARM prints them (`/subscriptions/.../resourceGroups/...`); compare them with
 *   `sameId()` (case-insensitive, `//` collapsed), never with `===`.
 */
import type { CloudName } from './clouds';

/** Which listener (or which part of the main server) a request reached. */
/** `registry`: a registry's data plane, reached by its login server name (routes/registry-data-plane.ts). */
export type HostKind = 'arm' | 'entra' | 'oidc' | 'imds' | 'kudu' | 'site' | 'control' | 'registry';

/** Docker log text format a site writes (helper C's log-lines.ts renders each). */
export type LogFormat = 'classic' | 'platform2024' | 'windows';

/** `identity.type` as ARM spells it (the combined value has a comma and a space). */
export type IdentityType = 'None' | 'SystemAssigned' | 'UserAssigned' | 'SystemAssigned, UserAssigned';

// ---------------------------------------------------------------------------------------------------------
// Directory (Entra) and pipeline
// ---------------------------------------------------------------------------------------------------------

/** A directory object a role can be assigned to. Managed identities register one when they are created. */
export interface Principal {
  objectId: string;
  /** `ServicePrincipal` for applications and managed identities. */
  principalType: 'ServicePrincipal' | 'User' | 'Group';
  displayName: string;
  /** Application (client) ID for service principals. */
  appId?: string;
  /**
   * When the object was created. Until `createdAt + delays.directoryReplicationSeconds` a role assignment
   * without `principalType` answers 400 PrincipalNotFound (replication delay).
   */
  createdAt: number;
}

/** A service principal that can sign in (same shape as helper B's `EntraApplication`). */
export interface EntraApplication {
  clientId: string;
  /** Object ID of the service principal (what role assignments name). */
  objectId: string;
  displayName?: string;
  secrets: string[];
  certificatesPem: string[];
  federatedCredentials: { issuer: string; subject: string; audience?: string }[];
}

/** A managed identity the build agent's VM has (answers IMDS). */
export interface AgentIdentity {
  clientId: string;
  objectId: string;
  default?: boolean;
}

/** The seeded Azure DevOps pipeline job (for workload identity federation and OIDC). */
export interface Pipeline {
  /** SystemVssConnection AccessToken of the job; the oidctoken route demands it as bearer. */
  jobAccessToken: string;
  organization: string;
  projectId: string;
  serviceConnectionIds: string[];
}

// ---------------------------------------------------------------------------------------------------------
// ARM containers
// ---------------------------------------------------------------------------------------------------------

export interface Subscription {
  subscriptionId: string;
  displayName: string;
  tenantId: string;
  /**
   * Object IDs of principals that can list this subscription. Empty = everyone with any role assignment in
   * it (A2's routes decide; this list is an explicit override for "caller cannot see that subscription").
   */
  visibleTo: string[];
}

/**
 * A management group: the subscriptions directly under it, and its parent group. A role assignment at
 * `/providers/Microsoft.Management/managementGroups/{name}` applies to everything in those subscriptions and in
 * the subscriptions of its child groups (learn.microsoft.com/azure/governance/management-groups/overview).
 */
export interface ManagementGroup {
  name: string;
  parent?: string;
  subscriptions: string[];
}

export interface ResourceGroup {
  subscriptionId: string;
  name: string;
  location: string;
}

/** A user-assigned managed identity (`Microsoft.ManagedIdentity/userAssignedIdentities`). */
export interface UserAssignedIdentity {
  /** Full ARM resource ID. */
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  clientId: string;
  principalId: string;
  tenantId: string;
}

/** A container registry and what it holds. */
export interface Registry {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  /** e.g. `myacr.azurecr.io` (or a domain-name-label form); match it, do not construct it. */
  loginServer: string;
  sku: 'Basic' | 'Standard' | 'Premium';
  adminUserEnabled: boolean;
  /** Admin user name (the registry name) and its two passwords; valid only while adminUserEnabled. */
  adminUsername: string;
  adminPasswords: string[];
  roleAssignmentMode: 'LegacyRegistryPermissions' | 'AbacRepositoryPermissions';
  /** `policies.azureADAuthenticationAsArmPolicy.status`; 'disabled' breaks App Service MI pulls. */
  azureADAuthenticationAsArmPolicy: 'enabled' | 'disabled';
  anonymousPullEnabled: boolean;
  publicNetworkAccess: 'Enabled' | 'Disabled';
  networkRuleSet: { defaultAction: 'Allow' | 'Deny'; ipRules: { action: 'Allow'; value: string }[] };
  /** Repository name → tags, e.g. `{ "app": ["1.0", "latest"] }`. */
  repositories: Record<string, string[]>;
}

// ---------------------------------------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------------------------------------

export interface RoleAssignment {
  /** Full ID: `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`. */
  id: string;
  /** GUID. */
  name: string;
  scope: string;
  /** Full role definition ID (`/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`). */
  roleDefinitionId: string;
  principalId: string;
  principalType: 'ServicePrincipal' | 'User' | 'Group' | 'ForeignGroup' | 'Device';
  condition?: string | null;
  conditionVersion?: string | null;
  description?: string | null;
  createdBy?: string | null;
  /** Emulated ms. Takes effect for pulls after `createdAt + delays.roleAssignmentPropagationSeconds`. */
  createdAt: number;
}

/** A custom role definition (built-in ones live in helper A2's roles.ts). */
export interface CustomRoleDefinition {
  /** GUID. */
  name: string;
  roleName: string;
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

// ---------------------------------------------------------------------------------------------------------
// App Service
// ---------------------------------------------------------------------------------------------------------

export interface AppIdentity {
  type: IdentityType;
  /** System identity's object ID; present while the type includes SystemAssigned. */
  principalId?: string;
  tenantId?: string;
  /** Keyed by the identity's resource ID as the client sent it (or as seeded). */
  userAssignedIdentities: Record<string, { principalId: string; clientId: string }>;
}

/** The `config/web` properties the emulator models; any other property a client sends is stored in `extra`. */
export interface SiteConfig {
  linuxFxVersion: string;
  windowsFxVersion: string | null;
  acrUseManagedIdentityCreds: boolean;
  /** Client ID of a user-assigned identity; a resource ID or any non-GUID is stored as null, as Azure does. */
  acrUserManagedIdentityID: string | null;
  alwaysOn: boolean;
  vnetRouteAllEnabled: boolean;
  numberOfWorkers: number;
  /** Any other siteConfig property a client wrote, returned as is. */
  extra: Record<string, unknown>;
}

/** A sidecar container (`Microsoft.Web/sites/sitecontainers`). */
export interface SiteContainer {
  name: string;
  image: string;
  targetPort: string | null;
  isMain: boolean;
  startUpCommand: string | null;
  authType: 'Anonymous' | 'UserCredentials' | 'SystemIdentity' | 'UserAssigned';
  userName: string | null;
  passwordSecret: string | null;
  userManagedIdentityClientId: string | null;
  inheritAppSettingsAndConnectionStrings: boolean;
  volumeMounts: unknown[];
  environmentVariables: { name: string; value: string }[];
  createdAt: number;
  lastModifiedAt: number;
}

/** One line in a docker log file: when it was written (emulated ms) and its text (timestamp included). */
export interface LogLine {
  at: number;
  text: string;
}

/**
 * The log of one machine and one source. Files are derived from it at read time, one per day:
 * `YYYY_MM_DD_<machine>_docker.log` (platform), `..._default_docker.log` (container stdout),
 * `..._msi_docker.log`, or on Windows `..._system_docker.log`. Lines are kept in time order, and a reader only
 * sees lines with `at <= now`, so lines scheduled for later (a pull still running) appear as time passes.
 */
export interface InstanceLog {
  machineName: string;
  source: 'platform' | 'default' | 'msi' | 'easyauth';
  lines: LogLine[];
}

/** Where a site is in its start cycle (see platform.ts). */
export type RuntimePhase =
  | 'stopped'
  | 'pendingStart' // restarted or reconfigured; waits for a site hit or startDelaySeconds
  | 'pulling' // an attempt is running until `attemptEndsAt`
  | 'running'
  | 'failed' // the last attempt failed; `nextAttemptAt` says when the platform retries
  | 'blocked'; // too many consecutive failures; no start until `nextAttemptAt`

export interface AppRuntime {
  phase: RuntimePhase;
  /** When the current pending start was requested (restart, config change...). */
  pendingSince?: number;
  /** Current or last attempt. */
  attemptStartedAt?: number;
  attemptEndsAt?: number;
  /** The outcome the current attempt will have when it ends (decided when it starts). */
  attemptOutcome?: string;
  attemptImage?: string;
  nextAttemptAt?: number;
  consecutiveFailures: number;
  /** Image the running container came from (undefined before the first successful start). */
  runningImage?: string;
  /** Number of start attempts so far, for tests. */
  attempts: number;
  /** Count of restarts the platform saw (explicit or caused by config changes). */
  restarts: number;
  /**
   * The image of the container that answers the site's requests now; undefined while none does (the site host
   * then answers 503). A settings change keeps the old container serving while the new one pulls and starts; an
   * explicit restart stops it first; a failed pull stops the site (docs/azure-behaviour.md#a-live-app).
   */
  servingImage?: string;
  /** What the site host answered over time (transitions only, in time order): the harness's downtime probe. */
  availability?: AvailabilityMark[];
}

/** Why the site host answers what it answers from `at` on. */
export type AvailabilityReason =
  | 'serving' // 200: a container runs
  | 'restarting' // 503: an explicit restart or start stopped the container; the next one is not up yet
  | 'pullFailed' // 503: the last start failed to pull its image and the site was stopped
  | 'startFailed' // 503: the image was pulled, the container did not start
  | 'stopped'; // 403: the app is stopped

export interface AvailabilityMark {
  /** Emulated epoch ms. */
  at: number;
  status: 200 | 403 | 503;
  reason: AvailabilityReason;
}

/**
 * One worker machine the app runs on (App Service pulls the image on each instance itself). Instance 1 (index 0)
 * runs its start cycle in `App.runtime`; the others in their own `runtime`. Each holds its own image cache: a
 * machine whose pull failed starts a local copy of that image when it holds one (classic Linux platform:
 * "Image pull failed. Defaulting to local copy if present."); a machine added by scale-out or an instance move
 * holds none (docs/azure-behaviour.md#instances).
 */
export interface AppInstance {
  /** Kudu's machine name (`lw1sdlwk000A3FQ`, Windows `RD...`): one docker log file per machine. */
  machineName: string;
  /** ARM's instance ID (`GET .../sites/{name}/instances` lists it as `name`): 64 hex digits. */
  instanceId: string;
  /** Image references this machine holds in its local cache (compared case-insensitively). */
  localImages: string[];
  /** This machine's own fate (a network path that fails, a broken credential): overrides the pull's outcome. */
  fate?: InstanceFate;
  /** Attempts this machine made (its fate's `attempts` counts them down). */
  attempts: number;
  /** Whether the container that runs here started from a local copy after a failed pull. */
  fromLocalCopy?: boolean;
  /** When the machine joined (emulated ms); scale-out and moves set it. */
  addedAt: number;
  /** The start cycle of instances 2..n (instance 1 uses `App.runtime`). */
  runtime?: AppRuntime;
}

/** What a scenario makes happen on one machine, whatever the app's settings say. */
export interface InstanceFate {
  /** The pull on this machine fails this way (`networkDenied`: a network path that fails). */
  pull?: 'unauthorized' | 'notFound' | 'networkDenied';
  /** Only this many attempts on the machine get the fate (default: every attempt). */
  attempts?: number;
}

/** A site (production slot) or one of its deployment slots. */
export interface App {
  /** Full ARM ID as Azure prints it (`.../sites/{name}` or `.../sites/{name}/slots/{slot}`). */
  id: string;
  /** Site name (without the slot). */
  siteName: string;
  /** Undefined for the production slot. */
  slot?: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  /** linux (custom container), windows (Hyper-V container), sidecar (linuxFxVersion `sitecontainers`). */
  platform: 'linux' | 'windows' | 'sidecar';
  /**
   * What the site hosts: a web app (default) or a function app (`kind` `functionapp,linux,container` on an
   * Elastic Premium or Dedicated plan). Undefined = web app.
   */
  hosting?: 'webApp' | 'functionApp';
  /**
   * Functions on Azure Container Apps: the Container Apps environment the function app runs in. Such a site
   * refuses `acrUseManagedIdentityCreds` (Azure/azure-functions-on-container-apps#18).
   */
  managedEnvironmentId?: string;
  /** `Running` / `Stopped`, as ARM reports it (not the container's health). */
  state: 'Running' | 'Stopped';
  serverFarmId: string;
  identity: AppIdentity;
  siteConfig: SiteConfig;
  appSettings: Record<string, string>;
  /**
   * Production only: the app setting names marked as deployment slot settings (`config/slotConfigNames`,
   * SlotConfigNamesResource.appSettingNames in WebApps.json 2024-11-01). They stay with their slot in a swap.
   */
  slotSettingNames?: string[];
  siteContainers: SiteContainer[];
  /** `basicPublishingCredentialsPolicies/scm` → allow. */
  scmBasicAuthAllowed: boolean;
  ftpBasicAuthAllowed: boolean;
  publishingUserName: string;
  publishingPassword: string;
  /** Site property `outboundVnetRouting.imagePullTraffic` (a.k.a. vnetImagePullEnabled). */
  vnetImagePullEnabled: boolean;
  /** Virtual network the app is integrated with (empty = none). */
  virtualNetworkSubnetId: string | null;
  /** When false (Always On), a pending start happens after startDelaySeconds; when true, only on a site hit. */
  startsOnRequest: boolean;
  /** Worker machine names; one docker log file per machine (kept in step with `instanceStates`). */
  instances: string[];
  /** Per machine: its cache, fate and (from the second on) start cycle; see `AppInstance`. */
  instanceStates: AppInstance[];
  /** ARM answers `.../siteStatus` for this app (newer stamps only; routes/web.ts). */
  siteStatus: boolean;
  /**
   * Machines keep the images they pulled, and a failed pull starts the local copy when one is there (default
   * false: the emulator's older scenarios assume no cache). Seeded running instances then hold their image.
   */
  localCopy: boolean;
  /** Log text format this app's platform writes. */
  logFormat: LogFormat;
  /**
   * The next N successful pulls start a container that then crashes (start failure); -1 = always.
   * Decremented per crashed start.
   */
  containerCrashes: number;
  /** Host ports, assigned when the emulator starts (`127.0.0.1:PORT`). */
  sitePort: number;
  scmPort: number;
  runtime: AppRuntime;
  logs: InstanceLog[];
  lastModifiedAt: number;
}

// ---------------------------------------------------------------------------------------------------------
// Timing, paging, faults
// ---------------------------------------------------------------------------------------------------------

export interface Delays {
  /** Seconds after a role assignment's creation before pulls honour it. */
  roleAssignmentPropagationSeconds: number;
  /** Seconds after a principal's creation before a role assignment without principalType finds it. */
  directoryReplicationSeconds: number;
  tokenLifetimeSeconds: number;
  assertionLifetimeSeconds: number;
  /** Duration of one image pull (a successful one; failures end after a fraction of it). */
  pullSeconds: number;
  /** Container start after a good pull until ready (or until the crash is reported). */
  containerStartSeconds: number;
  /** With `startsOnRequest: false`, seconds after a restart before the platform starts the site by itself. */
  startDelaySeconds: number;
  /** First retry after a failed start; it doubles per consecutive failure (App Service: ~2.5 min cycles). */
  retryBaseSeconds: number;
  /** After this many consecutive failed starts the site is blocked for 1, then 2, 4... minutes. */
  failuresBeforeBlock: number;
  /** Added to every ARM request (real milliseconds). */
  armLatencyMs: number;
  /**
   * Emulated seconds a site PATCH/PUT that changes the identity runs as an async operation (202 +
   * `Azure-AsyncOperation`); a new system identity's principal exists only once it has completed.
   */
  siteOperationSeconds: number;
}

export interface Paging {
  slots: number;
  siteContainers: number;
  roleAssignments: number;
  registries: number;
  identities: number;
  sites: number;
}

/**
 * An injected failure. A request matches when every given matcher matches; the fault then applies unless
 * `after` matches have not yet been skipped, and at most `times` times (default: always).
 */
export interface Fault {
  id?: string;
  host?: HostKind | HostKind[];
  /**
   * Only requests that reached this app's or slot's own hosts (its site and SCM listeners): `<site>` for the
   * production slot, `<site>/<slot>` for a slot. Combine with `host: "kudu"` or `"site"` to aim at one of them.
   */
  app?: string;
  method?: string;
  /** Case-insensitive substring of the (normalised) path. */
  path?: string;
  /** Regex source, matched case-insensitively against the path plus query string. */
  pathRegex?: string;
  /** Respond with this status instead of the real handler. */
  status?: number;
  headers?: Record<string, string>;
  /** Response body (objects are sent as JSON). */
  body?: string | object;
  /**
   * With `status` and an object `body`: the body is a list page whose `nextLink` points at the same list one
   * `$skiptoken` further on, every time (a list that never ends; each link is new).
   */
  endlessPages?: boolean;
  /** Destroy the socket without answering. */
  drop?: boolean;
  /** Added latency in real milliseconds (then the real handler answers, unless status/drop is set too). */
  latencyMs?: number;
  /**
   * A slow answer, in the run's milliseconds: a real wait for a spawned bundle; for an in-process run (real-time
   * pace paused) the emulated clock moves instead, so deadlines see the time pass and the test waits for nothing.
   * `latencyMs` stays a real wait for hooks that must act while a request is in flight.
   */
  slowMs?: number;
  times?: number;
  after?: number;
  /** Runtime counter: matches seen so far. */
  matched?: number;
}

/** SCM rate limit: more than `maxRequests` within `perSeconds` (emulated) per SCM host → 406. */
/**
 * A site PATCH/PUT that changed the identity, answered 202 + `Azure-AsyncOperation` (official example
 * UpdateWebApp.json in Azure/azure-rest-api-specs, Microsoft.Web 2025-05-01). Until `completesAt` the status
 * is `InProgress` and a newly enabled system identity has no principal yet.
 */
export interface SiteOperation {
  /** GUID in the operation URL. */
  id: string;
  appId: string;
  startedAt: number;
  completesAt: number;
  status: 'InProgress' | 'Succeeded';
  /** The system identity was turned on by this operation: its principal is created on completion. */
  createsSystemPrincipal: boolean;
}

export interface KuduRateLimit {
  maxRequests: number;
  perSeconds: number;
}

// ---------------------------------------------------------------------------------------------------------
// The state
// ---------------------------------------------------------------------------------------------------------

/**
 * Where the REST spec leaves Azure's answer open, which answer the emulator gives (docs/azure-behaviour.md,
 * "Response shapes by api-version"). Each default is the shape the spec's examples of that version show.
 */
export interface WireOptions {
  /**
   * At Web api-versions 2024-11-01 and 2025-03-01 the spec shows VNet image pull under both names:
   * `vnetImagePullEnabled` (the version's GetWebApp.json example) and `outboundVnetRouting.imagePullTraffic` (its
   * definitions). Default `both`; older versions answer only the first, 2025-05-01 and later only the second.
   */
  vnetImagePullShape?: 'both' | 'vnetImagePullEnabled' | 'outboundVnetRouting';
  /**
   * How a site PATCH/PUT that changes the identity answers (WebApps_Update allows 200 and 202): `accepted`
   * (default) 202 with `Azure-AsyncOperation`, the principal made when the operation ends; `ok` 200 with the
   * site and its new principal; `ok-without-principal` 200 with the site, the principal made at once but left out
   * of that body (a GET shows it).
   */
  identityPatch?: 'accepted' | 'ok' | 'ok-without-principal';
}

export interface EmulatorState {
  scenarioName: string;
  /** Answers the spec leaves open (WireOptions). */
  wire: WireOptions;
  /** The cloud the emulator plays (token audiences, api-versions): clouds.ts. */
  cloud: CloudName;
  /** Kudu takes an ARM-audience bearer token (default: only in AzureCloud); otherwise it answers 403. */
  kuduAcceptsArmAudience: boolean;
  /** Per provider namespace (`Microsoft.Web`...), the only api-versions it answers (api-versions.ts). */
  apiVersions: Record<string, string[]>;
  tenantId: string;
  /** The first subscription is the service connection's. */
  subscriptions: Subscription[];
  /** Management groups above the subscriptions (none by default). */
  managementGroups: ManagementGroup[];
  resourceGroups: ResourceGroup[];
  /** Production slots and deployment slots, flat (a slot has `slot` set and the same `siteName`). */
  apps: App[];
  identities: UserAssignedIdentity[];
  registries: Registry[];
  principals: Principal[];
  roleAssignments: RoleAssignment[];
  customRoleDefinitions: CustomRoleDefinition[];
  applications: EntraApplication[];
  agentIdentities: AgentIdentity[];
  pipeline: Pipeline;
  /** The service principal the emulator info hands out (clientId/clientSecret). */
  defaultClient: { clientId: string; clientSecret: string; objectId: string };
  delays: Delays;
  paging: Paging;
  faults: Fault[];
  kuduRateLimit: KuduRateLimit | null;
  /** Site updates running as async operations (see SiteOperation). */
  siteOperations: SiteOperation[];
  /** Free-form task inputs a scenario suggests (the demo reads them). */
  inputs: Record<string, string>;
  /** Images on registries outside the scenario (Docker Hub, GHCR...) that are not simply public. */
  externalImages: ExternalImage[];
  /** The scenario's events, in order, with when each fired (events.ts applies them). */
  events: EventRecord[];
  /** Which task run the emulator is in (1 until `beginRun(2)`), and when each run made its first request. */
  runs: { current: number; firstRequestAt: Record<number, number>; configWriteAt: Record<number, number> };
}

/** An event with its bookkeeping: `firedAt` (emulated ms) once applied, `error` when it could not be. */
export interface EventRecord {
  event: ScenarioEvent;
  firedAt?: number;
  error?: string;
  /** What the event changed, in a few words (for the state dump and test messages). */
  outcome?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Scenario format (what scenarios/*.json hold and scenario.ts builds). Everything optional has a default.
// ---------------------------------------------------------------------------------------------------------

/** A role granted in the scenario: role by built-in name (`AcrPull`, `Owner`...) or GUID, at a scope. */
export interface ScenarioRoleAssignment {
  /** Object ID, or a reference: `caller`, `site:<name>[/<slot>]` (its system identity), `identity:<name>`. */
  principal: string;
  role: string;
  /** Full scope, or a reference: `subscription`, `rg:<name>`, `registry:<name>`. */
  scope: string;
  /**
   * How many seconds before the emulator started the assignment was made: positive = in the past (3600 = an
   * hour ago), 0 = at start. Pulls honour it once `roleAssignmentPropagationSeconds` have passed since then.
   * Default 3600. Negative values are refused (use an `addRoleAssignment` event for a grant made later).
   */
  createdSecondsAgo?: number;
  condition?: string;
  name?: string;
}

export interface ScenarioSite {
  name: string;
  resourceGroup?: string;
  /** Subscription ID, default the first one. */
  subscription?: string;
  location?: string;
  platform?: 'linux' | 'windows' | 'sidecar';
  /** `functionApp`: a function app on containers (kind `functionapp,linux,container`); default a web app. */
  hosting?: 'webApp' | 'functionApp';
  /** Functions on Azure Container Apps: the environment's resource ID (implies `hosting: functionApp`). */
  managedEnvironmentId?: string;
  /** Image reference `loginServer/repo:tag`. Defaults to the first registry's first repository and tag. */
  image?: string;
  /** Slot names; each copies the site's settings unless overridden in `slotOverrides`. */
  slots?: string[];
  slotOverrides?: Record<string, Partial<Omit<ScenarioSite, 'name' | 'slots' | 'slotOverrides'>>>;
  /** `SystemAssigned` etc.; user-assigned identities by name (`identities[].name`). */
  identity?: { type: IdentityType; userAssigned?: string[] };
  acrUseManagedIdentityCreds?: boolean;
  /** Stored as given (a non-GUID is stored as null, as Azure does). */
  acrUserManagedIdentityID?: string | null;
  appSettings?: Record<string, string>;
  /** App setting names marked as slot settings (site-wide: `config/slotConfigNames` of the site). */
  slotSettingNames?: string[];
  /** Sidecar apps: containers (image, authType...). Default: one main container with the site image. */
  siteContainers?: Partial<SiteContainer>[];
  scmBasicAuthAllowed?: boolean;
  vnetImagePullEnabled?: boolean;
  virtualNetworkSubnetId?: string | null;
  startsOnRequest?: boolean;
  instances?: number;
  /** See `App.localCopy` (default false). */
  localCopy?: boolean;
  /** ARM answers `.../siteStatus` (default: Linux apps whose logFormat is `platform2024`, the newer stamps). */
  siteStatus?: boolean;
  /**
   * Per-machine fates, by 1-based instance number: a pull outcome of its own (`pull`, for the first `attempts`
   * attempts), and its local cache (`localImages`: `[]` = no local copy, `["<image>"]` = a stale copy of the
   * configured image even when `localCopy` is off).
   */
  instanceFates?: ({ instance: number; localImages?: string[] } & InstanceFate)[];
  logFormat?: LogFormat;
  containerCrashes?: number;
  state?: 'Running' | 'Stopped';
  /** The container runs already (as it would before the task); default true. */
  running?: boolean;
  /**
   * Lines to seed into the first instance's platform log, `secondsAgo` before the emulator started (positive =
   * in the past). The text is kept as given, except `{time}`, which becomes the line's own time in the app's
   * `logFormat` (so a seeded line can read "now minus N seconds" whatever day the test runs); a text that
   * starts with neither a timestamp nor `{time}` gets one prefixed.
   */
  seedLogLines?: { secondsAgo: number; text: string }[];
}

export interface ScenarioRegistry {
  name: string;
  resourceGroup?: string;
  subscription?: string;
  location?: string;
  loginServer?: string;
  sku?: Registry['sku'];
  adminUserEnabled?: boolean;
  adminPasswords?: string[];
  roleAssignmentMode?: Registry['roleAssignmentMode'];
  azureADAuthenticationAsArmPolicy?: Registry['azureADAuthenticationAsArmPolicy'];
  anonymousPullEnabled?: boolean;
  publicNetworkAccess?: Registry['publicNetworkAccess'];
  networkRuleSet?: Registry['networkRuleSet'];
  repositories?: Record<string, string[]>;
}

export interface ScenarioIdentity {
  name: string;
  resourceGroup?: string;
  subscription?: string;
  location?: string;
  clientId?: string;
  principalId?: string;
  /**
   * How many seconds before the emulator started the identity was created: positive = in the past, as for role
   * assignments. Default 86400 (long replicated). Negative values are refused.
   */
  createdSecondsAgo?: number;
}

/**
 * An image on a registry the scenario does not model as an Azure Container Registry (Docker Hub, GHCR, a
 * private registry). Images not listed here pull anonymously, as public images do.
 */
export interface ExternalImage {
  /** `docker.io/contoso/api`, `contoso/api` (Docker Hub), `ghcr.io/contoso/api`; a tag here is ignored. */
  image: string;
  /** Anonymous pulls fail as the registry refuses them (Docker Hub: "pull access denied", GHCR: unauthorized). */
  requiresAuth?: boolean;
  /** Credentials that work (`DOCKER_REGISTRY_SERVER_USERNAME/PASSWORD`, or a sidecar's user credentials). */
  username?: string;
  password?: string;
  /** Tags that exist; omitted = every tag exists. */
  tags?: string[];
}

/**
 * A reference to an app: `<site>` (its production slot) or `<site>/<slot>`; `site:` may prefix either.
 * Default (omitted): the first site's production slot.
 */
export type AppRef = string;

/**
 * Something that happens to the world while (or between) the task runs, as a deploy step, an admin or a CI
 * pipeline would do it. Timed events carry `atSeconds`: emulated seconds after the first request of run
 * `run` (default 1, i.e. the task's first request). `beforeRun: N` events happen when run N starts (`beforeRun:
 * 1` at emulator start). Events fire on the emulated clock (no real timers): the first request, control call
 * or clock move at or after the due time applies every event due by then, each at its own due time.
 */
export type ScenarioEvent = EventTiming &
  (
    | { kind: 'setSiteConfig'; target?: AppRef; siteConfig: Record<string, unknown> }
    | { kind: 'setAppSettings'; target?: AppRef; appSettings: Record<string, string | null> }
    | { kind: 'swapSlots'; site?: string; source: string; target?: string }
    | {
        kind: 'addRoleAssignment';
        principal: string;
        role: string;
        scope: string;
        condition?: string;
        name?: string;
      }
    | { kind: 'deleteRoleAssignment'; principal?: string; role?: string; scope?: string; name?: string }
    | {
        kind: 'setRegistry';
        registry: string;
        properties: Partial<Omit<ScenarioRegistry, 'name' | 'resourceGroup' | 'subscription' | 'location'>>;
      }
    | { kind: 'pushTag' | 'deleteTag'; registry?: string; repository?: string; tag?: string; image?: string }
    | { kind: 'stopSite' | 'startSite'; target?: AppRef }
    /** New machines join (no local copy); each starts the app on its own, with today's settings. */
    | { kind: 'scaleOut'; target?: AppRef; count?: number; fate?: InstanceFate }
    /** Machines leave (the last ones first); their log files stay in /home/LogFiles, as on Azure. */
    | { kind: 'scaleIn'; target?: AppRef; count?: number }
    /** Instance N (1-based) moves to a new machine: new name, empty cache, a fresh start; the old file stays. */
    | { kind: 'moveInstance'; target?: AppRef; instance?: number; fate?: InstanceFate }
  );

export interface EventTiming {
  atSeconds?: number;
  /** With `atSeconds`: count from this run's first request (default 1). */
  run?: number;
  /**
   * With `atSeconds`: count from the run's first request (default) or from its first `config/web` write, so an
   * event meant for the middle of the pull that write starts lands there however long sign-in and observe took.
   */
  from?: 'firstRequest' | 'configWrite';
  beforeRun?: number;
  /** A label for logs and tests. */
  description?: string;
}

export type ScenarioEventKind = ScenarioEvent['kind'];

/** The AzureRM service connection a scenario is run with (the demo builds the agent's endpoint variables). */
export interface ScenarioConnection {
  scheme?: 'WorkloadIdentityFederation' | 'ServicePrincipal' | 'ManagedServiceIdentity';
  /** ServicePrincipal only: client secret (`spnKey`, default) or certificate (`spnCertificate`). */
  authenticationType?: 'spnKey' | 'spnCertificate';
  /** The endpoint data's `environment` (default `AzureCloud`). */
  environment?: string;
}

/** One task run of a scenario: its inputs on top of the scenario's `inputs`. */
export interface ScenarioRun {
  inputs?: Record<string, string>;
}

export interface Scenario {
  name?: string;
  /** Default `AzureCloud`. */
  cloud?: CloudName;
  /** Default: the cloud's (clouds.ts): true in AzureCloud, false in sovereign clouds. */
  kuduAcceptsArmAudience?: boolean;
  /** Replaces a provider's api-version list (a lagging sovereign cloud, an Azure Stack Hub profile). */
  apiVersions?: Record<string, string[]>;
  /** Answers the spec leaves open (WireOptions). */
  wire?: WireOptions;
  description?: string;
  /** Emulated seconds per real second the demo runs this scenario at (startEmulator's `timeScale` wins). */
  timeScale?: number;
  tenantId?: string;
  subscriptions?: { subscriptionId?: string; displayName?: string; visibleTo?: string[] }[];
  /** `subscriptions` holds subscription IDs (default: the first subscription when no group lists any). */
  managementGroups?: { name: string; parent?: string; subscriptions?: string[] }[];
  resourceGroups?: { name: string; subscription?: string; location?: string }[];
  sites?: ScenarioSite[];
  registries?: ScenarioRegistry[];
  identities?: ScenarioIdentity[];
  /** The service connection's principal. Default: Owner on the first subscription. */
  caller?: {
    clientId?: string;
    clientSecret?: string;
    objectId?: string;
    displayName?: string;
    /** Roles the caller holds (default `[{ role: 'Owner', scope: 'subscription' }]`). */
    roles?: { role: string; scope: string }[];
    federatedCredentials?: EntraApplication['federatedCredentials'];
    certificatesPem?: string[];
  };
  roleAssignments?: ScenarioRoleAssignment[];
  customRoleDefinitions?: CustomRoleDefinition[];
  agentIdentities?: AgentIdentity[];
  pipeline?: Partial<Pipeline>;
  delays?: Partial<Delays>;
  paging?: Partial<Paging>;
  faults?: Fault[];
  kuduRateLimit?: KuduRateLimit | null;
  inputs?: Record<string, string>;
  /** Changes to the world during or between runs (see `ScenarioEvent`). */
  events?: ScenarioEvent[];
  /** Runs of the task, each with its own input overrides; `npm run demo` runs them all (or `--runs N`). */
  runs?: ScenarioRun[];
  /** The service connection (default workload identity federation). */
  connection?: ScenarioConnection;
  /** Agent and pipeline variables the task sees, as named in YAML (`"system.debug": "true"`). */
  variables?: Record<string, string>;
  externalImages?: ExternalImage[];
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers every route needs
// ---------------------------------------------------------------------------------------------------------

/** Lower-cases an ARM ID or path and collapses duplicate slashes and a trailing slash. */
export function normalizeId(id: string): string {
  return id
    .replace(/\/{2,}/g, '/')
    .replace(/\/$/, '')
    .toLowerCase();
}

/** ARM IDs compare case-insensitively, with `//` collapsed. */
export function sameId(a: string, b: string): boolean {
  return normalizeId(a) === normalizeId(b);
}

/** True when `scope` is `id` or one of its ancestors (case-insensitive). */
export function scopeCovers(scope: string, id: string): boolean {
  const s = normalizeId(scope);
  const i = normalizeId(id);
  return s === '' || i === s || i.startsWith(`${s}/`);
}

const MANAGEMENT_GROUP_SCOPE = /^\/providers\/microsoft\.management\/managementgroups\/([^/]+)$/;

/** The management group a scope names (lower case), or undefined for any other scope. */
export function managementGroupOf(scope: string): string | undefined {
  return MANAGEMENT_GROUP_SCOPE.exec(normalizeId(scope))?.[1];
}

/** The management groups above a subscription, nearest first (lower case). */
export function managementGroupsAbove(
  groups: readonly ManagementGroup[] | undefined,
  subscriptionId: string,
): string[] {
  const sub = subscriptionId.toLowerCase();
  const out: string[] = [];
  let current = groups?.find((g) => g.subscriptions.some((s) => s.toLowerCase() === sub));
  while (current && !out.includes(current.name.toLowerCase())) {
    out.push(current.name.toLowerCase());
    const parent = current.parent?.toLowerCase();
    current = parent ? groups?.find((g) => g.name.toLowerCase() === parent) : undefined;
  }
  return out;
}

/**
 * `scopeCovers` with management groups: a management-group scope covers a subscription (and everything in it)
 * under that group or one of its child groups, and its child groups themselves.
 */
export function scopeCoversIn(
  groups: readonly ManagementGroup[] | undefined,
  scope: string,
  id: string,
): boolean {
  if (scopeCovers(scope, id)) return true;
  const mg = managementGroupOf(scope);
  if (!mg) return false;
  const sub = /^\/subscriptions\/([^/]+)/.exec(normalizeId(id))?.[1];
  if (sub) return managementGroupsAbove(groups, sub).includes(mg);
  const inner = managementGroupOf(id);
  if (!inner) return false;
  let current = groups?.find((g) => g.name.toLowerCase() === inner);
  const seen = new Set<string>();
  while (current && !seen.has(current.name.toLowerCase())) {
    seen.add(current.name.toLowerCase());
    const parent = current.parent?.toLowerCase();
    if (parent === mg) return true;
    current = parent ? groups?.find((g) => g.name.toLowerCase() === parent) : undefined;
  }
  return false;
}

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return guidPattern.test(value);
}

/** Whether the subscription exists (IDs compare case-insensitively, as ARM does). */
export function hasSubscription(state: EmulatorState, subscriptionId: string): boolean {
  const sub = subscriptionId.toLowerCase();
  return state.subscriptions.some((s) => s.subscriptionId.toLowerCase() === sub);
}

/** Whether the resource group exists in that subscription (names compare case-insensitively). */
export function hasResourceGroup(
  state: EmulatorState,
  subscriptionId: string,
  resourceGroup: string,
): boolean {
  const sub = subscriptionId.toLowerCase();
  const rg = resourceGroup.toLowerCase();
  return state.resourceGroups.some(
    (g) => g.subscriptionId.toLowerCase() === sub && g.name.toLowerCase() === rg,
  );
}

export function findApp(state: EmulatorState, siteId: string): App | undefined {
  return state.apps.find((a) => sameId(a.id, siteId));
}

export function findRegistry(state: EmulatorState, registryId: string): Registry | undefined {
  return state.registries.find((r) => sameId(r.id, registryId));
}

export function findIdentity(state: EmulatorState, identityId: string): UserAssignedIdentity | undefined {
  return state.identities.find((i) => sameId(i.id, identityId));
}

/** The role definition GUID at the end of a full role definition ID (lower case). */
export function roleGuid(roleDefinitionId: string): string {
  return (roleDefinitionId.split('/').pop() ?? '').toLowerCase();
}
