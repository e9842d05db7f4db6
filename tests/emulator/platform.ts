/**
 * The App Service platform model: the start cycle of each app (restart → pending → pull → start or fail →
 * back-off → retry) and the pull decision (tag exists, credential works, network allows it). Time is the
 * emulated clock; nothing runs on timers. `advance` replays everything due up to "now", so a test that moves
 * the clock by ten minutes sees exactly the attempts and log lines ten minutes would have produced.
 *
 * Log text comes from the line generator (helper C's log-lines.ts); this file only decides what happened and
 * when, and files lines under each worker instance.
 */

import { createHash } from 'node:crypto';
import type { PullLogInput, PullOutcome } from './log-lines';
import type {
  App,
  AppInstance,
  AppRuntime,
  AvailabilityMark,
  AvailabilityReason,
  EmulatorState,
  InstanceFate,
  LogFormat,
  LogLine,
  Registry,
  RuntimePhase,
} from './model';
import { isGuid } from './model';
import { pullAccess } from './roles';
import type { PlatformHooks } from './router';
import { referenceExists } from './routes/registry-data-plane';

/** The text source (helper C's log-lines.ts satisfies it). */
export interface LineSource {
  pullAttemptLines(input: PullLogInput): LogLine[];
  sidecarNoiseLines(format: LogFormat, at: number, siteName: string): LogLine[];
}

/** Why a pull would fail (or not), decided from the state at a given time. */
export interface PullVerdict {
  outcome: 'succeeded' | 'unauthorized' | 'notFound' | 'networkDenied';
  image: string;
  registry?: Registry;
  /** A human explanation for tests and the windowsFxVersion validation error. */
  reason: string;
}

export interface Platform extends PlatformHooks {
  /** A request reached the site host: starts a pending (or retry-due) start. */
  hit(app: App): void;
  advanceAll(): void;
  evaluatePull(app: App, at: number, image?: string): PullVerdict;
  /** What the site host answers: 200 while a machine's container serves, 503 while none does, 403 stopped. */
  siteStatus(app: App): number;
}

/** Records what the site host answers from `at` on (only changes are kept; marks stay in time order). */
export function markAvailability(app: App, at: number, reason: AvailabilityReason): void {
  const status: AvailabilityMark['status'] = reason === 'serving' ? 200 : reason === 'stopped' ? 403 : 503;
  const marks = app.runtime.availability ?? [];
  app.runtime.availability = marks;
  let i = marks.length;
  while (i > 0 && (marks[i - 1] as AvailabilityMark).at > at) i -= 1;
  const before = marks[i - 1];
  if (before && before.status === status && before.reason === reason) return;
  marks.splice(i, 0, { at, status, reason });
}

/** What the site host answered at `at` (emulated ms), by the recorded marks; undefined before the first. */
export function availabilityAt(app: App, at: number): AvailabilityMark | undefined {
  let found: AvailabilityMark | undefined;
  for (const m of app.runtime.availability ?? []) {
    if (m.at > at) break;
    found = m;
  }
  return found;
}

/**
 * Why the site answers what it answers now, over every machine: one serving container keeps it up (the front end
 * routes to it); with none, a failed pull on a machine is why, else a failed start, else a restart under way.
 */
export function siteReason(app: App): AvailabilityReason {
  if (app.state === 'Stopped') return 'stopped';
  const rts = app.instances.map((_, i) => runtimeOf(app, i));
  if (rts.every((r) => r.phase === 'stopped')) return 'stopped';
  if (rts.some((r) => r.servingImage !== undefined)) return 'serving';
  const failed = rts.filter((r) => r.phase === 'failed' || r.phase === 'blocked');
  if (failed.some((r) => r.attemptOutcome !== 'succeededButStartFailed')) return 'pullFailed';
  if (failed.length > 0) return 'startFailed';
  return 'restarting';
}

/** The image an app runs: `DOCKER|x` from linuxFxVersion/windowsFxVersion, or the main sidecar's image. */
export function configuredImage(app: App): string {
  if (app.platform === 'sidecar' || app.siteConfig.linuxFxVersion.toLowerCase() === 'sitecontainers') {
    const main = app.siteContainers.find((c) => c.isMain) ?? app.siteContainers[0];
    return main?.image ?? '';
  }
  const fx =
    app.platform === 'windows' ? (app.siteConfig.windowsFxVersion ?? '') : app.siteConfig.linuxFxVersion;
  const m = /^docker\|(.+)$/i.exec(fx);
  return m?.[1] ?? '';
}

/** Splits `host/repo/path:tag` (or `@sha256:...`) into its parts; no host → Docker Hub. */
export function parseImage(image: string): { host: string; repository: string; tag: string } {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const slash = withoutDigest.indexOf('/');
  const first = slash >= 0 ? withoutDigest.slice(0, slash) : '';
  const hasHost = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const host = hasHost ? first : 'docker.io';
  const rest = hasHost ? withoutDigest.slice(slash + 1) : withoutDigest;
  const colon = rest.lastIndexOf(':');
  const repository = colon >= 0 ? rest.slice(0, colon) : rest;
  const tag = digest ?? (colon >= 0 ? rest.slice(colon + 1) : 'latest');
  return { host, repository, tag };
}

/** `myapp` for the production slot, `myapp__staging` for a slot (as the platform names containers). */
export function platformSiteName(app: App): string {
  return app.slot ? `${app.siteName}__${app.slot}` : app.siteName;
}

function hasSystemIdentity(app: App): boolean {
  return app.identity.type.includes('SystemAssigned') && !!app.identity.principalId;
}

function attachedByClientId(app: App, clientId: string): string | undefined {
  const entry = Object.values(app.identity.userAssignedIdentities).find(
    (v) => v.clientId.toLowerCase() === clientId.toLowerCase(),
  );
  return app.identity.type.includes('UserAssigned') ? entry?.principalId : undefined;
}

type Credential =
  | { kind: 'identity'; principalId: string | undefined; label: string }
  | { kind: 'password'; userName: string | undefined; password: string | undefined }
  | { kind: 'anonymous' };

function credentialFor(app: App, image: string): Credential {
  if (app.platform === 'sidecar') {
    const c = app.siteContainers.find((x) => x.image === image) ?? app.siteContainers[0];
    switch (c?.authType) {
      case 'SystemIdentity':
        return {
          kind: 'identity',
          principalId: hasSystemIdentity(app) ? app.identity.principalId : undefined,
          label: 'system',
        };
      case 'UserAssigned': {
        const cid = c.userManagedIdentityClientId ?? '';
        return { kind: 'identity', principalId: attachedByClientId(app, cid), label: `client ${cid}` };
      }
      case 'UserCredentials':
        return {
          kind: 'password',
          userName: c.userName ?? undefined,
          password: c.passwordSecret ?? undefined,
        };
      default:
        return { kind: 'anonymous' };
    }
  }
  if (app.siteConfig.acrUseManagedIdentityCreds) {
    const cid = app.siteConfig.acrUserManagedIdentityID;
    if (cid) return { kind: 'identity', principalId: attachedByClientId(app, cid), label: `client ${cid}` };
    return {
      kind: 'identity',
      principalId: hasSystemIdentity(app) ? app.identity.principalId : undefined,
      label: 'system',
    };
  }
  const user = app.appSettings.DOCKER_REGISTRY_SERVER_USERNAME;
  const pass = app.appSettings.DOCKER_REGISTRY_SERVER_PASSWORD;
  if (user !== undefined || pass !== undefined) return { kind: 'password', userName: user, password: pass };
  return { kind: 'anonymous' };
}

/** Decides one image's pull: network first, then the credential, then whether the tag exists. */
export function evaluateImage(state: EmulatorState, app: App, image: string, at: number): PullVerdict {
  const { host, repository, tag } = parseImage(image);
  const registry = state.registries.find((r) => r.loginServer.toLowerCase() === host.toLowerCase());
  if (!image) return { outcome: 'notFound', image, reason: 'no image configured' };
  if (!registry) return evaluateExternal(state, app, image);
  const closed =
    registry.publicNetworkAccess === 'Disabled' || registry.networkRuleSet.defaultAction === 'Deny';
  if (closed && !(app.vnetImagePullEnabled && app.virtualNetworkSubnetId)) {
    return { outcome: 'networkDenied', image, registry, reason: 'registry refuses public network access' };
  }
  const cred = credentialFor(app, image);
  const denied = (reason: string): PullVerdict => ({ outcome: 'unauthorized', image, registry, reason });
  if (cred.kind === 'identity') {
    if (!cred.principalId) return denied(`managed identity (${cred.label}) is not attached to the app`);
    if (registry.azureADAuthenticationAsArmPolicy === 'disabled') {
      return denied(
        'registry does not accept ARM-audience tokens (azureADAuthenticationAsArmPolicy disabled)',
      );
    }
    const access = pullAccess(state, cred.principalId, registry.id, at, repository);
    if (access !== 'granted') return denied(`pull role for ${cred.principalId}: ${access}`);
  } else if (cred.kind === 'password') {
    const ok =
      registry.adminUserEnabled &&
      cred.userName?.toLowerCase() === registry.adminUsername.toLowerCase() &&
      cred.password !== undefined &&
      registry.adminPasswords.includes(cred.password);
    if (!ok) return denied('registry credentials in app settings are not valid');
  } else if (!registry.anonymousPullEnabled) {
    return denied('no credentials configured and anonymous pull is off');
  }
  // A digest exists only when it is the digest of one of the repository's tags (as the data plane serves it).
  const tagExists = referenceExists(registry, repository, tag);
  if (!tagExists) return { outcome: 'notFound', image, registry, reason: `${repository}:${tag} not found` };
  return { outcome: 'succeeded', image, registry, reason: 'ok' };
}

/** Docker Hub's names: `contoso/api` and `docker.io/contoso/api` are one repository, `nginx` is `library/nginx`. */
function canonicalImage(image: string): { host: string; repository: string; tag: string } {
  const p = parseImage(image);
  const host = /^(index\.|registry-1\.)?docker\.io$/i.test(p.host) ? 'docker.io' : p.host.toLowerCase();
  const repository =
    host === 'docker.io' && !p.repository.includes('/') ? `library/${p.repository}` : p.repository;
  return { host, repository: repository.toLowerCase(), tag: p.tag };
}

/**
 * A registry outside the scenario's subscriptions (Docker Hub, GHCR, MCR): public unless `externalImages`
 * declares the repository private (`requiresAuth`), in which case only its own user name and password work —
 * a managed identity means nothing to it, and an anonymous pull is refused as that registry refuses it.
 */
function evaluateExternal(state: EmulatorState, app: App, image: string): PullVerdict {
  const wanted = canonicalImage(image);
  const declared = state.externalImages.find((x) => {
    const c = canonicalImage(x.image);
    return c.host === wanted.host && c.repository === wanted.repository;
  });
  if (!declared) return { outcome: 'succeeded', image, reason: `public registry ${wanted.host}` };
  if (declared.requiresAuth) {
    const cred = credentialFor(app, image);
    const ok =
      cred.kind === 'password' &&
      declared.username !== undefined &&
      cred.userName === declared.username &&
      cred.password === declared.password;
    if (!ok)
      return { outcome: 'unauthorized', image, reason: `${wanted.host}/${wanted.repository} is private` };
  }
  if (declared.tags && !wanted.tag.startsWith('sha256:') && !declared.tags.includes(wanted.tag))
    return { outcome: 'notFound', image, reason: `${wanted.repository}:${wanted.tag} not found` };
  return { outcome: 'succeeded', image, reason: 'ok' };
}

export function createPlatform(deps: { state: EmulatorState; now(): number; lines: LineSource }): Platform {
  const { state } = deps;

  function evaluatePull(app: App, at: number, image?: string): PullVerdict {
    if (image !== undefined) return evaluateImage(state, app, image, at);
    const images =
      app.platform === 'sidecar' ? app.siteContainers.map((c) => c.image) : [configuredImage(app)];
    const main = configuredImage(app);
    for (const img of images) {
      const v = evaluateImage(state, app, img, at);
      // The failing container's own image: its registry's answer is what the log shows.
      if (v.outcome !== 'succeeded') return v;
    }
    return { outcome: 'succeeded', image: main, reason: 'ok' };
  }

  function platformLog(app: App, machineName: string, source: 'platform' | 'default' = 'platform') {
    let log = app.logs.find((l) => l.machineName === machineName && l.source === source);
    if (!log) {
      log = { machineName, source, lines: [] };
      app.logs.push(log);
    }
    return log;
  }

  /** Files lines under one machine's log (each instance writes its own file). */
  function append(app: App, i: number, lines: LogLine[], source: 'platform' | 'default' = 'platform'): void {
    const machine = app.instanceStates[i]?.machineName ?? app.instances[i];
    if (!machine) return;
    const log = platformLog(app, machine, source);
    log.lines.push(...lines.map((l) => ({ ...l })));
    log.lines.sort((a, b) => a.at - b.at);
  }

  /** What decides this machine's pull: the app's settings, then the machine's own fate. */
  function instanceOutcome(app: App, i: number, verdict: PullVerdict): PullOutcome {
    const inst = app.instanceStates[i];
    const fate = inst?.fate;
    if (inst && fate?.pull && (fate.attempts === undefined || inst.attempts < fate.attempts))
      return fate.pull;
    return verdict.outcome;
  }

  function beginAttempt(app: App, i: number, at: number): void {
    const rt = runtimeOf(app, i);
    const inst = app.instanceStates[i];
    const verdict = evaluatePull(app, at);
    let outcome: PullOutcome = instanceOutcome(app, i, verdict);
    if (inst) inst.attempts += 1;
    if (outcome === 'succeeded' && app.containerCrashes !== 0) {
      outcome = 'succeededButStartFailed';
      if (app.containerCrashes > 0) app.containerCrashes -= 1;
    }
    // A failed pull on a machine that holds the image starts the local copy (classic Linux platform only: the
    // 2024+ platform and Windows show no such fallback in any public log).
    const failed = outcome === 'unauthorized' || outcome === 'notFound' || outcome === 'networkDenied';
    const localCopy =
      failed && app.logFormat === 'classic' && !!inst && holdsImage(inst.localImages, verdict.image);
    const pullDurationMs = state.delays.pullSeconds * 1000;
    const siteName = platformSiteName(app);
    const lines = deps.lines.pullAttemptLines({
      format: app.logFormat,
      startAt: at,
      siteName,
      image: verdict.image,
      outcome,
      pullDurationMs,
      instanceIndex: i,
      ...(localCopy ? { localCopy: true } : {}),
    });
    const usesIdentity = app.identity.type !== 'None';
    if (usesIdentity && app.logFormat !== 'windows') {
      lines.push(...deps.lines.sidecarNoiseLines(app.logFormat, at + 500, siteName));
      lines.sort((a, b) => a.at - b.at);
    }
    append(app, i, lines);
    const starts = outcome === 'succeeded' || outcome === 'succeededButStartFailed' || localCopy;
    const minimumEnd =
      at +
      (starts
        ? pullDurationMs + state.delays.containerStartSeconds * 1000
        : Math.max(1000, pullDurationMs / 3));
    const lastLine = lines.reduce((m, l) => Math.max(m, l.at), at);
    rt.phase = 'pulling';
    rt.attempts += 1;
    rt.attemptStartedAt = at;
    rt.attemptEndsAt = Math.max(minimumEnd, lastLine);
    rt.attemptOutcome = localCopy ? 'localCopy' : outcome;
    rt.attemptImage = verdict.image;
    delete rt.nextAttemptAt;
    if (outcome === 'succeeded' || localCopy) {
      append(
        app,
        i,
        [
          {
            at: rt.attemptEndsAt - 500,
            text: `${stdoutStamp(rt.attemptEndsAt - 500)} Listening on port 8080`,
          },
        ],
        'default',
      );
    }
  }

  function finishAttempt(app: App, i: number): void {
    const rt = runtimeOf(app, i);
    const inst = app.instanceStates[i];
    const end = rt.attemptEndsAt ?? deps.now();
    if (rt.attemptOutcome === 'succeeded' || rt.attemptOutcome === 'localCopy') {
      rt.phase = 'running';
      if (rt.attemptImage) rt.runningImage = rt.attemptImage;
      rt.servingImage = rt.attemptImage ?? configuredImage(app);
      rt.consecutiveFailures = 0;
      delete rt.pendingSince;
      if (inst) {
        inst.fromLocalCopy = rt.attemptOutcome === 'localCopy';
        // A machine keeps what it pulled (when the scenario models caches).
        if (app.localCopy && rt.attemptOutcome === 'succeeded' && rt.attemptImage)
          if (!holdsImage(inst.localImages, rt.attemptImage)) inst.localImages.push(rt.attemptImage);
      }
      return;
    }
    if (inst) inst.fromLocalCopy = false;
    // The new container did not come up: the platform stops the site on this machine ("Stopping site ...
    // because it failed during startup"), and the old container that served during an overlapped recycle with it.
    delete rt.servingImage;
    rt.consecutiveFailures += 1;
    const n = rt.consecutiveFailures;
    const base = state.delays.retryBaseSeconds * 1000;
    const overBlock = n - state.delays.failuresBeforeBlock;
    if (overBlock >= 0) {
      // Blocked for 1, 2, 4... minutes on top of the normal cycle (docs/azure-behaviour.md#failed-pulls).
      rt.phase = 'blocked';
      rt.nextAttemptAt = end + base + 60_000 * 2 ** overBlock;
    } else {
      rt.phase = 'failed';
      rt.nextAttemptAt = end + base;
    }
  }

  /** When machine `i`'s next step is due (emulated ms), or undefined when it waits for nothing timed. */
  function nextDue(app: App, i: number): number | undefined {
    const rt = runtimeOf(app, i);
    if (rt.phase === 'pendingStart')
      return app.startsOnRequest
        ? undefined
        : (rt.pendingSince ?? deps.now()) + state.delays.startDelaySeconds * 1000;
    if (rt.phase === 'pulling') return rt.attemptEndsAt ?? deps.now();
    if ((rt.phase === 'failed' || rt.phase === 'blocked') && !app.startsOnRequest) return rt.nextAttemptAt;
    return undefined;
  }

  /**
   * Replays every machine's due steps up to now, the earliest first across machines, so the site's availability
   * marks (one serving machine keeps it up) are taken in time order.
   */
  function advance(app: App): void {
    const now = deps.now();
    for (let guard = 0; guard < 500 * Math.max(1, app.instances.length); guard += 1) {
      let pick: { i: number; at: number } | undefined;
      for (let i = 0; i < app.instances.length; i += 1) {
        const at = nextDue(app, i);
        if (at !== undefined && at <= now && (!pick || at < pick.at)) pick = { i, at };
      }
      if (!pick) return;
      const rt = runtimeOf(app, pick.i);
      if (rt.phase === 'pulling') finishAttempt(app, pick.i);
      else beginAttempt(app, pick.i, pick.at);
      markAvailability(app, pick.at, siteReason(app));
    }
  }

  function restartInstance(app: App, i: number): void {
    const rt = runtimeOf(app, i);
    const now = deps.now();
    if (rt.phase === 'pulling' && now < (rt.attemptEndsAt ?? 0)) {
      // A restart during a pull: the lines the attempt would still write never appear; the platform reports
      // the interruption instead (docs/azure-behaviour.md#restart-races).
      const machine = app.instanceStates[i]?.machineName ?? app.instances[i];
      for (const log of app.logs)
        if (log.machineName === machine) log.lines = log.lines.filter((l) => l.at <= now);
      append(
        app,
        i,
        deps.lines.pullAttemptLines({
          format: app.logFormat,
          startAt: now,
          siteName: platformSiteName(app),
          image: rt.attemptImage ?? configuredImage(app),
          outcome: 'interrupted',
          pullDurationMs: 0,
          instanceIndex: i,
        }),
      );
      delete rt.attemptEndsAt;
    }
    rt.restarts += 1;
    rt.consecutiveFailures = 0;
    delete rt.nextAttemptAt;
    if (app.state === 'Stopped') {
      rt.phase = 'stopped';
      return;
    }
    rt.phase = 'pendingStart';
    rt.pendingSince = now;
  }

  function restart(app: App, reason: string): void {
    advance(app);
    // A settings change recycles with overlap: the old container serves until the new one is ready. An explicit
    // restart (or start) stops it first: that gap is the restart's own (docs/azure-behaviour.md#a-live-app).
    const overlapped = reason !== 'restart' && reason !== 'start';
    for (let i = 0; i < app.instances.length; i += 1) {
      if (!overlapped) delete runtimeOf(app, i).servingImage;
      restartInstance(app, i);
    }
    markAvailability(app, deps.now(), siteReason(app));
  }

  return {
    restart,
    advance,
    start(app) {
      app.state = 'Running';
      restart(app, 'start');
    },
    stop(app) {
      advance(app);
      app.state = 'Stopped';
      const now = deps.now();
      for (let i = 0; i < app.instances.length; i += 1) {
        const rt = runtimeOf(app, i);
        if (rt.phase === 'pulling' && now < (rt.attemptEndsAt ?? 0)) {
          // Stopped mid-pull: the lines that attempt would still write never appear (no start on a stopped site).
          const machine = app.instanceStates[i]?.machineName ?? app.instances[i];
          for (const log of app.logs)
            if (log.machineName === machine) log.lines = log.lines.filter((l) => l.at <= now);
          delete rt.attemptEndsAt;
        }
        rt.phase = 'stopped';
        delete rt.servingImage;
        delete rt.nextAttemptAt;
      }
      markAvailability(app, deps.now(), 'stopped');
    },
    hit(app) {
      advance(app);
      const now = deps.now();
      if (app.state === 'Stopped') return;
      // The front end wakes the site: every machine whose start is due begins it (a simplification: Azure routes a
      // request to one instance, but a cold site starts on all of them).
      for (let i = 0; i < app.instances.length; i += 1) {
        const rt = runtimeOf(app, i);
        if (rt.phase === 'pendingStart') beginAttempt(app, i, now);
        else if ((rt.phase === 'failed' || rt.phase === 'blocked') && (rt.nextAttemptAt ?? 0) <= now) {
          beginAttempt(app, i, now);
        }
      }
      markAvailability(app, now, siteReason(app));
    },
    advanceAll() {
      for (const app of state.apps) advance(app);
    },
    evaluatePull,
    siteStatus(app) {
      if (app.state === 'Stopped') return 403;
      const rts = app.instances.map((_, i) => runtimeOf(app, i));
      if (rts.every((r) => r.phase === 'stopped')) return 403;
      // The front end routes to a machine whose container serves (a running one, or the old container of an
      // overlapped recycle): one keeps the site up.
      return rts.some((r) => r.servingImage !== undefined) ? 200 : 503;
    },
  };
}

/** The start cycle of instance `i` (0-based): instance 1 runs in `app.runtime`, the others in their own. */
export function runtimeOf(app: App, i: number): AppRuntime {
  if (i === 0) return app.runtime;
  const inst = app.instanceStates[i];
  if (!inst) throw new Error(`${app.siteName}: no instance ${i + 1}`);
  if (!inst.runtime)
    inst.runtime = { phase: 'pendingStart', consecutiveFailures: 0, attempts: 0, restarts: 0 };
  return inst.runtime;
}

/** What each machine of the app is doing now (for tests, the state dump and the instances route). */
export function instanceSummaries(app: App): {
  machineName: string;
  instanceId: string;
  phase: RuntimePhase;
  runningImage?: string;
  fromLocalCopy: boolean;
}[] {
  return app.instances.map((machineName, i) => {
    const rt = runtimeOf(app, i);
    const inst = app.instanceStates[i];
    return {
      machineName,
      instanceId: inst?.instanceId ?? instanceIdFor(machineName),
      phase: rt.phase,
      ...(rt.runningImage ? { runningImage: rt.runningImage } : {}),
      fromLocalCopy: rt.phase === 'running' && inst?.fromLocalCopy === true,
    };
  });
}

/** ARM's instance ID for a machine: 64 hex digits, stable per machine name. */
export function instanceIdFor(machineName: string): string {
  return createHash('sha256').update(`instance:${machineName}`).digest('hex');
}

/** A new machine for the app (scale-out, instance move): no local copy, its start pending from `at`. */
export function addInstance(app: App, at: number, fate?: InstanceFate): AppInstance {
  const taken = new Set([...app.instances, ...app.logs.map((l) => l.machineName)]);
  let n = app.instances.length + app.logs.length;
  let machineName = machineNameFor(app.platform, n, app.siteName);
  while (taken.has(machineName)) machineName = machineNameFor(app.platform, ++n, app.siteName);
  const inst: AppInstance = {
    machineName,
    instanceId: instanceIdFor(machineName),
    localImages: [],
    attempts: 0,
    addedAt: at,
    ...(fate ? { fate } : {}),
    runtime: {
      phase: app.state === 'Stopped' ? 'stopped' : 'pendingStart',
      pendingSince: at,
      consecutiveFailures: 0,
      attempts: 0,
      restarts: 0,
    },
  };
  app.instances.push(machineName);
  app.instanceStates.push(inst);
  return inst;
}

/** A machine name in the platform's style (Linux `lw1sdlwk...Q`, Windows `RD...C1EF4`), distinct per seed. */
export function machineNameFor(platform: App['platform'], seed: number, siteName: string): string {
  let h = 0;
  for (const c of siteName) h = (h * 31 + c.charCodeAt(0)) & 0xfff;
  const id = (0x0a3f + seed * 7 + h).toString(16).toUpperCase();
  return platform === 'windows' ? `RD${id}C1EF4` : `lw1sdlwk${id}Q`;
}

function holdsImage(images: readonly string[], image: string): boolean {
  return images.some((x) => x.toLowerCase() === image.toLowerCase());
}

/** Container stdout timestamps carry nine fractional digits. */
function stdoutStamp(at: number): string {
  return new Date(at).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** Whether a value looks like a client ID (Azure stores anything else in acrUserManagedIdentityID as null). */
export function acceptableClientId(value: unknown): string | null {
  return typeof value === 'string' && isGuid(value) ? value : null;
}
