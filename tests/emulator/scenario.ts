/**
 * Scenarios: the builder tests use (`baseScenario({...})` returns a plain object to tweak) and `buildState`,
 * which turns a Scenario into a full EmulatorState with every default filled in. JSON files under
 * scenarios/ use the same format (documented in docs/emulator.md).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CLOUDS } from './clouds';
import { federatedCredentialFor } from './entra';
import { logTimestamp, pullAttemptLines } from './log-lines';
import type {
  App,
  AppIdentity,
  AppInstance,
  Delays,
  EmulatorState,
  LogFormat,
  LogLine,
  Paging,
  Principal,
  Registry,
  RoleAssignment,
  Scenario,
  ScenarioRoleAssignment,
  ScenarioSite,
  SiteContainer,
  UserAssignedIdentity,
} from './model';
import { isGuid } from './model';
import { instanceIdFor } from './platform';
import { BUILT_IN_ROLES } from './roles';

export const DEFAULT_TENANT_ID = '7d1f6a2e-0c4b-4e0a-9d55-3c1a2b4e5f60';
export const DEFAULT_SUBSCRIPTION_ID = '2b6e8a4c-1d3f-4a5b-8c7d-9e0f1a2b3c4d';

export const DEFAULT_DELAYS: Delays = {
  roleAssignmentPropagationSeconds: 0,
  directoryReplicationSeconds: 0,
  tokenLifetimeSeconds: 3600,
  assertionLifetimeSeconds: 600,
  pullSeconds: 6,
  containerStartSeconds: 4,
  startDelaySeconds: 5,
  retryBaseSeconds: 150,
  failuresBeforeBlock: 3,
  armLatencyMs: 0,
  siteOperationSeconds: 3,
};

export const DEFAULT_PAGING: Paging = {
  slots: 2,
  siteContainers: 2,
  roleAssignments: 20,
  registries: 10,
  identities: 10,
  sites: 10,
};

/** Options of `baseScenario`: the common knobs; anything else, tweak the returned object. */
export interface BaseScenarioOptions {
  name?: string;
  appName?: string;
  resourceGroup?: string;
  registryName?: string;
  slots?: string[];
  platform?: 'linux' | 'windows' | 'sidecar';
  repository?: string;
  tag?: string;
  /** Tags the registry holds for the repository (default `[tag]`). */
  registryTags?: string[];
  delays?: Partial<Delays>;
}

/**
 * One Linux container app (optionally with slots) and one registry in the same resource group, nothing
 * configured for managed-identity pulls, the caller Owner on the subscription.
 */
export function baseScenario(options: BaseScenarioOptions = {}): Scenario {
  const appName = options.appName ?? 'contoso-web';
  const rg = options.resourceGroup ?? 'rg-web';
  const acr = options.registryName ?? 'contosoacr';
  const repo = options.repository ?? 'web';
  const tag = options.tag ?? '1.0.0';
  const loginServer = `${acr}.azurecr.io`;
  const site: ScenarioSite = {
    name: appName,
    resourceGroup: rg,
    platform: options.platform ?? 'linux',
    image: `${loginServer}/${repo}:${tag}`,
    slots: options.slots ?? [],
  };
  return {
    name: options.name ?? 'base',
    resourceGroups: [{ name: rg, location: 'westeurope' }],
    sites: [site],
    registries: [{ name: acr, resourceGroup: rg, repositories: { [repo]: options.registryTags ?? [tag] } }],
    delays: { ...options.delays },
    inputs: { appName, resourceGroupName: rg },
  };
}

/** Reads a scenario JSON file. */
export function loadScenario(path: string): Scenario {
  return JSON.parse(readFileSync(path, 'utf8')) as Scenario;
}

/** A role by built-in name (`AcrPull`), GUID or full ID, as the full role definition ID in that subscription. */
export function roleDefinitionId(subscriptionId: string, role: string): string {
  if (role.startsWith('/')) return role;
  const byName = BUILT_IN_ROLES.find((r) => r.roleName.toLowerCase() === role.toLowerCase());
  const guid = byName?.name ?? (isGuid(role) ? role : undefined);
  if (!guid) throw new Error(`scenario: unknown role '${role}'`);
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

function password(): string {
  return randomBytes(24).toString('base64url');
}

/** Turns a scenario into a full state. `nowMs` is the emulated time the emulator starts at. */
export function buildState(scenario: Scenario, nowMs: number): EmulatorState {
  const tenantId = scenario.tenantId ?? DEFAULT_TENANT_ID;
  const subs = (scenario.subscriptions?.length ? scenario.subscriptions : [{}]).map((s, i) => ({
    subscriptionId: s.subscriptionId ?? (i === 0 ? DEFAULT_SUBSCRIPTION_ID : randomUUID()),
    displayName: s.displayName ?? (i === 0 ? 'Contoso Production' : `Subscription ${i + 1}`),
    tenantId,
    visibleTo: s.visibleTo ?? [],
  }));
  const defaultSub = subs[0]?.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
  const subOf = (s: string | undefined) => s ?? defaultSub;
  const longAgo = nowMs - 86_400_000;
  // `createdSecondsAgo` has one meaning everywhere: seconds before the emulator started (positive = the past).
  const createdAt = (secondsAgo: number | undefined, fallback: number, what: string) => {
    const s = secondsAgo ?? fallback;
    if (!Number.isFinite(s) || s < 0)
      throw new Error(
        `scenario: ${what}: createdSecondsAgo must be >= 0 (seconds before the emulator started), got ${secondsAgo}`,
      );
    return nowMs - s * 1000;
  };

  const resourceGroups = (scenario.resourceGroups ?? []).map((g) => ({
    subscriptionId: subOf(g.subscription),
    name: g.name,
    location: g.location ?? 'westeurope',
  }));
  const ensureRg = (subscriptionId: string, name: string, location: string) => {
    const exists = resourceGroups.some(
      (g) => g.subscriptionId === subscriptionId && g.name.toLowerCase() === name.toLowerCase(),
    );
    if (!exists) resourceGroups.push({ subscriptionId, name, location });
  };
  // Where a scenario resource lands: its subscription, its group (default: the first declared one, else
  // `fallbackRg`) and location; a group the scenario did not declare is created, so resources need no RG list.
  const place = (
    r: { subscription?: string; resourceGroup?: string; location?: string },
    fallbackRg: string,
  ) => {
    const subscriptionId = subOf(r.subscription);
    const resourceGroup = r.resourceGroup ?? resourceGroups[0]?.name ?? fallbackRg;
    const location = r.location ?? 'westeurope';
    ensureRg(subscriptionId, resourceGroup, location);
    return { subscriptionId, resourceGroup, location };
  };

  const principals: Principal[] = [];
  const callerObjectId = scenario.caller?.objectId ?? randomUUID();
  const callerClientId = scenario.caller?.clientId ?? randomUUID();
  const callerSecret = scenario.caller?.clientSecret ?? password();
  principals.push({
    objectId: callerObjectId,
    principalType: 'ServicePrincipal',
    displayName: scenario.caller?.displayName ?? 'sc-contoso-deploy',
    appId: callerClientId,
    createdAt: longAgo,
  });

  const identities: UserAssignedIdentity[] = (scenario.identities ?? []).map((i) => {
    const { subscriptionId, resourceGroup, location } = place(i, 'rg-identities');
    const principalId = i.principalId ?? randomUUID();
    principals.push({
      objectId: principalId,
      principalType: 'ServicePrincipal',
      displayName: i.name,
      createdAt: createdAt(i.createdSecondsAgo, 86_400, `identity ${i.name}`),
    });
    return {
      id: `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${i.name}`,
      name: i.name,
      subscriptionId,
      resourceGroup,
      location,
      clientId: i.clientId ?? randomUUID(),
      principalId,
      tenantId,
    };
  });

  const registries: Registry[] = (scenario.registries ?? []).map((r) => {
    const { subscriptionId, resourceGroup, location } = place(r, 'rg-registry');
    return {
      id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${r.name}`,
      name: r.name,
      subscriptionId,
      resourceGroup,
      location,
      loginServer: r.loginServer ?? `${r.name.toLowerCase()}.azurecr.io`,
      sku: r.sku ?? 'Premium',
      adminUserEnabled: r.adminUserEnabled ?? false,
      adminUsername: r.name,
      adminPasswords: r.adminPasswords ?? [password(), password()],
      roleAssignmentMode: r.roleAssignmentMode ?? 'LegacyRegistryPermissions',
      azureADAuthenticationAsArmPolicy: r.azureADAuthenticationAsArmPolicy ?? 'enabled',
      anonymousPullEnabled: r.anonymousPullEnabled ?? false,
      publicNetworkAccess: r.publicNetworkAccess ?? 'Enabled',
      networkRuleSet: r.networkRuleSet ?? { defaultAction: 'Allow', ipRules: [] },
      repositories: r.repositories ?? { app: ['latest'] },
    };
  });

  const defaultImage = (() => {
    const r = registries[0];
    if (!r) return 'mcr.microsoft.com/appsvc/staticsite:latest';
    const [repo, tags] = Object.entries(r.repositories)[0] ?? ['app', ['latest']];
    return `${r.loginServer}/${repo}:${tags[0] ?? 'latest'}`;
  })();

  const apps: App[] = [];
  for (const s of scenario.sites ?? []) {
    const { subscriptionId, resourceGroup } = place(s, 'rg-web');
    const siteId = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Web/sites/${s.name}`;
    const variants: { slot?: string; spec: ScenarioSite }[] = [{ spec: s }];
    for (const slot of s.slots ?? []) variants.push({ slot, spec: { ...s, ...s.slotOverrides?.[slot] } });
    for (const { slot, spec } of variants) {
      const id = slot ? `${siteId}/slots/${slot}` : siteId;
      const platform = spec.platform ?? 'linux';
      const image = spec.image ?? defaultImage;
      const identity: AppIdentity = { type: 'None', userAssignedIdentities: {} };
      if (spec.identity && spec.identity.type !== 'None') {
        identity.type = spec.identity.type;
        if (spec.identity.type.includes('SystemAssigned')) {
          identity.principalId = randomUUID();
          identity.tenantId = tenantId;
          principals.push({
            objectId: identity.principalId,
            principalType: 'ServicePrincipal',
            displayName: slot ? `${s.name}/slots/${slot}` : s.name,
            createdAt: longAgo,
          });
        }
        for (const name of spec.identity.userAssigned ?? []) {
          const uami = identities.find((i) => i.name === name);
          if (!uami) throw new Error(`scenario: site ${s.name} names unknown identity '${name}'`);
          identity.userAssignedIdentities[uami.id] = {
            principalId: uami.principalId,
            clientId: uami.clientId,
          };
        }
      }
      const containers: SiteContainer[] =
        platform === 'sidecar'
          ? (spec.siteContainers?.length ? spec.siteContainers : [{ name: 'main', image, isMain: true }]).map(
              (c, i) =>
                siteContainer(c, i === 0 ? image : 'mcr.microsoft.com/appsvc/middleware:stable', nowMs),
            )
          : [];
      const hostPrefix = slot ? `${s.name}__${slot}` : s.name;
      const instances = Array.from(
        { length: Math.max(1, spec.instances ?? 1) },
        (_, i) =>
          `${platform === 'windows' ? 'RD' : 'lw1sdlwk'}${(0x0a3f + i * 7 + apps.length * 13).toString(16).toUpperCase()}${platform === 'windows' ? 'C1EF4' : 'Q'}`,
      );
      const running = spec.running ?? true;
      const localCopy = spec.localCopy ?? false;
      const startRuntime = (): App['runtime'] => ({
        phase: spec.state === 'Stopped' ? 'stopped' : running ? 'running' : 'failed',
        consecutiveFailures: 0,
        attempts: 0,
        restarts: 0,
        ...(running ? { runningImage: image } : {}),
        ...(running && spec.state !== 'Stopped' ? { servingImage: image } : {}),
      });
      const instanceStates: AppInstance[] = instances.map((machineName, i) => {
        const fate = spec.instanceFates?.find((f) => f.instance === i + 1);
        const { instance: _n, localImages, ...rest } = fate ?? { instance: i + 1 };
        return {
          machineName,
          instanceId: instanceIdFor(machineName),
          localImages: localImages ?? (localCopy && running ? [image] : []),
          attempts: 0,
          addedAt: longAgo,
          ...(rest.pull ? { fate: rest } : {}),
          ...(i > 0 ? { runtime: startRuntime() } : {}),
        };
      });
      for (const f of spec.instanceFates ?? [])
        if (!Number.isInteger(f.instance) || f.instance < 1 || f.instance > instances.length)
          throw new Error(
            `scenario: site ${s.name}: instanceFates names instance ${f.instance}; it has ${instances.length} (1-based)`,
          );
      apps.push({
        id,
        siteName: s.name,
        ...(slot ? { slot } : {}),
        subscriptionId,
        resourceGroup,
        location: spec.location ?? 'West Europe',
        platform,
        ...(spec.hosting || spec.managedEnvironmentId
          ? { hosting: spec.managedEnvironmentId ? 'functionApp' : spec.hosting }
          : {}),
        ...(spec.managedEnvironmentId ? { managedEnvironmentId: spec.managedEnvironmentId } : {}),
        state: spec.state ?? 'Running',
        serverFarmId: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Web/serverfarms/asp-${s.name}`,
        identity,
        siteConfig: {
          linuxFxVersion:
            platform === 'linux' ? `DOCKER|${image}` : platform === 'sidecar' ? 'sitecontainers' : '',
          windowsFxVersion: platform === 'windows' ? `DOCKER|${image}` : null,
          acrUseManagedIdentityCreds: spec.acrUseManagedIdentityCreds ?? false,
          acrUserManagedIdentityID:
            spec.acrUserManagedIdentityID && isGuid(spec.acrUserManagedIdentityID)
              ? spec.acrUserManagedIdentityID
              : null,
          alwaysOn: !(spec.startsOnRequest ?? false),
          vnetRouteAllEnabled: false,
          numberOfWorkers: 1,
          extra: {},
        },
        appSettings: { ...(spec.appSettings ?? { WEBSITES_ENABLE_APP_SERVICE_STORAGE: 'false' }) },
        ...(!slot && s.slotSettingNames ? { slotSettingNames: [...s.slotSettingNames] } : {}),
        siteContainers: containers,
        scmBasicAuthAllowed: spec.scmBasicAuthAllowed ?? true,
        ftpBasicAuthAllowed: true,
        publishingUserName: `$${hostPrefix}`,
        publishingPassword: password(),
        vnetImagePullEnabled: spec.vnetImagePullEnabled ?? false,
        virtualNetworkSubnetId: spec.virtualNetworkSubnetId ?? null,
        startsOnRequest: spec.startsOnRequest ?? false,
        instances,
        instanceStates,
        localCopy,
        siteStatus:
          spec.siteStatus ?? (platform !== 'windows' && (spec.logFormat ?? 'classic') === 'platform2024'),
        logFormat: spec.logFormat ?? (platform === 'windows' ? 'windows' : 'classic'),
        containerCrashes: spec.containerCrashes ?? 0,
        sitePort: 0,
        scmPort: 0,
        runtime: {
          ...startRuntime(),
          availability: [
            {
              at: nowMs,
              ...(spec.state === 'Stopped'
                ? { status: 403 as const, reason: 'stopped' as const }
                : running
                  ? { status: 200 as const, reason: 'serving' as const }
                  : { status: 503 as const, reason: 'pullFailed' as const }),
            },
          ],
        },
        logs: [],
        lastModifiedAt: longAgo,
      });
      const app = apps[apps.length - 1];
      if (app && running && spec.state !== 'Stopped') {
        // The start that made it run, two hours ago: old lines a log reader must not mistake for new ones.
        instances.forEach((machineName, instanceIndex) => {
          const lines = pullAttemptLines({
            format: app.logFormat,
            startAt: nowMs - 2 * 3600_000,
            siteName: hostPrefix,
            image,
            outcome: 'succeeded',
            pullDurationMs: 8000,
            instanceIndex,
          });
          app.logs.push({ machineName, source: 'platform', lines });
        });
      }
      if (app && spec.seedLogLines?.length) {
        const first = app.logs.find((l) => l.machineName === instances[0] && l.source === 'platform');
        const seeded = spec.seedLogLines.map((l) =>
          seededLine(app.logFormat, nowMs - l.secondsAgo * 1000, l.text),
        );
        if (first) first.lines = [...first.lines, ...seeded].sort((a, b) => a.at - b.at);
        else app.logs.push({ machineName: instances[0] ?? 'worker', source: 'platform', lines: seeded });
      }
    }
  }

  const applications = [
    {
      clientId: callerClientId,
      objectId: callerObjectId,
      displayName: scenario.caller?.displayName ?? 'sc-contoso-deploy',
      secrets: [callerSecret],
      certificatesPem: scenario.caller?.certificatesPem ?? [],
      federatedCredentials: scenario.caller?.federatedCredentials ?? [],
    },
  ];

  const pipeline = {
    jobAccessToken: scenario.pipeline?.jobAccessToken ?? password(),
    organization: scenario.pipeline?.organization ?? 'contoso',
    projectId: scenario.pipeline?.projectId ?? randomUUID(),
    serviceConnectionIds: scenario.pipeline?.serviceConnectionIds ?? [randomUUID()],
  };
  // The caller signs in with a secret by default; workload identity federation also works for the seeded
  // pipeline's service connection unless the scenario lists its own federated credentials.
  if (!scenario.caller?.federatedCredentials && applications[0]) {
    applications[0].federatedCredentials = pipeline.serviceConnectionIds.map((id) =>
      federatedCredentialFor(pipeline.organization, pipeline.projectId, id),
    );
  }

  const state: EmulatorState = {
    scenarioName: scenario.name ?? 'unnamed',
    wire: { ...scenario.wire },
    cloud: scenario.cloud ?? 'AzureCloud',
    apiVersions: { ...scenario.apiVersions },
    kuduAcceptsArmAudience:
      scenario.kuduAcceptsArmAudience ?? CLOUDS[scenario.cloud ?? 'AzureCloud'].kuduAcceptsArmAudience,
    tenantId,
    subscriptions: subs,
    managementGroups: (scenario.managementGroups ?? []).map((g, i, all) => ({
      name: g.name,
      ...(g.parent ? { parent: g.parent } : {}),
      // No group lists a subscription: the first subscription sits under the first group.
      subscriptions:
        g.subscriptions ?? (i === 0 && !all.some((x) => x.subscriptions?.length) ? [defaultSub] : []),
    })),
    resourceGroups,
    apps,
    identities,
    registries,
    principals,
    roleAssignments: [],
    customRoleDefinitions: scenario.customRoleDefinitions ?? [],
    applications,
    agentIdentities: scenario.agentIdentities ?? [],
    pipeline,
    defaultClient: { clientId: callerClientId, clientSecret: callerSecret, objectId: callerObjectId },
    delays: { ...DEFAULT_DELAYS, ...scenario.delays },
    paging: { ...DEFAULT_PAGING, ...scenario.paging },
    faults: (scenario.faults ?? []).map((f) => ({ ...f, matched: 0 })),
    kuduRateLimit: scenario.kuduRateLimit ?? null,
    siteOperations: [],
    inputs: { ...scenario.inputs },
    externalImages: (scenario.externalImages ?? []).map((x) => ({ ...x })),
    events: (scenario.events ?? []).map((event) => ({ event: { ...event } })),
    runs: { current: 1, firstRequestAt: {}, configWriteAt: {} },
  };
  // A managed-identity service connection signs in as the agent machine's identity: unless the scenario lists
  // the machine's identities itself, the caller (with its roles) is that identity.
  if (scenario.connection?.scheme === 'ManagedServiceIdentity' && !scenario.agentIdentities) {
    state.agentIdentities = [{ clientId: callerClientId, objectId: callerObjectId, default: true }];
  }

  const callerRoles = scenario.caller?.roles ?? [{ role: 'Owner', scope: 'subscription' }];
  for (const r of callerRoles) {
    addAssignment(
      state,
      { principal: 'caller', role: r.role, scope: r.scope, createdSecondsAgo: 86_400 },
      nowMs,
    );
  }
  for (const r of scenario.roleAssignments ?? []) addAssignment(state, r, nowMs);
  return state;
}

function siteContainer(c: Partial<SiteContainer>, image: string, nowMs: number): SiteContainer {
  return {
    name: c.name ?? 'main',
    image: c.image ?? image,
    targetPort: c.targetPort ?? '8080',
    isMain: c.isMain ?? false,
    startUpCommand: c.startUpCommand ?? null,
    authType: c.authType ?? 'Anonymous',
    userName: c.userName ?? null,
    passwordSecret: c.passwordSecret ?? null,
    userManagedIdentityClientId: c.userManagedIdentityClientId ?? null,
    inheritAppSettingsAndConnectionStrings: c.inheritAppSettingsAndConnectionStrings ?? true,
    volumeMounts: c.volumeMounts ?? [],
    environmentVariables: c.environmentVariables ?? [],
    createdAt: nowMs - 86_400_000,
    lastModifiedAt: nowMs - 86_400_000,
  };
}

/** Resolves a scenario principal reference (`caller`, `site:<name>[/<slot>]`, `identity:<name>`, or an ID). */
export function resolvePrincipal(state: EmulatorState, ref: string): string {
  if (ref === 'caller') return state.defaultClient.objectId;
  if (ref.startsWith('site:')) {
    const [site, slot] = ref.slice(5).split('/');
    const app = state.apps.find((a) => a.siteName === site && a.slot === slot);
    const pid = app?.identity.principalId;
    if (!pid) throw new Error(`scenario: ${ref} has no system identity`);
    return pid;
  }
  if (ref.startsWith('identity:')) {
    const uami = state.identities.find((i) => i.name === ref.slice(9));
    if (!uami) throw new Error(`scenario: unknown identity ${ref}`);
    return uami.principalId;
  }
  return ref;
}

/** Resolves a scenario scope reference (`subscription`, `subscription:<id>`, `rg:<name>`, `registry:<name>`, or a full scope). */
export function resolveScope(state: EmulatorState, ref: string): string {
  const sub = state.subscriptions[0]?.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
  if (ref === 'subscription') return `/subscriptions/${sub}`;
  if (ref.startsWith('mg:')) return `/providers/Microsoft.Management/managementGroups/${ref.slice(3)}`;
  if (ref.startsWith('subscription:')) return `/subscriptions/${ref.slice(13)}`;
  if (ref.startsWith('rg:')) return `/subscriptions/${sub}/resourceGroups/${ref.slice(3)}`;
  if (ref.startsWith('registry:')) {
    const r = state.registries.find((x) => x.name === ref.slice(9));
    if (!r) throw new Error(`scenario: unknown registry ${ref}`);
    return r.id;
  }
  return ref;
}

function addAssignment(state: EmulatorState, r: ScenarioRoleAssignment, nowMs: number): void {
  const scope = resolveScope(state, r.scope);
  const sub = /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
  const name = r.name ?? randomUUID();
  const principalId = resolvePrincipal(state, r.principal);
  const assignment: RoleAssignment = {
    id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
    name,
    scope,
    // Outside a subscription (a management group) a role definition has the tenant form.
    roleDefinitionId: sub
      ? roleDefinitionId(sub, r.role)
      : roleDefinitionId('', r.role).replace(/^\/subscriptions\/\/?/, '/'),
    principalId,
    principalType:
      state.principals.find((p) => p.objectId === principalId)?.principalType ?? 'ServicePrincipal',
    condition: r.condition ?? null,
    conditionVersion: r.condition ? '2.0' : null,
    createdAt: nowMs - (r.createdSecondsAgo ?? 3600) * 1000,
  };
  if (!Number.isFinite(r.createdSecondsAgo ?? 0) || (r.createdSecondsAgo ?? 0) < 0) {
    throw new Error(
      `scenario: role assignment ${r.role} for ${r.principal}: createdSecondsAgo must be >= 0 (seconds in the past), got ${r.createdSecondsAgo}; for a later grant use an addRoleAssignment event`,
    );
  }
  state.roleAssignments.push(assignment);
}

const STAMPED = /^(\d{4}-\d{2}-\d{2}T|\d{2}\/\d{2}\/\d{4} )/;

/** A seeded log line at `at`: `{time}` becomes its timestamp; a text without one gets it prefixed. */
function seededLine(format: LogFormat, at: number, text: string): LogLine {
  const stamp = logTimestamp(format, at);
  if (text.includes('{time}')) return { at, text: text.replaceAll('{time}', stamp) };
  return { at, text: STAMPED.test(text) ? text : `${stamp} ${text}` };
}
