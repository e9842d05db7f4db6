import * as assert from 'node:assert/strict';
import { constants, createHash, createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { createTestCertificate, type TestCertificate } from '../auth/certificate';
import {
  azureDevOpsIssuer,
  azureDevOpsSubject,
  createEntra,
  type Entra,
  type EntraApplication,
  type EntraDeps,
  type HttpReply,
} from './entra';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const BASE = 'https://127.0.0.1:8443/';
const ARM = 'https://127.0.0.1:8443/';
const ORG = 'contoso';
const PROJECT = '0b8fd9a4-4a7f-4c8e-9a1e-2f1d1b0c5a11';
const CONNECTION = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
const JOB_TOKEN = 'job-access-token-value';

interface Fixture {
  entra: Entra;
  app: EntraApplication;
  advance(seconds: number): void;
  deps: EntraDeps;
}

let certificate: TestCertificate;
let otherCertificate: TestCertificate;

function fixture(overrides: Partial<EntraApplication> = {}): Fixture {
  let now = Date.UTC(2026, 10, 28, 12, 0, 0);
  const app: EntraApplication = {
    clientId: 'a1b2c3d4-0000-4000-8000-000000000001',
    objectId: 'b1b2c3d4-0000-4000-8000-000000000002',
    secrets: ['good-secret'],
    expiredSecrets: ['old-secret'],
    certificatesPem: [certificate.certificatePem],
    federatedCredentials: [
      { issuer: azureDevOpsIssuer(ORG), subject: azureDevOpsSubject(ORG, PROJECT, CONNECTION) },
    ],
    ...overrides,
  };
  const deps: EntraDeps = {
    tenantId: TENANT,
    baseUrl: BASE,
    now: () => now,
    applications: () => [app],
    managedIdentities: () => [
      {
        clientId: 'c0000000-0000-4000-8000-00000000000a',
        objectId: 'd0000000-0000-4000-8000-00000000000a',
        default: true,
      },
      { clientId: 'c0000000-0000-4000-8000-00000000000b', objectId: 'd0000000-0000-4000-8000-00000000000b' },
    ],
    pipeline: () => ({
      jobAccessToken: JOB_TOKEN,
      organization: ORG,
      projectId: PROJECT,
      serviceConnectionIds: [CONNECTION, 'other-connection'],
    }),
    tokenLifetimeSeconds: () => 3600,
    assertionLifetimeSeconds: () => 600,
  };
  return {
    entra: createEntra(deps),
    app,
    deps,
    advance: (seconds) => {
      now += seconds * 1000;
    },
  };
}

function call(
  entra: Entra,
  method: string,
  pathAndQuery: string,
  options: { headers?: Record<string, string>; form?: Record<string, string> } = {},
): HttpReply {
  const url = new URL(pathAndQuery, BASE);
  const reply = entra.handle({
    method,
    path: url.pathname,
    query: url.searchParams,
    headers: options.headers ?? {},
    body: options.form ? new URLSearchParams(options.form).toString() : '',
  });
  assert.ok(reply, `${method} ${pathAndQuery} is an Entra route`);
  return reply;
}

function body(reply: HttpReply): Record<string, unknown> {
  assert.equal(typeof reply.body, 'object');
  return reply.body as Record<string, unknown>;
}

function claims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function secretForm(clientId: string, secret: string): Record<string, string> {
  return {
    client_id: clientId,
    client_secret: secret,
    grant_type: 'client_credentials',
    scope: `${ARM}.default`,
  };
}

function assertionForm(clientId: string, assertion: string): Record<string, string> {
  return {
    client_id: clientId,
    client_assertion: assertion,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    grant_type: 'client_credentials',
    scope: `${ARM}.default`,
  };
}

/** What MSAL builds for a certificate credential: PS256 with the SHA-256 thumbprint in `x5t#S256`. */
function certificateAssertion(
  clientId: string,
  signer: TestCertificate,
  thumbprintOf: TestCertificate,
  lifetimeSeconds = 600,
): string {
  const der = new X509Certificate(thumbprintOf.certificatePem).raw;
  const header = {
    alg: 'PS256',
    typ: 'JWT',
    'x5t#S256': createHash('sha256').update(der).digest('base64url'),
  };
  const iat = Math.floor(Date.now() / 1000);
  const payload = {
    aud: `${BASE}${TENANT}/oauth2/v2.0/token`,
    iss: clientId,
    sub: clientId,
    jti: randomUUID(),
    nbf: iat,
    exp: iat + lifetimeSeconds,
  };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(input), {
    key: createPrivateKey(signer.keyPem),
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 32,
  });
  return `${input}.${signature.toString('base64url')}`;
}

function oidcPath(connectionId: string): string {
  return `/${ORG}/${PROJECT}/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken?api-version=7.1&serviceConnectionId=${connectionId}`;
}

function fetchOidcToken(entra: Entra, connectionId = CONNECTION): string {
  const reply = call(entra, 'POST', oidcPath(connectionId), {
    headers: { authorization: `Bearer ${JOB_TOKEN}` },
  });
  assert.equal(reply.status, 200);
  return String(body(reply).oidcToken);
}

function aadCode(reply: HttpReply): number | undefined {
  const codes = body(reply).error_codes;
  return Array.isArray(codes) ? (codes[0] as number) : undefined;
}

describe('emulator Entra', () => {
  before(() => {
    certificate = createTestCertificate();
    otherCertificate = createTestCertificate('other');
  });

  describe('discovery', () => {
    it('serves an OpenID configuration whose endpoints point back at the emulator', () => {
      const { entra } = fixture();
      const reply = call(entra, 'GET', `/${TENANT}/v2.0/.well-known/openid-configuration`);
      assert.equal(reply.status, 200);
      const doc = body(reply);
      assert.equal(doc.token_endpoint, `https://127.0.0.1:8443/${TENANT}/oauth2/v2.0/token`);
      assert.equal(doc.issuer, `https://127.0.0.1:8443/${TENANT}/v2.0`);
      assert.ok(String(doc.authorization_endpoint).startsWith('https://127.0.0.1:8443/'));
      assert.ok(String(doc.jwks_uri).startsWith('https://127.0.0.1:8443/'));
    });

    it('answers AADSTS90002 for a tenant it does not know', () => {
      const { entra } = fixture();
      const reply = call(entra, 'GET', '/not-my-tenant/v2.0/.well-known/openid-configuration');
      assert.equal(reply.status, 400);
      assert.equal(aadCode(reply), 90002);
    });

    it('leaves routes that are not its own to the rest of the emulator', () => {
      const { entra } = fixture();
      const reply = entra.handle({
        method: 'GET',
        path: '/subscriptions/x/resourceGroups',
        query: new URLSearchParams(),
        headers: {},
        body: '',
      });
      assert.equal(reply, undefined);
    });
  });

  describe('client secret', () => {
    it('issues a v2 token for the requested audience that verifyAccessToken recognises', () => {
      const { entra, app } = fixture();
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: secretForm(app.clientId, 'good-secret'),
      });
      assert.equal(reply.status, 200);
      const b = body(reply);
      assert.equal(b.token_type, 'Bearer');
      assert.equal(b.expires_in, 3600);
      const verified = entra.verifyAccessToken(String(b.access_token));
      assert.deepEqual(verified, {
        objectId: app.objectId,
        clientId: app.clientId,
        tenantId: TENANT,
        audience: 'https://127.0.0.1:8443',
        expired: false,
      });
      assert.ok(entra.issuedSecrets().includes(String(b.access_token)));
    });

    it('issues a v1 token for a resource, with expires_on in emulated seconds', () => {
      const { entra, app, deps } = fixture();
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/token/`, {
        form: {
          client_id: app.clientId,
          client_secret: 'good-secret',
          grant_type: 'client_credentials',
          resource: ARM,
        },
      });
      assert.equal(reply.status, 200);
      const b = body(reply);
      assert.equal(b.resource, ARM);
      assert.equal(Number(b.expires_on), Math.floor(deps.now() / 1000) + 3600);
      assert.equal(entra.verifyAccessToken(String(b.access_token))?.audience, ARM);
    });

    it('reports a token as expired once the emulated clock passes its lifetime', () => {
      const { entra, app, advance } = fixture();
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: secretForm(app.clientId, 'good-secret'),
      });
      const accessToken = String(body(reply).access_token);
      advance(3601);
      assert.equal(entra.verifyAccessToken(accessToken)?.expired, true);
    });

    it('does not recognise a token whose payload was altered', () => {
      const { entra, app } = fixture();
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: secretForm(app.clientId, 'good-secret'),
      });
      const [h, , s] = String(body(reply).access_token).split('.');
      const forgedPayload = Buffer.from(
        JSON.stringify({ ...claims(String(body(reply).access_token)), oid: 'evil' }),
      );
      assert.equal(entra.verifyAccessToken(`${h}.${forgedPayload.toString('base64url')}.${s}`), undefined);
      assert.equal(entra.verifyAccessToken('not-a-token'), undefined);
    });

    const failures: {
      name: string;
      clientId?: string;
      secret: string;
      status: number;
      error: string;
      code: number;
    }[] = [
      { name: 'a wrong secret', secret: 'wrong', status: 401, error: 'invalid_client', code: 7000215 },
      {
        name: 'an expired secret',
        secret: 'old-secret',
        status: 401,
        error: 'invalid_client',
        code: 7000222,
      },
      {
        name: 'an unknown application',
        clientId: 'ffffffff-0000-4000-8000-000000000000',
        secret: 'good-secret',
        status: 400,
        error: 'unauthorized_client',
        code: 700016,
      },
    ];
    for (const f of failures) {
      it(`answers ${f.name} with AADSTS${f.code} in Entra's error shape`, () => {
        const { entra, app } = fixture();
        const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
          form: secretForm(f.clientId ?? app.clientId, f.secret),
        });
        assert.equal(reply.status, f.status);
        const b = body(reply);
        assert.equal(b.error, f.error);
        assert.deepEqual(b.error_codes, [f.code]);
        assert.match(String(b.error_description), new RegExp(`^AADSTS${f.code}: `));
        assert.ok(b.timestamp && b.trace_id && b.correlation_id);
        assert.doesNotMatch(JSON.stringify(b), /good-secret|old-secret|"wrong"/);
      });
    }

    it('rejects a scope without /.default (client credentials need it)', () => {
      const { entra, app } = fixture();
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: { ...secretForm(app.clientId, 'good-secret'), scope: ARM },
      });
      assert.equal(reply.status, 400);
      assert.equal(aadCode(reply), 1002012);
    });
  });

  describe('certificate assertion', () => {
    it('issues a token for an assertion signed with the registered certificate', () => {
      const { entra, app } = fixture();
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: assertionForm(app.clientId, certificateAssertion(app.clientId, certificate, certificate)),
      });
      assert.equal(reply.status, 200);
      assert.equal(entra.verifyAccessToken(String(body(reply).access_token))?.objectId, app.objectId);
    });

    it('answers AADSTS700027 when the signature does not match the registered certificate', () => {
      const { entra, app } = fixture();
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: assertionForm(app.clientId, certificateAssertion(app.clientId, otherCertificate, certificate)),
      });
      assert.equal(reply.status, 401);
      assert.equal(aadCode(reply), 700027);
    });

    it('answers AADSTS700027 when no registered certificate has the thumbprint', () => {
      const { entra, app } = fixture();
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: assertionForm(
          app.clientId,
          certificateAssertion(app.clientId, otherCertificate, otherCertificate),
        ),
      });
      assert.equal(aadCode(reply), 700027);
      assert.match(String(body(reply).error_description), /The key was not found/);
    });

    it('answers AADSTS700024 for an assertion that has already expired', () => {
      const { entra, app } = fixture();
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: assertionForm(
          app.clientId,
          certificateAssertion(app.clientId, certificate, certificate, -3600),
        ),
      });
      assert.equal(aadCode(reply), 700024);
    });
  });

  describe('Azure DevOps OIDC token and federated sign-in', () => {
    it('hands the job an assertion for the service connection with the Azure DevOps claims', () => {
      const { entra, deps } = fixture();
      const oidc = fetchOidcToken(entra);
      const c = claims(oidc);
      assert.equal(c.iss, azureDevOpsIssuer(ORG));
      assert.equal(c.sub, `sc://${ORG}/${PROJECT}/${CONNECTION}`);
      assert.equal(c.aud, 'api://AzureADTokenExchange');
      assert.equal(c.exp, Math.floor(deps.now() / 1000) + 600);
      assert.ok(entra.issuedSecrets().includes(oidc));
    });

    it('refuses the OIDC request without the job access token', () => {
      const { entra } = fixture();
      assert.equal(call(entra, 'POST', oidcPath(CONNECTION)).status, 401);
      assert.equal(
        call(entra, 'POST', oidcPath(CONNECTION), { headers: { authorization: 'Bearer wrong' } }).status,
        401,
      );
    });

    it('answers 404 for a service connection the job does not have, and 400 when none is named', () => {
      const { entra } = fixture();
      const auth = { authorization: `Bearer ${JOB_TOKEN}` };
      assert.equal(call(entra, 'POST', oidcPath('unknown'), { headers: auth }).status, 404);
      const noId = `/${ORG}/${PROJECT}/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken?api-version=7.1`;
      assert.equal(call(entra, 'POST', noId, { headers: auth }).status, 400);
    });

    it('exchanges a fresh assertion for an access token', () => {
      const { entra, app } = fixture();
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: assertionForm(app.clientId, fetchOidcToken(entra)),
      });
      assert.equal(reply.status, 200);
      assert.equal(entra.verifyAccessToken(String(body(reply).access_token))?.clientId, app.clientId);
    });

    it('answers AADSTS700024 for an assertion used after its lifetime', () => {
      const { entra, app, advance } = fixture();
      const oidc = fetchOidcToken(entra);
      advance(600 + 301);
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: assertionForm(app.clientId, oidc),
      });
      assert.equal(reply.status, 400);
      assert.equal(aadCode(reply), 700024);
      assert.match(String(body(reply).error_description), /not within its valid time range/);
    });

    it('answers AADSTS70021 when no federated credential has the assertion subject', () => {
      const { entra, app } = fixture();
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: assertionForm(app.clientId, fetchOidcToken(entra, 'other-connection')),
      });
      assert.equal(reply.status, 400);
      assert.equal(aadCode(reply), 70021);
      assert.match(String(body(reply).error_description), /sc:\/\/contoso\/.*\/other-connection/);
    });

    it('does not accept an assertion it did not sign', () => {
      const { entra, app } = fixture();
      const [h, p] = fetchOidcToken(entra).split('.');
      const reply = call(entra, 'POST', `/${TENANT}/oauth2/v2.0/token`, {
        form: assertionForm(app.clientId, `${h}.${p}.AAAA`),
      });
      assert.equal(reply.status, 401);
    });
  });

  describe('IMDS', () => {
    const imds = (query: string) => `/metadata/identity/oauth2/token?api-version=2018-02-01&${query}`;

    it("issues the agent's default identity a token when no client_id is given", () => {
      const { entra } = fixture();
      const reply = call(entra, 'GET', imds(`resource=${encodeURIComponent(ARM)}`), {
        headers: { metadata: 'true' },
      });
      assert.equal(reply.status, 200);
      const b = body(reply);
      assert.equal(b.resource, ARM);
      assert.equal(b.token_type, 'Bearer');
      assert.equal(b.expires_in, '3600');
      assert.equal(
        entra.verifyAccessToken(String(b.access_token))?.clientId,
        'c0000000-0000-4000-8000-00000000000a',
      );
    });

    it('issues a token to the user-assigned identity named by client_id', () => {
      const { entra } = fixture();
      const reply = call(
        entra,
        'GET',
        imds(`resource=${encodeURIComponent(ARM)}&client_id=c0000000-0000-4000-8000-00000000000b`),
        {
          headers: { metadata: 'true' },
        },
      );
      assert.equal(
        entra.verifyAccessToken(String(body(reply).access_token))?.objectId,
        'd0000000-0000-4000-8000-00000000000b',
      );
    });

    it('answers 400 without the Metadata header or for an identity the VM does not have', () => {
      const { entra } = fixture();
      assert.equal(call(entra, 'GET', imds(`resource=${encodeURIComponent(ARM)}`)).status, 400);
      const unknown = call(entra, 'GET', imds(`resource=${encodeURIComponent(ARM)}&client_id=nope`), {
        headers: { metadata: 'true' },
      });
      assert.equal(unknown.status, 400);
      assert.equal(body(unknown).error, 'invalid_request');
    });
  });
});
