import * as assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { envEndpointSource } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/endpoint-source';
import { fetchOidcToken, oidcRequestFor } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/oidc';
import { isCancelledError, isTaskError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
import { systemConnectionEnv } from './agent-env';

const CONNECTION = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
const JOB_TOKEN = 'job-token-value';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e: unknown) {
    assert.ok(isTaskError(e), String(e));
    return e.code;
  }
  assert.fail('expected a TaskError');
}

describe('oidcRequestFor', () => {
  it('uses System.OidcRequestUri with api-version 7.1 and the connection id', () => {
    const source = envEndpointSource({
      ...systemConnectionEnv(JOB_TOKEN, 'https://dev.azure.com/contoso/'),
      SYSTEM_OIDCREQUESTURI:
        'https://dev.azure.com/contoso/p1/_apis/distributedtask/hubs/build/plans/pl/jobs/jb/oidctoken',
    });
    const request = oidcRequestFor(source, CONNECTION);
    assert.equal(
      request.url,
      `https://dev.azure.com/contoso/p1/_apis/distributedtask/hubs/build/plans/pl/jobs/jb/oidctoken?api-version=7.1&serviceConnectionId=${CONNECTION}`,
    );
    assert.equal(request.accessToken, JOB_TOKEN);
  });

  it('builds the route from the collection, project, hub, plan and job when the URI variable is missing', () => {
    const source = envEndpointSource({
      ...systemConnectionEnv(JOB_TOKEN, 'https://dev.azure.com/contoso/'),
      SYSTEM_TEAMFOUNDATIONCOLLECTIONURI: 'https://dev.azure.com/contoso',
      SYSTEM_TEAMPROJECTID: 'p1',
      SYSTEM_HOSTTYPE: 'release',
      SYSTEM_PLANID: 'pl',
      SYSTEM_JOBID: 'jb',
    });
    assert.equal(
      oidcRequestFor(source, CONNECTION).url,
      `https://dev.azure.com/contoso/p1/_apis/distributedtask/hubs/release/plans/pl/jobs/jb/oidctoken?api-version=7.1&serviceConnectionId=${CONNECTION}`,
    );
  });

  it('registers the job token as a secret', () => {
    const registered: string[] = [];
    const source = envEndpointSource(
      { ...systemConnectionEnv(JOB_TOKEN, 'https://x/'), SYSTEM_OIDCREQUESTURI: 'https://x/oidctoken' },
      { onSecret: (v) => registered.push(v) },
    );
    oidcRequestFor(source, CONNECTION);
    assert.deepEqual(registered, [JOB_TOKEN]);
  });

  it('falls back to the System.AccessToken variable when the job connection has no token', () => {
    const source = envEndpointSource({
      SYSTEM_OIDCREQUESTURI: 'https://x/oidctoken',
      SYSTEM_ACCESSTOKEN: 'mapped',
    });
    assert.equal(oidcRequestFor(source, CONNECTION).accessToken, 'mapped');
  });

  it('fails with AUTH_OIDC_UNAVAILABLE when the job has no OIDC endpoint', () => {
    const source = envEndpointSource({
      ...systemConnectionEnv(JOB_TOKEN, 'https://x/'),
      SYSTEM_TEAMPROJECTID: 'p1',
    });
    assert.equal(
      codeOf(() => oidcRequestFor(source, CONNECTION)),
      'AUTH_OIDC_UNAVAILABLE',
    );
  });

  it('fails with AUTH_JOB_TOKEN_MISSING without the job access token', () => {
    const source = envEndpointSource({ SYSTEM_OIDCREQUESTURI: 'https://x/oidctoken' });
    assert.equal(
      codeOf(() => oidcRequestFor(source, CONNECTION)),
      'AUTH_JOB_TOKEN_MISSING',
    );
  });
});

describe('fetchOidcToken', () => {
  let server: Server;
  let base: string;
  /** Statuses to answer before the token, in order. */
  let script: number[] = [];
  let seenAuthorization: string | undefined;

  before(async () => {
    server = createServer((req, res) => {
      seenAuthorization = req.headers.authorization;
      const status = script.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        status === 200 ? JSON.stringify({ oidcToken: 'header.payload.signature' }) : '{"message":"busy"}',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/contoso/p1/_apis/distributedtask/hubs/build/plans/pl/jobs/jb/oidctoken`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const noWait = { sleep: async () => {}, maxAttempts: 4 };

  it('returns the token after transient 5xx answers, sent with the job token as bearer, and registers it', async () => {
    script = [503, 500];
    const registered: string[] = [];
    const source = envEndpointSource({}, { onSecret: (v) => registered.push(v) });
    const token = await fetchOidcToken({ url: base, accessToken: JOB_TOKEN }, source, CONNECTION, {
      retry: noWait,
    });
    assert.equal(token, 'header.payload.signature');
    assert.equal(seenAuthorization, `Bearer ${JOB_TOKEN}`);
    assert.deepEqual(registered, ['header.payload.signature']);
  });

  const failures: [number, string][] = [
    [401, 'AUTH_OIDC_UNAUTHORIZED'],
    [404, 'AUTH_OIDC_CONNECTION_REJECTED'],
    [400, 'AUTH_OIDC_CONNECTION_REJECTED'],
    [503, 'AUTH_OIDC_FAILED'],
  ];
  for (const [status, code] of failures) {
    it(`fails with ${code} when Azure DevOps keeps answering ${status}`, async () => {
      script = [status, status, status, status];
      await assert.rejects(
        fetchOidcToken({ url: base, accessToken: JOB_TOKEN }, envEndpointSource({}), CONNECTION, {
          retry: noWait,
        }),
        (e: unknown) => isTaskError(e) && e.code === code && !e.message.includes(JOB_TOKEN),
      );
      script = [];
    });
  }

  it('stops at once when the job is cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      fetchOidcToken({ url: base, accessToken: JOB_TOKEN }, envEndpointSource({}), CONNECTION, {
        signal: controller.signal,
      }),
      (e: unknown) => isCancelledError(e),
    );
  });
});
