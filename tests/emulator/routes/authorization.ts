/**
 * Microsoft.Authorization: role assignments (create / get / delete / list with $filter), role definitions and
 * the caller's effective permissions, with the error bodies Azure really sends (facts doc §3).
 * The api-version is checked before routing (api-versions.ts). Scopes keep the case the client sent; IDs compare case-insensitively.
 */
import {
  type EmulatorState,
  hasResourceGroup,
  hasSubscription,
  isGuid,
  type ManagementGroup,
  type RoleAssignment,
  sameId,
  scopeCoversIn,
} from '../model';
import {
  allRoleDefinitions,
  BUILT_IN_ROLES,
  canPerform,
  findRoleDefinition,
  permissionsFor,
  type RoleDefinition,
} from '../roles';
import {
  armError,
  callerOf,
  type HttpReply,
  json,
  page,
  ReplyError,
  type Route,
  type RouteContext,
  resourceGroupNotFound,
  subscriptionNotFound,
} from '../router';

const PROVIDER = '/providers/Microsoft.Authorization';

/**
 * 403 `AuthorizationFailed` as the ARM gateway answers it (header `x-ms-failure-cause: gateway`). Exported so
 * other route modules answer missing rights the same way.
 */
export function authorizationFailed(callerObjectId: string, action: string, scope: string): HttpReply {
  return armError(
    403,
    'AuthorizationFailed',
    `The client '${callerObjectId}' with object id '${callerObjectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    undefined,
    { 'x-ms-failure-cause': 'gateway' },
  );
}

/** Throws the 403 reply unless the caller may perform `action` at `scope`. */
export function requireAction(ctx: RouteContext, action: string, scope: string): void {
  const caller = ctx.caller?.objectId ?? '00000000-0000-0000-0000-000000000000';
  if (!ctx.caller || !canPerform(ctx.state, caller, action, scope)) {
    throw new ReplyError(authorizationFailed(caller, action, scope));
  }
}

/** The part of the original-case path before the matched suffix (patterns match the lower-cased path). */
function scopeFrom(ctx: RouteContext, lowerScope: string): string {
  return ctx.path.slice(0, lowerScope.length);
}

function subscriptionOf(scope: string): string | undefined {
  return /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
}

/** Existence check of the scope's subscription and resource group (ARM answers these before the RP). */
function requireScopeExists(state: EmulatorState, scope: string): void {
  const m = /^\/subscriptions\/([^/]+)(?:\/resourcegroups\/([^/]+))?/i.exec(scope);
  if (!m) return;
  const [, sub = '', rg] = m;
  if (!hasSubscription(state, sub)) throw new ReplyError(subscriptionNotFound(sub));
  if (rg && !hasResourceGroup(state, sub, rg)) throw new ReplyError(resourceGroupNotFound(rg));
}

// ---------------------------------------------------------------------------------------------------------
// Role assignments
// ---------------------------------------------------------------------------------------------------------

/**
 * The role definition ID as ARM returns it in a role assignment: built-in roles in the tenant form
 * `/providers/Microsoft.Authorization/roleDefinitions/{guid}`, whatever form the PUT sent. The official 2022-04-01
 * examples (Azure/azure-rest-api-specs, specification/authorization/.../stable/2022-04-01/examples/
 * RoleAssignments_CreateForResourceGroup.json, RoleAssignments_Get.json, RoleAssignments_ListForScope.json) send
 * the subscription form and get the tenant form back. Custom roles keep the ID they were assigned with.
 */
export function returnedRoleDefinitionId(roleDefinitionId: string): string {
  const guid = roleDefinitionId.split('/').filter(Boolean).pop()?.toLowerCase() ?? '';
  return BUILT_IN_ROLES.some((r) => r.name === guid)
    ? `/providers/Microsoft.Authorization/roleDefinitions/${guid}`
    : roleDefinitionId;
}

export function roleAssignmentBody(a: RoleAssignment, state: EmulatorState): object {
  const createdOn = new Date(a.createdAt).toISOString();
  return {
    properties: {
      roleDefinitionId: returnedRoleDefinitionId(a.roleDefinitionId),
      principalId: a.principalId,
      principalType: a.principalType,
      scope: a.scope,
      condition: a.condition ?? null,
      conditionVersion: a.conditionVersion ?? null,
      createdOn,
      updatedOn: createdOn,
      createdBy: a.createdBy ?? state.defaultClient.objectId,
      updatedBy: a.createdBy ?? state.defaultClient.objectId,
      delegatedManagedIdentityResourceId: null,
      description: a.description ?? null,
    },
    id: a.id,
    type: 'Microsoft.Authorization/roleAssignments',
    name: a.name,
  };
}

/** When a directory object was created, or undefined when the directory does not know it. Managed identities
 *  that exist only on an app or identity resource count as long replicated. */
function principalCreatedAt(state: EmulatorState, principalId: string): number | undefined {
  const pid = principalId.toLowerCase();
  const known = state.principals.find((p) => p.objectId.toLowerCase() === pid);
  if (known) return known.createdAt;
  const elsewhere =
    state.identities.some((i) => i.principalId.toLowerCase() === pid) ||
    state.applications.some((a) => a.objectId.toLowerCase() === pid) ||
    state.apps.some(
      (a) =>
        a.identity.principalId?.toLowerCase() === pid ||
        Object.values(a.identity.userAssignedIdentities).some((u) => u.principalId.toLowerCase() === pid),
    );
  return elsewhere ? 0 : undefined;
}

function principalNotFound(principalId: string, tenantId: string): HttpReply {
  // Dashless principal ID and two spaces before "See", as in real bodies (facts doc §3.2; Azure/avdaccelerator#76,
  // Azure/azure-powershell#16551).
  return armError(
    400,
    'PrincipalNotFound',
    `Principal ${principalId.replace(/-/g, '')} does not exist in the directory ${tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
  );
}

interface AssignmentBody {
  properties?: {
    roleDefinitionId?: string;
    principalId?: string;
    principalType?: RoleAssignment['principalType'];
    condition?: string | null;
    conditionVersion?: string | null;
    description?: string | null;
  };
}

function createRoleAssignment(ctx: RouteContext, scope: string, name: string): HttpReply {
  const caller = callerOf(ctx);
  const id = `${scope}${PROVIDER}/roleAssignments/${name}`;
  requireAction(ctx, 'Microsoft.Authorization/roleAssignments/write', id);
  if (!isGuid(name)) {
    return armError(
      400,
      'InvalidRoleAssignmentId',
      `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`,
    );
  }
  requireScopeExists(ctx.state, scope);
  const props = ctx.json<AssignmentBody>().properties ?? {};
  const { roleDefinitionId, principalId } = props;
  if (!roleDefinitionId || !principalId) {
    return armError(
      400,
      'InvalidRequestContent',
      'The request content was invalid and could not be deserialized: properties.roleDefinitionId and properties.principalId are required.',
    );
  }
  const role = findRoleDefinition(ctx.state, roleDefinitionId);
  if (!role) {
    return armError(
      400,
      'RoleDefinitionDoesNotExist',
      `The specified role definition with ID '${roleDefinitionId.split('/').pop() ?? ''}' does not exist.`,
    );
  }

  const state = ctx.state;
  const existing = state.roleAssignments.find((a) => a.name.toLowerCase() === name.toLowerCase());
  if (existing) {
    const same =
      sameId(existing.scope, scope) &&
      existing.principalId.toLowerCase() === principalId.toLowerCase() &&
      findRoleDefinition(state, existing.roleDefinitionId)?.name === role.name;
    if (!same) {
      return armError(
        409,
        'RoleAssignmentUpdateNotPermitted',
        'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.',
      );
    }
    // Re-sending the same assignment under the same name is idempotent (deterministic names redeploy cleanly).
    if (props.description !== undefined) existing.description = props.description;
    if (props.condition !== undefined) existing.condition = props.condition;
    if (props.conditionVersion !== undefined) existing.conditionVersion = props.conditionVersion;
    return json(201, roleAssignmentBody(existing, state));
  }

  const createdAt = principalCreatedAt(state, principalId);
  const replicated =
    createdAt !== undefined && ctx.now() - createdAt >= state.delays.directoryReplicationSeconds * 1000;
  // principalType skips the directory lookup, so a fresh (not yet replicated) principal is accepted with it.
  if (createdAt === undefined || (!replicated && !props.principalType)) {
    return principalNotFound(principalId, state.tenantId);
  }

  const duplicate = state.roleAssignments.find(
    (a) =>
      sameId(a.scope, scope) &&
      a.principalId.toLowerCase() === principalId.toLowerCase() &&
      findRoleDefinition(state, a.roleDefinitionId)?.name === role.name,
  );
  if (duplicate) {
    return armError(
      409,
      'RoleAssignmentExists',
      `The role assignment already exists. The ID of the existing role assignment is ${duplicate.name.replace(/-/g, '').toLowerCase()}.`,
    );
  }

  const known = state.principals.find((p) => p.objectId.toLowerCase() === principalId.toLowerCase());
  const assignment: RoleAssignment = {
    id,
    name,
    scope,
    roleDefinitionId,
    principalId,
    principalType: props.principalType ?? known?.principalType ?? 'ServicePrincipal',
    condition: props.condition ?? null,
    conditionVersion: props.conditionVersion ?? null,
    description: props.description ?? null,
    createdBy: caller,
    createdAt: ctx.now(),
  };
  state.roleAssignments.push(assignment);
  return json(201, roleAssignmentBody(assignment, state));
}

function getRoleAssignment(ctx: RouteContext, scope: string, name: string): HttpReply {
  const id = `${scope}${PROVIDER}/roleAssignments/${name}`;
  requireAction(ctx, 'Microsoft.Authorization/roleAssignments/read', id);
  const found = ctx.state.roleAssignments.find((a) => sameId(a.id, id));
  if (!found) {
    return armError(404, 'RoleAssignmentNotFound', `The role assignment '${name}' is not found.`);
  }
  return json(200, roleAssignmentBody(found, ctx.state));
}

function deleteRoleAssignment(ctx: RouteContext, scope: string, name: string): HttpReply {
  const id = `${scope}${PROVIDER}/roleAssignments/${name}`;
  requireAction(ctx, 'Microsoft.Authorization/roleAssignments/delete', id);
  const at = ctx.state.roleAssignments.findIndex((a) => sameId(a.id, id));
  const found = ctx.state.roleAssignments[at];
  if (!found) return { status: 204 };
  ctx.state.roleAssignments.splice(at, 1);
  return json(200, roleAssignmentBody(found, ctx.state));
}

/** A parsed role assignment `$filter`: the terms joined by `and`. */
export interface AssignmentFilter {
  atScope: boolean;
  principalId?: string;
  assignedTo?: string;
}

/**
 * Parses `atScope()`, `principalId eq '{id}'`, `assignedTo('{id}')` and their `and` combinations (keywords in
 * any case). Undefined when a term is not one of those.
 */
export function parseAssignmentFilter(filter: string | null): AssignmentFilter | undefined {
  const out: AssignmentFilter = { atScope: false };
  if (!filter?.trim()) return out;
  for (const raw of filter.split(/\s+and\s+/i)) {
    const term = raw.trim();
    const byPrincipal = /^principalid\s+eq\s+'([^']*)'$/i.exec(term);
    const byAssignee = /^assignedto\(\s*'([^']*)'\s*\)$/i.exec(term);
    if (/^atscope\(\s*\)$/i.test(term)) out.atScope = true;
    else if (byPrincipal) out.principalId = byPrincipal[1];
    else if (byAssignee) out.assignedTo = byAssignee[1];
    else return undefined;
  }
  return out;
}

/**
 * The assignments a list at `scope` returns: without atScope() those at, above and below the scope; with it,
 * only at and above. principalId / assignedTo narrow to one principal (no groups in the emulator, so both
 * mean the same).
 */
export function selectAssignments(
  assignments: readonly RoleAssignment[],
  scope: string,
  filter: AssignmentFilter,
  managementGroups?: readonly ManagementGroup[],
): RoleAssignment[] {
  const who = (filter.principalId ?? filter.assignedTo)?.toLowerCase();
  return assignments.filter((a) => {
    if (who && a.principalId.toLowerCase() !== who) return false;
    // Management-group assignments above the scope are returned too (their scope is
    // /providers/Microsoft.Management/managementGroups/{name}).
    const aboveOrAt = scopeCoversIn(managementGroups, a.scope, scope);
    const below = scopeCoversIn(managementGroups, scope, a.scope);
    return filter.atScope ? aboveOrAt : aboveOrAt || below;
  });
}

function listRoleAssignments(ctx: RouteContext, scope: string): HttpReply {
  requireAction(ctx, 'Microsoft.Authorization/roleAssignments/read', scope || '/');
  requireScopeExists(ctx.state, scope);
  const raw = ctx.query.get('$filter');
  const filter = parseAssignmentFilter(raw);
  if (!filter) {
    return armError(
      400,
      'UnsupportedQuery',
      `The filter '${raw}' is not supported. Supported filters are either 'atScope()' or 'principalId eq '{value}' or assignedTo('{value}')'.`,
    );
  }
  const items = selectAssignments(
    ctx.state.roleAssignments,
    scope || '/',
    filter,
    ctx.state.managementGroups,
  ).map((a) => roleAssignmentBody(a, ctx.state));
  return page(ctx, items, ctx.state.paging.roleAssignments);
}

// ---------------------------------------------------------------------------------------------------------
// Role definitions
// ---------------------------------------------------------------------------------------------------------

export function roleDefinitionBody(role: RoleDefinition, scope: string): object {
  const sub = subscriptionOf(scope);
  const builtIn = BUILT_IN_ROLES.some((r) => r.name === role.name);
  return {
    properties: {
      roleName: role.roleName,
      type: builtIn ? 'BuiltInRole' : 'CustomRole',
      description: role.description,
      assignableScopes: builtIn ? ['/'] : sub ? [`/subscriptions/${sub}`] : ['/'],
      permissions: role.permissions,
    },
    id: `${sub ? `/subscriptions/${sub}` : ''}${PROVIDER}/roleDefinitions/${role.name}`,
    type: 'Microsoft.Authorization/roleDefinitions',
    name: role.name,
  };
}

function getRoleDefinition(ctx: RouteContext, scope: string, guid: string): HttpReply {
  const role = findRoleDefinition(ctx.state, guid);
  if (!role) {
    return armError(
      404,
      'RoleDefinitionDoesNotExist',
      `The specified role definition with ID '${guid}' does not exist.`,
    );
  }
  return json(200, roleDefinitionBody(role, scope));
}

function listRoleDefinitions(ctx: RouteContext, scope: string): HttpReply {
  const raw = ctx.query.get('$filter') ?? '';
  const byName = /roleName\s+eq\s+'([^']*)'/i.exec(raw)?.[1];
  const roles = allRoleDefinitions(ctx.state).filter(
    (r) => byName === undefined || r.roleName.toLowerCase() === byName.toLowerCase(),
  );
  return json(200, { value: roles.map((r) => roleDefinitionBody(r, scope)) });
}

// ---------------------------------------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------------------------------------

function listPermissions(ctx: RouteContext, scope: string): HttpReply {
  requireScopeExists(ctx.state, scope);
  const caller = callerOf(ctx);
  return json(200, { value: permissionsFor(ctx.state, caller, scope) });
}

// ---------------------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------------------

const ASSIGNMENT = /^(.*)\/providers\/microsoft\.authorization\/roleassignments\/([^/]+)$/;
const ASSIGNMENTS = /^(.*)\/providers\/microsoft\.authorization\/roleassignments$/;
const DEFINITION = /^(.*)\/providers\/microsoft\.authorization\/roledefinitions\/([^/]+)$/;
const DEFINITIONS = /^(.*)\/providers\/microsoft\.authorization\/roledefinitions$/;
const PERMISSIONS = /^(.*)\/providers\/microsoft\.authorization\/permissions$/;

/** Original-case scope and last segment of a `{scope}/providers/Microsoft.Authorization/{kind}/{name}` match. */
function scopeAndName(ctx: RouteContext, match: RegExpMatchArray): [string, string] {
  const scope = scopeFrom(ctx, match[1] ?? '');
  const name = ctx.path.slice(ctx.path.lastIndexOf('/') + 1);
  return [scope, name];
}

export const routes: Route[] = [
  {
    method: 'PUT',
    pattern: ASSIGNMENT,
    handle: (ctx, m) => createRoleAssignment(ctx, ...scopeAndName(ctx, m)),
  },
  {
    method: 'GET',
    pattern: ASSIGNMENT,
    handle: (ctx, m) => getRoleAssignment(ctx, ...scopeAndName(ctx, m)),
  },
  {
    method: 'DELETE',
    pattern: ASSIGNMENT,
    handle: (ctx, m) => deleteRoleAssignment(ctx, ...scopeAndName(ctx, m)),
  },
  {
    method: 'GET',
    pattern: ASSIGNMENTS,
    handle: (ctx, m) => listRoleAssignments(ctx, scopeFrom(ctx, m[1] ?? '')),
  },
  { method: 'GET', pattern: DEFINITION, handle: (ctx, m) => getRoleDefinition(ctx, ...scopeAndName(ctx, m)) },
  {
    method: 'GET',
    pattern: DEFINITIONS,
    handle: (ctx, m) => listRoleDefinitions(ctx, scopeFrom(ctx, m[1] ?? '')),
  },
  {
    method: 'GET',
    pattern: PERMISSIONS,
    handle: (ctx, m) => listPermissions(ctx, scopeFrom(ctx, m[1] ?? '')),
  },
];
