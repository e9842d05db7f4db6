/**
 * ARM resource IDs: a strict parser for IDs a user typed (right type, GUID subscription) and a loose split for
 * IDs Azure returned (any type, child resources allowed). Compared case-insensitively, as ARM does.
 */
import type { ResourceRef } from './settings';

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Resource groups: 1-90 letters, digits, underscores, hyphens, periods and parentheses; no period at the end.
export const RESOURCE_GROUP = /^[\p{L}\p{N}_().-]{0,89}[\p{L}\p{N}_()-]$/u;

/**
 * Splits `/subscriptions/{guid}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}`; undefined when the ID
 * is malformed or of another type. Resource IDs are case-insensitive, so the type is compared that way.
 */
export function parseResourceId(id: string, type: string): ResourceRef | undefined {
  const parts = id.replace(/\/+$/, '').split('/');
  // ['', 'subscriptions', sub, 'resourceGroups', rg, 'providers', ns, type, name]
  if (parts.length !== 9 || parts[0] !== '') return undefined;
  const [, subs, subscriptionId, groups, resourceGroup, providers, ns, kind, name] = parts as string[];
  if (subs!.toLowerCase() !== 'subscriptions' || !GUID.test(subscriptionId!)) return undefined;
  if (groups!.toLowerCase() !== 'resourcegroups' || !RESOURCE_GROUP.test(resourceGroup!)) return undefined;
  if (providers!.toLowerCase() !== 'providers') return undefined;
  if (`${ns}/${kind}`.toLowerCase() !== type.toLowerCase() || !name) return undefined;
  return { id: parts.join('/'), subscriptionId: subscriptionId!, resourceGroup: resourceGroup!, name: name! };
}

/** Splits `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/...]`; undefined if it is not one. */
export function splitResourceId(id: string): ResourceRef | undefined {
  const match = /^\/*subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/[^/]+\/[^/]+\/([^/]+)/i.exec(
    id,
  );
  if (!match) return undefined;
  const [, subscriptionId = '', resourceGroup = '', name = ''] = match;
  return { id, subscriptionId, resourceGroup, name };
}
