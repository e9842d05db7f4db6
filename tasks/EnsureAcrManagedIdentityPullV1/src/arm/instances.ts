/**
 * The workers a site or slot runs on, and what the platform says about each (docs/azure-behaviour.md#instances):
 * ARM `GET .../instances` (WebApps_ListInstanceIdentifiers: `name` is the instance ID, `properties.machineName` the
 * worker name Kudu's docker log files carry) and ARM `GET .../siteStatus` (per-instance runtime state, newer stamps
 * only: absent elsewhere, and then undefined here). One page each, bounded; returns data and never logs.
 */
import { type ArmClient, isArmError } from './client';
import { type PathRef, WEB_API_VERSION } from './web-apps';

/** One worker of the app. */
export interface InstanceFacts {
  readonly instanceId: string;
  /** Kudu's machine name (`lw1sdlwk000A3Q`), when ARM gives it. */
  readonly machineName: string | undefined;
}

/** The platform's runtime status of one instance (siteStatus). */
export interface InstanceStatus {
  readonly instanceId: string;
  /** `Started`, `Starting`, `Stopped`... as the platform words it. */
  readonly state: string | undefined;
  /** `SiteStarted`, `PullingImage`, `SiteStopped`... */
  readonly action: string | undefined;
  readonly lastError: string | undefined;
}

/** At most this many instances are read (App Service plans scale to 30 workers; ASE plans to 100). */
const MAX_INSTANCES = 100;

interface InstancesBody {
  value?: { name?: unknown; properties?: { machineName?: unknown } }[];
}

interface SiteStatusBody {
  properties?:
    | { instanceId?: unknown; state?: unknown; action?: unknown; lastError?: unknown }[]
    | { instanceId?: unknown; state?: unknown; action?: unknown; lastError?: unknown };
}

function text(v: unknown, max = 200): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined;
}

/** The instances the target runs on (first page, at most 100). Throws what ARM answered. */
export async function listInstances(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<InstanceFacts[]> {
  const r = await arm.request<InstancesBody>('GET', `${target.path}/instances`, {
    apiVersion: WEB_API_VERSION,
    ...(signal ? { signal } : {}),
  });
  const value = Array.isArray(r.body?.value) ? r.body.value : [];
  return value.slice(0, MAX_INSTANCES).flatMap((v) => {
    const instanceId = text(v?.name, 128);
    if (!instanceId) return [];
    return [{ instanceId, machineName: text(v?.properties?.machineName, 128) }];
  });
}

/**
 * Per-instance runtime status; undefined where the stamp does not offer it (HTTP 404 or 400, as older stamps and
 * Windows apps answer). Other failures throw.
 */
export async function getSiteStatus(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<InstanceStatus[] | undefined> {
  try {
    const r = await arm.request<SiteStatusBody>('GET', `${target.path}/siteStatus`, {
      apiVersion: WEB_API_VERSION,
      ...(signal ? { signal } : {}),
    });
    const p = r.body?.properties;
    const items = Array.isArray(p) ? p : p ? [p] : [];
    return items.slice(0, MAX_INSTANCES).flatMap((v) => {
      const instanceId = text(v?.instanceId, 128);
      if (!instanceId) return [];
      return [
        {
          instanceId,
          state: text(v?.state),
          action: text(v?.action),
          lastError: text(v?.lastError, 300),
        },
      ];
    });
  } catch (e: unknown) {
    if (isArmError(e) && (e.status === 404 || e.status === 400)) return undefined;
    throw e;
  }
}
