import assert from 'node:assert/strict';
import { createHttpHeaders, type PipelineResponse } from '@azure/core-rest-pipeline';
import {
  appServiceHosts,
  createOutboundGuard,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/guard';
import {
  createTransport,
  deadlineOf,
  withDeadline,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import { taskRetryStrategy } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/retry';

describe('outbound guard', () => {
  it('allows only trusted hosts over https, and never URLs with credentials', () => {
    const guard = createOutboundGuard();
    guard.trust('management.azure.com', 'arm');
    assert.ok(guard.allows('https://management.azure.com/subscriptions'));
    assert.ok(!guard.allows('http://management.azure.com/subscriptions'));
    assert.ok(!guard.allows('https://evil.example/x'));
    assert.ok(!guard.allows('https://user:pw@management.azure.com/'));
    assert.ok(!guard.allows('https://management.azure.com:8443/'));
    // `/\host` is scheme-relative once parsed against a base: the guard sees the parsed host.
    assert.ok(!guard.allows(new URL('/\\evil.example/x', 'https://management.azure.com/').toString()));
    assert.throws(() => guard.check('https://evil.example/x'), {
      name: 'TaskError',
      code: 'OutboundHostRefused',
    });
  });
});

describe('App Service hosts derived from the default host name', () => {
  const table: [string, string, string | undefined, { site: string; scm: string } | undefined][] = [
    [
      'https://management.azure.com/',
      'app.azurewebsites.net',
      'evil.example',
      { site: 'app.azurewebsites.net', scm: 'app.scm.azurewebsites.net' },
    ],
    [
      'https://management.azure.com/',
      'app-a1b2.westeurope-01.azurewebsites.net',
      undefined,
      {
        site: 'app-a1b2.westeurope-01.azurewebsites.net',
        scm: 'app-a1b2.scm.westeurope-01.azurewebsites.net',
      },
    ],
    [
      'https://management.azure.com/',
      'app.myase.appserviceenvironment.net',
      undefined,
      { site: 'app.myase.appserviceenvironment.net', scm: 'app.scm.myase.appserviceenvironment.net' },
    ],
    [
      'https://management.usgovcloudapi.net/',
      'app.azurewebsites.us',
      undefined,
      { site: 'app.azurewebsites.us', scm: 'app.scm.azurewebsites.us' },
    ],
    [
      'https://management.chinacloudapi.cn/',
      'app.chinacloudsites.cn',
      undefined,
      { site: 'app.chinacloudsites.cn', scm: 'app.scm.chinacloudsites.cn' },
    ],
    // A default host name outside the cloud's suffix is not trusted at all.
    ['https://management.azure.com/', 'app.evil.example', undefined, undefined],
    ['https://management.azure.com/', 'azurewebsites.net.evil.example', undefined, undefined],
    ['https://management.usgovcloudapi.net/', 'app.azurewebsites.net', undefined, undefined],
    ['https://management.azure.com/', 'app.azurewebsites.net/x', undefined, undefined],
    // A cloud without a published suffix: its ARM host name, any port; the listed SCM host must be there too.
    [
      'https://127.0.0.1:4000/',
      '127.0.0.1:4001',
      '127.0.0.1:4002',
      { site: '127.0.0.1:4001', scm: '127.0.0.1:4002' },
    ],
    ['https://127.0.0.1:4000/', '127.0.0.1:4001', 'localhost:4002', undefined],
    ['https://127.0.0.1:4000/', 'localhost:4001', '127.0.0.1:4002', undefined],
  ];
  for (const [arm, host, listed, expected] of table) {
    it(`${host} in ${new URL(arm).host} (listed SCM ${listed ?? 'none'}) → ${expected ? expected.scm : 'refused'}`, () => {
      assert.deepEqual(appServiceHosts(arm, host, listed), expected);
    });
  }
});

describe('task retry strategy', () => {
  const response = (status: number, headers: Record<string, string> = {}) =>
    ({ status, headers: createHttpHeaders(headers), request: {} }) as unknown as PipelineResponse;

  it('waits as long as an HTTP-date Retry-After says (never NaN), capped', () => {
    const now = () => Date.parse('Tue, 01 Jul 2025 10:00:00 GMT');
    const strategy = taskRetryStrategy({ now, maxRetryAfterInMs: 60_000 });
    const soon = strategy.retry({
      retryCount: 0,
      response: response(503, { 'retry-after': 'Tue, 01 Jul 2025 10:00:05 GMT' }),
    });
    assert.equal(soon.retryAfterInMs, 5000);
    const never = strategy.retry({
      retryCount: 0,
      response: response(429, { 'retry-after': 'Wed, 01 Jul 2099 10:00:00 GMT' }),
    });
    assert.equal(never.retryAfterInMs, 60_000);
    const garbage = strategy.retry({ retryCount: 0, response: response(429, { 'retry-after': 'soon' }) });
    assert.ok(Number.isFinite(garbage.retryAfterInMs));
  });

  it('leaves answers that are not worth another try to the caller', () => {
    const strategy = taskRetryStrategy();
    assert.deepEqual(strategy.retry({ retryCount: 0, response: response(404) }), { skipStrategy: true });
    assert.deepEqual(strategy.retry({ retryCount: 0, response: response(401) }), { skipStrategy: true });
  });
});

describe('deadlines and the proxy bypass list', () => {
  it('a deadline travels with derived signals and only ever gets sooner', () => {
    const job = new AbortController();
    const target = withDeadline(job.signal, 2000);
    assert.equal(deadlineOf(target), 2000);
    assert.equal(deadlineOf(withDeadline(target, 5000)), 2000);
    assert.equal(deadlineOf(job.signal), Number.POSITIVE_INFINITY);
    job.abort();
    assert.ok(target.aborted, 'the job cancellation still reaches the target');
  });

  it('proxies loopback hosts unless the agent list names them; IMDS never', () => {
    const transport = createTransport({ proxy: { url: 'http://proxy:3128', bypass: ['contoso\\.local'] } });
    assert.ok(transport.usesProxy(new URL('https://127.0.0.1:443/')));
    assert.ok(transport.usesProxy(new URL('https://localhost/')));
    assert.ok(!transport.usesProxy(new URL('https://build.contoso.local/')));
    assert.ok(!transport.usesProxy(new URL('http://169.254.169.254/metadata')));
    assert.ok(!createTransport().usesProxy(new URL('https://management.azure.com/')));
  });
});
