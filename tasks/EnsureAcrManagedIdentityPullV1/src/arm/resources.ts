/**
 * Generic resource lookups: find which resource group holds the app when the input leaves it empty.
 */

import { TaskError } from '../errors';
import { splitResourceId } from '../resource-id';
import type { ArmClient } from './client';

export const RESOURCES_API_VERSION = '2021-04-01';

/**
 * The resource group of the web app `appName` in `subscriptionId`. Zero matches or several (the same name in two
 * groups) are TaskErrors that tell the user what to set.
 */
export async function findAppResourceGroup(
  arm: ArmClient,
  subscriptionId: string,
  appName: string,
  signal?: AbortSignal,
): Promise<string> {
  const quoted = appName.replace(/'/g, "''");
  const found = await arm.listAll<{ id: string; name: string }>(
    `/subscriptions/${subscriptionId}/resources`,
    {
      apiVersion: RESOURCES_API_VERSION,
      query: { $filter: `resourceType eq 'Microsoft.Web/sites' and name eq '${quoted}'` },
      signal,
    },
  );
  const groups = new Map<string, string>();
  for (const resource of found) {
    if (resource.name.toLowerCase() !== appName.toLowerCase()) continue;
    const group = splitResourceId(resource.id)?.resourceGroup;
    if (group && !groups.has(group.toLowerCase())) groups.set(group.toLowerCase(), group);
  }
  const list = [...groups.values()];
  if (list.length === 1) return list[0] as string;
  if (list.length === 0) {
    throw new TaskError(
      'AppNotFound',
      `No web app named '${appName}' was found in subscription ${subscriptionId}.`,
      {
        remedy:
          `Check the app name, and that the service connection's subscription (${subscriptionId}) is the app's ` +
          'subscription and that the connection can read it (Reader or Website Contributor on the app); ' +
          'or set the resourceGroupName input.',
      },
    );
  }
  throw new TaskError(
    'AppAmbiguous',
    `Several web apps named '${appName}' exist in subscription ${subscriptionId}, in resource groups: ${list.join(', ')}.`,
    { remedy: `Set the resourceGroupName input to the one to configure (one of: ${list.join(', ')}).` },
  );
}
