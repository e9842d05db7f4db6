import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { isArmError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/client';
import {
  type CreateArmClientOptions,
  createArmClient,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/request';
import { createTransport } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import { createServerCertificate, type ServerCertificate } from '../emulator/certs';

/** An ARM client for a local fake ARM; tests override only what they look at. */
function clientFor(arm: { url: string }, options: Partial<CreateArmClientOptions> = {}) {
  return createArmClient({
    armUrl: arm.url,
    subscriptionId: 's',
    credential: countingCredential().credential,
    scope: 'x',
    // The task's pipeline, trusting the fake ARM's test CA as it would the agent's CA file.
    transport: createTransport({ tls: { ca: [(certificate as ServerCertificate).caPem] } }),
    ...options,
  });
}

let certificate: ServerCertificate | undefined;

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** A local HTTPS "ARM" answering with the given handler. */
async function fakeArm(handler: Handler): Promise<{ url: string; server: Server }> {
  certificate ??= await createServerCertificate();
  const server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) =>
    handler(req, res, new URL(req.url ?? '/', 'https://x')),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** A credential that hands out t1, t2, ... and remembers how many it issued. */
function countingCredential(expiresInMs = 3_600_000) {
  let issued = 0;
  const credential: TokenCredential = {
    async getToken(): Promise<AccessToken> {
      issued++;
      return { token: `t${issued}`, expiresOnTimestamp: Date.now() + expiresInMs };
    },
  };
  return { credential, issued: () => issued };
}

const noWait = { sleep: () => Promise.resolve(), baseDelayInMs: 1 };

describe('ARM client', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('collapses double slashes, sends the api-version and encodes $filter with %20', async () => {
    let seen = '';
    const arm = await fakeArm((req, res) => {
      seen = req.url ?? '';
      json(res, 200, { value: [] });
    });
    server = arm.server;
    const client = clientFor(arm);
    await client.request('GET', '//subscriptions/s//providers/X', {
      apiVersion: '2022-04-01',
      query: { $filter: "name eq 'a b'" },
    });
    assert.equal(seen, '/subscriptions/s/providers/X?api-version=2022-04-01&$filter=name%20eq%20%27a%20b%27');
  });

  it('follows nextLink until the last page', async () => {
    const arm = await fakeArm((req, res, url) => {
      const page = Number(url.searchParams.get('page') ?? '1');
      const next = page < 3 ? `https://${req.headers.host}/things?api-version=1&page=${page + 1}` : undefined;
      json(res, 200, { value: [page * 10, page * 10 + 1], ...(next ? { nextLink: next } : {}) });
    });
    server = arm.server;
    const client = clientFor(arm);
    assert.deepEqual(await client.listAll<number>('/things', { apiVersion: '1' }), [10, 11, 20, 21, 30, 31]);
  });

  it('refuses a nextLink to another host, so the token never leaves ARM', async () => {
    const arm = await fakeArm((_req, res) =>
      json(res, 200, { value: [1], nextLink: 'https://evil.example/steal' }),
    );
    server = arm.server;
    const client = clientFor(arm);
    await assert.rejects(client.listAll('/things', { apiVersion: '1' }), /Refusing to follow a link/);
  });

  it('turns an ARM error body into an ArmError with code, message and correlation id, and no token', async () => {
    const arm = await fakeArm((_req, res) =>
      json(
        res,
        404,
        {
          error: { code: 'ResourceNotFound', message: "The Resource 'Microsoft.Web/sites/x' was not found." },
        },
        { 'x-ms-correlation-request-id': 'corr-1' },
      ),
    );
    server = arm.server;
    const client = clientFor(arm);
    const error = await client
      .request('GET', '/subscriptions/s/x', { apiVersion: '1' })
      .catch((e: unknown) => e);
    assert.ok(isArmError(error));
    assert.equal(error.status, 404);
    assert.equal(error.code, 'ResourceNotFound');
    assert.equal(error.correlationId, 'corr-1');
    assert.equal(error.path, '/subscriptions/s/x');
    assert.doesNotMatch(JSON.stringify({ ...error, message: error.message }), /t1/);
  });

  it('returns allowed statuses as data', async () => {
    const arm = await fakeArm((_req, res) => json(res, 404, { error: { code: 'NotFound', message: 'no' } }));
    server = arm.server;
    const client = clientFor(arm);
    const response = await client.request('GET', '/x', { apiVersion: '1', allowStatuses: [404] });
    assert.equal(response.status, 404);
  });

  it('reuses one token across requests and refreshes it once after ExpiredAuthenticationToken', async () => {
    const seen: string[] = [];
    const arm = await fakeArm((req, res) => {
      seen.push(req.headers.authorization ?? '');
      if (req.headers.authorization === 'Bearer t1' && seen.length === 3) {
        return json(res, 401, {
          error: { code: 'ExpiredAuthenticationToken', message: 'The access token expiry...' },
        });
      }
      json(res, 200, {});
    });
    server = arm.server;
    const creds = countingCredential();
    const client = clientFor(arm, { credential: creds.credential });
    for (let i = 0; i < 3; i++) await client.request('GET', '/x', { apiVersion: '1' });
    assert.deepEqual(seen, ['Bearer t1', 'Bearer t1', 'Bearer t1', 'Bearer t2']);
    assert.equal(creds.issued(), 2);
  });

  it('asks for a new token when the cached one is about to expire', async () => {
    const arm = await fakeArm((_req, res) => json(res, 200, {}));
    server = arm.server;
    const creds = countingCredential(60_000); // inside the refresh margin
    const client = clientFor(arm, { credential: creds.credential });
    await client.request('GET', '/x', { apiVersion: '1' });
    await client.request('GET', '/x', { apiVersion: '1' });
    assert.equal(creds.issued(), 2);
  });

  it('retries a throttled request and reports every attempt to onResponse', async () => {
    let calls = 0;
    const arm = await fakeArm((_req, res) => {
      calls++;
      if (calls === 1)
        return json(
          res,
          429,
          { error: { code: 'TooManyRequests', message: 'slow down' } },
          { 'retry-after': '1' },
        );
      json(res, 200, { ok: true }, { 'x-ms-correlation-request-id': 'c2' });
    });
    server = arm.server;
    const infos: { status: number; attempt: number; correlationId: string | undefined }[] = [];
    const client = clientFor(arm, {
      retry: noWait,
      onResponse: (i) => infos.push({ status: i.status, attempt: i.attempt, correlationId: i.correlationId }),
    });
    const response = await client.request<{ ok: boolean }>('PUT', '/x', { apiVersion: '1', body: { a: 1 } });
    assert.deepEqual(response.body, { ok: true });
    assert.deepEqual(infos, [
      { status: 429, attempt: 1, correlationId: undefined },
      { status: 200, attempt: 2, correlationId: 'c2' },
    ]);
  });

  it('rejects with an AbortError when the caller cancels', async () => {
    const arm = await fakeArm(() => {}); // never answers
    server = arm.server;
    const client = clientFor(arm);
    const controller = new AbortController();
    const pending = client.request('GET', '/x', { apiVersion: '1', signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
    server.closeAllConnections();
  });
});
