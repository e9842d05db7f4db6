/**
 * ARM `containerlogs`: the current platform docker log of a site or slot as plain text
 * (docs/azure-behaviour.md#container-logs-through-arm). The fallback log source when the SCM (Kudu) host cannot be
 * reached. Returns data; never logs.
 */
import type { ArmClient } from './client';
import { type PathRef, WEB_API_VERSION } from './web-apps';

/** The log text; '' when the platform has none yet (HTTP 204). */
export async function getContainerLogs(
  arm: ArmClient,
  target: PathRef,
  signal?: AbortSignal,
): Promise<string> {
  const response = await arm.request('POST', `${target.path}/containerlogs`, {
    apiVersion: WEB_API_VERSION,
    accept: 'application/octet-stream',
    allowStatuses: [204],
    ...(signal ? { signal } : {}),
  });
  return response.status === 204 ? '' : response.text;
}
