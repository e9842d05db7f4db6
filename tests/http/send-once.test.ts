/**
 * A restart is the one request the task must not repeat blindly: a second restart interrupts the pull the first
 * one started. The retry policy sends it again only when it provably never reached App Service (the connection
 * was refused, or a 429/503 said when to come back); every other failure is returned as it came.
 */
import assert from 'node:assert/strict';
import {
  createHttpHeaders,
  createPipelineRequest,
  type PipelineResponse,
  RestError,
  type SendRequest,
} from '@azure/core-rest-pipeline';
import { budgetedRetryPolicy } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import { taskRetryStrategy } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/retry';

const RESTART =
  'https://management.example/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app/slots/qa/restart?api-version=2025-05-01';
const READ = 'https://management.example/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app';

type Outcome = { status: number; retryAfter?: string; body?: string } | { error: string };

/** App Service's answer while another operation runs on the site: the restart was refused, not made. */
const SITE_BUSY = JSON.stringify({
  Code: 'Conflict',
  Message: 'Cannot modify this site because another operation is in progress. Details: Id: 1, EntityType: 3',
});

/** Sends `url` through the policy against a scripted service; returns what the caller saw and what reached it. */
async function send(url: string, method: string, script: Outcome[]) {
  const seen: Outcome[] = [];
  const next: SendRequest = async (request) => {
    const outcome = script[Math.min(seen.length, script.length - 1)] as Outcome;
    seen.push(outcome);
    if ('error' in outcome) {
      // How Node reports a refused or dropped connection: the socket error is the cause of the RestError.
      const cause = Object.assign(new Error(`connect ${outcome.error}`), { code: outcome.error });
      throw new RestError(`request failed: ${outcome.error}`, { code: outcome.error, request, ...{ cause } });
    }
    const headers = createHttpHeaders(outcome.retryAfter ? { 'retry-after': outcome.retryAfter } : {});
    return { request, status: outcome.status, headers, bodyAsText: outcome.body } as PipelineResponse;
  };
  let clock = 0;
  const policy = budgetedRetryPolicy([taskRetryStrategy()], {
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
  });
  try {
    const response = await policy.sendRequest(createPipelineRequest({ url, method: method as 'POST' }), next);
    return { attempts: seen.length, status: response.status, error: undefined };
  } catch (e: unknown) {
    return { attempts: seen.length, status: undefined, error: (e as RestError).code };
  }
}

describe('restart is sent once unless it never reached the service', () => {
  const cases: { name: string; script: Outcome[]; attempts: number; status?: number; error?: string }[] = [
    { name: 'answered 200', script: [{ status: 200 }], attempts: 1, status: 200 },
    {
      name: 'connection refused, then 200: sent again',
      script: [{ error: 'ECONNREFUSED' }, { status: 200 }],
      attempts: 2,
      status: 200,
    },
    {
      name: 'connection reset (it may have arrived): not sent again',
      script: [{ error: 'ECONNRESET' }, { status: 200 }],
      attempts: 1,
      error: 'ECONNRESET',
    },
    {
      name: '429 with Retry-After, then 200: sent again',
      script: [{ status: 429, retryAfter: '2' }, { status: 200 }],
      attempts: 2,
      status: 200,
    },
    {
      name: '503 without Retry-After: returned as it came',
      script: [{ status: 503 }, { status: 200 }],
      attempts: 1,
      status: 503,
    },
    {
      name: '500: returned as it came',
      script: [{ status: 500 }, { status: 200 }],
      attempts: 1,
      status: 500,
    },
    {
      name: '409 "another operation is in progress", then 200: sent again',
      script: [{ status: 409, body: SITE_BUSY }, { status: 200 }],
      attempts: 2,
      status: 200,
    },
    {
      name: 'another 409: returned as it came',
      script: [{ status: 409, body: '{"error":{"code":"Conflict","message":"Conflict."}}' }, { status: 200 }],
      attempts: 1,
      status: 409,
    },
    {
      name: 'refused every time: bounded by the attempt limit',
      script: [{ error: 'ECONNREFUSED' }],
      attempts: 5,
      error: 'ECONNREFUSED',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const got = await send(RESTART, 'POST', c.script);
      assert.deepEqual(got, { attempts: c.attempts, status: c.status, error: c.error });
    });
  }

  it('a read that hits a reset connection is retried as usual (the rule is for the restart only)', async () => {
    const got = await send(READ, 'GET', [{ error: 'ECONNRESET' }, { status: 200 }]);
    assert.deepEqual(got, { attempts: 2, status: 200, error: undefined });
  });
});
