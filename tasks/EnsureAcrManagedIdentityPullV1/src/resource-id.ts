/**
 * ARM resource IDs: a strict parser for IDs a user typed (right type, GUID subscription) and a loose split for
 * IDs Azure returned (any type, child resources allowed). Compared case-insensitively, as ARM does.
 */
import type { ResourceRef } from './settings';

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Resource groups: 1-90 letters, digits, underscores, hyphens, periods and parentheses; no period at the end.
export const RESOURCE_GROUP = /^[\p{L}\p{N}_().-]{0,89}[\p{L}\p{N}_()-]$/u;
// Slots: letters, digits and hyphens; the portal caps the name so that app-slot stays a valid host label.
export const SLOT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/i;

/** The resource types whose IDs the task takes as input or trusts from a response. */
export type ResourceType =
  | 'Microsoft.ContainerRegistry/registries'
  | 'Microsoft.ManagedIdentity/userAssignedIdentities';

/**
 * Name rules per type (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules): a
 * registry is 5-50 letters and digits; a user-assigned identity 3-128 letters, digits, hyphens and underscores,
 * starting with a letter or digit. Anything else (`%2e%2e`, `?api-version=...`, `#`, a `/`) never reaches a URL.
 */
export const NAME_RULES: Readonly<Record<ResourceType, { pattern: RegExp; form: string }>> = {
  'Microsoft.ContainerRegistry/registries': {
    pattern: /^[a-z0-9]{5,50}$/i,
    form: '5 to 50 letters and digits',
  },
  'Microsoft.ManagedIdentity/userAssignedIdentities': {
    pattern: /^[a-z0-9][a-z0-9_-]{2,127}$/i,
    form: '3 to 128 letters, digits, hyphens and underscores, starting with a letter or digit',
  },
};

/**
 * What is wrong with `id` as a resource ID of `type`, segment by segment (undefined when nothing is): the
 * sentence names the segment, its value and the form it must have.
 */
export function resourceIdProblem(id: string, type: ResourceType): string | undefined {
  const parts = id.replace(/\/+$/, '').split('/');
  // ['', 'subscriptions', sub, 'resourceGroups', rg, 'providers', ns, type, name]
  if (parts.length !== 9 || parts[0] !== '')
    return `It has ${Math.max(0, parts.length - 1)} path segments; a ${type} ID has 8.`;
  const [, subs, subscriptionId, groups, resourceGroup, providers, ns, kind, name] = parts as string[];
  if (subs!.toLowerCase() !== 'subscriptions') return `Segment 1 is '${subs}', not 'subscriptions'.`;
  if (!GUID.test(subscriptionId!)) return `The subscription '${subscriptionId}' is not a GUID.`;
  if (groups!.toLowerCase() !== 'resourcegroups') return `Segment 3 is '${groups}', not 'resourceGroups'.`;
  if (!RESOURCE_GROUP.test(resourceGroup!))
    return `The resource group '${resourceGroup}' is not a resource group name (1 to 90 letters, digits, underscores, hyphens, periods or parentheses, not ending with a period).`;
  if (providers!.toLowerCase() !== 'providers') return `Segment 5 is '${providers}', not 'providers'.`;
  if (`${ns}/${kind}`.toLowerCase() !== type.toLowerCase())
    return `The resource type is '${ns}/${kind}', not '${type}'.`;
  const rule = NAME_RULES[type];
  if (!rule.pattern.test(name!)) return `The name '${name}' is not a valid name (${rule.form}).`;
  return undefined;
}

/**
 * Splits `/subscriptions/{guid}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}`; undefined when the ID
 * is malformed, of another type, or any segment breaks its name rule. Resource IDs are case-insensitive, so the
 * type is compared that way.
 */
export function parseResourceId(id: string, type: ResourceType): ResourceRef | undefined {
  if (resourceIdProblem(id, type) !== undefined) return undefined;
  const parts = id.replace(/\/+$/, '').split('/');
  const [, , subscriptionId, , resourceGroup, , , , name] = parts as string[];
  return { id: parts.join('/'), subscriptionId: subscriptionId!, resourceGroup: resourceGroup!, name: name! };
}

/**
 * An ARM path from its segments, each percent-encoded: a name can never add a segment, a query or a fragment
 * (`..`, `?`, `#`, `/` are inert). `armPath('subscriptions', s, 'resourceGroups', g, ...)`.
 */
export function armPath(...segments: readonly string[]): string {
  // `.` and `..` survive percent-encoding and a URL parser would resolve them: no segment may be one (or empty).
  const bad = segments.find((s) => s === '' || s === '.' || s === '..');
  if (bad !== undefined) throw new Error(`An ARM path segment may not be '${bad}'.`);
  return `/${segments.map((s) => encodeURIComponent(s)).join('/')}`;
}

/** A validated resource ID as a request path, every segment encoded. */
export function resourcePath(ref: ResourceRef, type: ResourceType): string {
  const [namespace = '', kind = ''] = type.split('/');
  return armPath(
    'subscriptions',
    ref.subscriptionId,
    'resourceGroups',
    ref.resourceGroup,
    'providers',
    namespace,
    kind,
    ref.name,
  );
}

/** Whether two resource IDs name the same resource (ARM compares them case-insensitively). */
export function sameResourceId(a: string, b: string): boolean {
  const norm = (id: string) => `/${id.split('/').filter(Boolean).join('/')}`.toLowerCase();
  return norm(a) === norm(b);
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
