/**
 * The contract every Azure-surface module is written against. `request.ts` implements it on top of the shared
 * retry policy (`../http/retry.ts`); the surface modules (`web-apps.ts`, `role-assignments.ts`, ...) build
 * paths and bodies, call it, and return plain data. Nothing here logs.
 */
import type { HttpClient, PipelinePolicy } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { type Clock, systemClock } from '../clock';
import type { Transport } from '../http/pipeline';

export interface ArmRequestOptions {
  /** Every ARM call names its api-version; the surface modules keep theirs as constants. */
  readonly apiVersion: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Overrides the default `application/json` (containerlogs wants `application/octet-stream`). */
  readonly accept?: string;
  /** Statuses returned as data instead of thrown as ArmError (e.g. 404 when absence is an answer). */
  readonly allowStatuses?: readonly number[];
  readonly signal?: AbortSignal;
}

export interface ArmResponse<T> {
  readonly status: number;
  /** Parsed JSON, or undefined for an empty body or a non-JSON content type. */
  readonly body: T;
  /** The raw body text (container logs are text). */
  readonly text: string;
  readonly headers: Headers;
}

/**
 * How the Azure SDK clients (`clients.ts`) send: an HttpClient for the wire and the task's policies (retry,
 * User-Agent, request id, outbound guard...). The SDKs' own retry policy is removed, so ours is the only one.
 */
export interface SdkPipeline {
  readonly httpClient: HttpClient;
  readonly policies: readonly {
    readonly policy: PipelinePolicy;
    readonly position: 'perCall' | 'perRetry';
  }[];
}

export interface ArmClient {
  /** ARM base URL with a trailing slash, e.g. `https://management.azure.com/`. */
  readonly armUrl: string;
  /** The service connection's subscription. */
  readonly subscriptionId: string;
  /** `path` starts with `/subscriptions/...` or `/providers/...`; duplicate slashes are collapsed. */
  request<T = unknown>(method: string, path: string, options: ArmRequestOptions): Promise<ArmResponse<T>>;
  /** GETs a collection and follows `nextLink` until the last page. */
  listAll<T>(path: string, options: ArmRequestOptions): Promise<T[]>;
  /** A bearer token for the ARM audience; Kudu accepts it too. Never log it. */
  getToken(signal?: AbortSignal): Promise<string>;
  /** A bearer token for another audience (Kudu's App Service audience). Never log it. */
  getTokenFor?(scope: string, signal?: AbortSignal): Promise<string>;
  /** Bearer scopes Kudu is tried with before the ARM token (the cloud's App Service audience). */
  readonly kuduScopes?: readonly string[];
  /** The HTTP transport (proxy, CA, outbound guard) every request of the run uses; SDK clients get it too. */
  readonly transport?: Transport;
  /** The run's clock (retries, timeouts, operation waits); absent: the system's. */
  readonly clock?: Clock;
  /** The service connection's credential (for SDK clients built on the same transport). */
  readonly credential?: TokenCredential;
  /** Drops the cached token after ARM refused it as expired or invalid: the next one is fresh. */
  invalidateToken?(): void;
  /** The same for another audience's token (Kudu answered 401 to it): the next `getTokenFor(scope)` is fresh. */
  invalidateTokenFor?(scope: string): void;
  /** The pipeline the SDK clients send through; when absent they send through global fetch with our retry. */
  readonly sdkPipeline?: SdkPipeline;
}

/** A non-success ARM answer, with the ARM error body's code and the correlation id for support cases. */
export class ArmError extends Error {
  readonly status: number;
  readonly code: string;
  readonly method: string;
  readonly path: string;
  readonly correlationId: string | undefined;
  constructor(init: {
    status: number;
    code: string;
    message: string;
    method: string;
    path: string;
    correlationId?: string | undefined;
  }) {
    super(init.message);
    this.name = 'ArmError';
    this.status = init.status;
    this.code = init.code;
    this.method = init.method;
    this.path = init.path;
    this.correlationId = init.correlationId;
  }
}

export function isArmError(e: unknown): e is ArmError {
  return e instanceof Error && e.name === 'ArmError';
}

interface ErrorFields {
  code?: unknown;
  message?: unknown;
  Code?: unknown;
  Message?: unknown;
}

/** ARM error bodies come as `{error:{code,message}}`, sometimes `{code,message}` or (App Service) `{Code,Message}`. */
export function armErrorFields(text: string): { code: string; message: string } {
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const root = (parsed ?? {}) as ErrorFields & { error?: ErrorFields };
  const inner: ErrorFields = root.error && typeof root.error === 'object' ? root.error : root;
  const code = inner.code ?? inner.Code;
  const message = inner.message ?? inner.Message;
  return {
    code: typeof code === 'string' ? code : '',
    message: typeof message === 'string' ? message : '',
  };
}

/** The ArmClient's clock: the run's, or the system's for a client built without one. */
export function clockOf(arm: Pick<ArmClient, 'clock'>): Clock {
  return arm.clock ?? systemClock;
}
