/**
 * Pure classifier for App Service platform docker logs: did the configured image get pulled, did the container
 * start, and if not, why. It knows every platform generation we have seen (classic ≤2018 and 2019+, the 2024+
 * platform, Windows with its multi-line blocks) and the artefacts of portal copies (no timestamps, a timestamp
 * alone on a line, `Ok` lines, markdown links). No I/O, no time: callers pass `since`.
 *
 * The log is read as a sequence of start attempts; only the last attempt after `since` decides, so a later
 * success beats an earlier failure and vice versa. Facts behind the phrases, with sources:
 * docs/azure-behaviour.md#log-formats.
 */

export type Outcome =
  | 'pull_succeeded'
  | 'container_started'
  | 'pull_failed'
  | 'container_start_failed'
  | 'in_progress'
  | 'nothing_relevant';

export type PullFailureCause =
  | 'unauthorized'
  | 'not_found'
  | 'network'
  | 'throttled'
  | 'interrupted'
  | 'unknown';

/** How each cause reads in a sentence; the code itself stays in error codes and output variables. */
export const CAUSE_IN_WORDS: Record<PullFailureCause, string> = {
  unauthorized: 'the registry refused the credentials (unauthorized)',
  not_found: 'the image or tag does not exist in the registry',
  network: 'the registry could not be reached from the app (firewall, private endpoint or DNS)',
  throttled: 'the registry throttled the pull (too many requests)',
  interrupted: 'a restart interrupted it',
  unknown: 'the log does not say why',
};

/** One log entry: a physical line, or a headed line plus its continuation lines (Windows blocks, split JSON). */
export interface LogLine {
  /** Position of the entry's first physical line in the input (0-based). */
  readonly index: number;
  /** The entry as written (continuation lines joined with `\n`). */
  readonly raw: string;
  /** The text after timestamp and level (continuations joined with `\n`, markdown links unwrapped). */
  readonly message: string;
  /** Epoch ms; inherited from the previous timestamped entry when the line has none of its own. */
  readonly at: number | undefined;
  /** Whether the timestamp was written on this entry (false when inherited or absent). */
  readonly timestamped: boolean;
  readonly level: 'INFO' | 'WARN' | 'ERROR' | undefined;
  /** The container the line is about, when it names one (`app_0_1a2b3c4d`, `app_0_1a2b3c4d_msiProxy`...). */
  readonly container: string | undefined;
  /** Container stdout (9 fractional digits, no level) rather than a platform line: proves nothing. */
  readonly appOutput: boolean;
}

export interface ClassifyOptions {
  /** The configured image (`myacr.azurecr.io/app:1.0`); lines about other images then prove nothing. */
  readonly image?: string | undefined;
  /** Epoch ms: entries before it are ignored (callers subtract their clock-skew allowance first). */
  readonly since?: number | undefined;
  /** Asked between entries (every few dozen): true stops the work with a ClassifyStoppedError. */
  readonly shouldStop?: (() => boolean) | undefined;
}

export interface Classification {
  readonly outcome: Outcome;
  /** Only for `pull_failed`. */
  readonly cause?: PullFailureCause;
  /** True when the deciding attempt shows a completed pull of the configured image (a start alone is not). */
  readonly imagePulled: boolean;
  /** The lines that decided (verdict lines of the last attempt), oldest first. */
  readonly evidence: readonly LogLine[];
  /** How many start attempts were seen after `since`. */
  readonly attempts: number;
  /** Images the log pulled that are not the configured one (e.g. a stale tag or a sidecar). */
  readonly otherImages: readonly string[];
  /** One sentence saying what the log shows. */
  readonly summary: string;
  /**
   * For `container_start_failed`: what the platform said about the start. `timeLimit`: it gave up waiting
   * (`did not start within expected time limit. Elapsed time = 230.x sec`, a 2024+ startup probe that failed after
   * 230 s or more); `crashed`: the container exited (`has exited`, `finished running with exit code`);
   * `noResponse`: it ran but did not answer the HTTP ping (the port).
   */
  readonly startFailure?: 'timeLimit' | 'crashed' | 'noResponse';
  /**
   * For `pull_failed`: Docker Hub's combined `pull access denied ... repository does not exist or may require
   * 'docker login'` — a private repository pulled without its credentials (or a name Docker Hub does not have).
   */
  readonly dockerHubDenied?: boolean;
}

/** Entries longer than this are classified on their head and tail only: a bounded cost per entry. */
export const MAX_ENTRY_CHARS = 8192;

/** Thrown when `shouldStop` says so between entries (the caller's deadline). */
export class ClassifyStoppedError extends Error {
  constructor() {
    super('log classification stopped: the deadline passed');
    this.name = 'ClassifyStoppedError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z?(?=\s|$)\s*/;
const CLASSIC = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?=\s|$)\s*/;
const WINDOWS = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?=\s|$)\s*/;
const LEVEL = /^(INFO|WARN|WARNING|ERROR)\s*-\s*/;
const MARKDOWN_LINK = /\[([^\]\s]+)\]\(https?:\/\/[^)\s]*\)/g;

interface Stamp {
  at: number;
  fractionDigits: number;
  rest: string;
}

function utc(
  y: string,
  mo: string,
  d: string,
  h: string,
  mi: string,
  s: string,
  fraction: string | undefined,
) {
  const ms = fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
}

/** Reads a leading timestamp in any of the known shapes; the platform writes UTC everywhere. */
function readStamp(line: string): Stamp | undefined {
  let m = ISO.exec(line) ?? CLASSIC.exec(line);
  if (m) {
    const [all, y, mo, d, h, mi, s, f] = m as unknown as string[];
    return {
      at: utc(y!, mo!, d!, h!, mi!, s!, f),
      fractionDigits: f?.length ?? 0,
      rest: line.slice(all!.length),
    };
  }
  m = WINDOWS.exec(line);
  if (m) {
    const [all, d, mo, y, h, mi, s, f] = m as unknown as string[];
    return {
      at: utc(y!, mo!, d!, h!, mi!, s!, f),
      fractionDigits: f?.length ?? 0,
      rest: line.slice(all!.length),
    };
  }
  return undefined;
}

const SIDECAR = /_(msiProxy|middleware|kudu(_[0-9a-f]+)?|managedIdentity|easyauth)$/i;

/** The container a platform line talks about, when it names one. */
function containerOf(message: string): string | undefined {
  const patterns = [
    /^Container (\S{1,256}?)\s*for site \S/i,
    /warmup request to container (\S{1,256}?) for site/i,
    /warmup request for container (\S{1,256}?)\.? Elapsed/i,
    /^Container (\S{1,256}) didn't respond/i,
    /^(?:Starting|Stopping|Deleting) container: (\S{1,256}?)\.?(?:\s|$)/i,
    /^Site container: (\S{1,256}) terminated/i,
    /^docker run [^\n]{0,4000}?--name (\S{1,256})/i,
  ];
  for (const p of patterns) {
    const m = p.exec(message);
    if (m?.[1]) return m[1];
  }
  return undefined;
}

interface Draft {
  index: number;
  raw: string[];
  message: string[];
  at: number | undefined;
  timestamped: boolean;
  level: LogLine['level'];
  appOutput: boolean;
  headed: boolean;
  chars: number;
}

/** The head and tail of an over-long entry (the phrases that decide sit at its start; a Windows block ends it). */
function bounded(text: string): string {
  if (text.length <= MAX_ENTRY_CHARS) return text;
  const head = Math.floor((MAX_ENTRY_CHARS * 3) / 4);
  return `${text.slice(0, head)} … ${text.slice(text.length - (MAX_ENTRY_CHARS - head))}`;
}

/**
 * Splits log text into entries. A line without timestamp or level continues the previous headed entry (Windows
 * `Custom Registry:` / `Status:` lines, JSON split after `status code=NotFound, `); a blank line ends an entry.
 * `Ok` lines and bare timestamps (portal log-stream artefacts) are folded away.
 */
export function parseLogLines(text: string | readonly string[]): LogLine[] {
  const physical = typeof text === 'string' ? text.split(/\r?\n/) : text.flatMap((t) => t.split(/\r?\n/));
  const out: LogLine[] = [];
  let current: Draft | undefined;
  let lastAt: number | undefined;
  let pendingStamp: number | undefined;

  const flush = () => {
    if (!current) return;
    const message = bounded(current.message.join('\n')).replace(MARKDOWN_LINK, '$1');
    out.push({
      index: current.index,
      raw: bounded(current.raw.join('\n')),
      message,
      at: current.at,
      timestamped: current.timestamped,
      level: current.level,
      container: containerOf(message),
      appOutput: current.appOutput,
    });
    current = undefined;
  };

  physical.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '') {
      flush();
      return;
    }
    if (/^ok$/i.test(trimmed)) return;
    const stamp = readStamp(trimmed);
    let rest = stamp ? stamp.rest : trimmed;
    if (stamp && rest.trim() === '') {
      // The portal log stream sometimes writes the timestamp on its own line and the message on the next.
      pendingStamp = stamp.at;
      return;
    }
    const level = LEVEL.exec(rest);
    if (level) rest = rest.slice(level[0].length);
    const at = stamp?.at ?? (level ? pendingStamp : undefined);
    const headed = at !== undefined || level !== null;
    if (!headed && current?.headed) {
      // A bounded entry: past the cap, continuation lines only keep the tail (see bounded()).
      if (current.chars < 4 * MAX_ENTRY_CHARS || current.raw.length < 8) {
        current.raw.push(line);
        current.message.push(trimmed);
        current.chars += line.length;
      } else {
        current.raw[current.raw.length - 1] = line;
        current.message[current.message.length - 1] = trimmed;
      }
      return;
    }
    flush();
    pendingStamp = undefined;
    if (at !== undefined) lastAt = at;
    const rawLevel = level?.[1];
    current = {
      index,
      raw: [line],
      message: [rest.trim()],
      at: at ?? lastAt,
      timestamped: at !== undefined,
      level:
        rawLevel === undefined ? undefined : rawLevel === 'WARNING' ? 'WARN' : (rawLevel as LogLine['level']),
      // Container stdout carries 9 fractional digits and no level; the platform writes 3 (classic) or 7 (2024+).
      appOutput: stamp !== undefined && stamp.fractionDigits === 9 && !level,
      headed,
      chars: line.length,
    };
  });
  flush();
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Images

interface ImageRef {
  repo: string;
  tag: string | undefined; // undefined: only a digest was given, so any tag of the repository matches
}

function parseImage(ref: string): ImageRef {
  let s = ref
    .trim()
    .replace(/^docker\|/i, '')
    .replace(/[.,;:"'\])]+$/, '')
    .toLowerCase();
  s = s.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '').replace(/^library\//, '');
  const at = s.indexOf('@');
  const digest = at >= 0;
  if (digest) s = s.slice(0, at);
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > slash) return { repo: s.slice(0, colon), tag: s.slice(colon + 1) };
  return { repo: s, tag: digest ? undefined : 'latest' };
}

/** Same repository and tag, case-insensitively; digests are ignored (a digest-only reference matches any tag). */
export function sameImage(a: string, b: string): boolean {
  const x = parseImage(a);
  const y = parseImage(b);
  return x.repo === y.repo && (x.tag === undefined || y.tag === undefined || x.tag === y.tag);
}

// The container runtime's own request line: `Head "https://<registry>/v2/<repo>/manifests/<tag or digest>": ...`
// (moby/containerd distribution clients print the failed request this way, with or without the platform's wrapper).
const DAEMON_REQUEST =
  /(?:Head|Get) "?https?:\/\/([^/"\s]{1,256})\/v2\/([^\s"]{1,256}?)\/manifests\/([^"\s]{1,256}?)"?: /i;

/** The image a line names, when it names one. */
function imageOf(message: string): string | undefined {
  const request = DAEMON_REQUEST.exec(message);
  if (request) {
    const [, host, repo, reference = ''] = request;
    return `${host}/${repo}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
  }
  const patterns = [
    /manifest for (\S{1,512}) not found/i,
    /failed to resolve reference "([^"\s]{1,512})"/i,
    /Pulling image: (\S{1,512})/i,
    /Issuing docker pull:? (\S{1,512})/i,
    /Attempting to pull image (\S{1,512}) from VNET/i,
    /Status: (?:Downloaded newer image|Image is up to date) for (\S{1,512})/i,
    /Site: \S{1,256} - Image: (\S{1,512})/i,
    /Image pull for (\S{1,512}) failed/i,
    /Pulling docker image (\S{1,512})/i,
  ];
  for (const p of patterns) {
    const m = p.exec(message);
    if (m?.[1]) return m[1].replace(/\.$/, '');
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Line events

type EventKind =
  | 'begin' // a new start attempt: the platform begins pulling (or, 2024+, establishing the network)
  | 'pull_progress'
  | 'pull_ok'
  | 'pull_failed'
  | 'start_progress'
  | 'started'
  | 'start_failed'
  | 'neutral';

interface LineEvent {
  kind: EventKind;
  cause?: PullFailureCause;
  image?: string;
  startFailure?: Classification['startFailure'];
  dockerHubDenied?: boolean;
}

// The platform's event line (2021+): `EventName:SiteStartFailed - Reason:<r> - Message:<m> - ContainerIDs: ...`.
const SITE_START_FAILED_EVENT =
  /^EventName:\s?SiteStartFailed - Reason:\s?(\S{0,128}) - Message:\s?([^\n]{0,2000}?)(?: - ContainerIDs:|$)/i;

/** What a start failure line says about why: the time limit, a crash, or no answer to the ping. */
function startFailureOf(message: string): Classification['startFailure'] {
  if (/did not start within expected time limit/i.test(message)) return 'timeLimit';
  const probe = /Site startup probe failed after (\d{1,5})(?:\.\d{1,9})? seconds/i.exec(message);
  if (probe && Number(probe[1]) >= 230) return 'timeLimit';
  if (/has exited|finished running with exit code/i.test(message)) return 'crashed';
  if (/didn't respond to HTTP pings/i.test(message)) return 'noResponse';
  return undefined;
}

// Besides the platform's phrases: the runtime's and the registry's own errors, with or without the platform's
// wrapper (daemon request lines, `name unknown`, `denied: ...`, `toomanyrequests`, registry error bodies, containerd).
const DAEMON_FAILURE =
  /(?:Head|Get) "?https?:\/\/[^/"\s]{1,256}\/v2\/\S{0,512}?"?: |\bname unknown\b|(?:^|: )denied: |\btoomanyrequests\b|"code"\s*:\s*"(?:MANIFEST_UNKNOWN|NAME_UNKNOWN|UNAUTHORIZED|DENIED|TOOMANYREQUESTS)"|failed to resolve reference|failed to authorize: |failed to do request: /i;
const PULL_FAILURE =
  /DockerApiException|Error response from daemon|docker pull returned|Image pull failed|Pulling docker image [^\n]{0,600}?failed|Pull image threw|pull access denied|ImagePullFailure|Image pull for [^\n]{0,600}? failed|manifest unknown|authentication required|is not allowed access|repository does not exist|Inspect image returned null|Container pull image (failed|interrupted)|UnexpectedFaliure|Error Response: Unauthorized|Failed to pull image/i;
const NOT_FOUND =
  /status code=NotFound|manifest unknown|name unknown|MANIFEST_UNKNOWN|NAME_UNKNOWN|repository name not known to registry|failed to resolve reference [^\n]{0,600}?: not found|manifest tagged by [^\n]{0,600}? is not found|manifest for \S{1,512} not found|\bnot found: manifest/i;
const NETWORK =
  /client with IP [^\n]{0,200}? is not allowed access|i\/o timeout|no such host|context deadline exceeded|Client\.Timeout exceeded|TLS handshake timeout|connection refused|network is unreachable/i;
const UNAUTHORIZED = /\bunauthorized\b|authentication required|pull access denied|\bdenied\b/i;
const THROTTLED = /toomanyrequests|too many requests|\b429\b/i;

/** Docker Hub's one message for a private repository pulled without its credentials and for a missing one. */
const DOCKER_HUB_DENIED = /pull access denied/i;

function failureCause(message: string): PullFailureCause {
  if (/Container pull image interrupted/i.test(message)) return 'interrupted';
  // Docker Hub answers a private repository as NotFound too: unless the registry itself says the manifest is
  // unknown, "pull access denied" is the credential's refusal (docs/azure-behaviour.md#log-formats).
  if (
    DOCKER_HUB_DENIED.test(message) &&
    !/manifest unknown|MANIFEST_UNKNOWN|manifest for \S{1,512} not found/i.test(message)
  )
    return 'unauthorized';
  if (NOT_FOUND.test(message)) return 'not_found';
  if (NETWORK.test(message)) return 'network';
  if (THROTTLED.test(message)) return 'throttled';
  if (UNAUTHORIZED.test(message)) return 'unauthorized';
  if (/repository does not exist/i.test(message)) return 'not_found';
  return 'unknown';
}

const START_FAILED =
  /failing site start|did not start within expected time limit|Stopp?ing site [^\n]{0,600}? because it failed during startup|Site startup probe failed|Container has finished running with exit code|terminated during site startup|Failed to start site|will be blocked for|Site is blocked|Start site prohibitt?ed/i;
const STARTED =
  /initialized successfully and is ready to serve requests|Site startup probe succeeded|^Site started\b/i;
const START_PROGRESS =
  /Starting container for site|^docker run |Initiating warmup request|Waiting for response to warmup request|^Starting container: |^Container is running|Container start method finished/i;
const PULL_OK =
  /Pull Image successful|Digest: sha256:|Status: Downloaded newer image|Status: Image is up to date/i;
// Windows has no "Pulling image" line: the first status block of an attempt says `Status: <tag> Pulling from <repo>`.
const BEGIN =
  /Pulling image: |Issuing docker pull|Attempting to pull image [^\n]{0,600}? from VNET|^Establishing network\b|\nStatus: \S{1,256} Pulling from /i;
const PULL_PROGRESS =
  /Pulling from |Pulling fs layer|\bDownloading\b|\bExtracting\b|Pull complete|Download complete|Verifying Checksum|Already exists|Pulling image from Docker hub|^Site: \S{1,256} - Image: /i;

function lineEvent(line: LogLine): LineEvent {
  const m = line.message;
  if (line.appOutput) return { kind: 'neutral' };
  if (line.container && SIDECAR.test(line.container)) return { kind: 'neutral' };
  const event = SITE_START_FAILED_EVENT.exec(m);
  if (event) {
    // The event's message says what failed (a pull, most often); otherwise it is a failed start.
    const inner = lineEvent({ ...line, message: event[2] ?? '' });
    if (inner.kind === 'pull_failed' || inner.kind === 'start_failed') return inner;
    return { kind: 'start_failed' };
  }
  const image = imageOf(m);
  const withImage = (e: LineEvent): LineEvent => (image ? { ...e, image } : e);
  if (PULL_FAILURE.test(m) || DAEMON_FAILURE.test(m)) {
    const failed: LineEvent = { kind: 'pull_failed', cause: failureCause(m) };
    if (DOCKER_HUB_DENIED.test(m)) failed.dockerHubDenied = true;
    return withImage(failed);
  }
  if (START_FAILED.test(m)) {
    const why = startFailureOf(m);
    return why ? { kind: 'start_failed', startFailure: why } : { kind: 'start_failed' };
  }
  if (STARTED.test(m)) return { kind: 'started' };
  if (PULL_OK.test(m)) return withImage({ kind: 'pull_ok' });
  if (BEGIN.test(m)) return withImage({ kind: 'begin' });
  if (START_PROGRESS.test(m)) return { kind: 'start_progress' };
  if (PULL_PROGRESS.test(m)) return withImage({ kind: 'pull_progress' });
  return { kind: 'neutral' };
}

// ---------------------------------------------------------------------------------------------------------------
// Attempts

type PullState = 'none' | 'in_progress' | 'ok' | 'failed';
type StartState = 'none' | 'in_progress' | 'started' | 'failed';

interface Attempt {
  pull: PullState;
  cause: PullFailureCause | undefined;
  start: StartState;
  evidence: LogLine[];
  /** Opened by a pull of another image: proves nothing about the configured one. */
  foreign: boolean;
  startFailure?: Classification['startFailure'];
  dockerHubDenied?: boolean;
}

// A crash or the time limit says more than the ping failure that follows it.
const START_FAILURE_RANK = { noResponse: 1, timeLimit: 2, crashed: 3 } as const;

// When one attempt shows several causes, the most specific wins: NotFound followed by the anonymous Docker Hub
// retry's `unauthorized` is a missing tag (Azure/acr#124), and a firewall denial beats a generic failure.
const CAUSE_RANK: Record<PullFailureCause, number> = {
  not_found: 6,
  network: 5,
  throttled: 4,
  unauthorized: 3,
  interrupted: 2,
  unknown: 1,
};

function freshAttempt(): Attempt {
  return { pull: 'none', cause: undefined, start: 'none', evidence: [], foreign: false };
}

function hasVerdict(a: Attempt): boolean {
  return a.pull === 'ok' || a.pull === 'failed' || a.start !== 'none';
}

/** Classifies the entries of one log (one machine's file, or one copy); see the module comment. */
export function classifyLines(lines: readonly LogLine[], options: ClassifyOptions = {}): Classification {
  const { image, since } = options;
  const others = new Set<string>();
  let attempt: Attempt | undefined;
  let attempts = 0;
  const begin = (): Attempt => {
    attempts++;
    attempt = freshAttempt();
    return attempt;
  };

  let seen = 0;
  for (const line of lines) {
    // Between entries, the caller's deadline may stop the work (each entry's cost is bounded).
    if (options.shouldStop && ++seen % 64 === 0 && options.shouldStop()) throw new ClassifyStoppedError();
    if (since !== undefined && line.at !== undefined && line.at < since) continue;
    const event = lineEvent(line);
    if (event.kind === 'neutral') continue;
    if (image && event.image && !sameImage(event.image, image)) {
      // A pull of another image (a stale tag, a sidecar) says nothing about the configured one: its begin opens
      // an attempt whose lines we skip until the next attempt starts.
      others.add(event.image);
      if (event.kind === 'begin') begin().foreign = true;
      continue;
    }
    if (attempt?.foreign && event.kind !== 'begin') continue;
    let a: Attempt = attempt ?? begin();
    if (a.foreign) a = begin();
    switch (event.kind) {
      case 'begin':
        if (hasVerdict(a)) a = begin();
        if (a.pull === 'none') a.pull = 'in_progress';
        a.evidence.push(line);
        break;
      case 'pull_progress':
        if (a.pull === 'none') a.pull = 'in_progress';
        if (a.evidence.length === 0) a.evidence.push(line);
        break;
      case 'pull_ok':
        if (a.pull === 'failed' || a.start !== 'none') a = begin();
        a.pull = 'ok';
        a.evidence.push(line);
        break;
      case 'pull_failed': {
        if (a.pull === 'ok' || a.start === 'started' || a.start === 'failed') a = begin();
        const cause = event.cause ?? 'unknown';
        a.cause =
          a.pull === 'failed' && a.cause && CAUSE_RANK[a.cause] >= CAUSE_RANK[cause] ? a.cause : cause;
        a.pull = 'failed';
        if (event.dockerHubDenied) a.dockerHubDenied = true;
        a.evidence.push(line);
        break;
      }
      case 'start_progress':
        if (a.start === 'started' || a.start === 'failed') a = begin();
        // The platform only starts a container whose pull finished: with a begin and no failure, it was pulled.
        if (a.pull === 'in_progress') a.pull = 'ok';
        if (a.start === 'none') {
          a.start = 'in_progress';
          a.evidence.push(line);
        }
        break;
      case 'started':
        if (a.pull === 'in_progress') a.pull = 'ok';
        a.start = 'started';
        a.evidence.push(line);
        break;
      case 'start_failed':
        a.start = 'failed';
        if (
          event.startFailure &&
          (!a.startFailure || START_FAILURE_RANK[event.startFailure] > START_FAILURE_RANK[a.startFailure])
        )
          a.startFailure = event.startFailure;
        a.evidence.push(line);
        break;
    }
  }

  const otherImages = [...others];
  const last = attempt as Attempt | undefined;
  if (last?.foreign) {
    return {
      outcome: 'nothing_relevant',
      imagePulled: false,
      evidence: [],
      attempts,
      otherImages,
      summary: `The last start attempt pulled ${otherImages.at(-1)}, not the configured ${image}.`,
    };
  }
  if (!last) {
    return {
      outcome: 'nothing_relevant',
      imagePulled: false,
      evidence: [],
      attempts: 0,
      otherImages,
      summary: otherImages.length
        ? `The log shows pulls of ${otherImages.join(', ')}, not of ${image}.`
        : 'The log has no pull or start lines for the app container.',
    };
  }
  const base = { imagePulled: last.pull === 'ok', evidence: last.evidence, attempts, otherImages };
  const what = image ?? 'the image';
  if (last.pull === 'failed') {
    const cause = last.cause ?? 'unknown';
    const started = last.start === 'started' ? ' (an older local copy may have started instead)' : '';
    const words =
      last.dockerHubDenied && cause === 'unauthorized'
        ? "Docker Hub denied the pull ('pull access denied'): the repository is private and the app pulls it without working credentials, or no repository has that name there"
        : CAUSE_IN_WORDS[cause];
    const summary = `Pulling ${what} failed: ${words}${started}.`;
    return {
      ...base,
      outcome: 'pull_failed',
      cause,
      summary,
      ...(last.dockerHubDenied ? { dockerHubDenied: true } : {}),
    };
  }
  if (last.start === 'failed') {
    const why =
      last.startFailure === 'timeLimit'
        ? ' within the start time limit'
        : last.startFailure === 'crashed'
          ? ': it exited (crashed)'
          : last.startFailure === 'noResponse'
            ? ': it did not answer the HTTP ping'
            : '';
    return {
      ...base,
      outcome: 'container_start_failed',
      ...(last.startFailure ? { startFailure: last.startFailure } : {}),
      summary:
        last.pull === 'ok'
          ? `${what} was pulled, but the container failed to start${why}.`
          : `The container failed to start${why}.`,
    };
  }
  if (last.start === 'started')
    return {
      ...base,
      outcome: 'container_started',
      summary:
        last.pull === 'ok'
          ? `${what} was pulled and the container started.`
          : `A container started, but no pull of ${what} was seen in that attempt.`,
    };
  if (last.pull === 'ok') return { ...base, outcome: 'pull_succeeded', summary: `${what} was pulled.` };
  return {
    ...base,
    outcome: 'in_progress',
    summary: last.start === 'in_progress' ? 'The container is starting.' : `Pulling ${what}…`,
  };
}

/** Convenience: parse and classify in one go. */
export function classifyLog(text: string | readonly string[], options: ClassifyOptions = {}): Classification {
  return classifyLines(parseLogLines(text), options);
}

// ---------------------------------------------------------------------------------------------------------------
// Explanations

/** What a classification means for the user, and the fix: a short human text (several lines at most). */
export function explain(result: Classification): { headline: string; fix: string | undefined } {
  switch (result.outcome) {
    case 'container_started':
      return result.imagePulled
        ? { headline: `${result.summary}`, fix: undefined }
        : {
            headline: result.summary,
            fix: 'A start alone does not prove the new image was pulled; restart the app and look for "Pull Image successful" or a "Digest:" line after the restart.',
          };
    case 'pull_succeeded':
      return { headline: result.summary, fix: undefined };
    case 'in_progress':
      return {
        headline: `${result.summary} No verdict yet.`,
        fix: 'Wait and read the log again; Windows images and first pulls can take minutes.',
      };
    case 'nothing_relevant':
      return {
        headline: result.summary,
        fix: 'Restart the app and send one request to it (a site without Always On starts on demand), then read the platform docker log (not the *_default_docker.log container output).',
      };
    case 'container_start_failed':
      return { headline: result.summary, fix: startFix(result.startFailure) };
    case 'pull_failed':
      return {
        headline: result.summary,
        fix:
          result.dockerHubDenied && result.cause === 'unauthorized'
            ? "Docker Hub says 'pull access denied' both for a private repository and for a name it does not have. A private repository needs its Docker Hub user name and an access token in DOCKER_REGISTRY_SERVER_USERNAME / DOCKER_REGISTRY_SERVER_PASSWORD (a managed identity means nothing to Docker Hub); an image kept in Azure Container Registry needs its full name, <registry>.azurecr.io/<repository>:<tag> (a name without a registry host is looked up on Docker Hub)."
            : pullFix(result.cause ?? 'unknown'),
      };
  }
}

/** The fix for a start that failed after the pull: by what the platform said, not always the port. */
function startFix(why: Classification['startFailure']): string {
  switch (why) {
    case 'timeLimit':
      return 'This is the app, not the registry: the container did not become ready within the start time limit (230 s by default). If it is only slow to start, raise the WEBSITES_CONTAINER_START_TIME_LIMIT app setting (up to 1800 seconds); also read the container output (*_default_docker.log) for what it does at start, and check it listens on the port App Service probes (WEBSITES_PORT).';
    case 'crashed':
      return 'This is the app, not the registry: the container exited during start (a crash, not a port problem). Read the container output (*_default_docker.log, or the Log stream) for the error, and check the startup command, the entrypoint and the app settings it needs.';
    default:
      return 'This is the app, not the registry: make the container listen on the port App Service probes (set the WEBSITES_PORT app setting to the port it exposes), check the startup command, and read the container output (*_default_docker.log) for the crash.';
  }
}

function pullFix(cause: PullFailureCause): string {
  switch (cause) {
    case 'unauthorized':
      return [
        'The registry refused the identity. In order:',
        '(1) a fresh AcrPull role assignment usually applies within minutes but can take up to 30: run the task again, or raise timeoutMinutes (default 15) to 30;',
        '(2) the identity the site pulls with has AcrPull (or Container Registry Repository Reader on an ABAC registry) on the registry;',
        '(3) config/web has acrUseManagedIdentityCreds=true (az webapp config set --name <app> --resource-group <group> --generic-configurations \'{"acrUseManagedIdentityCreds": true}\') and, for a user-assigned identity, acrUserManagedIdentityID = its client ID (not its resource ID);',
        '(4) the registry policy azureADAuthenticationAsArmPolicy is enabled (az acr config authentication-as-arm update --status enabled).',
      ].join(' ');
    case 'not_found':
      return 'The registry has no such repository or tag: push the image, or fix the tag in the app\'s container settings (linuxFxVersion / windowsFxVersion). The "unauthorized" after "Pulling image from Docker hub" is only the anonymous retry.';
    case 'network':
      return "The registry's firewall or network rules refused the app: allow the app's outbound IPs on the registry, or use VNet integration with image pull over the VNet (outboundVnetRouting.imagePullTraffic / vnetImagePullEnabled) and a private endpoint.";
    case 'throttled':
      return 'The registry throttled the pull (429 toomanyrequests): it heals by itself; restart the app in a few minutes, pull less often (fewer instances or slots restarting at once), or move the registry to a SKU with higher limits (learn.microsoft.com/azure/container-registry/container-registry-skus).';
    case 'interrupted':
      return 'A restart interrupted the pull (a config write restarts the app too): restart the app once more and let the pull finish.';
    case 'unknown':
      return 'The platform did not say why (the 2024+ platform only prints ImagePullFailure): check the tag exists in the registry, the identity has AcrPull on it, and the registry accepts the app (firewall / VNet image pull).';
  }
}
