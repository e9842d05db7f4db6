import type {
  CustomRoleDefinition,
  Delays,
  ManagementGroup,
  Registry,
  RoleAssignment,
  Subscription,
} from './model';
import { normalizeId, scopeCovers, scopeCoversIn } from './model';

/**
 * Built-in Azure role definitions and the emulator's RBAC evaluation: which actions a principal may perform at a
 * scope, whether it may read a resource, and whether a managed identity may pull from a registry yet.
 * Pure: every function takes the state it needs and returns data.
 *
 * GUIDs and action lists are those Microsoft publishes for the built-in roles (learn.microsoft.com "Azure built-in
 * roles", MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles/*.md); only the roles this
 * project meets are listed.
 */

export interface Permission {
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

export interface RoleDefinition {
  /** The GUID, which is also the resource name. */
  name: string;
  roleName: string;
  description: string;
  permissions: Permission[];
}

/** The parts of the emulator state this module reads; `EmulatorState` satisfies it, and tests can build a small one. */
export interface RbacState {
  roleAssignments: readonly (Pick<
    RoleAssignment,
    'principalId' | 'scope' | 'roleDefinitionId' | 'createdAt'
  > &
    Partial<Pick<RoleAssignment, 'condition'>>)[];
  /** Management groups above the subscriptions: assignments at a group apply below it. */
  managementGroups?: readonly ManagementGroup[];
  registries?: readonly Pick<Registry, 'id' | 'roleAssignmentMode'>[];
  customRoleDefinitions?: readonly CustomRoleDefinition[];
  delays?: Pick<Delays, 'roleAssignmentPropagationSeconds'>;
}

export const ROLE_IDS = {
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  userAccessAdministrator: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  rbacAdministrator: 'f58310d9-a9f6-439a-9e8d-f62e7b41a168',
  websiteContributor: 'de139f84-1756-47ae-9be6-808fbbe84772',
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d',
  acrPush: '8311e382-0749-4cb8-b61a-304f252e45ec',
  repositoryReader: 'b93aa761-3e63-49ed-ac28-beffa264f7ac',
  repositoryWriter: '2a1e307c-b015-4ebd-883e-5b7698a07328',
  repositoryContributor: '2efddaa5-3f1f-4df3-97df-af3f13818f4c',
  repositoryCatalogLister: 'bfdb9389-c9a5-478a-bb2f-ba9ca092c3c7',
  managedIdentityOperator: 'f1a07417-d97a-45cb-824c-7a7467783830',
} as const;

function perm(actions: string[], notActions: string[] = [], dataActions: string[] = []): Permission[] {
  return [{ actions, notActions, dataActions, notDataActions: [] }];
}

const REPO_READ = [
  'Microsoft.ContainerRegistry/registries/repositories/content/read',
  'Microsoft.ContainerRegistry/registries/repositories/metadata/read',
];
const REPO_WRITE = [
  'Microsoft.ContainerRegistry/registries/repositories/content/write',
  'Microsoft.ContainerRegistry/registries/repositories/metadata/write',
];
const REPO_DELETE = [
  'Microsoft.ContainerRegistry/registries/repositories/content/delete',
  'Microsoft.ContainerRegistry/registries/repositories/metadata/delete',
];

export const BUILT_IN_ROLES: readonly RoleDefinition[] = [
  {
    name: ROLE_IDS.owner,
    roleName: 'Owner',
    description:
      'Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.',
    permissions: perm(['*']),
  },
  {
    name: ROLE_IDS.contributor,
    roleName: 'Contributor',
    description:
      'Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.',
    permissions: perm(
      ['*'],
      [
        'Microsoft.Authorization/*/Delete',
        'Microsoft.Authorization/*/Write',
        'Microsoft.Authorization/elevateAccess/Action',
        'Microsoft.Blueprint/blueprintAssignments/write',
        'Microsoft.Blueprint/blueprintAssignments/delete',
        'Microsoft.Compute/galleries/share/action',
        'Microsoft.Purview/consents/write',
        'Microsoft.Purview/consents/delete',
        'Microsoft.Resources/deploymentStacks/manageDenySetting/action',
        'Microsoft.Subscription/cancel/action',
        'Microsoft.Subscription/enable/action',
      ],
    ),
  },
  {
    name: ROLE_IDS.reader,
    roleName: 'Reader',
    description: 'View all resources, but does not allow you to make any changes.',
    permissions: perm(['*/read']),
  },
  {
    name: ROLE_IDS.userAccessAdministrator,
    roleName: 'User Access Administrator',
    description: 'Lets you manage user access to Azure resources.',
    permissions: perm(['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*']),
  },
  {
    name: ROLE_IDS.rbacAdministrator,
    roleName: 'Role Based Access Control Administrator',
    description:
      'Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.',
    permissions: perm([
      'Microsoft.Authorization/roleAssignments/write',
      'Microsoft.Authorization/roleAssignments/delete',
      '*/read',
      'Microsoft.Support/*',
    ]),
  },
  {
    name: ROLE_IDS.websiteContributor,
    roleName: 'Website Contributor',
    description: 'Lets you manage websites (not web plans), but not access to them.',
    permissions: perm([
      'Microsoft.Authorization/*/read',
      'Microsoft.Insights/alertRules/*',
      'Microsoft.Insights/components/*',
      'Microsoft.ResourceHealth/availabilityStatuses/read',
      'Microsoft.Resources/deployments/*',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
      'Microsoft.Support/*',
      'Microsoft.Web/certificates/*',
      'Microsoft.Web/listSitesAssignedToHostName/read',
      'Microsoft.Web/serverFarms/join/action',
      'Microsoft.Web/serverFarms/read',
      'Microsoft.Web/sites/*',
    ]),
  },
  {
    name: ROLE_IDS.acrPull,
    roleName: 'AcrPull',
    description: 'acr pull',
    permissions: perm(['Microsoft.ContainerRegistry/registries/pull/read']),
  },
  {
    name: ROLE_IDS.acrPush,
    roleName: 'AcrPush',
    description: 'acr push',
    permissions: perm([
      'Microsoft.ContainerRegistry/registries/pull/read',
      'Microsoft.ContainerRegistry/registries/push/write',
    ]),
  },
  {
    name: ROLE_IDS.repositoryReader,
    roleName: 'Container Registry Repository Reader',
    description:
      'Allows read access to Azure Container Registry repositories, including pulling images and reading metadata.',
    permissions: perm([], [], REPO_READ),
  },
  {
    name: ROLE_IDS.repositoryWriter,
    roleName: 'Container Registry Repository Writer',
    description:
      'Allows read and write access to Azure Container Registry repositories, including pushing images.',
    permissions: perm([], [], [...REPO_READ, ...REPO_WRITE]),
  },
  {
    name: ROLE_IDS.repositoryContributor,
    roleName: 'Container Registry Repository Contributor',
    description:
      'Allows read, write and delete access to Azure Container Registry repositories, including deleting images.',
    permissions: perm([], [], [...REPO_READ, ...REPO_WRITE, ...REPO_DELETE]),
  },
  {
    name: ROLE_IDS.repositoryCatalogLister,
    roleName: 'Container Registry Repository Catalog Lister',
    description: 'Allows listing all repositories in an Azure Container Registry.',
    permissions: perm([], [], ['Microsoft.ContainerRegistry/registries/catalog/read']),
  },
  {
    name: ROLE_IDS.managedIdentityOperator,
    roleName: 'Managed Identity Operator',
    description: 'Read and Assign User Assigned Identity',
    permissions: perm([
      'Microsoft.ManagedIdentity/userAssignedIdentities/*/read',
      'Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action',
      'Microsoft.Authorization/*/read',
      'Microsoft.Insights/alertRules/*',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
      'Microsoft.Resources/deployments/*',
      'Microsoft.Support/*',
    ]),
  },
];

/** Roles that let an identity pull on a registry in LegacyRegistryPermissions mode (support article
 *  pull-image-to-web-app-fail.md: AcrPull, AcrPush, Reader, Contributor, Owner). */
const LEGACY_PULL_ROLES = new Set<string>([
  ROLE_IDS.acrPull,
  ROLE_IDS.acrPush,
  ROLE_IDS.reader,
  ROLE_IDS.contributor,
  ROLE_IDS.owner,
]);

/** In AbacRepositoryPermissions mode legacy ACR roles are not honoured (learn: container-registry-rbac-abac-
 *  repository-permissions); only the repository roles grant pulls. */
const ABAC_PULL_ROLES = new Set<string>([
  ROLE_IDS.repositoryReader,
  ROLE_IDS.repositoryWriter,
  ROLE_IDS.repositoryContributor,
]);

/** The GUID at the end of a role definition ID (`/subscriptions/s/providers/.../roleDefinitions/{guid}`,
 *  `/providers/.../roleDefinitions/{guid}` or a bare GUID), lower-cased. */
export function roleGuidOf(roleDefinitionId: string): string {
  const parts = roleDefinitionId.split('/').filter((p) => p !== '');
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

function fromCustom(c: CustomRoleDefinition): RoleDefinition {
  return {
    name: c.name.toLowerCase(),
    roleName: c.roleName,
    description: '',
    permissions: [
      {
        actions: c.actions,
        notActions: c.notActions,
        dataActions: c.dataActions,
        notDataActions: c.notDataActions,
      },
    ],
  };
}

/** A role definition by GUID or full ID, built-in first, then the scenario's custom roles. */
export function findRoleDefinition(
  state: Pick<RbacState, 'customRoleDefinitions'>,
  idOrGuid: string,
): RoleDefinition | undefined {
  const guid = roleGuidOf(idOrGuid);
  const custom = state.customRoleDefinitions?.find((r) => r.name.toLowerCase() === guid);
  return BUILT_IN_ROLES.find((r) => r.name === guid) ?? (custom ? fromCustom(custom) : undefined);
}

/** Every role definition the emulator knows. */
export function allRoleDefinitions(state: Pick<RbacState, 'customRoleDefinitions'>): RoleDefinition[] {
  return [...BUILT_IN_ROLES, ...(state.customRoleDefinitions ?? []).map(fromCustom)];
}

export { scopeCovers };

/** Azure action patterns: `*` stands for any run of characters (slashes included); comparison ignores case. */
export function actionMatches(pattern: string, action: string): boolean {
  const escaped = pattern
    .split('*')
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`, 'i').test(action);
}

/** The assignments of a principal that apply at `scope` (at it or above it). */
export function assignmentsCovering<A extends Pick<RoleAssignment, 'principalId' | 'scope'>>(
  assignments: readonly A[],
  principalId: string,
  scope: string,
  managementGroups?: readonly ManagementGroup[],
): A[] {
  const pid = principalId.toLowerCase();
  return assignments.filter(
    (a) => a.principalId.toLowerCase() === pid && scopeCoversIn(managementGroups, a.scope, scope),
  );
}

const REPOSITORY_NAME_CLAUSE =
  /@(?:Request|Resource)\[Microsoft\.ContainerRegistry\/registries\/repositories:name\]\s+(StringEquals|StringEqualsIgnoreCase|StringStartsWith|StringStartsWithIgnoreCase|StringLike|StringLikeIgnoreCase)\s+'([^']*)'/gi;

/**
 * Whether an ABAC condition on a repository role lets its holder read `repository`. ACR's conditions name the
 * repository with `@Request[Microsoft.ContainerRegistry/registries/repositories:name]` and a string operator
 * (learn.microsoft.com/azure/container-registry/container-registry-rbac-abac-repository-permissions; operators:
 * learn.microsoft.com/azure/role-based-access-control/conditions-format). The repository may be read when one of
 * the clauses matches it; a condition with no clause the emulator understands allows nothing (never silently more).
 */
export function conditionAllowsRepository(condition: string, repository: string | undefined): boolean {
  if (repository === undefined) return false;
  for (const m of condition.matchAll(REPOSITORY_NAME_CLAUSE)) {
    const op = (m[1] ?? '').toLowerCase();
    const value = m[2] ?? '';
    const ignoreCase = op.endsWith('ignorecase');
    const repo = ignoreCase ? repository.toLowerCase() : repository;
    const want = ignoreCase ? value.toLowerCase() : value;
    if (op.startsWith('stringequals') && repo === want) return true;
    if (op.startsWith('stringstartswith') && repo.startsWith(want)) return true;
    if (op.startsWith('stringlike')) {
      const pattern = want
        .split('*')
        .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      if (new RegExp(`^${pattern}$`).test(repo)) return true;
    }
  }
  return false;
}

/** The permission blocks a principal holds at `scope`, one per permission block of each applying role. */
export function permissionsFor(state: RbacState, principalId: string, scope: string): Permission[] {
  const out: Permission[] = [];
  for (const a of assignmentsCovering(state.roleAssignments, principalId, scope, state.managementGroups)) {
    const role = findRoleDefinition(state, a.roleDefinitionId);
    if (!role) continue;
    for (const p of role.permissions) {
      out.push({
        actions: [...p.actions],
        notActions: [...p.notActions],
        dataActions: [...p.dataActions],
        notDataActions: [...p.notDataActions],
      });
    }
  }
  return out;
}

/** True when one of the blocks allows `action` and that same block does not exclude it (Azure evaluates
 *  actions minus notActions per role, then unions the roles). */
export function permissionsAllow(permissions: readonly Permission[], action: string): boolean {
  return permissions.some(
    (p) =>
      p.actions.some((x) => actionMatches(x, action)) && !p.notActions.some((x) => actionMatches(x, action)),
  );
}

/** Whether the principal may perform the control-plane `action` at `scope`. */
export function canPerform(state: RbacState, principalId: string, action: string, scope: string): boolean {
  return permissionsAllow(permissionsFor(state, principalId, scope), action);
}

/** The read action of a resource type, e.g. `Microsoft.Web/sites/slots/read` for a slot ID. Subscriptions and
 *  resource groups map to their Microsoft.Resources actions. */
export function readActionFor(resourceId: string): string {
  const parts = normalizeId(resourceId)
    .split('/')
    .filter((p) => p !== '');
  // parts: subscriptions, s, resourcegroups, rg, providers, ns, type, name, [childType, childName]...
  const providerAt = parts.lastIndexOf('providers');
  if (providerAt < 0) {
    return parts.length > 2
      ? 'Microsoft.Resources/subscriptions/resourceGroups/read'
      : 'Microsoft.Resources/subscriptions/read';
  }
  const ns = parts[providerAt + 1] ?? '';
  const rest = parts.slice(providerAt + 2);
  const types = rest.filter((_, i) => i % 2 === 0);
  return `${ns}/${types.join('/')}/read`;
}

/** Whether the principal may read the resource (or subscription / resource group) with this ID. */
export function canRead(state: RbacState, principalId: string, resourceId: string): boolean {
  return canPerform(state, principalId, readActionFor(resourceId), resourceId);
}

export type PullAccess = 'granted' | 'propagating' | 'none';

/**
 * Whether `principalId` may pull from the registry now. A pull role at the registry or any parent scope counts;
 * which roles count depends on the registry's roleAssignmentMode. An assignment younger than the scenario's
 * roleAssignmentPropagationSeconds (emulated time) is 'propagating' rather than 'granted'.
 */
export function pullAccess(
  state: RbacState,
  principalId: string,
  registryId: string,
  nowMs: number,
  repository?: string,
): PullAccess {
  const registry = state.registries?.find((r) => normalizeId(r.id) === normalizeId(registryId));
  const honoured =
    registry?.roleAssignmentMode === 'AbacRepositoryPermissions' ? ABAC_PULL_ROLES : LEGACY_PULL_ROLES;
  const matching = assignmentsCovering(
    state.roleAssignments,
    principalId,
    registryId,
    state.managementGroups,
  ).filter(
    (a) =>
      honoured.has(roleGuidOf(a.roleDefinitionId)) &&
      (!a.condition || conditionAllowsRepository(a.condition, repository)),
  );
  if (matching.length === 0) return 'none';
  const delayInMs = (state.delays?.roleAssignmentPropagationSeconds ?? 0) * 1000;
  const oldest = Math.min(...matching.map((a) => a.createdAt));
  return nowMs - oldest >= delayInMs ? 'granted' : 'propagating';
}

/**
 * Whether the principal can see a subscription: listed in its `visibleTo` when that list is set, otherwise when
 * it holds any role assignment in the subscription (at it, above it, or on something inside it).
 */
export function canSeeSubscription(
  state: RbacState & { subscriptions: readonly Pick<Subscription, 'subscriptionId' | 'visibleTo'>[] },
  principalId: string,
  subscriptionId: string,
): boolean {
  const sub = state.subscriptions.find(
    (s) => s.subscriptionId.toLowerCase() === subscriptionId.toLowerCase(),
  );
  if (!sub) return false;
  const pid = principalId.toLowerCase();
  if (sub.visibleTo.length > 0) return sub.visibleTo.some((v) => v.toLowerCase() === pid);
  const subScope = `/subscriptions/${sub.subscriptionId}`;
  return state.roleAssignments.some(
    (a) =>
      a.principalId.toLowerCase() === pid &&
      (scopeCovers(a.scope, subScope) || scopeCovers(subScope, a.scope)),
  );
}
