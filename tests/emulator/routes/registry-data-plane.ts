/**
 * The Azure Container Registry data plane, served for every emulated registry under its login server name
 * (`<name>.azurecr.io`): the AAD token exchange, repository-scoped access tokens, manifests by tag and digest,
 * and tag lists, with the registry's own error bodies. A request reaches it by its Host header (the agent's
 * HTTPS proxy tunnels `<name>.azurecr.io:443` to the emulator; no DNS, nothing emulator-specific in the task).
 *
 * It refuses what ACR refuses, with the same rules the emulated pull applies (platform.ts):
 * - network: public network access disabled, or a default-deny firewall without an IP rule for the client,
 *   answers 403 DENIED "client with IP '...' is not allowed access" on every request (Azure/acr#633,
 *   docker/build-push-action#1214);
 * - ARM-token policy: an ARM-audience Entra token is exchanged only while azureADAuthenticationAsArmPolicy is
 *   enabled; an ACR-audience token (https://containerregistry.azure.net) always is (learn.microsoft.com
 *   "container-registry-disable-authentication-as-arm");
 * - RBAC/ABAC: a scope's `pull` is granted only when roles.ts `pullAccess` says so for the caller (the same
 *   roles per roleAssignmentMode, and the same propagation delay); a token request that grants nothing answers
 *   401, a registry call without the action answers 401 UNAUTHORIZED with a Bearer challenge.
 *
 * Protocol: Azure/acr docs/AAD-OAuth.md (exchange, token, repeated `scope`), the OCI distribution-spec
 * (manifests, tags/list, `n`, error codes), azure-cli acr/_docker_utils.py (the form fields it posts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EmulatorState, Registry } from '../model';
import { pullAccess } from '../roles';
import type { HttpReply } from '../router';

export interface DataPlaneRequest {
  method: string;
  /** Normalised path (no query). */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The TCP peer: what the registry firewall sees. */
  remoteAddress: string | undefined;
}

export interface DataPlaneDeps {
  state: EmulatorState;
  now(): number;
  /** Whether an audience is Resource Manager's (the emulator's own ARM URL counts, as server.ts decides). */
  isArmAudience(audience: string): boolean;
  /** The emulator's Entra: who an access token belongs to, its audience, whether it expired. */
  verifyAccessToken(
    token: string,
  ): { objectId: string; tenantId: string; audience: string; expired: boolean } | undefined;
}

export interface RegistryDataPlane {
  /** The registry whose login server the Host header names (port ignored), if any. */
  registryFor(host: string | undefined): Registry | undefined;
  handle(registry: Registry, req: DataPlaneRequest): HttpReply;
  /** Every token it issued (for secret scans). */
  issuedSecrets(): string[];
}

const ACR_AUDIENCE = /^https:\/\/containerregistry\.azure\.net\/?$/i;
const REFRESH_LIFETIME_MS = 3 * 3600_000;
const ACCESS_LIFETIME_MS = 75 * 60_000;
const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';

/** The digest the emulator gives `repo:tag` on a registry: stable, so scenarios can name it. */
export function manifestDigest(loginServer: string, repository: string, tag: string): string {
  return `sha256:${createHash('sha256').update(`${loginServer.toLowerCase()}/${repository.toLowerCase()}:${tag}`).digest('hex')}`;
}

/** The tags of a repository (case-insensitive name), or undefined when the registry has no such repository. */
export function repositoryTags(registry: Registry, repository: string): string[] | undefined {
  return Object.entries(registry.repositories).find(
    ([name]) => name.toLowerCase() === repository.toLowerCase(),
  )?.[1];
}

/** Whether `reference` (a tag or a `sha256:` digest of one of its tags) exists in the repository. */
export function referenceExists(registry: Registry, repository: string, reference: string): boolean {
  const tags = repositoryTags(registry, repository);
  if (!tags) return false;
  if (reference.startsWith('sha256:'))
    return tags.some((t) => manifestDigest(registry.loginServer, repository, t) === reference.toLowerCase());
  return tags.includes(reference);
}

/** Whether the registry's network rules let `address` in (IPv4 addresses and CIDR rules). */
export function networkAllows(registry: Registry, address: string | undefined): boolean {
  if (registry.publicNetworkAccess === 'Disabled') return false;
  if (registry.networkRuleSet.defaultAction !== 'Deny') return true;
  const ip = (address ?? '').replace(/^::ffff:/, '');
  return registry.networkRuleSet.ipRules.some((rule) => ipInRule(ip, rule.value));
}

function ipInRule(ip: string, rule: string): boolean {
  const [base = '', bits = '32'] = rule.split('/');
  const toInt = (s: string) => s.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip) || !/^\d+\.\d+\.\d+\.\d+$/.test(base)) return ip === rule;
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return (toInt(ip) & mask) === (toInt(base) & mask);
}

function errors(
  status: number,
  code: string,
  message: string,
  extra: object = {},
  headers: Record<string, string> = {},
): HttpReply {
  return { status, headers, body: { errors: [{ code, message, ...extra }] } };
}

interface Claims {
  kind: 'refresh' | 'access';
  aud: string;
  sub: string;
  tenant: string;
  exp: number;
  access?: { type: 'repository'; name: string; actions: string[] }[];
}

export function createRegistryDataPlane(deps: DataPlaneDeps): RegistryDataPlane {
  const key = randomBytes(32);
  const issued: string[] = [];

  function mint(claims: Claims): string {
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ ...claims, iss: 'Azure Container Registry', iat: Math.floor(deps.now() / 1000) }),
    ).toString('base64url');
    const signature = createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url');
    const token = `${header}.${payload}.${signature}`;
    issued.push(token);
    return token;
  }

  function read(token: string, kind: Claims['kind'], registry: Registry): Claims | undefined {
    const [header, payload, signature] = token.split('.');
    if (!header || !payload || !signature) return undefined;
    const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Claims;
    if (claims.kind !== kind || claims.aud !== registry.loginServer.toLowerCase()) return undefined;
    return claims.exp * 1000 > deps.now() ? claims : undefined;
  }

  function challenge(registry: Registry, scope: string | undefined): Record<string, string> {
    const ls = registry.loginServer.toLowerCase();
    return {
      'www-authenticate': `Bearer realm="https://${ls}/oauth2/token",service="${ls}"${scope ? `,scope="${scope}"` : ''}`,
    };
  }

  function unauthorized(registry: Registry, repository: string | undefined, action: string): HttpReply {
    return errors(
      401,
      'UNAUTHORIZED',
      'authentication required, visit https://aka.ms/acr/authorization for more information.',
      repository ? { detail: [{ Type: 'repository', Name: repository, Action: action }] } : {},
      challenge(registry, repository ? `repository:${repository}:${action}` : undefined),
    );
  }

  function exchange(registry: Registry, form: URLSearchParams): HttpReply {
    if (form.get('grant_type') !== 'access_token')
      return errors(400, 'UNSUPPORTED', `grant_type '${form.get('grant_type') ?? ''}' is not supported`);
    if ((form.get('service') ?? '').toLowerCase() !== registry.loginServer.toLowerCase())
      return errors(
        400,
        'UNSUPPORTED',
        `service '${form.get('service') ?? ''}' does not match this registry`,
      );
    const verified = deps.verifyAccessToken(form.get('access_token') ?? '');
    const refused = (why: string) => errors(401, 'UNAUTHORIZED', why);
    if (!verified) return refused('the access token is not valid');
    if (verified.expired) return refused('the access token has expired');
    const tenant = form.get('tenant');
    if (tenant && tenant.toLowerCase() !== verified.tenantId.toLowerCase())
      return refused(`the access token was issued for another tenant than '${tenant}'`);
    if (deps.isArmAudience(verified.audience) && registry.azureADAuthenticationAsArmPolicy === 'disabled')
      return refused(
        'ARM-audience tokens are not accepted by this registry (azureADAuthenticationAsArmPolicy is disabled); use a token for https://containerregistry.azure.net',
      );
    if (!deps.isArmAudience(verified.audience) && !ACR_AUDIENCE.test(verified.audience))
      return refused(`the access token audience '${verified.audience}' is not accepted`);
    const refresh = mint({
      kind: 'refresh',
      aud: registry.loginServer.toLowerCase(),
      sub: verified.objectId,
      tenant: verified.tenantId,
      exp: Math.floor((deps.now() + REFRESH_LIFETIME_MS) / 1000),
    });
    return { status: 200, body: { refresh_token: refresh } };
  }

  function token(registry: Registry, form: URLSearchParams): HttpReply {
    if (form.get('grant_type') !== 'refresh_token')
      return errors(400, 'UNSUPPORTED', `grant_type '${form.get('grant_type') ?? ''}' is not supported`);
    const refresh = read(form.get('refresh_token') ?? '', 'refresh', registry);
    if (!refresh)
      return errors(401, 'UNAUTHORIZED', 'the refresh token is not valid for this registry or has expired');
    const access: NonNullable<Claims['access']> = [];
    for (const scope of form.getAll('scope')) {
      const m = /^repository:([^:]+):(.+)$/.exec(scope);
      if (!m) continue;
      const name = (m[1] as string).toLowerCase();
      const wanted = (m[2] as string).split(',');
      // Only `pull` is modelled: the roles that pull also read tags and metadata (AcrPull, Repository Reader).
      const granted = wanted.filter(
        // The repository goes in: an ABAC condition on the grant may allow some repositories only.
        (a) =>
          a === 'pull' && pullAccess(deps.state, refresh.sub, registry.id, deps.now(), name) === 'granted',
      );
      if (granted.length > 0) access.push({ type: 'repository', name, actions: granted });
    }
    if (access.length === 0)
      return errors(
        401,
        'UNAUTHORIZED',
        'authentication required, visit https://aka.ms/acr/authorization for more information.',
      );
    const accessToken = mint({
      kind: 'access',
      aud: registry.loginServer.toLowerCase(),
      sub: refresh.sub,
      tenant: refresh.tenant,
      exp: Math.floor((deps.now() + ACCESS_LIFETIME_MS) / 1000),
      access,
    });
    return { status: 200, body: { access_token: accessToken } };
  }

  /** The bearer's grant for `pull` on the repository, or the 401 the registry answers. */
  function authorise(registry: Registry, req: DataPlaneRequest, repository: string): HttpReply | undefined {
    const auth =
      (Array.isArray(req.headers.authorization) ? req.headers.authorization[0] : req.headers.authorization) ??
      '';
    if (!/^bearer /i.test(auth)) return unauthorized(registry, repository, 'pull');
    const claims = read(auth.slice(7).trim(), 'access', registry);
    const ok = claims?.access?.some((a) => a.name === repository.toLowerCase() && a.actions.includes('pull'));
    return ok ? undefined : unauthorized(registry, repository, 'pull');
  }

  function manifests(
    registry: Registry,
    req: DataPlaneRequest,
    repository: string,
    reference: string,
  ): HttpReply {
    const denied = authorise(registry, req, repository);
    if (denied) return denied;
    if (!repositoryTags(registry, repository))
      return errors(404, 'NAME_UNKNOWN', 'repository name not known to registry', {
        detail: { name: repository },
      });
    if (!referenceExists(registry, repository, reference)) {
      return errors(
        404,
        'MANIFEST_UNKNOWN',
        reference.startsWith('sha256:')
          ? `manifest ${reference} is not found`
          : `manifest tagged by "${reference}" is not found`,
        { detail: { Name: repository, Revision: reference } },
      );
    }
    const digest = reference.startsWith('sha256:')
      ? reference.toLowerCase()
      : manifestDigest(registry.loginServer, repository, reference);
    const body = JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config: {}, layers: [] });
    return {
      status: 200,
      headers: {
        'docker-content-digest': digest,
        'content-type': MANIFEST_TYPE,
        'docker-distribution-api-version': 'registry/2.0',
      },
      ...(req.method === 'HEAD' ? {} : { body }),
    };
  }

  function tagsList(registry: Registry, req: DataPlaneRequest, repository: string): HttpReply {
    const denied = authorise(registry, req, repository);
    if (denied) return denied;
    const tags = repositoryTags(registry, repository);
    if (!tags)
      return errors(404, 'NAME_UNKNOWN', 'repository name not known to registry', {
        detail: { name: repository },
      });
    const sorted = [...tags].sort();
    const last = req.query.get('last');
    const from = last ? sorted.filter((t) => t > last) : sorted;
    const n = Number(req.query.get('n') ?? '') || 100;
    const page = from.slice(0, n);
    const headers: Record<string, string> =
      from.length > n
        ? {
            link: `</v2/${repository}/tags/list?last=${encodeURIComponent(page.at(-1) ?? '')}&n=${n}>; rel="next"`,
          }
        : {};
    return { status: 200, headers, body: { name: repository.toLowerCase(), tags: page } };
  }

  return {
    registryFor(host) {
      const name = (host ?? '').replace(/:\d+$/, '').toLowerCase();
      if (!name) return undefined;
      return deps.state.registries.find((r) => r.loginServer.toLowerCase() === name);
    },
    handle(registry, req) {
      if (!networkAllows(registry, req.remoteAddress)) {
        const ip = (req.remoteAddress ?? '').replace(/^::ffff:/, '');
        return errors(
          403,
          'DENIED',
          `client with IP '${ip}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.`,
        );
      }
      const { method, path } = req;
      if (method === 'POST' && path === '/oauth2/exchange')
        return exchange(registry, new URLSearchParams(req.body));
      if (method === 'POST' && path === '/oauth2/token')
        return token(registry, new URLSearchParams(req.body));
      if (path === '/v2' || path === '/v2/')
        return {
          ...unauthorized(registry, undefined, '*'),
          body: {
            errors: [
              {
                code: 'UNAUTHORIZED',
                message:
                  'authentication required, visit https://aka.ms/acr/authorization for more information.',
              },
            ],
          },
        };
      const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
      if (manifest && (method === 'GET' || method === 'HEAD'))
        return manifests(registry, req, (manifest[1] as string).toLowerCase(), manifest[2] as string);
      const tags = /^\/v2\/(.+)\/tags\/list$/.exec(path);
      if (tags && method === 'GET') return tagsList(registry, req, (tags[1] as string).toLowerCase());
      return errors(404, 'UNSUPPORTED', `The operation is unsupported: ${method} ${path}`);
    },
    issuedSecrets: () => issued.slice(),
  };
}
