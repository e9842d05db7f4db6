/**
 * Microsoft.Authorization role assignments: list what already grants pull, and create a grant idempotently.
 *
 * Idempotency comes from the name: a PUT under a random GUID is not idempotent, so the name is a name-based UUID
 * (v5 style, SHA-1) of scope + principal + role. The same PUT again succeeds; the same grant under another name
 * answers 409 RoleAssignmentExists, which is success too. A brand-new identity can answer 400 PrincipalNotFound
 * for a while (directory replication) even with `principalType` set: that is retried with back-off, bounded.
 */
import { createHash } from 'node:crypto';
import type { RoleAssignment as SdkRoleAssignment } from '@azure/arm-authorization';
import { systemClock } from '../clock';
import type { GrantFact, ScopeKind } from '../facts';
import { withDeadline } from '../http/pipeline';
import { type RetryOptions, withRetry } from '../http/retry';
import { collectPages, sdkPages } from '../paging';
import { type ArmClient, clockOf, isArmError } from './client';
import { authorizationNextLink, sdkCall, sdkClientsFor } from './clients';

/** What @azure/arm-authorization 9's role assignment operations send (the package fixes it). */
export const AUTHORIZATION_API_VERSION = '2022-04-01';

/** Built-in role definition GUIDs (learn.microsoft.com "Azure built-in roles"). */
export const ROLES = {
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d',
  acrPush: '8311e382-0749-4cb8-b61a-304f252e45ec',
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  repositoryReader: 'b93aa761-3e63-49ed-ac28-beffa264f7ac',
  repositoryWriter: '2a1e307c-b015-4ebd-883e-5b7698a07328',
  repositoryContributor: '2efddaa5-3f1f-4df3-97df-af3f13818f4c',
} as const;

export const ROLE_NAMES: Readonly<Record<string, string>> = {
  [ROLES.acrPull]: 'AcrPull',
  [ROLES.acrPush]: 'AcrPush',
  [ROLES.reader]: 'Reader',
  [ROLES.contributor]: 'Contributor',
  [ROLES.owner]: 'Owner',
  [ROLES.repositoryReader]: 'Container Registry Repository Reader',
  [ROLES.repositoryWriter]: 'Container Registry Repository Writer',
  [ROLES.repositoryContributor]: 'Container Registry Repository Contributor',
};

/**
 * Roles that let an identity pull. Legacy registries: AcrPull, AcrPush, Reader, Contributor, Owner (support article
 * pull-image-to-web-app-fail.md). ABAC registries honour only the repository roles (learn:
 * container-registry-rbac-abac-repository-permissions).
 */
const LEGACY_PULL_ROLES: ReadonlySet<string> = new Set([
  ROLES.acrPull,
  ROLES.acrPush,
  ROLES.reader,
  ROLES.contributor,
  ROLES.owner,
]);
const ABAC_PULL_ROLES: ReadonlySet<string> = new Set([
  ROLES.repositoryReader,
  ROLES.repositoryWriter,
  ROLES.repositoryContributor,
]);

/** A role assignment as ARM sends it (the SDK flattens `properties`; this keeps ARM's nesting). */
export interface RoleAssignment {
  readonly id: string;
  readonly name: string;
  readonly properties: {
    readonly roleDefinitionId: string;
    readonly principalId: string;
    readonly principalType?: string;
    readonly scope: string;
    readonly condition?: string | null;
    /** ISO 8601; how old the grant is decides whether an unauthorized pull can still be propagation. */
    readonly createdOn?: string;
    readonly updatedOn?: string;
  };
}

/** The role GUID at the end of a role definition ID (or a bare GUID), lower-cased. */
export function roleGuidOf(roleDefinitionId: string): string {
  return (roleDefinitionId.split('/').filter(Boolean).pop() ?? '').toLowerCase();
}

/** Case-insensitive, `//`-collapsed, no trailing slash: how resource IDs are compared. */
export function normaliseId(id: string): string {
  return `/${id.split('/').filter(Boolean).join('/')}`.toLowerCase();
}

/** `/providers/Microsoft.Management/managementGroups/{name}`: where ARM puts assignments made at a management group. */
export function isManagementGroupScope(scope: string): boolean {
  return /^\/providers\/microsoft\.management\/managementgroups\/[^/]+$/.test(normaliseId(scope));
}

/**
 * True when an assignment at `scope` applies to `resourceId`: the resource itself, one of its parents (whole
 * segments only), the root, or a management group. Management groups are no prefix of a resource ID, and the
 * task never reads the group tree; it needs none, because it only asks this of assignments listed with
 * `$filter=atScope()` AT the resource, which returns just those at or above it (Microsoft.Authorization
 * RoleAssignments_ListForScope: "atScope() ... at, or above, the scope"), so a management group there is one of
 * the groups above the resource's subscription.
 */
export function scopeCovers(scope: string, resourceId: string): boolean {
  const s = normaliseId(scope);
  const r = normaliseId(resourceId);
  return s === '/' || r === s || r.startsWith(`${s}/`) || isManagementGroupScope(s);
}

/** Where an assignment sits, from its scope's shape. */
export function scopeKindOf(scope: string): ScopeKind {
  const id = normaliseId(scope);
  if (id === '/') return 'root';
  if (isManagementGroupScope(id)) return 'managementGroup';
  const segments = id.split('/').filter(Boolean);
  if (segments[0] !== 'subscriptions' || !segments[1]) return 'other';
  if (segments.length === 2) return 'subscription';
  if (segments[2] !== 'resourcegroups' || !segments[3]) return 'other';
  if (segments.length === 4) return 'resourceGroup';
  return segments.length === 8 && segments[4] === 'providers' ? 'resource' : 'other';
}

/** A role assignment (ARM's shape) as a grant fact. */
export function grantFact(assignment: RoleAssignment): GrantFact {
  const p = assignment.properties;
  const scope = p.scope ?? '';
  return {
    id: assignment.id,
    principalId: p.principalId ?? '',
    roleGuid: roleGuidOf(p.roleDefinitionId ?? ''),
    scope,
    scopeKind: scopeKindOf(scope),
    // An ABAC condition may limit the grant to some repositories.
    conditional: typeof p.condition === 'string' && p.condition.trim() !== '',
    createdOn: p.createdOn,
    updatedOn: p.updatedOn,
  };
}

/** A pull role at a scope that covers the registry, whatever its condition. */
function pullRoleCovering(grant: GrantFact, registryId: string, abac: boolean): boolean {
  const roles = abac ? ABAC_PULL_ROLES : LEGACY_PULL_ROLES;
  // Management groups and the root hold every subscription listed under them (see scopeCovers).
  const inherited = grant.scopeKind === 'managementGroup' || grant.scopeKind === 'root';
  return roles.has(grant.roleGuid) && (inherited || scopeCovers(grant.scope, registryId));
}

/**
 * Whether a grant lets its principal pull from the registry (role and scope both count). A conditional
 * (ABAC) assignment does not count: its condition may be limited to other repositories, and the task does not
 * evaluate conditions (learn.microsoft.com/azure/container-registry/container-registry-rbac-abac-repository-permissions).
 */
export function grantsPull(grant: GrantFact, registryId: string, abac: boolean): boolean {
  return pullRoleCovering(grant, registryId, abac) && !grant.conditional;
}

/** A pull role that covers the registry but carries a condition: not counted as a pull grant (see grantsPull). */
export function conditionalPullGrant(grant: GrantFact, registryId: string, abac: boolean): boolean {
  return pullRoleCovering(grant, registryId, abac) && grant.conditional;
}

/** Assignments at `scope` (with an optional OData `$filter`, e.g. `atScope()` or `principalId eq '...'`), all pages. */
export function listRoleAssignments(
  arm: ArmClient,
  scope: string,
  filter: string | undefined,
  signal?: AbortSignal,
): Promise<GrantFact[]> {
  const path = `${scope}/providers/Microsoft.Authorization/roleAssignments`;
  return sdkCall('GET', path, async (o) => {
    const pages = sdkClientsFor(arm).roleAssignments.listForScope(scopeParameter(scope), {
      ...(filter ? { filter } : {}),
      abortSignal: signal,
      ...o,
    });
    const assignments = await collectPages(`GET ${path}`, sdkPages(pages.byPage(), authorizationNextLink), {
      signal,
      now: clockOf(arm).now,
    });
    return assignments.map((a) => grantFact(roleAssignmentFromSdk(a)));
  });
}

/** The SDK's path template is `/{scope}/providers/...` with the scope unencoded: pass it without its leading `/`. */
function scopeParameter(scope: string): string {
  return scope.replace(/^\/+/, '');
}

/** The SDK flattens `properties`; the shape above keeps ARM's nesting, which the planner reads. */
function roleAssignmentFromSdk(a: SdkRoleAssignment): RoleAssignment {
  return {
    id: a.id ?? '',
    name: a.name ?? '',
    properties: {
      roleDefinitionId: a.roleDefinitionId ?? '',
      principalId: a.principalId ?? '',
      ...(a.principalType !== undefined ? { principalType: a.principalType } : {}),
      scope: a.scope ?? '',
      ...(a.condition !== undefined ? { condition: a.condition } : {}),
      // How old the grant is decides whether an unauthorized pull can still be propagation.
      ...(a.createdOn ? { createdOn: new Date(a.createdOn).toISOString() } : {}),
      ...(a.updatedOn ? { updatedOn: new Date(a.updatedOn).toISOString() } : {}),
    },
  };
}

// A fixed namespace for our name-based UUIDs (random once; changing it would rename every assignment we make).
const NAMESPACE = Buffer.from('5f0c2b8e6a4d4e1f9c3b7a2d1e8f6c40', 'hex');

/** A name-based UUID (RFC 4122 version 5 layout, SHA-1) of scope + principal + role: the same inputs, the same name. */
export function roleAssignmentName(scope: string, principalId: string, roleGuid: string): string {
  const hash = createHash('sha1')
    .update(NAMESPACE)
    .update(`${normaliseId(scope)}|${principalId.toLowerCase()}|${roleGuid.toLowerCase()}`)
    .digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The subscription a scope lives in (role definition IDs are subscription-scoped). */
export function subscriptionOf(scope: string): string | undefined {
  return /^\/*subscriptions\/([^/]+)/i.exec(scope)?.[1];
}

export interface CreateRoleAssignmentInput {
  readonly scope: string;
  readonly principalId: string;
  readonly roleGuid: string;
}

export interface CreateRoleAssignmentResult {
  /** `created`: our PUT made it (or re-confirmed our own earlier PUT); `existed`: 409 RoleAssignmentExists. */
  readonly outcome: 'created' | 'existed';
  readonly name: string;
  /** How many PrincipalNotFound answers were waited out. */
  readonly principalNotFoundRetries: number;
}

/** Back-off for PrincipalNotFound: about two minutes in all by default (replication usually takes seconds). */
const PRINCIPAL_NOT_FOUND_RETRY: RetryOptions = { maxAttempts: 8, baseDelayInMs: 5000, maxDelayInMs: 30_000 };
/** The whole grant, PrincipalNotFound waits and transport retries together, ends within this. */
const PRINCIPAL_NOT_FOUND_BUDGET_IN_MS = 5 * 60_000;

/**
 * PUTs the assignment under its deterministic name with `principalType: ServicePrincipal`. 409 RoleAssignmentExists
 * is success; 400 PrincipalNotFound is retried with the shared back-off (`retry` overrides attempts, delays, sleep).
 * Any other failure is thrown as the ArmError.
 */
export async function createRoleAssignment(
  arm: ArmClient,
  input: CreateRoleAssignmentInput,
  options: { signal?: AbortSignal; retry?: RetryOptions } = {},
): Promise<CreateRoleAssignmentResult> {
  const subscriptionId = subscriptionOf(input.scope) ?? arm.subscriptionId;
  const name = roleAssignmentName(input.scope, input.principalId, input.roleGuid);
  const body = {
    roleDefinitionId: `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${input.roleGuid}`,
    principalId: input.principalId,
    // Skips the directory lookup, which avoids most replication-delay failures for brand-new identities.
    principalType: 'ServicePrincipal',
  };
  let principalNotFoundRetries = 0;
  return withRetry(
    async ({ attempt, signal }) => {
      principalNotFoundRetries = attempt - 1;
      try {
        const path = `${input.scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
        await sdkCall('PUT', path, (o) =>
          sdkClientsFor(arm).roleAssignments.create(scopeParameter(input.scope), name, body, {
            abortSignal: signal,
            ...o,
          }),
        );
        return { outcome: 'created' as const, name, principalNotFoundRetries };
      } catch (e: unknown) {
        if (isArmError(e) && e.status === 409 && e.code === 'RoleAssignmentExists') {
          return { outcome: 'existed' as const, name, principalNotFoundRetries };
        }
        throw e;
      }
    },
    {
      ...PRINCIPAL_NOT_FOUND_RETRY,
      // Each PUT is bounded by the transport (its attempts and timeouts); this loop does not cut it short, and
      // both share one budget: the waits here and the retries inside end by the same deadline, never nested.
      attemptTimeoutInMs: 2 ** 31 - 1,
      ...options.retry,
      // The inner ArmClient already retried transient failures; here only PrincipalNotFound earns another try.
      classifyError: (e) => ({ retry: isArmError(e) && e.code === 'PrincipalNotFound' }),
      signal: withDeadline(
        options.signal,
        (options.retry?.clock ?? arm.clock ?? systemClock).now() + PRINCIPAL_NOT_FOUND_BUDGET_IN_MS,
      ),
    },
  );
}
