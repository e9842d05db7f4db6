/**
 * What the Azure SDK clients (arm/clients.ts) send through: the task's pipeline (pipeline.ts) as their HttpClient,
 * so SDK requests take the agent's proxy and CA, pass the outbound guard, retry by the task's rules within the
 * time budget and read bounded bodies. Two per-call policies run inside the SDK's own pipeline: the guard before
 * the SDK's Sign phase (a refused URL, such as a long-running operation's `Azure-AsyncOperation` on another host,
 * never gets the bearer token attached), and after signing a check that an Authorization header only ever goes to
 * the ARM host (the guard also allows the apps' SCM and site hosts, which must not get the ARM token).
 */
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { SdkPipeline } from '../arm/client';
import { type Clock, systemClock } from '../clock';
import { TaskError } from '../errors';
import { outboundGuardPolicy, pipelineHttpClient, type Transport } from './pipeline';
import { type RetryOptions, taskRetryStrategy } from './retry';

export interface SdkPipelineOptions {
  readonly retry?: RetryOptions;
  /** Called after every SDK request (debug log: method, path, status, correlation id; never a token). */
  readonly onAttempt?: (info: {
    method: string;
    path: string;
    status: number;
    correlationId: string | undefined;
    attempt: number;
    ms: number;
  }) => void;
}

export function sdkPipelineOf(
  transport: Transport,
  armHost: string,
  options: SdkPipelineOptions = {},
): SdkPipeline {
  const retry = options.retry ?? {};
  return {
    httpClient: pipelineHttpClient(transport, {
      strategy: taskRetryStrategy(retry),
      maxAttempts: retry.maxAttempts ?? 5,
      maxBodyBytes: 8 * 1024 * 1024,
      ...(retry.attemptTimeoutInMs !== undefined ? { attemptTimeoutInMs: retry.attemptTimeoutInMs } : {}),
      ...(retry.maxRetryAfterInMs !== undefined ? { maxRetryAfterInMs: retry.maxRetryAfterInMs } : {}),
      ...(retry.sleep ? { sleep: retry.sleep } : {}),
      ...(retry.now ? { now: retry.now } : {}),
      ...(retry.clock ? { clock: retry.clock } : {}),
    }),
    policies: [
      { policy: outboundGuardPolicy(transport.guard), position: 'perCall' },
      { policy: armTokenOnlyToArm(armHost), position: 'perRetry' },
      ...(options.onAttempt
        ? [{ policy: observer(options.onAttempt, retry.clock ?? systemClock), position: 'perRetry' as const }]
        : []),
    ],
  };
}

function armTokenOnlyToArm(armHost: string): PipelinePolicy {
  return {
    name: 'armTokenOnlyToArm',
    sendRequest(request, next) {
      const host = new URL(request.url).host.toLowerCase();
      if (request.headers.has('authorization') && host !== armHost.toLowerCase()) {
        throw new TaskError(
          'OutboundHostRefused',
          `Refused to send the Resource Manager token to ${host.slice(0, 200)}: it goes to ${armHost} only.`,
          {
            remedy:
              'Nothing was sent. A response named another host; report this with the host names involved.',
          },
        );
      }
      return next(request);
    },
  };
}

function observer(onAttempt: NonNullable<SdkPipelineOptions['onAttempt']>, clock: Clock): PipelinePolicy {
  return {
    name: 'sdkRequestLog',
    async sendRequest(request, next) {
      const started = clock.now();
      const path = new URL(request.url).pathname;
      try {
        const response = await next(request);
        onAttempt({
          method: request.method,
          path,
          status: response.status,
          correlationId: response.headers.get('x-ms-correlation-request-id') ?? undefined,
          attempt: 1,
          ms: clock.now() - started,
        });
        return response;
      } catch (e: unknown) {
        onAttempt({
          method: request.method,
          path,
          status: 0,
          correlationId: undefined,
          attempt: 1,
          ms: clock.now() - started,
        });
        throw e;
      }
    },
  };
}
