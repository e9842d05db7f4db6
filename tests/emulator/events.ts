/**
 * Scenario events: the world changing while (or between) the task runs — a deploy step rewriting the site
 * config, a slot swap, an admin removing a grant, CI pushing a tag. server.ts decides WHEN an event is due (on
 * the emulated clock, counted from a run's first request) and calls `applyEvent` with the clock held at the due
 * time; this file decides WHAT it does to the state. Nothing here runs on timers.
 */
import { randomUUID } from 'node:crypto';
import type { App, EmulatorState, EventRecord, Registry, ScenarioEvent } from './model';
import { isGuid, roleGuid, sameId } from './model';
import { acceptableClientId, addInstance, parseImage } from './platform';
import type { PlatformHooks } from './router';
import { resolvePrincipal, resolveScope, roleDefinitionId } from './scenario';

export const EVENT_KINDS = [
  'setSiteConfig',
  'setAppSettings',
  'swapSlots',
  'addRoleAssignment',
  'deleteRoleAssignment',
  'setRegistry',
  'pushTag',
  'deleteTag',
  'stopSite',
  'startSite',
  'scaleOut',
  'scaleIn',
  'moveInstance',
] as const satisfies readonly ScenarioEvent['kind'][];

/**
 * Settings a swap leaves with the slot (App Service "settings that are not swapped"). The managed-identity pull
 * settings are among them: "Managed identities and related settings" never swap (the swap-settings include of
 * MicrosoftDocs/azure-docs, `includes/app-service-deployment-slots-settings.md`), and users observe
 * `acrUseManagedIdentityCreds` staying with its slot (MicrosoftDocs/azure-docs#91449).
 * docs/azure-behaviour.md#slot-swaps.
 */
const STICKY_CONFIG = new Set([
  'alwaysOn',
  'vnetRouteAllEnabled',
  'numberOfWorkers',
  'acrUseManagedIdentityCreds',
  'acrUserManagedIdentityID',
]);

function fail(index: number, event: { kind?: unknown }, message: string): never {
  throw new Error(`scenario: events[${index}] (${String(event.kind)}): ${message}`);
}

/** The app an `AppRef` names (`<site>` or `<site>/<slot>`, optionally `site:`-prefixed); default the first site. */
export function findAppRef(state: EmulatorState, ref: string | undefined): App | undefined {
  if (ref === undefined) return state.apps.find((a) => !a.slot);
  const [site, slot] = ref.replace(/^site:/, '').split('/');
  const production = !slot || slot.toLowerCase() === 'production';
  return state.apps.find(
    (a) =>
      a.siteName.toLowerCase() === (site ?? '').toLowerCase() &&
      (production ? !a.slot : a.slot?.toLowerCase() === slot.toLowerCase()),
  );
}

function registryOf(state: EmulatorState, name: string | undefined): Registry | undefined {
  if (name === undefined) return state.registries[0];
  return state.registries.find(
    (r) => r.name.toLowerCase() === name.toLowerCase() || r.loginServer.toLowerCase() === name.toLowerCase(),
  );
}

/**
 * Checks every event when the emulator starts, so a typo fails the scenario at once instead of silently never
 * happening. Principals are resolved only when an event fires (`site:x` may name an identity the task creates).
 */
export function checkEvents(state: EmulatorState): void {
  state.events.forEach(({ event }, i) => {
    const e = event as ScenarioEvent & Record<string, unknown>;
    if (!EVENT_KINDS.includes(e.kind)) fail(i, e, `unknown kind; expected one of ${EVENT_KINDS.join(', ')}`);
    const timed = e.atSeconds !== undefined;
    const between = e.beforeRun !== undefined;
    if (timed === between)
      fail(i, e, 'give exactly one of atSeconds (during a run) or beforeRun (between runs)');
    if (timed && !(typeof e.atSeconds === 'number' && e.atSeconds >= 0))
      fail(i, e, `atSeconds must be a number >= 0, got ${JSON.stringify(e.atSeconds)}`);
    if (between && !(Number.isInteger(e.beforeRun) && (e.beforeRun as number) >= 1))
      fail(i, e, `beforeRun must be a run number >= 1, got ${JSON.stringify(e.beforeRun)}`);
    if (e.from !== undefined && !(timed && (e.from === 'firstRequest' || e.from === 'configWrite')))
      fail(
        i,
        e,
        `from goes with atSeconds and is firstRequest or configWrite, got ${JSON.stringify(e.from)}`,
      );
    if (e.run !== undefined && !(Number.isInteger(e.run) && e.run >= 1))
      fail(i, e, `run must be a run number >= 1, got ${JSON.stringify(e.run)}`);
    switch (e.kind) {
      case 'setSiteConfig':
      case 'setAppSettings':
      case 'stopSite':
      case 'startSite':
        if (!findAppRef(state, e.target))
          fail(i, e, `no app '${e.target}' (use "<site>" or "<site>/<slot>")`);
        if (e.kind === 'setSiteConfig' && typeof e.siteConfig !== 'object')
          fail(i, e, 'siteConfig must be an object');
        if (e.kind === 'setAppSettings' && typeof e.appSettings !== 'object')
          fail(i, e, 'appSettings must be an object');
        break;
      case 'scaleOut':
      case 'scaleIn':
      case 'moveInstance': {
        const app = findAppRef(state, e.target);
        if (!app) fail(i, e, `no app '${e.target}' (use "<site>" or "<site>/<slot>")`);
        const count = e.kind === 'moveInstance' ? 1 : (e.count ?? 1);
        if (!(Number.isInteger(count) && count >= 1))
          fail(i, e, `count must be a whole number >= 1, got ${e.count}`);
        if (e.kind === 'moveInstance') {
          const n = e.instance ?? 1;
          if (!(Number.isInteger(n) && n >= 1 && n <= app.instances.length))
            fail(i, e, `instance must be 1..${app.instances.length} (1-based), got ${e.instance}`);
        }
        if (e.kind === 'scaleIn' && count >= app.instances.length)
          fail(i, e, `scaleIn would leave no instance (the app has ${app.instances.length})`);
        break;
      }
      case 'swapSlots': {
        const site = e.site ?? state.apps.find((a) => !a.slot)?.siteName;
        for (const slot of [e.source, e.target ?? 'production'])
          if (!findAppRef(state, `${site}/${slot}`)) fail(i, e, `site '${site}' has no slot '${slot}'`);
        break;
      }
      case 'addRoleAssignment':
        if (!e.principal || !e.role || !e.scope) fail(i, e, 'principal, role and scope are required');
        break;
      case 'deleteRoleAssignment':
        if (!e.principal && !e.role && !e.scope && !e.name)
          fail(i, e, 'name at least one of principal, role, scope or name');
        break;
      case 'setRegistry':
        if (!registryOf(state, e.registry)) fail(i, e, `no registry '${e.registry}'`);
        if (typeof e.properties !== 'object') fail(i, e, 'properties must be an object');
        break;
      case 'pushTag':
      case 'deleteTag':
        if (!e.image && !(e.repository && e.tag)) fail(i, e, 'give image, or repository and tag');
        break;
    }
  });
}

/** Which run's first request an `atSeconds` event counts from. */
export function eventRun(event: ScenarioEvent): number {
  return event.run ?? 1;
}

/**
 * Applies one event at emulated time `at` (the platform's clock is held there by the caller). Returns a short
 * description of what changed; throws when a reference cannot be resolved now.
 */
export function applyEvent(
  state: EmulatorState,
  platform: PlatformHooks,
  event: ScenarioEvent,
  at: number,
): string {
  switch (event.kind) {
    case 'setSiteConfig': {
      const app = mustApp(state, event.target);
      const changed = mergeSiteConfig(app, event.siteConfig);
      return touched(app, platform, at, changed, `config of ${label(app)}`);
    }
    case 'setAppSettings': {
      const app = mustApp(state, event.target);
      const before = JSON.stringify(app.appSettings);
      for (const [k, v] of Object.entries(event.appSettings)) {
        if (v === null) delete app.appSettings[k];
        else app.appSettings[k] = String(v);
      }
      return touched(
        app,
        platform,
        at,
        JSON.stringify(app.appSettings) !== before,
        `app settings of ${label(app)}`,
      );
    }
    case 'swapSlots': {
      const site = event.site ?? state.apps.find((a) => !a.slot)?.siteName;
      const a = mustApp(state, `${site}/${event.source}`);
      const b = mustApp(state, `${site}/${event.target ?? 'production'}`);
      swap(a, b, findAppRef(state, site)?.slotSettingNames ?? []);
      a.lastModifiedAt = at;
      b.lastModifiedAt = at;
      return `swapped ${label(a)} and ${label(b)}`;
    }
    case 'addRoleAssignment': {
      const scope = resolveScope(state, event.scope);
      const principalId = resolvePrincipal(state, event.principal);
      const name = event.name ?? randomUUID();
      const sub =
        /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1] ?? state.subscriptions[0]?.subscriptionId ?? '';
      state.roleAssignments.push({
        id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
        name,
        scope,
        roleDefinitionId: roleDefinitionId(sub, event.role),
        principalId,
        principalType:
          state.principals.find((p) => p.objectId === principalId)?.principalType ?? 'ServicePrincipal',
        condition: event.condition ?? null,
        conditionVersion: event.condition ? '2.0' : null,
        createdAt: at,
      });
      return `granted ${event.role} to ${principalId} at ${scope}`;
    }
    case 'deleteRoleAssignment': {
      const principalId = event.principal ? resolvePrincipal(state, event.principal) : undefined;
      const scope = event.scope ? resolveScope(state, event.scope) : undefined;
      const role = event.role
        ? isGuid(event.role)
          ? event.role.toLowerCase()
          : roleGuid(roleDefinitionId(state.subscriptions[0]?.subscriptionId ?? '', event.role))
        : undefined;
      const before = state.roleAssignments.length;
      state.roleAssignments = state.roleAssignments.filter(
        (r) =>
          !(
            (principalId === undefined || r.principalId.toLowerCase() === principalId.toLowerCase()) &&
            (scope === undefined || sameId(r.scope, scope)) &&
            (role === undefined || roleGuid(r.roleDefinitionId) === role) &&
            (event.name === undefined || r.name.toLowerCase() === event.name.toLowerCase())
          ),
      );
      return `removed ${before - state.roleAssignments.length} role assignment(s)`;
    }
    case 'setRegistry': {
      const registry = registryOf(state, event.registry);
      if (!registry) throw new Error(`no registry '${event.registry}'`);
      Object.assign(registry, event.properties);
      return `registry ${registry.name}: ${Object.keys(event.properties).join(', ')}`;
    }
    case 'pushTag':
    case 'deleteTag': {
      const ref = tagRef(state, event);
      const tags = ref.registry.repositories[ref.repository] ?? [];
      if (event.kind === 'pushTag') {
        if (!tags.includes(ref.tag)) tags.push(ref.tag);
        ref.registry.repositories[ref.repository] = tags;
        return `pushed ${ref.registry.loginServer}/${ref.repository}:${ref.tag}`;
      }
      ref.registry.repositories[ref.repository] = tags.filter((t) => t !== ref.tag);
      return `deleted ${ref.registry.loginServer}/${ref.repository}:${ref.tag}`;
    }
    case 'stopSite': {
      const app = mustApp(state, event.target);
      platform.stop(app);
      app.lastModifiedAt = at;
      return `stopped ${label(app)}`;
    }
    case 'startSite': {
      const app = mustApp(state, event.target);
      platform.start(app);
      app.lastModifiedAt = at;
      return `started ${label(app)}`;
    }
    case 'scaleOut': {
      // New workers join with no local copy and start the app themselves; the others keep running.
      const app = mustApp(state, event.target);
      platform.advance(app);
      const added = Array.from({ length: event.count ?? 1 }, () => addInstance(app, at, event.fate));
      return `scaled ${label(app)} out to ${app.instances.length} instances (new: ${added.map((x) => x.machineName).join(', ')})`;
    }
    case 'scaleIn': {
      const app = mustApp(state, event.target);
      platform.advance(app);
      const count = Math.min(event.count ?? 1, app.instances.length - 1);
      const removed = app.instances.splice(app.instances.length - count, count);
      app.instanceStates.splice(app.instanceStates.length - count, count);
      for (const machine of removed) silence(app, machine, at);
      return `scaled ${label(app)} in to ${app.instances.length} instances (removed: ${removed.join(', ')})`;
    }
    case 'moveInstance': {
      // The platform moves an instance to another machine (maintenance, a failed host): the new one holds no
      // image and pulls with today's settings; the old machine's log file stays in /home/LogFiles.
      const app = mustApp(state, event.target);
      platform.advance(app);
      const index = (event.instance ?? 1) - 1;
      const old = app.instances[index];
      const fresh = addInstance(app, at, event.fate);
      app.instances.pop();
      app.instanceStates.pop();
      app.instances[index] = fresh.machineName;
      if (index === 0) {
        // Instance 1 keeps its cycle in app.runtime: reset it in place to the new machine's.
        const rt = fresh.runtime as App['runtime'];
        delete fresh.runtime;
        app.runtime = { ...rt, restarts: app.runtime.restarts, attempts: app.runtime.attempts };
      }
      app.instanceStates[index] = fresh;
      if (old) silence(app, old, at);
      return `moved instance ${index + 1} of ${label(app)} from ${old} to ${fresh.machineName}`;
    }
  }
}

/** A machine that left writes nothing more: the lines its attempt would still have written never appear. */
function silence(app: App, machine: string, at: number): void {
  for (const log of app.logs)
    if (log.machineName === machine) log.lines = log.lines.filter((l) => l.at <= at);
}

function label(app: App): string {
  return app.slot ? `${app.siteName}/${app.slot}` : app.siteName;
}

function mustApp(state: EmulatorState, ref: string | undefined): App {
  const app = findAppRef(state, ref);
  if (!app) throw new Error(`no app '${ref}'`);
  return app;
}

function touched(app: App, platform: PlatformHooks, at: number, changed: boolean, what: string): string {
  if (!changed) return `${what} unchanged`;
  app.lastModifiedAt = at;
  // As a write through ARM would: a changed config or app setting restarts the app.
  platform.restart(app, 'event');
  return `changed ${what} (restart)`;
}

/** Merges a partial siteConfig the way config/web PATCH stores it (keys case-insensitive). */
function mergeSiteConfig(app: App, props: Record<string, unknown>): boolean {
  const before = JSON.stringify(app.siteConfig);
  const c = app.siteConfig;
  for (const [key, value] of Object.entries(props)) {
    switch (key.toLowerCase()) {
      case 'linuxfxversion':
        c.linuxFxVersion = typeof value === 'string' ? value : '';
        if (app.platform !== 'windows')
          app.platform = c.linuxFxVersion.toLowerCase() === 'sitecontainers' ? 'sidecar' : 'linux';
        break;
      case 'windowsfxversion':
        c.windowsFxVersion = typeof value === 'string' ? value : null;
        break;
      case 'acrusemanagedidentitycreds':
        c.acrUseManagedIdentityCreds = value === true || String(value).toLowerCase() === 'true';
        break;
      case 'acrusermanagedidentityid':
        c.acrUserManagedIdentityID = acceptableClientId(value);
        break;
      case 'alwayson':
        c.alwaysOn = value === true;
        app.startsOnRequest = !c.alwaysOn;
        break;
      case 'vnetrouteallenabled':
        c.vnetRouteAllEnabled = value === true;
        break;
      case 'numberofworkers':
        if (typeof value === 'number') c.numberOfWorkers = value;
        break;
      default:
        if (value === null) delete c.extra[key];
        else c.extra[key] = value;
    }
  }
  return JSON.stringify(app.siteConfig) !== before;
}

/**
 * A slot swap: the configuration (container image, registry credentials settings, app settings, sidecars) and
 * the running containers trade places; what stays with the slot stays (app settings marked as slot settings, identity and its pull settings
 * `acrUseManagedIdentityCreds` / `acrUserManagedIdentityID`, Always On, VNet routing, scale, host names, logs). See https://learn.microsoft.com/azure/app-service/deploy-staging-slots#which-settings-are-swapped
 */
function swap(a: App, b: App, slotSettingNames: readonly string[]): void {
  const configA = a.siteConfig;
  const configB = b.siteConfig;
  const moving = (c: App['siteConfig']) =>
    Object.fromEntries(Object.entries(c).filter(([k]) => !STICKY_CONFIG.has(k)));
  const nextA = { ...configA, ...moving(configB) } as App['siteConfig'];
  const nextB = { ...configB, ...moving(configA) } as App['siteConfig'];
  a.siteConfig = nextA;
  b.siteConfig = nextB;
  // App settings move, except those marked as slot settings (config/slotConfigNames): each slot keeps its own
  // value of those, or their absence ("Settings that are not swapped" in deploy-staging-slots).
  const sticky = new Set(slotSettingNames.map((n) => n.toLowerCase()));
  const swapped = (incoming: Record<string, string>, own: Record<string, string>) => ({
    ...Object.fromEntries(Object.entries(incoming).filter(([k]) => !sticky.has(k.toLowerCase()))),
    ...Object.fromEntries(Object.entries(own).filter(([k]) => sticky.has(k.toLowerCase()))),
  });
  [a.appSettings, b.appSettings] = [
    swapped(b.appSettings, a.appSettings),
    swapped(a.appSettings, b.appSettings),
  ];
  [a.siteContainers, b.siteContainers] = [b.siteContainers, a.siteContainers];
  [a.platform, b.platform] = [b.platform, a.platform];
  [a.runtime, b.runtime] = [b.runtime, a.runtime];
  // The other instances' containers trade places too (as far as both slots have that many instances).
  for (let i = 1; i < Math.min(a.instanceStates.length, b.instanceStates.length); i += 1) {
    const x = a.instanceStates[i];
    const y = b.instanceStates[i];
    if (x && y) [x.runtime, y.runtime] = [y.runtime, x.runtime];
  }
}

function tagRef(
  state: EmulatorState,
  event: { registry?: string; repository?: string; tag?: string; image?: string },
): { registry: Registry; repository: string; tag: string } {
  if (event.image) {
    const { host, repository, tag } = parseImage(event.image);
    const registry = registryOf(state, host);
    if (!registry) throw new Error(`no registry with login server '${host}'`);
    return { registry, repository: repoKey(registry, repository), tag };
  }
  const registry = registryOf(state, event.registry);
  if (!registry) throw new Error(`no registry '${event.registry ?? '(first)'}'`);
  return { registry, repository: repoKey(registry, event.repository ?? ''), tag: event.tag ?? 'latest' };
}

/** The repository key as the registry already spells it (names compare case-insensitively). */
function repoKey(registry: Registry, repository: string): string {
  return (
    Object.keys(registry.repositories).find((r) => r.toLowerCase() === repository.toLowerCase()) ?? repository
  );
}

/** Events due by `now`, in due-time order, each with its due time (emulated ms). */
export function dueEvents(state: EmulatorState, now: number): { record: EventRecord; at: number }[] {
  const due: { record: EventRecord; at: number }[] = [];
  for (const record of state.events) {
    if (record.firedAt !== undefined || record.error !== undefined) continue;
    const e = record.event;
    if (e.atSeconds === undefined) continue;
    const zeros = e.from === 'configWrite' ? state.runs.configWriteAt : state.runs.firstRequestAt;
    const start = zeros[eventRun(e)];
    if (start === undefined) continue;
    const at = start + e.atSeconds * 1000;
    if (at <= now) due.push({ record, at });
  }
  return due.sort((x, y) => x.at - y.at);
}
