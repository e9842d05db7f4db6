/**
 * The pre-flight image check: before anything restarts, ask the registry whether every image the targets run
 * exists (repository and tag, or digest). One token exchange per registry, one scoped token for every repository,
 * then one HEAD per distinct image (never per target) and, only when an image is missing, one tag list to name
 * the nearest tags. When the registry cannot be asked (no data-plane read, firewall, unreachable, ARM tokens
 * refused) the answer is "unchecked, because ...": never a failure of its own. No logging; returns data.
 */
import { systemClock } from '../clock';
import { isAcrHost } from '../configure/images';
import { isCancelledError } from '../errors';
import {
  type Answer,
  exchangeAccessToken,
  headManifest,
  listTags,
  pullScope,
  type RegistryErrorInfo,
  type RegistrySend,
  scopedAccessToken,
} from './data-plane';

/** Why an image (or the whole registry) was not checked. */
export type SkipReason =
  | 'armTokenPolicy' // the registry refuses ARM-audience tokens (azureADAuthenticationAsArmPolicy disabled)
  | 'firewall' // the registry's network rules refuse the agent
  | 'unreachable' // no answer at all (DNS, proxy, connection refused, timeout)
  | 'noDataPlaneRead' // the connection may not read the repository (401/403 on the token or the manifest)
  | 'refused' // the token exchange failed for another reason
  | 'unavailable' // the registry answered 429/5xx
  | 'untrustedLoginServer'; // the login server is not the registry's name under the cloud's ACR suffix

export type ImageState =
  | { readonly kind: 'exists'; readonly digest: string | undefined }
  | {
      readonly kind: 'missing';
      /** What is missing: the repository itself, or the tag / digest in an existing repository. */
      readonly what: 'repository' | 'tag' | 'digest';
      /** Up to 5 existing tags nearest to the wanted one; undefined when they could not be listed. */
      readonly nearestTags: readonly string[] | undefined;
      /** How many tags the repository has (first page), when listed. */
      readonly tagCount: number | undefined;
    }
  | { readonly kind: 'unchecked'; readonly reason: SkipReason; readonly detail: string };

export interface CheckedImage {
  readonly image: string;
  readonly repository: string;
  /** The tag, or the digest (`sha256:...`) when the reference has one. */
  readonly reference: string;
  readonly byDigest: boolean;
  /** Labels of the targets that run it. */
  readonly targets: readonly string[];
  readonly state: ImageState;
}

export interface ImageCheckReport {
  readonly loginServer: string;
  /** Distinct images on the configured registry, in first-seen order. */
  readonly images: readonly CheckedImage[];
  /** ACR images on another registry: not checked (the connection's token goes to the configured registry only). */
  readonly otherRegistryImages: readonly { readonly image: string; readonly targets: readonly string[] }[];
  /** Set when the whole registry was skipped: said once, not per image. */
  readonly skipped: { readonly reason: SkipReason; readonly detail: string } | undefined;
  /** Cost: requests sent and wall-clock milliseconds. */
  readonly requests: number;
  readonly ms: number;
}

export interface ImageCheckDeps {
  readonly send: RegistrySend;
  /** The service connection's ARM access token (what ACR's exchange accepts while ARM tokens are allowed). */
  readonly getToken: (signal?: AbortSignal) => Promise<string>;
  /**
   * A token for the registry audience (`https://containerregistry.azure.net`), which the exchange accepts even when
   * the registry refuses ARM-audience tokens (learn.microsoft.com "Disable authentication as ARM"). Optional.
   */
  readonly getRegistryToken?: (signal?: AbortSignal) => Promise<string>;
  readonly now?: () => number;
  readonly signal?: AbortSignal;
  /**
   * Set when the login server may not receive a token (http/guard.ts `loginServerProblem`): every image is then
   * unchecked for this reason, and no request is sent.
   */
  readonly untrustedLoginServer?: string;
}

export interface RegistryFacts {
  readonly loginServer: string;
  readonly armTokenAuthDisabled: boolean;
}

/** First page of tags we read to name the nearest ones. */
export const TAG_LIST_LIMIT = 100;
const NEAREST = 5;
/** HEADs in flight at once. */
const CONCURRENCY = 8;

/** Splits `host/repo/path:tag` or `host/repo@sha256:...` (host already known to be ACR). */
export function splitImage(image: string): {
  host: string;
  repository: string;
  reference: string;
  byDigest: boolean;
} {
  const trimmed = image.trim();
  const slash = trimmed.indexOf('/');
  const host = slash < 0 ? '' : trimmed.slice(0, slash).toLowerCase();
  const rest = slash < 0 ? trimmed : trimmed.slice(slash + 1);
  const at = rest.indexOf('@');
  if (at >= 0) {
    const name = rest.slice(0, at);
    const colon = name.lastIndexOf(':');
    // `repo:tag@sha256:...`: the digest decides what is pulled.
    return {
      host,
      repository: colon >= 0 ? name.slice(0, colon) : name,
      reference: rest.slice(at + 1),
      byDigest: true,
    };
  }
  const colon = rest.lastIndexOf(':');
  return colon >= 0
    ? { host, repository: rest.slice(0, colon), reference: rest.slice(colon + 1), byDigest: false }
    : { host, repository: rest, reference: 'latest', byDigest: false };
}

/** Repository names are lower case on ACR (docker refuses upper case): compare and request in lower case. */
function repoKey(repository: string): string {
  return repository.toLowerCase();
}

export async function checkImages(
  deps: ImageCheckDeps,
  registry: RegistryFacts,
  targets: readonly { readonly label: string; readonly images: readonly string[] }[],
): Promise<ImageCheckReport> {
  const now = deps.now ?? systemClock.now;
  const started = now();
  const loginServer = registry.loginServer.toLowerCase();
  const distinct = new Map<string, { image: string; targets: string[] }>();
  const other = new Map<string, { image: string; targets: string[] }>();
  for (const t of targets) {
    for (const image of t.images) {
      const parts = splitImage(image);
      if (!parts.host.includes('.')) continue; // Docker Hub and other non-registry names: not ours to check
      const bucket = parts.host === loginServer ? distinct : isAcrHost(parts.host) ? other : undefined;
      if (!bucket) continue; // public registries (mcr.microsoft.com...) are not the configured registry
      const key = `${parts.host}/${repoKey(parts.repository)}${parts.byDigest ? '@' : ':'}${parts.reference}`;
      const entry = bucket.get(key) ?? { image, targets: [] };
      if (!entry.targets.includes(t.label)) entry.targets.push(t.label);
      bucket.set(key, entry);
    }
  }
  let requests = 0;
  const send: RegistrySend = (r) => {
    requests += 1;
    return deps.send(r);
  };
  const done = (images: CheckedImage[], skipped: ImageCheckReport['skipped']): ImageCheckReport => ({
    loginServer,
    images,
    otherRegistryImages: [...other.values()],
    skipped,
    requests,
    ms: now() - started,
  });
  const entries = [...distinct.values()].map((e) => ({ ...e, ...splitImage(e.image) }));
  const unchecked = (reason: SkipReason, detail: string) =>
    done(
      entries.map((e) => toChecked(e, { kind: 'unchecked', reason, detail })),
      { reason, detail },
    );
  if (entries.length === 0) return done([], undefined);
  if (deps.untrustedLoginServer) return unchecked('untrustedLoginServer', deps.untrustedLoginServer);
  if (registry.armTokenAuthDisabled && !deps.getRegistryToken) {
    return unchecked(
      'armTokenPolicy',
      `the registry refuses ARM-audience tokens (azureADAuthenticationAsArmPolicy is disabled), so the service connection's token cannot be exchanged`,
    );
  }

  const signal = deps.signal;
  try {
    let accessToken: string;
    try {
      accessToken =
        registry.armTokenAuthDisabled && deps.getRegistryToken
          ? await deps.getRegistryToken(signal)
          : await deps.getToken(signal);
    } catch (e: unknown) {
      if (isCancelledError(e) || signal?.aborted) throw e;
      return unchecked('refused', `no token for the registry could be obtained (${describe(e)})`);
    }
    const exchanged = await exchangeAccessToken(
      send,
      loginServer,
      { accessToken, tenantId: tenantOf(accessToken) },
      signal,
    );
    if (!exchanged.ok) {
      const skip = skipOf(exchanged, 'the token exchange (POST /oauth2/exchange)');
      return unchecked(skip.reason, skip.detail);
    }
    const repositories = [...new Set(entries.map((e) => repoKey(e.repository)))];
    const scoped = await scopedAccessToken(
      send,
      loginServer,
      exchanged.value,
      repositories.map(pullScope),
      signal,
    );
    if (!scoped.ok) {
      const skip = skipOf(scoped, 'the pull-scoped token (POST /oauth2/token)');
      return unchecked(skip.reason, skip.detail);
    }
    const token = scoped.value;
    const checked = await inBatches(entries, CONCURRENCY, (e) =>
      checkOne(send, loginServer, token, e, signal),
    );
    return done(checked, sharedSkip(checked));
  } catch (e: unknown) {
    if (isCancelledError(e) || signal?.aborted) throw e;
    return unchecked('unreachable', `the registry could not be reached from the agent (${describe(e)})`);
  }
}

/** When every image was skipped for the same reason, the registry as a whole was: say it once. */
function sharedSkip(images: readonly CheckedImage[]): ImageCheckReport['skipped'] {
  const first = images[0]?.state;
  if (first?.kind !== 'unchecked') return undefined;
  return images.every((i) => i.state.kind === 'unchecked' && i.state.reason === first.reason)
    ? { reason: first.reason, detail: first.detail }
    : undefined;
}

async function checkOne(
  send: RegistrySend,
  loginServer: string,
  token: string,
  e: { image: string; targets: string[]; repository: string; reference: string; byDigest: boolean },
  signal: AbortSignal | undefined,
): Promise<CheckedImage> {
  const repository = repoKey(e.repository);
  let head: Answer<{ digest: string | undefined }>;
  try {
    head = await headManifest(send, loginServer, token, repository, e.reference, signal);
  } catch (err: unknown) {
    if (isCancelledError(err) || signal?.aborted) throw err;
    return toChecked(e, {
      kind: 'unchecked',
      reason: 'unreachable',
      detail: `the registry could not be reached from the agent (${describe(err)})`,
    });
  }
  if (head.ok) return toChecked(e, { kind: 'exists', digest: head.value.digest });
  if (head.status !== 404)
    return toChecked(e, { kind: 'unchecked', ...skipOf(head, `HEAD /v2/${repository}/manifests`) });
  // A HEAD answer has no body: the tag list tells a missing repository (NAME_UNKNOWN) from a missing tag.
  let tags: Answer<string[]> | undefined;
  try {
    tags = await listTags(send, loginServer, token, repository, TAG_LIST_LIMIT, signal);
  } catch (err: unknown) {
    if (isCancelledError(err) || signal?.aborted) throw err;
    tags = undefined;
  }
  const what = e.byDigest ? 'digest' : 'tag';
  if (tags?.ok) {
    return toChecked(e, {
      kind: 'missing',
      what,
      nearestTags: nearestTags(e.byDigest ? '' : e.reference, tags.value, NEAREST),
      tagCount: tags.value.length,
    });
  }
  if (tags && tags.status === 404 && tags.error?.code === 'NAME_UNKNOWN')
    return toChecked(e, { kind: 'missing', what: 'repository', nearestTags: undefined, tagCount: undefined });
  return toChecked(e, { kind: 'missing', what, nearestTags: undefined, tagCount: undefined });
}

function toChecked(e: { image: string; targets: string[] }, state: ImageState): CheckedImage {
  const parts = splitImage(e.image);
  return {
    image: e.image,
    repository: parts.repository,
    reference: parts.reference,
    byDigest: parts.byDigest,
    targets: e.targets,
    state,
  };
}

/** What a refusal means for the check. */
function skipOf(
  answer: { status: number; error: RegistryErrorInfo | undefined },
  what: string,
): { reason: SkipReason; detail: string } {
  const code = answer.error?.code ?? '';
  const said = `${answer.status}${code ? ` ${code}` : ''}${answer.error?.message ? `: ${answer.error.message}` : ''}`;
  if (
    answer.status === 403 &&
    (code === 'DENIED' || /not allowed access|firewall/i.test(answer.error?.message ?? ''))
  )
    return {
      reason: 'firewall',
      detail: `the registry's network rules refuse the agent (${what} answered ${said})`,
    };
  if (answer.status === 401 || answer.status === 403)
    return {
      reason: what.includes('exchange') ? 'refused' : 'noDataPlaneRead',
      detail: what.includes('exchange')
        ? `the registry refused the service connection's token (${what} answered ${said})`
        : `the service connection may not read the repository (${what} answered ${said}); it needs AcrPull, or Container Registry Repository Reader on an ABAC registry, to check tags`,
    };
  if (answer.status === 429 || answer.status >= 500)
    return { reason: 'unavailable', detail: `the registry was unavailable (${what} answered ${said})` };
  return { reason: 'refused', detail: `${what} answered ${said}` };
}

/** The `tid` claim of the Entra token (the exchange's `tenant` field); undefined for an opaque token. */
export function tenantOf(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { tid?: unknown };
    return typeof claims.tid === 'string' ? claims.tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The existing tags nearest to `wanted`: fewest edits first (2.0.0 → 2.0.1 before 1.0.0), then the longest shared
 * prefix, then newest-looking (natural order, descending). Pure.
 */
export function nearestTags(wanted: string, tags: readonly string[], n: number): string[] {
  const w = wanted.toLowerCase();
  const scored = tags.map((tag) => {
    const t = tag.toLowerCase();
    let prefix = 0;
    while (prefix < w.length && prefix < t.length && w[prefix] === t[prefix]) prefix++;
    return { tag, distance: w ? editDistance(w, t) : 0, prefix };
  });
  scored.sort(
    (a, b) =>
      a.distance - b.distance ||
      b.prefix - a.prefix ||
      b.tag.localeCompare(a.tag, undefined, { numeric: true, sensitivity: 'base' }),
  );
  return scored.slice(0, n).map((s) => s.tag);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit)
    out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return out;
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  const code = cause && typeof cause === 'object' ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? `${e.message}: ${code}` : e.message;
}
