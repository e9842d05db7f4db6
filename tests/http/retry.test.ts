import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  createTransport,
  type Transport,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import {
  backoffDelayInMs,
  classifyStatus,
  isTransientNetworkError,
  parseRetryAfterInMs,
  send,
  withRetry,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/retry';
import { createServerCertificate } from '../emulator/certs';

/** A sleep that records the delays it was asked for and returns at once (still honouring abort). */
function recordingSleep() {
  const delays: number[] = [];
  const sleep = (ms: number, signal?: AbortSignal) => {
    delays.push(ms);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return Promise.resolve();
  };
  return { delays, sleep };
}

/** A local server that answers each request with the next scripted reply (the last one repeats). */
async function scriptedServer(
  replies: ((req: IncomingMessage, res: ServerResponse) => void)[],
): Promise<{ url: string; server: Server; requests: () => number; transport: Transport }> {
  let count = 0;
  const cert = await tlsCertificate();
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const reply = replies[Math.min(count, replies.length - 1)];
    count++;
    reply?.(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // The pipeline trusts the test CA (as it would the agent's CAInfo) and the guard this one host.
  const transport = createTransport({ tls: { ca: [cert.caPem] } });
  transport.guard.trust(`127.0.0.1:${port}`, 'the test server');
  return { url: `https://127.0.0.1:${port}/x`, server, requests: () => count, transport };
}

let certificate: ReturnType<typeof createServerCertificate> | undefined;
async function tlsCertificate() {
  certificate ??= createServerCertificate();
  return certificate;
}

const status =
  (code: number, headers: Record<string, string> = {}, body = '') =>
  (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(code, headers);
    res.end(body);
  };

describe('retry policy', () => {
  describe('Retry-After parsing', () => {
    const h = (init: Record<string, string>) => new Headers(init);

    it('reads delta seconds as milliseconds', () => {
      assert.equal(parseRetryAfterInMs(h({ 'retry-after': '7' })), 7000);
    });

    it('reads an HTTP date relative to the injected clock', () => {
      const now = () => Date.parse('Tue, 01 Jul 2025 10:00:00 GMT');
      assert.equal(parseRetryAfterInMs(h({ 'retry-after': 'Tue, 01 Jul 2025 10:00:12 GMT' }), now), 12_000);
    });

    it('treats a date in the past as no wait', () => {
      const now = () => Date.parse('Tue, 01 Jul 2025 10:00:00 GMT');
      assert.equal(parseRetryAfterInMs(h({ 'retry-after': 'Tue, 01 Jul 2025 09:00:00 GMT' }), now), 0);
    });

    it('prefers the millisecond headers Azure sends', () => {
      assert.equal(parseRetryAfterInMs(h({ 'x-ms-retry-after-ms': '250', 'retry-after': '9' })), 250);
    });

    it('ignores an unreadable value', () => {
      assert.equal(parseRetryAfterInMs(h({ 'retry-after': 'soon' })), undefined);
    });
  });

  describe('which answers retry', () => {
    for (const code of [408, 429, 500, 502, 503, 504]) {
      it(`retries HTTP ${code}`, () => assert.equal(classifyStatus(code, new Headers()).retry, true));
    }
    for (const code of [200, 400, 401, 403, 404, 409, 501]) {
      it(`returns HTTP ${code} to the caller`, () =>
        assert.equal(classifyStatus(code, new Headers()).retry, false));
    }

    const busy = JSON.stringify({
      Code: 'Conflict',
      Message:
        'Cannot modify this site because another operation is in progress. Details: Id: 1f63d9ad-0d65-4f79-a864-0267d1be064b, OperationName: Update, CreatedTime: 2026-11-30T21:00:00Z, RequestId: 619814e7-785f-468a-9848-8e9080813651, EntityType: 3',
    });
    const busyTable: [
      string,
      number,
      Record<string, string>,
      string | undefined,
      ReturnType<typeof classifyStatus>,
    ][] = [
      ['a site busy with another operation: after 5 s', 409, {}, busy, { retry: true, retryAfterInMs: 5000 }],
      [
        'the same with Retry-After: after it',
        409,
        { 'retry-after': '12' },
        busy,
        { retry: true, retryAfterInMs: 12_000 },
      ],
      [
        'an App Service plan busy the same way',
        409,
        {},
        busy.replace('this site', 'this web hosting plan'),
        { retry: true, retryAfterInMs: 5000 },
      ],
      [
        'RoleAssignmentExists (another 409): the caller decides',
        409,
        {},
        '{"error":{"code":"RoleAssignmentExists","message":"The role assignment already exists."}}',
        { retry: false },
      ],
      ['a 409 without a body', 409, {}, undefined, { retry: false }],
      ['the busy message on another status', 400, {}, busy, { retry: false }],
    ];
    for (const [name, status, headers, body, expected] of busyTable) {
      it(`409 busy rule: ${name}`, () =>
        assert.deepEqual(
          classifyStatus(status, new Headers(headers), () => 0, body),
          expected,
        ));
    }

    it('takes Retry-After only from 429 and 503', () => {
      assert.deepEqual(classifyStatus(429, new Headers({ 'retry-after': '3' })), {
        retry: true,
        retryAfterInMs: 3000,
      });
      assert.deepEqual(classifyStatus(500, new Headers({ 'retry-after': '3' })), { retry: true });
    });

    const transient: [string, unknown][] = [
      ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
      ['socket hang up', new Error('socket hang up')],
      ['ETIMEDOUT', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })],
      [
        'fetch failed caused by ECONNREFUSED',
        new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }),
      ],
      [
        'terminated while reading the body',
        new TypeError('terminated', { cause: { code: 'UND_ERR_SOCKET' } }),
      ],
      ['an undici connect timeout', Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' })],
    ];
    for (const [name, error] of transient) {
      it(`retries a network error: ${name}`, () => assert.equal(isTransientNetworkError(error), true));
    }

    it('never retries a cancellation or a programming error', () => {
      const abort = new Error('aborted');
      abort.name = 'AbortError';
      assert.equal(isTransientNetworkError(abort), false);
      assert.equal(isTransientNetworkError(new TypeError('x is not a function')), false);
    });
  });

  describe('back-off', () => {
    it('grows exponentially under full jitter and stays under the ceiling', () => {
      const top = () => 0.999999;
      const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((n) =>
        backoffDelayInMs(n, { retry: true }, { baseDelayInMs: 1000, maxDelayInMs: 10_000 }, top),
      );
      assert.deepEqual(delays, [999, 1999, 3999, 7999, 9999, 9999, 9999, 9999]);
      assert.equal(
        backoffDelayInMs(3, { retry: true }, { baseDelayInMs: 1000 }, () => 0),
        0,
      );
    });

    it('waits what Retry-After asks, capped, and never less than the base delay', () => {
      const o = { baseDelayInMs: 500, maxRetryAfterInMs: 20_000 };
      assert.equal(backoffDelayInMs(1, { retry: true, retryAfterInMs: 4000 }, o), 4000);
      assert.equal(backoffDelayInMs(1, { retry: true, retryAfterInMs: 3_600_000 }, o), 20_000);
      assert.equal(backoffDelayInMs(1, { retry: true, retryAfterInMs: 0 }, o), 500);
    });
  });

  describe('withRetry', () => {
    it('stops after the configured number of attempts and throws the last error', async () => {
      const { delays, sleep } = recordingSleep();
      let attempts = 0;
      await assert.rejects(
        withRetry(
          async () => {
            attempts++;
            throw Object.assign(new Error(`drop ${attempts}`), { code: 'ECONNRESET' });
          },
          { maxAttempts: 4, sleep, random: () => 0.5 },
        ),
        /drop 4/,
      );
      assert.equal(attempts, 4);
      assert.equal(delays.length, 3);
    });

    it('returns the first good answer after transient failures', async () => {
      const { sleep } = recordingSleep();
      const result = await withRetry(
        async ({ attempt }) => {
          if (attempt < 3) throw new Error('socket hang up');
          return `ok on ${attempt}`;
        },
        { sleep },
      );
      assert.equal(result, 'ok on 3');
    });

    it('does not retry an error the classifier rejects', async () => {
      const { delays, sleep } = recordingSleep();
      await assert.rejects(
        withRetry(
          async () => {
            throw new Error('bad request');
          },
          { sleep },
        ),
        /bad request/,
      );
      assert.deepEqual(delays, []);
    });

    it('rejects with an AbortError at once when the signal aborts during an attempt', async () => {
      const controller = new AbortController();
      const pending = withRetry(() => new Promise<never>(() => {}), { signal: controller.signal });
      controller.abort();
      await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
    });

    it('rejects with an AbortError when aborted during the back-off', async () => {
      const controller = new AbortController();
      const sleep = (_ms: number, signal?: AbortSignal) =>
        new Promise<void>((_, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
          controller.abort();
        });
      await assert.rejects(
        withRetry(
          async () => {
            throw new Error('socket hang up');
          },
          { signal: controller.signal, sleep },
        ),
        (e: Error) => e.name === 'AbortError',
      );
    });

    it('does not start when the signal is already aborted', async () => {
      let started = false;
      await assert.rejects(
        withRetry(
          async () => {
            started = true;
          },
          { signal: AbortSignal.abort() },
        ),
        (e: Error) => e.name === 'AbortError',
      );
      assert.equal(started, false);
    });

    it('times out a hanging attempt and retries it', async () => {
      const { sleep } = recordingSleep();
      const result = await withRetry(
        ({ attempt }) => (attempt === 1 ? new Promise<string>(() => {}) : Promise.resolve('second')),
        { attemptTimeoutInMs: 20, sleep },
      );
      assert.equal(result, 'second');
    });
  });

  describe('send over fetch', () => {
    let server: Server | undefined;
    afterEach(() => server?.close());

    it('honours Retry-After on 429 and then returns the success', async () => {
      const s = await scriptedServer([
        status(429, { 'retry-after': '2' }),
        status(503, { 'retry-after': 'Tue, 01 Jul 2025 10:00:05 GMT' }),
        status(200, { 'content-type': 'text/plain' }, 'done'),
      ]);
      server = s.server;
      const { delays, sleep } = recordingSleep();
      const response = await send(
        { method: 'GET', url: s.url },
        { sleep, now: () => Date.parse('Tue, 01 Jul 2025 10:00:00 GMT'), transport: s.transport },
      );
      assert.equal(response.status, 200);
      assert.equal(response.text, 'done');
      assert.deepEqual(delays, [2000, 5000]);
    });

    it('returns the last 503 once the attempts run out', async () => {
      const s = await scriptedServer([status(503, {}, 'busy')]);
      server = s.server;
      const { sleep } = recordingSleep();
      const response = await send(
        { method: 'GET', url: s.url },
        { maxAttempts: 3, sleep, transport: s.transport },
      );
      assert.equal(response.status, 503);
      assert.equal(response.attempt, 3);
      assert.equal(s.requests(), 3);
    });

    it('retries a connection the server drops', async () => {
      const s = await scriptedServer([(req) => req.socket.destroy(), status(200, {}, 'fine')]);
      server = s.server;
      const { sleep } = recordingSleep();
      const response = await send({ method: 'GET', url: s.url }, { sleep, transport: s.transport });
      assert.equal(response.text, 'fine');
    });

    it('sends headers recomputed for each attempt', async () => {
      const seen: (string | undefined)[] = [];
      const s = await scriptedServer([
        (req, res) => {
          seen.push(req.headers.authorization);
          status(500)(req, res);
        },
        (req, res) => {
          seen.push(req.headers.authorization);
          status(200)(req, res);
        },
      ]);
      server = s.server;
      const { sleep } = recordingSleep();
      let n = 0;
      await send(
        { method: 'GET', url: s.url },
        {
          sleep,
          transport: s.transport,
          credential: { host: new URL(s.url).host, value: async () => `Bearer t${++n}` },
        },
      );
      assert.deepEqual(seen, ['Bearer t1', 'Bearer t2']);
    });
  });
});
