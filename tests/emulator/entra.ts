/**
 * The emulator's identity side: Microsoft Entra ID's token endpoints (v1 and v2, client secret, certificate
 * assertion, federated assertion), the Azure DevOps oidctoken route that hands a pipeline job its federated
 * assertion, and an IMDS-compatible managed identity endpoint. This is the only file that knows token formats:
 * everything else asks `verifyAccessToken`.
 *
 * Tokens are JWT-shaped (header.payload.signature) and signed with a per-emulator HMAC key, so nothing but this
 * emulator accepts them. Error bodies follow Entra's shape (`error`, `error_description` starting with the
 * AADSTS code, `error_codes`, `timestamp`, `trace_id`, `correlation_id`), because the task maps them by code.
 *
 * Wire facts: docs/azure-behaviour.md#entra-token-endpoint. AADSTS texts are
 * paraphrased from the messages Entra prints (learn.microsoft.com "Microsoft Entra authentication and
 * authorization error codes").
 */
import {
  constants,
  createHash,
  createHmac,
  randomBytes,
  randomUUID,
  timingSafeEqual,
  verify as verifySignature,
  X509Certificate,
} from 'node:crypto';

export interface EntraApplication {
  clientId: string;
  objectId: string;
  displayName?: string;
  secrets: string[];
  /**
   * Secrets that exist but whose end date has passed: presenting one answers AADSTS7000222 (not 7000215), as
   * Entra does. Optional so the model's application type satisfies this one.
   */
  expiredSecrets?: string[];
  /** PEM of each registered certificate (a private key block next to it is ignored). */
  certificatesPem: string[];
  federatedCredentials: { issuer: string; subject: string; audience?: string }[];
}

export interface EntraDeps {
  tenantId: string;
  /** `https://127.0.0.1:PORT/` */
  baseUrl: string;
  /** Emulated epoch ms. */
  now(): number;
  applications(): EntraApplication[];
  managedIdentities(): { clientId: string; objectId: string; default?: boolean }[];
  pipeline(): {
    jobAccessToken: string;
    organization: string;
    projectId: string;
    serviceConnectionIds: string[];
  };
  tokenLifetimeSeconds(): number;
  assertionLifetimeSeconds(): number;
}

export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | object;
}

export interface EntraRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface VerifiedToken {
  objectId: string;
  clientId: string;
  tenantId: string;
  audience: string;
  expired: boolean;
}

export interface Entra {
  handle(req: EntraRequest): HttpReply | undefined;
  verifyAccessToken(token: string): VerifiedToken | undefined;
  issuedSecrets(): string[];
}

/** The audience Azure DevOps puts in every federated assertion and Entra expects by default. */
export const FEDERATED_AUDIENCE = 'api://AzureADTokenExchange';

/**
 * Issuer of the Azure DevOps OIDC tokens for an organization. Real tokens say
 * `https://vstoken.dev.azure.com/<organization GUID>`; we derive a stable GUID from the organization name so a
 * scenario can name the issuer without knowing a random ID.
 */
export function azureDevOpsIssuer(organization: string): string {
  return `https://vstoken.dev.azure.com/${guidFrom(`org:${organization.toLowerCase()}`)}`;
}

/**
 * Subject of the OIDC token for a service connection: `sc://<organization>/<project>/<connection>`. Azure DevOps
 * uses the project and connection names; the emulator's pipeline only knows IDs, so it uses those.
 */
export function azureDevOpsSubject(
  organization: string,
  projectId: string,
  serviceConnectionId: string,
): string {
  return `sc://${organization}/${projectId}/${serviceConnectionId}`;
}

/** The federated credential a scenario registers on an app so the seeded pipeline's connection can sign in. */
export function federatedCredentialFor(
  organization: string,
  projectId: string,
  serviceConnectionId: string,
): { issuer: string; subject: string; audience: string } {
  return {
    issuer: azureDevOpsIssuer(organization),
    subject: azureDevOpsSubject(organization, projectId, serviceConnectionId),
    audience: FEDERATED_AUDIENCE,
  };
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Entra tolerates this much clock skew on client assertions. */
const ASSERTION_SKEW_SECONDS = 300;

interface TokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  oid: string;
  sub: string;
  appid: string;
  azp: string;
  tid: string;
  idtyp: 'app';
  ver: '1.0';
  uti: string;
}

export function createEntra(deps: EntraDeps): Entra {
  // One key signs access tokens, another the Azure DevOps OIDC tokens: they are different issuers.
  const tokenKey = randomBytes(32);
  const oidcKey = randomBytes(32);
  const issued: string[] = [];
  const base = deps.baseUrl.replace(/\/+$/, '');
  const nowSeconds = () => Math.floor(deps.now() / 1000);

  function remember(secret: string): string {
    issued.push(secret);
    return secret;
  }

  function issueAccessToken(
    principal: { objectId: string; clientId: string },
    audience: string,
  ): { token: string; lifetime: number; claims: TokenClaims } {
    const lifetime = Math.max(1, Math.floor(deps.tokenLifetimeSeconds()));
    const iat = nowSeconds();
    const claims: TokenClaims = {
      aud: audience,
      iss: `https://sts.windows.net/${deps.tenantId}/`,
      iat,
      nbf: iat,
      exp: iat + lifetime,
      oid: principal.objectId,
      sub: principal.objectId,
      appid: principal.clientId,
      azp: principal.clientId,
      tid: deps.tenantId,
      idtyp: 'app',
      ver: '1.0',
      uti: randomBytes(12).toString('base64url'),
    };
    const token = remember(signHs256(tokenKey, { typ: 'JWT', alg: 'HS256', kid: 'emulator' }, claims));
    return { token, lifetime, claims };
  }

  // ------------------------------------------------------------------------------------------------------
  // Entra: discovery
  // ------------------------------------------------------------------------------------------------------

  function openIdConfiguration(tenant: string, v2: boolean): HttpReply {
    if (!knownTenant(tenant)) return tenantNotFound(tenant);
    const t = deps.tenantId;
    const v = v2 ? '/v2.0' : '';
    return json(200, {
      token_endpoint: `${base}/${t}/oauth2${v}/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/${t}/discovery${v}/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: v2 ? `${base}/${t}/v2.0` : `https://sts.windows.net/${t}/`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/${t}/oauth2${v}/authorize`,
      device_authorization_endpoint: `${base}/${t}/oauth2${v}/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/${t}/oauth2${v}/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid'],
      tenant_region_scope: 'EU',
      cloud_instance_name: new URL(deps.baseUrl).host,
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    });
  }

  function instanceDiscovery(): HttpReply {
    // Only asked when a client does not disable instance discovery; answering keeps such clients working.
    const host = new URL(deps.baseUrl).host;
    return json(200, {
      tenant_discovery_endpoint: `${base}/${deps.tenantId}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  }

  function knownTenant(tenant: string): boolean {
    return tenant.toLowerCase() === deps.tenantId.toLowerCase();
  }

  // ------------------------------------------------------------------------------------------------------
  // Entra: token endpoint
  // ------------------------------------------------------------------------------------------------------

  function token(tenant: string, v2: boolean, body: string): HttpReply {
    if (!knownTenant(tenant)) return tenantNotFound(tenant);
    const form = new URLSearchParams(body);
    const grantType = form.get('grant_type');
    if (grantType !== 'client_credentials') {
      return aadError(
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type '${grantType ?? ''}'.`,
      );
    }
    const clientId = form.get('client_id');
    if (!clientId) {
      return missingParameter('client_id');
    }

    let audience: string;
    if (v2) {
      const scope = (form.get('scope') ?? '').trim();
      if (!scope) {
        return missingParameter('scope');
      }
      if (!scope.endsWith('/.default') || scope.includes(' ')) {
        return aadError(
          400,
          'invalid_scope',
          1002012,
          `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        );
      }
      audience = scope.slice(0, -'/.default'.length);
    } else {
      const resource = form.get('resource');
      if (!resource) {
        return missingParameter('resource');
      }
      audience = resource;
    }

    const app = deps.applications().find((a) => a.clientId.toLowerCase() === clientId.toLowerCase());
    if (!app) {
      return aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${deps.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }

    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    let failure: HttpReply | undefined;
    if (secret !== null) {
      failure = checkSecret(app, secret);
    } else if (assertion !== null) {
      if (form.get('client_assertion_type') !== JWT_BEARER) {
        return aadError(
          400,
          'invalid_request',
          50027,
          `Invalid client_assertion_type '${form.get('client_assertion_type') ?? ''}'; expected '${JWT_BEARER}'.`,
        );
      }
      failure = checkAssertion(app, assertion);
    } else {
      return aadError(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    if (failure) return failure;

    const { token: accessToken, lifetime, claims } = issueAccessToken(app, audience);
    if (v2) {
      return json(200, {
        token_type: 'Bearer',
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: accessToken,
      });
    }
    return json(200, {
      token_type: 'Bearer',
      expires_in: String(lifetime),
      ext_expires_in: String(lifetime),
      expires_on: String(claims.exp),
      not_before: String(claims.nbf),
      resource: audience,
      access_token: accessToken,
    });
  }

  function checkSecret(app: EntraApplication, secret: string): HttpReply | undefined {
    if (app.secrets.some((s) => sameSecret(s, secret))) return undefined;
    if ((app.expiredSecrets ?? []).some((s) => sameSecret(s, secret))) {
      return aadError(
        401,
        'invalid_client',
        7000222,
        `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
      );
    }
    return aadError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
    );
  }

  function checkAssertion(app: EntraApplication, assertion: string): HttpReply | undefined {
    const jwt = decodeJwt(assertion);
    if (!jwt) {
      return aadError(
        401,
        'invalid_client',
        50027,
        'JWT token is invalid or malformed. The client assertion could not be parsed.',
      );
    }
    const thumbprint = jwt.header['x5t#S256'] ?? jwt.header.x5t;
    if (typeof thumbprint === 'string') return checkCertificateAssertion(app, jwt);
    return checkFederatedAssertion(app, jwt);
  }

  function checkCertificateAssertion(app: EntraApplication, jwt: DecodedJwt): HttpReply | undefined {
    const sha256 = typeof jwt.header['x5t#S256'] === 'string';
    const presented = String(sha256 ? jwt.header['x5t#S256'] : jwt.header.x5t);
    const presentedHex = Buffer.from(presented, 'base64url').toString('hex').toUpperCase();
    const certificate = app.certificatesPem
      .map(parseCertificate)
      .find(
        (c) =>
          c !== undefined && thumbprintOf(c, sha256 ? 'sha256' : 'sha1') === presented.replace(/=+$/, ''),
      );
    if (!certificate) {
      return aadError(
        401,
        'invalid_client',
        700027,
        `Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '${presentedHex}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.clientId}'.]`,
      );
    }
    if (!verifyWithCertificate(jwt, certificate)) {
      return aadError(
        401,
        'invalid_client',
        700027,
        `Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '${presentedHex}', Found key 'Start=${certificate.validFrom}, End=${certificate.validTo}']`,
      );
    }
    if (jwt.payload.sub !== app.clientId || jwt.payload.iss !== app.clientId) {
      return aadError(
        401,
        'invalid_client',
        700021,
        "Client assertion application identifier doesn't match 'client_id' parameter.",
      );
    }
    // The client stamps a certificate assertion with its own (real) clock, not the emulated one.
    return checkAssertionTime(jwt, Math.floor(Date.now() / 1000));
  }

  function checkFederatedAssertion(app: EntraApplication, jwt: DecodedJwt): HttpReply | undefined {
    if (!verifyHs256(oidcKey, jwt)) {
      return aadError(
        401,
        'invalid_client',
        50013,
        'Assertion failed signature validation. [Reason - The key was not found.]',
      );
    }
    const timeFailure = checkAssertionTime(jwt, nowSeconds());
    if (timeFailure) return timeFailure;
    const { iss, sub } = jwt.payload;
    const aud = Array.isArray(jwt.payload.aud) ? jwt.payload.aud : [jwt.payload.aud];
    const sameIssuer = app.federatedCredentials.filter((f) => f.issuer === iss);
    if (sameIssuer.length === 0) {
      return aadError(
        400,
        'invalid_client',
        700211,
        `No matching federated identity record found for presented assertion issuer '${String(iss)}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
      );
    }
    const match = sameIssuer.find((f) => f.subject === sub && aud.includes(f.audience ?? FEDERATED_AUDIENCE));
    if (!match) {
      return aadError(
        400,
        'invalid_request',
        70021,
        `No matching federated identity record found for presented assertion. Assertion Issuer: '${String(iss)}'. Assertion Subject: '${String(sub)}'. Assertion Audience: '${aud.join(',')}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
      );
    }
    return undefined;
  }

  function checkAssertionTime(jwt: DecodedJwt, now: number): HttpReply | undefined {
    const exp = Number(jwt.payload.exp);
    const nbf = Number(jwt.payload.nbf ?? jwt.payload.iat ?? 0);
    if (!Number.isFinite(exp) || exp + ASSERTION_SKEW_SECONDS < now || nbf - ASSERTION_SKEW_SECONDS > now) {
      return aadError(
        400,
        'invalid_client',
        700024,
        `Client assertion is not within its valid time range. Current time: ${isoSeconds(now)}, assertion valid from ${isoSeconds(nbf)}, expiry time of assertion ${Number.isFinite(exp) ? isoSeconds(exp) : 'none'}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
      );
    }
    return undefined;
  }

  // ------------------------------------------------------------------------------------------------------
  // Azure DevOps: the job's OIDC token for a service connection
  // ------------------------------------------------------------------------------------------------------

  function oidcToken(req: EntraRequest, projectId: string): HttpReply {
    const pipeline = deps.pipeline();
    const bearer = bearerToken(req.headers);
    if (!bearer || !sameSecret(bearer, pipeline.jobAccessToken)) {
      return {
        status: 401,
        headers: { 'www-authenticate': 'Bearer authorization_uri=https://login.microsoftonline.com/common' },
        body: devOpsError(
          "TF400813: The user '' is not authorized to access this resource.",
          'UnauthorizedRequestException',
        ),
      };
    }
    if (projectId.toLowerCase() !== pipeline.projectId.toLowerCase()) {
      return json(
        404,
        devOpsError(
          `TF200016: The following project does not exist: ${projectId}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.`,
          'ProjectDoesNotExistException',
        ),
      );
    }
    const connectionId = req.query.get('serviceConnectionId');
    if (!connectionId) {
      return json(
        400,
        devOpsError('Value cannot be null.\r\nParameter name: serviceConnectionId', 'ArgumentNullException'),
      );
    }
    const known = pipeline.serviceConnectionIds.find((id) => id.toLowerCase() === connectionId.toLowerCase());
    if (!known) {
      return json(
        404,
        devOpsError(
          `Service connection ${connectionId} could not be found, or the job is not authorized to use it.`,
          'ServiceEndpointNotFoundException',
        ),
      );
    }
    const iat = nowSeconds();
    const claims = {
      jti: randomUUID(),
      sub: azureDevOpsSubject(pipeline.organization, pipeline.projectId, known),
      aud: FEDERATED_AUDIENCE,
      iss: azureDevOpsIssuer(pipeline.organization),
      nbf: iat,
      iat,
      exp: iat + Math.max(1, Math.floor(deps.assertionLifetimeSeconds())),
    };
    const oidc = remember(signHs256(oidcKey, { typ: 'JWT', alg: 'HS256', kid: 'azure-devops' }, claims));
    return json(200, { oidcToken: oidc });
  }

  // ------------------------------------------------------------------------------------------------------
  // IMDS: the agent VM's managed identities
  // ------------------------------------------------------------------------------------------------------

  function imdsToken(req: EntraRequest): HttpReply {
    if (header(req.headers, 'metadata')?.toLowerCase() !== 'true') {
      return json(400, {
        error: 'invalid_request',
        error_description: 'Required metadata header not specified',
      });
    }
    const resource = req.query.get('resource');
    if (!resource) {
      return json(400, {
        error: 'invalid_request',
        error_description: 'Required audience parameter not specified',
      });
    }
    const identities = deps.managedIdentities();
    const clientId = req.query.get('client_id');
    const objectId = req.query.get('object_id') ?? req.query.get('principal_id');
    let identity: { clientId: string; objectId: string } | undefined;
    if (clientId) {
      identity = identities.find((i) => i.clientId.toLowerCase() === clientId.toLowerCase());
    } else if (objectId) {
      identity = identities.find((i) => i.objectId.toLowerCase() === objectId.toLowerCase());
    } else {
      identity = identities.find((i) => i.default) ?? (identities.length === 1 ? identities[0] : undefined);
      if (!identity) {
        return json(400, {
          error: 'invalid_request',
          error_description:
            identities.length === 0
              ? 'Identity not found'
              : 'Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request',
        });
      }
    }
    if (!identity) return json(400, { error: 'invalid_request', error_description: 'Identity not found' });
    const { token: accessToken, lifetime, claims } = issueAccessToken(identity, resource);
    return json(200, {
      access_token: accessToken,
      client_id: identity.clientId,
      expires_in: String(lifetime),
      expires_on: String(claims.exp),
      ext_expires_in: String(lifetime),
      not_before: String(claims.nbf),
      resource,
      token_type: 'Bearer',
    });
  }

  // ------------------------------------------------------------------------------------------------------
  // Routing
  // ------------------------------------------------------------------------------------------------------

  const routes: {
    method: string;
    pattern: RegExp;
    reply: (req: EntraRequest, m: RegExpMatchArray) => HttpReply;
  }[] = [
    {
      method: 'GET',
      pattern: /^\/([^/]+)\/(v2\.0\/)?\.well-known\/openid-configuration\/?$/i,
      reply: (_req, m) => openIdConfiguration(m[1] as string, m[2] !== undefined),
    },
    { method: 'GET', pattern: /^\/common\/discovery\/instance\/?$/i, reply: () => instanceDiscovery() },
    {
      method: 'POST',
      pattern: /^\/([^/]+)\/oauth2\/(v2\.0\/)?token\/?$/i,
      reply: (req, m) => token(m[1] as string, m[2] !== undefined, req.body),
    },
    {
      // `{collection}/{projectId}/_apis/distributedtask/hubs/{hub}/plans/{planId}/jobs/{jobId}/oidctoken`
      method: 'POST',
      pattern: /\/([^/]+)\/_apis\/distributedtask\/hubs\/[^/]+\/plans\/[^/]+\/jobs\/[^/]+\/oidctoken\/?$/i,
      reply: (req, m) => oidcToken(req, m[1] as string),
    },
    { method: 'GET', pattern: /^\/metadata\/identity\/oauth2\/token\/?$/i, reply: (req) => imdsToken(req) },
  ];

  function handle(req: EntraRequest): HttpReply | undefined {
    const path = req.path.replace(/\/{2,}/g, '/');
    for (const route of routes) {
      const m = path.match(route.pattern);
      if (!m) continue;
      if (req.method.toUpperCase() !== route.method) return methodNotAllowed();
      return route.reply(req, m);
    }
    return undefined;
  }

  function verifyAccessToken(tokenText: string): VerifiedToken | undefined {
    const jwt = decodeJwt(tokenText);
    if (!jwt || !verifyHs256(tokenKey, jwt)) return undefined;
    const p = jwt.payload;
    if (typeof p.oid !== 'string' || typeof p.appid !== 'string' || typeof p.tid !== 'string')
      return undefined;
    return {
      objectId: p.oid,
      clientId: p.appid,
      tenantId: p.tid,
      audience: String(p.aud),
      expired: Number(p.exp) * 1000 <= deps.now(),
    };
  }

  return { handle, verifyAccessToken, issuedSecrets: () => [...issued] };
}

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

function decodeJwt(text: string): DecodedJwt | undefined {
  const parts = text.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as unknown;
    if (!isRecord(header) || !isRecord(payload)) return undefined;
    return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function signHs256(key: Buffer, header: object, payload: object): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

function verifyHs256(key: Buffer, jwt: DecodedJwt): boolean {
  if (jwt.header.alg !== 'HS256') return false;
  const expected = createHmac('sha256', key).update(jwt.signingInput).digest();
  return expected.length === jwt.signature.length && timingSafeEqual(expected, jwt.signature);
}

function parseCertificate(pem: string): X509Certificate | undefined {
  const block = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/);
  if (!block) return undefined;
  try {
    return new X509Certificate(block[0]);
  } catch {
    return undefined;
  }
}

function thumbprintOf(certificate: X509Certificate, algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(certificate.raw).digest('base64url');
}

/** RS256 and PS256 (what MSAL signs with), and ES256 for EC certificates. */
function verifyWithCertificate(jwt: DecodedJwt, certificate: X509Certificate): boolean {
  const data = Buffer.from(jwt.signingInput);
  const key = certificate.publicKey;
  try {
    switch (jwt.header.alg) {
      case 'RS256':
        return verifySignature('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }, jwt.signature);
      case 'PS256':
        return verifySignature(
          'sha256',
          data,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
          jwt.signature,
        );
      case 'ES256':
        return verifySignature('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, jwt.signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function header(headers: EntraRequest['headers'], name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function bearerToken(headers: EntraRequest['headers']): string | undefined {
  const value = header(headers, 'authorization');
  const m = value?.match(/^Bearer\s+(.+)$/i);
  return m?.[1]?.trim();
}

function json(status: number, body: object): HttpReply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body };
}

function methodNotAllowed(): HttpReply {
  return json(405, {
    error: 'invalid_request',
    error_description: 'The HTTP method is not supported on this endpoint.',
  });
}

/** Entra's error body: the description starts with the AADSTS code and ends with trace/correlation/timestamp. */
function aadError(status: number, error: string, code: number, description: string): HttpReply {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  // Entra stamps errors with its own (real) clock.
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return json(status, {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  });
}

/** AADSTS900144: a required form parameter of the token request is absent or empty. */
function missingParameter(name: string): HttpReply {
  return aadError(
    400,
    'invalid_request',
    900144,
    `The request body must contain the following parameter: '${name}'.`,
  );
}

function tenantNotFound(tenant: string): HttpReply {
  return aadError(
    400,
    'invalid_request',
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}

/** Azure DevOps' exception body. */
function devOpsError(message: string, typeKey: string): object {
  return {
    $id: '1',
    innerException: null,
    message,
    typeName: `Microsoft.TeamFoundation.DistributedTask.WebApi.${typeKey}, Microsoft.TeamFoundation.DistributedTask.WebApi`,
    typeKey,
    errorCode: 0,
    eventId: 3000,
  };
}

function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A GUID-shaped string derived from a name (stable across runs). */
function guidFrom(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
