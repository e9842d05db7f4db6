/**
 * A2's route modules called in process (no sockets): each test builds a state from a scenario, sends one
 * request through the same matcher the server uses, and checks the reply and the state. Wire-level tests
 * through the official SDK live in authorization.test.ts.
 */
import { strict as assert } from 'node:assert';
import { exampleBody } from './azure-examples';
import type { EmulatorState, Scenario } from './model';
import { ROLE_IDS } from './roles';
import { type HttpReply, matchRoute, ReplyError, type RouteContext } from './router';
import { routes as authorizationRoutes } from './routes/authorization';
import { routes as identityRoutes } from './routes/identities';
import { routes as registryRoutes } from './routes/registries';
import { routes as resourceRoutes } from './routes/resources';
import { baseScenario, buildState } from './scenario';

const ROUTES = [...authorizationRoutes, ...registryRoutes, ...identityRoutes, ...resourceRoutes];
const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const BASE = 'https://127.0.0.1:8443/';

interface Sent {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: replies are JSON to inspect freely in tests
  body: any;
}

async function send(
  state: EmulatorState,
  method: string,
  url: string,
  options: { caller?: string; body?: object; nowMs?: number } = {},
): Promise<Sent> {
  // Resolve only the query against the base: a path starting with `//` must stay a path, as on the wire.
  const [rawPath = '', rawQuery = ''] = url.replace(/^https:\/\/[^/]+/, '').split('?');
  const parsed = new URL(`${BASE}?${rawQuery}`);
  const path = rawPath.replace(/\/{2,}/g, '/');
  const lowerPath = path.toLowerCase();
  const found = matchRoute(ROUTES, method, lowerPath);
  if (!found) throw new Error(`no route for ${method} ${path}`);
  const callerId = options.caller ?? state.defaultClient.objectId;
  const bodyText = options.body ? JSON.stringify(options.body) : '';
  const ctx = {
    host: 'arm',
    method,
    path,
    lowerPath,
    query: parsed.searchParams,
    headers: {},
    body: bodyText,
    json: <T>() => (bodyText ? JSON.parse(bodyText) : {}) as T,
    state,
    caller: { objectId: callerId, clientId: callerId, tenantId: state.tenantId },
    now: () => options.nowMs ?? NOW,
    apiVersion: parsed.searchParams.get('api-version') ?? undefined,
    markWrite: () => {},
    baseUrl: BASE,
  } as unknown as RouteContext;
  let reply: HttpReply;
  try {
    reply = await found.route.handle(ctx, found.match);
  } catch (e: unknown) {
    if (!(e instanceof ReplyError)) throw e;
    reply = e.reply;
  }
  return { status: reply.status, headers: reply.headers ?? {}, body: reply.body };
}

/** The official example's response structure (see azure-examples.ts). */
const example = exampleBody;

/** Keys of an object, recursively for nested plain objects (arrays count as one leaf kind). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return 'array';
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        // tags are a free-form map: only their presence matters.
        .map((k) => [k, k === 'tags' ? 'map' : shape((value as Record<string, unknown>)[k])]),
    );
  }
  return typeof value;
}

function keysOf(value: unknown): string[] {
  return Object.keys(value as object).sort();
}

const OTHER_SP = '5d0e2a11-7c44-4b39-9f0e-2a6c1d8e4b70';

function scenario(extra: Partial<Scenario> = {}): Scenario {
  const s = baseScenario();
  return {
    ...s,
    identities: [
      { name: 'id-pull', resourceGroup: 'rg-web', clientId: '4024ab25-56a8-4370-aea6-6389221caf29' },
    ],
    ...extra,
  };
}

function stateOf(extra: Partial<Scenario> = {}): EmulatorState {
  return buildState(scenario(extra), NOW);
}

function acrOf(state: EmulatorState): string {
  const id = state.registries[0]?.id;
  assert.ok(id);
  return id;
}

function acrPull(state: EmulatorState): string {
  return `/subscriptions/${state.subscriptions[0]?.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS.acrPull}`;
}

function uamiPrincipal(state: EmulatorState): string {
  const p = state.identities[0]?.principalId;
  assert.ok(p);
  return p;
}

const NAME_A = '0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b';
const NAME_B = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';

/** The role assignment most tests write: on the registry, named NAME_A. */
function assignmentUrl(state: EmulatorState, name = NAME_A): string {
  return `${acrOf(state)}/providers/Microsoft.Authorization/roleAssignments/${name}`;
}

/** AcrPull for the user-assigned identity: the grant the task makes. */
function pullGrant(state: EmulatorState): { roleDefinitionId: string; principalId: string } {
  return { roleDefinitionId: acrPull(state), principalId: uamiPrincipal(state) };
}

/** PUTs a role assignment with these properties at `url` (default: assignmentUrl). */
function putAssignment(
  state: EmulatorState,
  properties: object,
  options: { url?: string; nowMs?: number } = {},
): Promise<Sent> {
  return send(state, 'PUT', options.url ?? assignmentUrl(state), {
    body: { properties },
    nowMs: options.nowMs,
  });
}

describe('emulator routes (A2): role assignments', () => {
  it('creates an assignment with 201 and the same keys as the official example plus the extra properties', async () => {
    const state = stateOf();
    const acr = acrOf(state);
    const res = await putAssignment(state, { ...pullGrant(state), principalType: 'ServicePrincipal' });
    assert.equal(res.status, 201);
    const ex = example('Microsoft.Authorization/RoleAssignments_CreateForResource.json');
    assert.deepEqual(keysOf(res.body), keysOf(ex));
    for (const k of keysOf((ex as { properties: object }).properties)) assert.ok(k in res.body.properties, k);
    assert.equal(res.body.properties.scope, acr);
    assert.equal(res.body.id, `${acr}/providers/Microsoft.Authorization/roleAssignments/${NAME_A}`);
    assert.equal(res.body.properties.createdOn, new Date(NOW).toISOString());
    assert.ok(state.roleAssignments.some((a) => a.name === NAME_A && a.createdAt === NOW));
  });

  it('accepts the same name and body again and keeps one assignment', async () => {
    const state = stateOf();
    const url = assignmentUrl(state);
    assert.equal((await putAssignment(state, pullGrant(state))).status, 201);
    const again = await putAssignment(state, pullGrant(state), {
      url: url.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/'),
    });
    assert.ok(again.status === 200 || again.status === 201);
    assert.equal(state.roleAssignments.filter((a) => a.principalId === uamiPrincipal(state)).length, 1);
  });

  it('answers 409 RoleAssignmentExists with the existing ID without dashes for a second name', async () => {
    const state = stateOf();
    await putAssignment(state, pullGrant(state));
    const res = await putAssignment(state, pullGrant(state), { url: `/${assignmentUrl(state, NAME_B)}` });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'RoleAssignmentExists');
    assert.match(res.body.error.message, new RegExp(`is ${NAME_A.replace(/-/g, '')}\\.$`));
  });

  it('answers 409 RoleAssignmentUpdateNotPermitted when a name is reused for another principal', async () => {
    const state = stateOf();
    await putAssignment(state, pullGrant(state));
    const res = await putAssignment(state, {
      ...pullGrant(state),
      principalId: state.defaultClient.objectId,
    });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'RoleAssignmentUpdateNotPermitted');
  });

  it('answers 400 PrincipalNotFound for a fresh principal without principalType, and accepts it with one', async () => {
    const state = stateOf({
      identities: [{ name: 'id-new', resourceGroup: 'rg-web', createdSecondsAgo: 5 }],
      delays: { directoryReplicationSeconds: 60 },
    });
    const principalId = uamiPrincipal(state);
    const without = await putAssignment(state, pullGrant(state));
    assert.equal(without.status, 400);
    assert.equal(without.body.error.code, 'PrincipalNotFound');
    assert.ok(
      without.body.error.message.startsWith(
        `Principal ${principalId.replace(/-/g, '')} does not exist in the directory ${state.tenantId}.`,
      ),
    );
    assert.ok(without.body.error.message.endsWith('Group.  See https://aka.ms/docs-principaltype'));
    const later = await putAssignment(state, pullGrant(state), { nowMs: NOW + 60_000 });
    assert.equal(later.status, 201);
  });

  it('accepts a fresh principal at once when principalType is given', async () => {
    const state = stateOf({
      identities: [{ name: 'id-new', resourceGroup: 'rg-web', createdSecondsAgo: 5 }],
      delays: { directoryReplicationSeconds: 60 },
    });
    const res = await putAssignment(state, { ...pullGrant(state), principalType: 'ServicePrincipal' });
    assert.equal(res.status, 201);
  });

  it('answers 400 PrincipalNotFound for a principal the directory does not know, even with principalType', async () => {
    const state = stateOf();
    const res = await putAssignment(state, {
      roleDefinitionId: acrPull(state),
      principalId: OTHER_SP,
      principalType: 'ServicePrincipal',
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'PrincipalNotFound');
  });

  it('answers 403 AuthorizationFailed from the gateway when a Contributor assigns a role', async () => {
    const state = stateOf({ caller: { roles: [{ role: 'Contributor', scope: 'subscription' }] } });
    const res = await putAssignment(state, pullGrant(state));
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-ms-failure-cause'], 'gateway');
    assert.equal(res.body.error.code, 'AuthorizationFailed');
    const caller = state.defaultClient.objectId;
    assert.equal(
      res.body.error.message,
      `The client '${caller}' with object id '${caller}' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '${assignmentUrl(state)}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
    assert.equal(state.roleAssignments.length, 1);
  });

  it('lets a Role Based Access Control Administrator on the registry assign there', async () => {
    const state = stateOf({
      caller: {
        roles: [
          { role: 'Contributor', scope: 'subscription' },
          { role: 'Role Based Access Control Administrator', scope: 'registry:contosoacr' },
        ],
      },
    });
    const res = await putAssignment(state, pullGrant(state));
    assert.equal(res.status, 201);
  });

  it('rejects a role that does not exist and a name that is not a GUID', async () => {
    const state = stateOf();
    const bad = await putAssignment(state, {
      ...pullGrant(state),
      roleDefinitionId: acrPull(state).replace(ROLE_IDS.acrPull, OTHER_SP),
    });
    assert.equal(bad.body.error.code, 'RoleDefinitionDoesNotExist');
    const notGuid = await putAssignment(state, pullGrant(state), { url: assignmentUrl(state, 'acrpull-1') });
    assert.equal(notGuid.body.error.code, 'InvalidRoleAssignmentId');
  });

  it('gets and deletes an assignment by name', async () => {
    const state = stateOf();
    const url = assignmentUrl(state);
    await putAssignment(state, pullGrant(state));
    const got = await send(state, 'GET', url.toLowerCase());
    assert.equal(got.status, 200);
    assert.deepEqual(keysOf(got.body), keysOf(example('Microsoft.Authorization/RoleAssignments_Get.json')));
    assert.equal((await send(state, 'DELETE', url)).status, 200);
    assert.equal((await send(state, 'GET', url)).status, 404);
    assert.equal((await send(state, 'DELETE', url)).status, 204);
  });
});

describe('emulator routes (A2): role assignment lists', () => {
  function seeded(): EmulatorState {
    return stateOf({
      roleAssignments: [
        { principal: 'identity:id-pull', role: 'AcrPull', scope: 'registry:contosoacr' },
        { principal: 'identity:id-pull', role: 'Reader', scope: 'rg:rg-web' },
        { principal: OTHER_SP, role: 'AcrPush', scope: 'registry:contosoacr' },
      ],
    });
  }
  const list = (scope: string, filter?: string) =>
    `${scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01${filter ? `&$filter=${encodeURIComponent(filter)}` : ''}`;

  it('lists at, above and below a scope without a filter', async () => {
    const state = seeded();
    const sub = `/subscriptions/${state.subscriptions[0]?.subscriptionId}`;
    const res = await send(state, 'GET', list(`${sub}/resourceGroups/rg-web`));
    assert.equal(res.status, 200);
    assert.equal(res.body.value.length, 4); // caller's Owner above, Reader at, AcrPull and AcrPush below
  });

  it('keeps only at-and-above assignments with atScope()', async () => {
    const state = seeded();
    const res = await send(state, 'GET', list(`${acrOf(state)}`, 'atScope()'));
    assert.equal(res.body.value.length, 4);
    const rg = await send(state, 'GET', list(acrOf(state).replace(/\/providers\/.*$/, ''), 'atScope()'));
    assert.equal(rg.body.value.length, 2);
  });

  it('narrows to one principal with principalId eq, assignedTo() and atScope() and assignedTo()', async () => {
    const state = seeded();
    const pid = uamiPrincipal(state);
    const sub = `/subscriptions/${state.subscriptions[0]?.subscriptionId}`;
    assert.equal((await send(state, 'GET', list(sub, `principalId eq '${pid}'`))).body.value.length, 2);
    assert.equal((await send(state, 'GET', list(sub, `assignedTo('${pid}')`))).body.value.length, 2);
    assert.equal(
      (await send(state, 'GET', list(sub, `atScope() and assignedTo('${pid}')`))).body.value.length,
      0,
    );
    const atAcr = await send(state, 'GET', list(acrOf(state), `atScope() AND principalId EQ '${pid}'`));
    assert.deepEqual(
      atAcr.body.value
        .map((a: { properties: { roleDefinitionId: string } }) =>
          a.properties.roleDefinitionId.split('/').pop(),
        )
        .sort(),
      [ROLE_IDS.acrPull, ROLE_IDS.reader].sort(),
    );
  });

  it('pages with nextLink', async () => {
    const state = seeded();
    state.paging.roleAssignments = 3;
    const sub = `/subscriptions/${state.subscriptions[0]?.subscriptionId}`;
    const first = await send(state, 'GET', list(sub));
    assert.equal(first.body.value.length, 3);
    assert.ok(first.body.nextLink);
    const second = await send(state, 'GET', first.body.nextLink);
    assert.equal(second.body.value.length, 1);
    assert.equal(second.body.nextLink, undefined);
  });

  it('answers 403 to a caller that holds only AcrPull (no Microsoft.Authorization read)', async () => {
    const state = stateOf({ caller: { roles: [{ role: 'AcrPull', scope: 'registry:contosoacr' }] } });
    const res = await send(state, 'GET', list(acrOf(state), 'atScope()'));
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'AuthorizationFailed');
  });

  it('rejects an unsupported filter with 400', async () => {
    const state = seeded();
    const res = await send(state, 'GET', list(acrOf(state), "roleName eq 'AcrPull'"));
    assert.equal(res.status, 400);
  });
});

describe('emulator routes (A2): role definitions and permissions', () => {
  it('gets AcrPull by GUID with the keys of the official example', async () => {
    const state = stateOf();
    const res = await send(state, 'GET', acrPull(state));
    assert.equal(res.status, 200);
    assert.deepEqual(shape(res.body), shape(example('Microsoft.Authorization/GetRoleDefinitionById.json')));
    assert.equal(res.body.properties.roleName, 'AcrPull');
    assert.equal(res.body.id, acrPull(state));
  });

  it('finds a role by name at a scope', async () => {
    const state = stateOf();
    const res = await send(
      state,
      'GET',
      `${acrOf(state)}/providers/Microsoft.Authorization/roleDefinitions?$filter=${encodeURIComponent("roleName eq 'Container Registry Repository Reader'")}`,
    );
    assert.equal(res.body.value.length, 1);
    assert.equal(res.body.value[0].name, ROLE_IDS.repositoryReader);
  });

  it('answers the caller own permissions on a registry, also through the SDK double slash', async () => {
    const state = stateOf({ caller: { roles: [{ role: 'Contributor', scope: 'subscription' }] } });
    const acr = acrOf(state).replace('/registries/', '//registries/');
    const res = await send(state, 'GET', `${acr}/providers/Microsoft.Authorization/permissions`);
    assert.equal(res.status, 200);
    assert.equal(res.body.value.length, 1);
    assert.deepEqual(res.body.value[0].actions, ['*']);
    assert.ok(res.body.value[0].notActions.includes('Microsoft.Authorization/*/Write'));
    assert.deepEqual(
      shape(res.body.value[0]),
      shape((example('Microsoft.Authorization/GetPermissions.json').value as unknown[])[0]),
    );
  });

  it('answers an empty list for a caller without roles, and 404 for a missing resource group', async () => {
    const state = stateOf({ caller: { roles: [] } });
    const rg = acrOf(state).replace(/\/providers\/.*$/, '');
    assert.deepEqual((await send(state, 'GET', `${rg}/providers/Microsoft.Authorization/permissions`)).body, {
      value: [],
    });
    const missing = await send(state, 'GET', `${rg}x/providers/Microsoft.Authorization/permissions`);
    assert.equal(missing.status, 404);
  });
});

describe('emulator routes (A2): registries, identities, resources, subscriptions', () => {
  it('gets a registry with the keys of RegistryGet.json and the modelled settings', async () => {
    const state = stateOf();
    const registry = state.registries[0];
    assert.ok(registry);
    registry.roleAssignmentMode = 'AbacRepositoryPermissions';
    registry.azureADAuthenticationAsArmPolicy = 'disabled';
    const res = await send(
      state,
      'GET',
      `${registry.id.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/')}?api-version=2025-11-01`,
    );
    assert.equal(res.status, 200);
    assert.deepEqual(shape(res.body), shape(example('Microsoft.ContainerRegistry/RegistryGet.json')));
    assert.equal(res.body.properties.loginServer, 'contosoacr.azurecr.io');
    assert.equal(res.body.properties.roleAssignmentMode, 'AbacRepositoryPermissions');
    assert.equal(res.body.properties.policies.azureADAuthenticationAsArmPolicy.status, 'disabled');
  });

  it('answers 404 ResourceNotFound for a missing registry and 403 for a caller without read rights', async () => {
    const state = stateOf();
    const missing = await send(state, 'GET', `${acrOf(state)}x`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'ResourceNotFound');
    const web = stateOf({ caller: { roles: [{ role: 'Website Contributor', scope: 'rg:rg-web' }] } });
    const denied = await send(web, 'GET', acrOf(web));
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'AuthorizationFailed');
  });

  it('lists registries per subscription and resource group, paged, only those the caller can read', async () => {
    const state = stateOf({
      registries: [
        { name: 'contosoacr', resourceGroup: 'rg-web' },
        { name: 'sharedacr', resourceGroup: 'rg-shared' },
        { name: 'thirdacr', resourceGroup: 'rg-shared' },
      ],
      caller: { roles: [{ role: 'Contributor', scope: 'rg:rg-shared' }] },
    });
    state.paging.registries = 1;
    const sub = `/subscriptions/${state.subscriptions[0]?.subscriptionId}`;
    const first = await send(state, 'GET', `${sub}/providers/Microsoft.ContainerRegistry/registries`);
    assert.equal(first.body.value.length, 1);
    const second = await send(state, 'GET', first.body.nextLink);
    assert.deepEqual([first.body.value[0].name, second.body.value[0].name], ['sharedacr', 'thirdacr']);
    assert.equal(second.body.nextLink, undefined);
    const inRg = await send(
      state,
      'GET',
      `${sub}/resourceGroups/rg-web/providers/Microsoft.ContainerRegistry/registries`,
    );
    assert.deepEqual(inRg.body.value, []);
  });

  it('lists admin credentials only while the admin user is enabled', async () => {
    const state = stateOf();
    const registry = state.registries[0];
    assert.ok(registry);
    const disabled = await send(state, 'POST', `${registry.id}/listCredentials`);
    assert.equal(disabled.status, 400);
    registry.adminUserEnabled = true;
    const enabled = await send(state, 'POST', `${registry.id}/listCredentials`);
    assert.equal(enabled.status, 200);
    assert.equal(enabled.body.username, registry.adminUsername);
    assert.deepEqual(
      enabled.body.passwords.map((p: { name: string }) => p.name),
      ['password', 'password2'],
    );
  });

  it('gets a user-assigned identity with the keys of IdentityGet.json', async () => {
    const state = stateOf();
    const identity = state.identities[0];
    assert.ok(identity);
    // The example's own api-version: older ones define fewer properties (web-versions.ts identityProperties).
    const res = await send(state, 'GET', `${identity.id}?api-version=2024-11-30`);
    assert.equal(res.status, 200);
    assert.deepEqual(shape(res.body), shape(example('Microsoft.ManagedIdentity/IdentityGet.json')));
    assert.equal(res.body.properties.clientId, '4024ab25-56a8-4370-aea6-6389221caf29');
    assert.equal(res.body.properties.principalId, identity.principalId);
  });

  it('finds a site by type and name with a case-insensitive, twice-encoded filter', async () => {
    const state = stateOf();
    const sub = state.subscriptions[0]?.subscriptionId;
    const filter = encodeURIComponent("resourceType EQ 'Microsoft.Web%2FSites' AND name eq 'CONTOSO-WEB'");
    const res = await send(
      state,
      'GET',
      `/subscriptions/${sub}/resources?$filter=${filter}&api-version=2021-04-01`,
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.value.length, 1);
    assert.deepEqual(keysOf(res.body.value[0]), ['id', 'kind', 'location', 'name', 'tags', 'type']);
    assert.equal(res.body.value[0].kind, 'app,linux,container');
    assert.match(
      res.body.value[0].id,
      /\/resourceGroups\/rg-web\/providers\/Microsoft\.Web\/sites\/contoso-web$/,
    );
  });

  it('lists subscriptions the caller can see and hides the others', async () => {
    const state = stateOf({
      subscriptions: [{}, { subscriptionId: '6a4d2c1b-0e9f-4a8b-8c7d-1e2f3a4b5c6d' }],
    });
    const res = await send(state, 'GET', '/subscriptions?api-version=2022-12-01');
    assert.deepEqual(
      res.body.value.map((s: { subscriptionId: string }) => s.subscriptionId),
      [state.subscriptions[0]?.subscriptionId],
    );
    const hidden = await send(state, 'GET', '/subscriptions/6a4d2c1b-0e9f-4a8b-8c7d-1e2f3a4b5c6d');
    assert.equal(hidden.status, 404);
    assert.equal(hidden.body.error.code, 'SubscriptionNotFound');
    const resources = await send(
      state,
      'GET',
      '/subscriptions/6a4d2c1b-0e9f-4a8b-8c7d-1e2f3a4b5c6d/resources',
    );
    assert.equal(resources.status, 403);
  });
});
