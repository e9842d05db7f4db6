/** Microsoft.Resources subscriptions: the tenant a subscription belongs to. Returns data only. */
import type { ArmClient } from './client';

const SUBSCRIPTIONS_API_VERSION = '2022-12-01';

/** The subscription's tenant ID; undefined when ARM does not say. */
export async function getSubscriptionTenantId(
  arm: ArmClient,
  subscriptionId: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const sub = await arm.request<{ tenantId?: string }>('GET', `/subscriptions/${subscriptionId}`, {
    apiVersion: SUBSCRIPTIONS_API_VERSION,
    signal,
  });
  return sub.body?.tenantId;
}
