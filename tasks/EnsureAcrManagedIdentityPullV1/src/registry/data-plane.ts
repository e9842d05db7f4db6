/**
 * The Azure Container Registry data plane, as much of it as the pre-flight image check needs: trade the service
 * connection's Entra access token for an ACR refresh token, trade that for an access token scoped to the
 * repositories, then ask for manifests and tag lists. Written against a small `RegistrySend` port so it runs on
 * whatever HTTP pipeline the task uses (proxy, CA, user agent); it never logs and returns plain data.
 *
 * Protocol (public sources):
 * - `POST /oauth2/exchange` with a form body `grant_type=access_token&service=<loginServer>&tenant=<tid>&
 *   access_token=<AAD token>` answers `{"refresh_token": ...}`; `POST /oauth2/token` with
 *   `grant_type=refresh_token&service=<loginServer>&scope=<scope>&refresh_token=<ACR refresh token>` answers
 *   `{"access_token": ...}`; `scope` may be given more than once (Azure/acr docs/AAD-OAuth.md; azure-cli
 *   src/azure-cli/azure/cli/command_modules/acr/_docker_utils.py `_get_aad_token_after_challenge`).
 * - Manifests: `HEAD /v2/<name>/manifests/<reference>`, where reference is a tag or a digest; tags:
 *   `GET /v2/<name>/tags/list` (OCI distribution-spec, "Pulling manifests" and "Listing tags").
 * - Error bodies: `{"errors":[{"code":"MANIFEST_UNKNOWN"|"NAME_UNKNOWN"|"UNAUTHORIZED"|"DENIED",...}]}`; a
 *   registry firewall answers 403 DENIED "client with IP '...' is not allowed access" (Azure/acr#633).
 */

/** One request as the data plane needs it. Bodies are small form posts; responses are read as text. */
export interface RegistryRequest {
  readonly method: 'GET' | 'HEAD' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

export interface RegistryResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly text: string;
}

/** The transport port. Rejects on network failures (no answer at all); any HTTP status resolves. */
export type RegistrySend = (request: RegistryRequest) => Promise<RegistryResponse>;

/** Manifest and index media types: Docker v2 schema 2, OCI (HEAD must accept lists too, or a multi-arch tag 404s). */
export const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** The first error of a registry error body (`{"errors":[{"code","message"}]}`), when there is one. */
export interface RegistryErrorInfo {
  readonly code: string;
  readonly message: string;
}

export type Answer<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly status: number; readonly error: RegistryErrorInfo | undefined };

/** Longest body we parse: a tag list of a busy repository fits, a hostile answer does not fill memory. */
const MAX_BODY_CHARS = 1_000_000;

export function registryErrorOf(text: string): RegistryErrorInfo | undefined {
  const parsed = parseJson(text) as { errors?: { code?: unknown; message?: unknown }[] } | undefined;
  const first = Array.isArray(parsed?.errors) ? parsed.errors[0] : undefined;
  if (!first || typeof first.code !== 'string') return undefined;
  return { code: first.code, message: typeof first.message === 'string' ? first.message : '' };
}

function parseJson(text: string): unknown {
  if (!text || text.length > MAX_BODY_CHARS) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function failure<T>(r: RegistryResponse): Answer<T> {
  return { ok: false, status: r.status, error: registryErrorOf(r.text) };
}

function form(fields: readonly (readonly [string, string])[]): string {
  return fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };

/** `POST /oauth2/exchange`: the Entra access token for an ACR refresh token. */
export async function exchangeAccessToken(
  send: RegistrySend,
  loginServer: string,
  entra: { readonly accessToken: string; readonly tenantId: string | undefined },
  signal?: AbortSignal,
): Promise<Answer<string>> {
  const r = await send({
    method: 'POST',
    url: `https://${loginServer}/oauth2/exchange`,
    headers: FORM,
    body: form([
      ['grant_type', 'access_token'],
      ['service', loginServer],
      ...(entra.tenantId ? [['tenant', entra.tenantId] as const] : []),
      ['access_token', entra.accessToken],
    ]),
    ...(signal ? { signal } : {}),
  });
  const token = (parseJson(r.text) as { refresh_token?: unknown } | undefined)?.refresh_token;
  if (r.status === 200 && typeof token === 'string' && token) return { ok: true, value: token };
  return failure(r);
}

/** `POST /oauth2/token`: one access token for every scope given (`repository:<name>:pull`...). */
export async function scopedAccessToken(
  send: RegistrySend,
  loginServer: string,
  refreshToken: string,
  scopes: readonly string[],
  signal?: AbortSignal,
): Promise<Answer<string>> {
  const r = await send({
    method: 'POST',
    url: `https://${loginServer}/oauth2/token`,
    headers: FORM,
    body: form([
      ['grant_type', 'refresh_token'],
      ['service', loginServer],
      ...scopes.map((s) => ['scope', s] as const),
      ['refresh_token', refreshToken],
    ]),
    ...(signal ? { signal } : {}),
  });
  const token = (parseJson(r.text) as { access_token?: unknown } | undefined)?.access_token;
  if (r.status === 200 && typeof token === 'string' && token) return { ok: true, value: token };
  return failure(r);
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** `HEAD /v2/<name>/manifests/<reference>`: the manifest's digest when it exists. */
export async function headManifest(
  send: RegistrySend,
  loginServer: string,
  accessToken: string,
  repository: string,
  reference: string,
  signal?: AbortSignal,
): Promise<Answer<{ digest: string | undefined }>> {
  const r = await send({
    method: 'HEAD',
    url: `https://${loginServer}/v2/${repository}/manifests/${encodeURIComponent(reference)}`,
    headers: { authorization: `Bearer ${accessToken}`, accept: MANIFEST_ACCEPT },
    ...(signal ? { signal } : {}),
  });
  if (r.status === 200)
    return { ok: true, value: { digest: r.headers.get('docker-content-digest') ?? undefined } };
  return failure(r);
}

/** `GET /v2/<name>/tags/list`: the repository's tags (first page, at most `limit`). */
export async function listTags(
  send: RegistrySend,
  loginServer: string,
  accessToken: string,
  repository: string,
  limit: number,
  signal?: AbortSignal,
): Promise<Answer<string[]>> {
  const r = await send({
    method: 'GET',
    url: `https://${loginServer}/v2/${repository}/tags/list?n=${limit}`,
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
    ...(signal ? { signal } : {}),
  });
  if (r.status !== 200) return failure(r);
  const tags = (parseJson(r.text) as { tags?: unknown } | undefined)?.tags;
  return {
    ok: true,
    value: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string').slice(0, limit) : [],
  };
}
