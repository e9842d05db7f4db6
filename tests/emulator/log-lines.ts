/**
 * The only file that knows docker-log text: what one start attempt writes to the platform docker log, in the
 * three formats the emulator models. Lines are modelled on the labelled real samples
 * (tests/verify/data/container-logs.jsonl, docs/azure-behaviour.md#log-formats); where no real text exists
 * (Windows failures, the 2024+ platform's successful pull) the wording is ours and kept in the same vocabulary.
 * tests/verify/log-lines.test.ts feeds every attempt through the task's classifier, so generator and classifier
 * cannot drift apart.
 *
 * Deterministic: the same input gives the same lines (container hashes derive from site name and start time).
 */

import type { LogFormat, LogLine } from './model';

// The state stores these lines, so the format and line shape are the model's; re-exported for the tests that
// drive the generator alone. The platform (platform.ts) reuses the input and outcome types below.
export type { LogFormat };

export type PullOutcome =
  | 'succeeded'
  | 'succeededButStartFailed'
  | 'unauthorized'
  | 'notFound'
  | 'networkDenied'
  | 'interrupted';

export interface PullLogInput {
  format: LogFormat;
  /** Emulated epoch ms of the attempt's first line. */
  startAt: number;
  /** `myapp`, or `myapp__staging` for a slot. */
  siteName: string;
  /** `myacr.azurecr.io/app:1.0`. */
  image: string;
  outcome: PullOutcome;
  /** How long the layer download takes (0 for `interrupted` means: only the interruption itself). */
  pullDurationMs: number;
  /** Which machine of the app writes it (0-based; container names carry it: `<site>_<index>_<hex>`). */
  instanceIndex?: number;
  /**
   * A failed pull on a machine that holds the image: the classic platform says "Defaulting to local copy if
   * present." and starts the cached copy instead of stopping the site (docs/azure-behaviour.md#instances).
   */
  localCopy?: boolean;
}

/** One line of the docker log with its emulated time (the model's `LogLine`). */
export type TimedLine = LogLine;

type Level = 'INFO' | 'WARN' | 'ERROR';

// ---------------------------------------------------------------------------------------------------------------
// Formatting

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** A stable pseudo-random hex string: container names and layer IDs look real and never change between runs. */
function hex(seed: string, length: number): string {
  let h = 2166136261;
  let out = '';
  while (out.length < length) {
    for (const c of `${seed}:${out.length}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

function stamp(format: LogFormat, at: number): string {
  const d = new Date(at);
  const iso = d.toISOString(); // YYYY-MM-DDTHH:mm:ss.fffZ
  switch (format) {
    case 'classic':
      return iso;
    case 'platform2024':
      // Seven fractional digits; the sub-millisecond part is noise the platform prints too.
      return `${iso.slice(0, 23)}${hex(String(at), 4).replace(/[a-f]/g, '7').slice(0, 4)}Z`;
    case 'windows':
      return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${iso.slice(11, 23)}`;
  }
}

/** The timestamp a line at `at` starts with in that format (scenarios seed lines with it). */
export function logTimestamp(format: LogFormat, at: number): string {
  return stamp(format, at);
}

function line(format: LogFormat, at: number, level: Level, message: string): TimedLine {
  const t = stamp(format, at);
  if (format === 'platform2024') return { at, text: `${t} ${message}` };
  if (format === 'windows') return { at, text: `${t} ${level} - ${message}` };
  // Classic pads the level to five characters: `INFO  -`, `WARN  -`, `ERROR -`.
  return { at, text: `${t} ${level.padEnd(5)} - ${message}` };
}

function splitImage(image: string): { registry: string; repository: string; tag: string } {
  const slash = image.indexOf('/');
  // The first segment is a registry only when it looks like a host (`contoso/api` is a Docker Hub repository).
  const first = slash > 0 ? image.slice(0, slash) : '';
  const hasHost = first.includes('.') || first.includes(':') || first === 'localhost';
  const registry = hasHost ? first : 'docker.io';
  const rest = hasHost ? image.slice(slash + 1) : image;
  const at = rest.indexOf('@');
  const noDigest = at >= 0 ? rest.slice(0, at) : rest;
  const colon = noDigest.lastIndexOf(':');
  return colon >= 0
    ? { registry, repository: noDigest.slice(0, colon), tag: noDigest.slice(colon + 1) }
    : { registry, repository: noDigest, tag: 'latest' };
}

function containerName(input: PullLogInput): string {
  const index = input.instanceIndex ?? 0;
  const seed =
    index === 0 ? `${input.siteName}@${input.startAt}` : `${input.siteName}#${index}@${input.startAt}`;
  return `${input.siteName}_${index}_${hex(seed, 8)}`;
}

/** Registry error texts as docker reports them through the platform (docs/azure-behaviour.md#log-formats). */
function registryError(input: PullLogInput, outcome: 'unauthorized' | 'notFound' | 'networkDenied'): string {
  const { registry, repository, tag } = splitImage(input.image);
  const manifest = `https://${registry}/v2/${repository}/manifests/${tag}`;
  switch (outcome) {
    case 'unauthorized':
      // Docker Hub hides a private repository behind one combined message; other registries (GHCR...) answer
      // a bare 401 without ACR's help link.
      if (isDockerHub(registry))
        return `pull access denied for ${repository}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`;
      if (!/\.azurecr\./i.test(registry)) return `Head \\"${manifest}\\": unauthorized`;
      return `Get ${manifest}: unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information.`;
    case 'notFound':
      return `manifest for ${input.image} not found: manifest unknown: manifest tagged by \\"${tag}\\" is not found`;
    case 'networkDenied':
      return `Head \\"${manifest}\\": denied: client with IP '20.${Number.parseInt(hex(input.siteName, 2), 16)}.41.7' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.`;
  }
}

function isDockerHub(registry: string): boolean {
  return /^(index\.|registry-1\.)?docker\.io$/i.test(registry);
}

function dockerApiException(status: 'NotFound' | 'InternalServerError', message: string): string {
  return `DockerApiException: Docker API responded with status code=${status}, response={"message":"${message}"}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Classic platform (Linux, 2019+)

function classicLayers(
  input: PullLogInput,
  from: number,
  durationMs: number,
  format: LogFormat,
): TimedLine[] {
  const layers = [0, 1, 2].map((i) => hex(`${input.image}#${i}`, 12));
  const steps = layers.flatMap((id) => [
    `${id} Pulling fs layer`,
    `${id} Downloading ${8 + id.length}MB / 40MB`,
    `${id} Extracting 40MB / 40MB`,
    `${id} Pull complete`,
  ]);
  return steps.map((s, i) => line(format, from + Math.round((durationMs * i) / steps.length), 'INFO', s));
}

function classicStart(input: PullLogInput, at: number, startFails: boolean): TimedLine[] {
  const f = input.format;
  const c = containerName(input);
  const out = [
    line(f, at, 'INFO', 'Starting container for site'),
    line(
      f,
      at + 5,
      'INFO',
      `docker run -d --expose=8080 --name ${c} -e WEBSITE_SITE_NAME=${input.siteName} -e WEBSITES_ENABLE_APP_SERVICE_STORAGE=false ${input.image}`,
    ),
    line(f, at + 1500, 'INFO', `Initiating warmup request to container ${c} for site ${input.siteName}`),
  ];
  if (startFails) {
    out.push(
      line(f, at + 6000, 'ERROR', `Container ${c} for site ${input.siteName} has exited, failing site start`),
      line(
        f,
        at + 6010,
        'ERROR',
        `Container ${c} didn't respond to HTTP pings on port: 8080, failing site start. See container logs for debugging.`,
      ),
      line(f, at + 6100, 'INFO', `Stopping site ${input.siteName} because it failed during startup.`),
    );
  } else {
    out.push(
      line(
        f,
        at + 3000,
        'INFO',
        `Container ${c} for site ${input.siteName} initialized successfully and is ready to serve requests.`,
      ),
    );
  }
  return out;
}

function classicFailureTail(input: PullLogInput, at: number): TimedLine[] {
  const f = input.format;
  if (input.localCopy)
    // The cached copy starts: the same container start lines a good pull ends with, and no "Stopping site".
    return [
      line(f, at, 'WARN', 'Image pull failed. Defaulting to local copy if present.'),
      ...classicStart(input, at + 90, false),
    ];
  return [
    line(f, at, 'WARN', 'Image pull failed. Defaulting to local copy if present.'),
    line(
      f,
      at + 7,
      'ERROR',
      'Image pull failed: Verify docker image configuration and credentials (if using private repository)',
    ),
    line(f, at + 5900, 'INFO', `Stopping site ${input.siteName} because it failed during startup.`),
  ];
}

function classicAttempt(input: PullLogInput): TimedLine[] {
  const f = input.format;
  const t0 = input.startAt;
  const { repository, tag } = splitImage(input.image);
  const out: TimedLine[] = [];
  if (input.outcome === 'interrupted' && input.pullDurationMs === 0)
    return [line(f, t0, 'ERROR', 'Container pull image interrupted. Revert by terminate.')];
  out.push(line(f, t0, 'INFO', `Pulling image: ${input.image}`));
  const fail = Math.min(1200, Math.max(50, Math.round(input.pullDurationMs / 3)));
  switch (input.outcome) {
    case 'succeeded':
    case 'succeededButStartFailed': {
      out.push(line(f, t0 + 300, 'INFO', `${tag} Pulling from ${repository}`));
      out.push(...classicLayers(input, t0 + 400, Math.max(0, input.pullDurationMs - 500), f));
      const done = t0 + Math.max(input.pullDurationMs, 500);
      const minutes = Math.floor(input.pullDurationMs / 60000);
      const seconds = Math.floor((input.pullDurationMs % 60000) / 1000);
      out.push(
        line(f, done, 'INFO', ` Digest: sha256:${hex(input.image, 64)}`),
        line(f, done + 40, 'INFO', ` Status: Downloaded newer image for ${input.image}`),
        line(
          f,
          done + 70,
          'INFO',
          `Pull Image successful, Time taken: ${minutes} Minutes and ${seconds} Seconds`,
        ),
        ...classicStart(input, done + 90, input.outcome === 'succeededButStartFailed'),
      );
      return out;
    }
    case 'unauthorized':
      if (isDockerHub(splitImage(input.image).registry)) {
        // Docker Hub answers a private repository as if it did not exist (status NotFound), and the platform
        // retries the same anonymous pull "from Docker hub" (shared sample from an App Service log stream).
        const denied = dockerApiException('NotFound', registryError(input, 'unauthorized'));
        out.push(
          line(f, t0 + fail, 'ERROR', denied),
          line(f, t0 + fail + 1, 'ERROR', `Pulling docker image ${input.image} failed:`),
          line(f, t0 + fail + 2, 'INFO', `Pulling image from Docker hub: ${repository}:${tag}`),
          line(f, t0 + fail + 25, 'ERROR', denied),
          ...classicFailureTail(input, t0 + fail + 26),
        );
        return out;
      }
      out.push(
        line(
          f,
          t0 + fail,
          'ERROR',
          dockerApiException('InternalServerError', registryError(input, 'unauthorized')),
        ),
        ...classicFailureTail(input, t0 + fail + 1),
      );
      return out;
    case 'networkDenied':
      out.push(
        line(
          f,
          t0 + fail,
          'ERROR',
          dockerApiException('InternalServerError', registryError(input, input.outcome)),
        ),
        ...classicFailureTail(input, t0 + fail + 1),
      );
      return out;
    case 'notFound':
      // The classic platform retries "from Docker hub" anonymously and logs that unauthorized too (Azure/acr#124).
      out.push(
        line(f, t0 + fail, 'ERROR', dockerApiException('NotFound', registryError(input, 'notFound'))),
        line(f, t0 + fail + 1, 'ERROR', `Pulling docker image ${input.image} failed:`),
        line(f, t0 + fail + 2, 'INFO', `Pulling image from Docker hub: ${input.image}`),
        line(
          f,
          t0 + fail + 25,
          'ERROR',
          dockerApiException('InternalServerError', registryError(input, 'unauthorized')),
        ),
        ...classicFailureTail(input, t0 + fail + 26),
      );
      return out;
    case 'interrupted': {
      const half = Math.round(input.pullDurationMs / 2);
      out.push(line(f, t0 + 300, 'INFO', `${tag} Pulling from ${repository}`));
      out.push(...classicLayers(input, t0 + 400, Math.max(0, half - 400), f).slice(0, 3));
      out.push(
        line(f, t0 + Math.max(half, 500), 'ERROR', 'Container pull image interrupted. Revert by terminate.'),
      );
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 2024+ platform: terse sentences, no registry detail on failure (docs/azure-behaviour.md#failed-pulls)

function platformAttempt(input: PullLogInput): TimedLine[] {
  const f = input.format;
  const t0 = input.startAt;
  const s = input.siteName;
  const container = `${hex(`${s}@${t0}`, 12)}_${s}`;
  const l = (at: number, message: string) => line(f, at, 'INFO', message);
  const teardown = (at: number): TimedLine[] => [
    l(at, 'Container is terminating. Grace period: 5 seconds.'),
    l(at + 20, 'Container spec TerminationMessagePolicy path'),
    l(at + 40, 'Container is terminated. Total time elapsed: 3 ms.'),
    l(at + 60, `Site container: ${s} terminated during site startup.`),
    l(at + 90, 'Failed to start site. Revert by stopping site.'),
    l(at + 100, `Site: ${s} stopped.`),
  ];
  if (input.outcome === 'interrupted' && input.pullDurationMs === 0)
    return [
      l(t0, 'Container pull image interrupted. Revert by terminate.'),
      l(t0 + 100, `Site: ${s} stopped.`),
    ];
  const out = [l(t0, 'Establishing network.'), l(t0 + 1, `Pulling image: ${input.image}.`)];
  switch (input.outcome) {
    case 'succeeded':
    case 'succeededButStartFailed': {
      // The platform prints no pull-success sentence; starting the container is what shows the pull finished.
      const started = t0 + Math.max(input.pullDurationMs, 200);
      out.push(
        l(started, `Starting container: ${container}.`),
        l(started + 120, 'Starting watchers and probes.'),
        l(started + 127, 'Starting metrics collection.'),
        l(started + 130, 'Container is running.'),
        l(
          started + 1200,
          `Container start method finished after ${1200 + (input.pullDurationMs % 1000)} ms.`,
        ),
      );
      if (input.outcome === 'succeeded') {
        out.push(
          l(started + 4000, 'Site startup probe succeeded after 4.0123456 seconds.'),
          l(started + 4010, 'Site started.'),
        );
      } else {
        out.push(
          l(started + 2500, 'Container has finished running with exit code: 1.'),
          l(started + 6000, 'Site startup probe failed after 6.0000123 seconds.'),
          ...teardown(started + 6010),
        );
      }
      return out;
    }
    case 'unauthorized':
    case 'notFound':
    case 'networkDenied': {
      const fail = t0 + Math.min(1300, Math.max(50, Math.round(input.pullDurationMs / 3)));
      out.push(l(fail, 'Container pull image failed with reason: ImagePullFailure. Revert by terminate.'));
      out.push(...teardown(fail + 1));
      return out;
    }
    case 'interrupted': {
      const half = t0 + Math.max(Math.round(input.pullDurationMs / 2), 200);
      out.push(
        l(half, 'Container pull image interrupted. Revert by terminate.'),
        l(half + 100, `Site: ${s} stopped.`),
      );
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Windows: `dd/MM/yyyy` stamps, single-space `INFO -`, multi-line `Site: - Image:` status blocks
// (docs/azure-behaviour.md#log-formats)

function windowsAttempt(input: PullLogInput): TimedLine[] {
  const f = input.format;
  const t0 = input.startAt;
  const { registry, repository, tag } = splitImage(input.image);
  const block = (at: number, level: Level, status: string[]) =>
    line(
      f,
      at,
      level,
      [
        `Site: ${input.siteName} - Image: ${input.image}`,
        `Custom Registry: https://${registry}`,
        ...status,
      ].join('\n'),
    );
  if (input.outcome === 'interrupted' && input.pullDurationMs === 0)
    return [line(f, t0, 'ERROR', 'Container pull image interrupted. Revert by terminate.')];
  const out = [block(t0, 'INFO', [`Status: ${tag} Pulling from ${repository}`])];
  const failAt = t0 + Math.min(2000, Math.max(50, Math.round(input.pullDurationMs / 3)));
  const failure = (message: string) => [
    block(failAt, 'ERROR', [`Status: Error response from daemon: ${message.replace(/\\"/g, '"')}`]),
    line(
      f,
      failAt + 10,
      'ERROR',
      'Image pull failed: Verify docker image configuration and credentials (if using private repository)',
    ),
    line(f, failAt + 6000, 'INFO', `Stopping site ${input.siteName} because it failed during startup.`),
  ];
  switch (input.outcome) {
    case 'succeeded':
    case 'succeededButStartFailed': {
      const layers = [0, 1].map((i) => hex(`${input.image}#w${i}`, 12));
      const steps = layers.flatMap((id, i) => [
        [
          `Status: ${id} Downloading`,
          `[=================>                                 ]  ${20 + i * 9}.5MB/105.5MB`,
        ],
        [
          `Status: ${id} Extracting`,
          '[==================================================>]  105.5MB/105.5MB',
        ],
        [`Status: ${id} Pull complete`],
      ]);
      steps.forEach((status, i) => {
        out.push(
          block(t0 + 200 + Math.round(((input.pullDurationMs - 200) * i) / steps.length), 'INFO', status),
        );
      });
      const done = t0 + Math.max(input.pullDurationMs, 400);
      out.push(
        block(done + 20, 'INFO', [`Status: Downloaded newer image for ${input.image}`]),
        ...classicStart(input, done + 100, input.outcome === 'succeededButStartFailed'),
      );
      return out;
    }
    case 'unauthorized':
      return [
        ...out,
        ...failure(
          `Get https://${registry}/v2/${repository}/manifests/${tag}: unauthorized: authentication required`,
        ),
      ];
    case 'notFound':
      return [
        ...out,
        ...failure(`manifest for ${input.image} not found: manifest unknown: manifest unknown`),
      ];
    case 'networkDenied':
      return [...out, ...failure(registryError(input, 'networkDenied'))];
    case 'interrupted': {
      const half = t0 + Math.max(Math.round(input.pullDurationMs / 2), 200);
      out.push(
        block(half - 100, 'INFO', [`Status: ${hex(input.image, 12)} Downloading`]),
        line(f, half, 'ERROR', 'Container pull image interrupted. Revert by terminate.'),
      );
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** The lines one start attempt writes to the platform docker log, each with its own timestamp, in time order. */
export function pullAttemptLines(input: PullLogInput): TimedLine[] {
  const lines =
    input.format === 'platform2024'
      ? platformAttempt(input)
      : input.format === 'windows'
        ? windowsAttempt(input)
        : classicAttempt(input);
  return lines.sort((a, b) => a.at - b.at);
}

/** Lines a sidecar (the MSI proxy) writes: they prove nothing about the main container. */
export function sidecarNoiseLines(format: LogFormat, at: number, siteName: string): TimedLine[] {
  const c = `${siteName}_0_${hex(`${siteName}@${at}`, 8)}_msiProxy`;
  if (format === 'platform2024') {
    const name = `${hex(`${siteName}@${at}`, 12)}_${siteName}_managedIdentity`;
    return [
      line(format, at, 'INFO', `Starting container: ${name}.`),
      line(
        format,
        at + 900,
        'INFO',
        `Site container: ${siteName}_managedIdentity terminated during site startup.`,
      ),
    ];
  }
  return [
    line(format, at, 'INFO', `Initiating warmup request to container ${c} for site ${siteName}`),
    line(
      format,
      at + 800,
      'INFO',
      `Container ${c} for site ${siteName} initialized successfully and is ready to serve requests.`,
    ),
  ];
}
