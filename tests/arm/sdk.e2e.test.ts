/**
 * The Azure SDK clients (arm/clients.ts) against the emulator: a site PATCH answered 202 + Azure-AsyncOperation is
 * followed to the operation's end and the new principal read from it; the wait is bounded; the SDK's RestErrors
 * become ArmErrors and then the task's stable error codes with remedies; the task's retry policy is the only one.
 */
import assert from 'node:assert/strict';
import { isArmError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/client';
import { createRoleAssignment } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/role-assignments';
import {
  getSite,
  listSlots,
  updateIdentity,
  updateSiteConfig,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/web-apps';
import { apply } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/apply';
import { observe } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/observe';
import { plan } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/plan';
import type { TaskError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
import { baseScenario, type Emulator } from '../emulator/index';
import {
  emulatedClock,
  emulatorArmClient,
  emulatorRunContext,
  instantSleep,
  taskErrorOf,
} from '../harness/arm-context';
import { testSettings } from '../harness/settings';
import { useEmulator } from '../harness/use-emulator';

const ACR_PULL = '7f951dda-4ed3-4680-a7ca-43fe172d538d';

const contextFor = emulatorRunContext;

describe('Azure SDK clients against the emulator', function () {
  this.timeout(60_000);
  const start = useEmulator();

  /** Observe, plan and apply the default scenario while ARM answers one route with 403: the TaskError it ends in. */
  async function configureWith403(fault: Parameters<Emulator['setFaults']>[0][number]): Promise<TaskError> {
    const e = await start(baseScenario());
    e.setFaults([fault]);
    const settings = testSettings();
    const ctx = contextFor(e, settings);
    const observed = await observe(ctx);
    return taskErrorOf(apply(ctx, plan(observed, settings), observed));
  }

  const app = (e: Emulator) => e.state.apps.find((a) => a.siteName === 'contoso-web' && !a.slot);
  const appPath = (e: Emulator) =>
    `/subscriptions/${e.info.subscriptionId}/resourceGroups/rg-web/providers/Microsoft.Web/sites/contoso-web`;
  /** Turns the app's system identity on through the task's updateIdentity, waiting on the given clock. */
  const systemIdentityOn = (e: Emulator, sleep = emulatedClock(e).sleep) =>
    updateIdentity(emulatorArmClient(e), { path: appPath(e) }, { type: 'SystemAssigned' }, undefined, sleep);

  it('follows a 202 + Azure-AsyncOperation identity PATCH and returns the principal the operation created', async () => {
    const e = await start(baseScenario({ delays: { siteOperationSeconds: 6 } }));
    const arm = emulatorArmClient(e);
    const site = await updateIdentity(
      arm,
      { path: appPath(e) },
      { type: 'SystemAssigned' },
      undefined,
      emulatedClock(e).sleep,
    );
    const principalId = app(e)?.identity.principalId;
    assert.ok(principalId, 'the operation completed in the emulator');
    assert.equal(
      site?.identity?.principalId,
      principalId,
      'the principal comes from the completed operation',
    );
    assert.ok(e.state.principals.some((p) => p.objectId === principalId));
    const log = e.requests().filter((q) => q.host === 'arm');
    assert.ok(
      log.some((q) => q.method === 'PATCH' && q.status === 202),
      'the emulator answered the PATCH with 202',
    );
    assert.ok(log.some((q) => /operationresults/i.test(q.path) && q.status === 200));
  });

  it('resource first: when the change is visible after the first wait, one site GET is both poll and final read', async () => {
    const e = await start(baseScenario());
    const before = e.requests().length;
    const site = await systemIdentityOn(e);
    const principalId = app(e)?.identity.principalId;
    assert.ok(principalId);
    assert.equal(site?.identity?.principalId, principalId);
    const log = e
      .requests()
      .slice(before)
      .filter((q) => q.host === 'arm');
    assert.deepEqual(
      log.map((q) => `${q.method} ${q.status} ${/operationresults/i.test(q.path) ? 'status' : 'site'}`),
      ['PATCH 202 site', 'GET 200 site'],
      'the operation status was never read',
    );
  });

  it('a user-assigned identity change is done when the site lists the requested identity with its IDs', async () => {
    const clientId = '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9';
    const e = await start({
      ...baseScenario({ delays: { siteOperationSeconds: 8 } }),
      identities: [{ name: 'id-pull', resourceGroup: 'rg-web', clientId }],
    });
    const uami = e.state.identities.find((i) => i.clientId === clientId);
    assert.ok(uami);
    const site = await updateIdentity(
      emulatorArmClient(e),
      { path: appPath(e) },
      { type: 'UserAssigned', userAssignedIdentities: { [uami.id]: {} } },
      undefined,
      emulatedClock(e).sleep,
    );
    const entry = Object.entries(site?.identity?.userAssignedIdentities ?? {}).find(
      ([k]) => k.toLowerCase() === uami.id.toLowerCase(),
    )?.[1];
    assert.equal(entry?.clientId, clientId);
    assert.equal(entry?.principalId, uami.principalId);
  });

  it('refuses an operation status URL on another host: the ARM token never leaves the ARM endpoint', async () => {
    const e = await start(baseScenario());
    e.setFaults([
      {
        host: 'arm',
        method: 'PATCH',
        pathRegex: '/sites/contoso-web(\\?|$)',
        status: 202,
        headers: { 'azure-asyncoperation': 'https://attacker.example/operations/1' },
        body: {},
      },
    ]);
    const error = await systemIdentityOn(e).then(
      () => assert.fail('expected a refusal'),
      (err: unknown) => err,
    );
    assert.match(String(error), /Refusing to follow a long-running operation to https:\/\/attacker\.example/);
  });

  it("the first wait after a 202 is the answer's Retry-After when it has one (5 s without)", async () => {
    for (const [headers, expectedInMs] of [
      [{ 'retry-after': '2' }, 2000],
      [{}, 5000],
    ] as const) {
      const e = await start(baseScenario({ delays: { siteOperationSeconds: 1 } }));
      e.setFaults([
        {
          host: 'arm',
          method: 'PATCH',
          pathRegex: '/sites/contoso-web(\\?|$)',
          status: 202,
          headers: { ...headers },
          body: {},
          times: 1,
        },
      ]);
      // The faulted PATCH changed nothing, so the site never shows a principal: the run ends in a bounded wait.
      await systemIdentityOn(e).catch(() => undefined);
      const log = e.requests().filter((q) => q.host === 'arm');
      const patch = log.find((q) => q.method === 'PATCH');
      const firstRead = log.find((q) => q.method === 'GET' && (patch ? q.at > patch.at : false));
      assert.ok(patch && firstRead);
      assert.ok(
        firstRead.at - patch.at >= expectedInMs && firstRead.at - patch.at < expectedInMs + 1000,
        `first read ${firstRead.at - patch.at} ms after the PATCH, expected about ${expectedInMs}`,
      );
    }
  });

  it('a 202 naming no operation is followed through the site alone, and the wait stays bounded', async () => {
    const e = await start(baseScenario());
    // The PATCH is refused in disguise: 202, no Azure-AsyncOperation, no Location, and nothing changes.
    e.setFaults([
      { host: 'arm', method: 'PATCH', pathRegex: '/sites/contoso-web(\\?|$)', status: 202, body: {} },
    ]);
    const error = await systemIdentityOn(e).then(
      () => assert.fail('expected the wait to end'),
      (err: unknown) => err,
    );
    assert.ok(isArmError(error), String(error));
    assert.equal(error.code, 'OperationTimedOut');
    const log = e.requests().filter((q) => q.host === 'arm');
    assert.ok(!log.some((q) => /operationresults/i.test(q.path)), 'no status URL was invented');
    assert.ok(log.filter((q) => q.method === 'GET').length >= 2, 'the site was read until the wait ran out');
  });

  it('a write refused with 409 "another operation is in progress" (a concurrent actor) is sent again once it ends', async () => {
    const e = await start(baseScenario({ delays: { siteOperationSeconds: 12 } }));
    // Another actor turns the identity on: its operation holds the site for 12 s.
    const arm = emulatorArmClient(e, { sleep: emulatedClock(e).sleep });
    await arm.request('PATCH', appPath(e), {
      apiVersion: '2024-11-01',
      body: { identity: { type: 'SystemAssigned' } },
    });
    const config = await updateSiteConfig(arm, { path: appPath(e) }, { acrUseManagedIdentityCreds: true });
    assert.equal(config?.acrUseManagedIdentityCreds, true);
    assert.equal(app(e)?.siteConfig.acrUseManagedIdentityCreds, true);
    const patches = e.requests().filter((q) => q.method === 'PATCH' && /\/config\/web$/i.test(q.path));
    assert.ok(
      patches.some((q) => q.status === 409),
      'the first PATCH met the running operation',
    );
    assert.equal(patches.at(-1)?.status, 200);
  });

  it('turns on system identities through the poller in a whole configure run (production and a slot)', async () => {
    const e = await start(baseScenario({ slots: ['staging'] }));
    const settings = testSettings();
    const ctx = contextFor(e, settings);
    const observed = await observe(ctx);
    const applied = await apply(ctx, plan(observed, settings), observed);
    for (const target of e.state.apps.filter((a) => a.siteName === 'contoso-web')) {
      const principalId = target.identity.principalId;
      assert.ok(principalId, `${target.id} has its principal`);
      assert.equal(applied.principals[target.slot ?? 'production'], principalId);
      assert.ok(
        e.state.roleAssignments.some(
          (a) => a.principalId === principalId && a.roleDefinitionId.toLowerCase().endsWith(ACR_PULL),
        ),
        `the pull grant went to the principal of ${target.id}`,
      );
    }
  });

  it('gives up on an operation that never completes, after a bounded wait, with an ArmError', async () => {
    const e = await start(baseScenario({ delays: { siteOperationSeconds: 3600 } }));
    const error = await systemIdentityOn(e, instantSleep).then(
      () => assert.fail('expected the wait to end'),
      (err: unknown) => err,
    );
    assert.ok(isArmError(error), String(error));
    assert.equal(error.code, 'OperationTimedOut');
  });

  it('a 404 from the SDK becomes AppNotFound with a remedy', async () => {
    const e = await start(baseScenario());
    const settings = testSettings({ appName: 'no-such-app', resourceGroup: 'rg-web' });
    const error = await taskErrorOf(observe(contextFor(e, settings)));
    assert.equal(error.code, 'AppNotFound');
    assert.match(error.remedy, /appName/);
    const cause = error.cause;
    assert.ok(isArmError(cause) && cause.status === 404, 'the ArmError is kept as the cause');
  });

  it('a 403 on the role assignment PUT becomes the role-rights error with the az command', async () => {
    const error = await configureWith403({
      host: 'arm',
      method: 'PUT',
      path: '/providers/microsoft.authorization/roleassignments/',
      status: 403,
      body: { error: { code: 'AuthorizationFailed', message: 'The client does not have authorization.' } },
    });
    assert.match(error.remedy, /az role assignment create --assignee-object-id [0-9a-f-]{36}/);
    assert.ok(isArmError(error.cause) && error.cause.code === 'AuthorizationFailed');
  });

  it('RoleAssignmentExists (409) from the SDK is success; a role assignment error keeps its ARM code', async () => {
    const e = await start(baseScenario());
    const arm = emulatorArmClient(e);
    const registry = e.state.registries[0]?.id ?? '';
    e.setFaults([
      {
        host: 'arm',
        method: 'PUT',
        path: '/roleassignments/',
        status: 409,
        times: 1,
        body: { error: { code: 'RoleAssignmentExists', message: 'The role assignment already exists.' } },
      },
      {
        host: 'arm',
        method: 'PUT',
        path: '/roleassignments/',
        status: 400,
        times: 1,
        body: { error: { code: 'InvalidRoleDefinitionId', message: 'The role definition ID is not valid.' } },
      },
    ]);
    const principalId = '00000000-0000-0000-0000-00000000abcd';
    const existed = await createRoleAssignment(arm, { scope: registry, principalId, roleGuid: ACR_PULL });
    assert.equal(existed.outcome, 'existed');
    const error = await createRoleAssignment(arm, { scope: registry, principalId, roleGuid: ACR_PULL }).then(
      () => assert.fail('expected a 400'),
      (err: unknown) => err,
    );
    assert.ok(isArmError(error) && error.status === 400 && error.code === 'InvalidRoleDefinitionId');
  });

  it('retries through the task policy only: a persistent 503 reaches Azure exactly maxAttempts times', async () => {
    const e = await start(baseScenario());
    e.setFaults([{ host: 'arm', method: 'GET', path: '/sites/contoso-web', status: 503, times: 100 }]);
    const before = e.requests().length;
    const error = await getSite(emulatorArmClient(e, { maxAttempts: 3 }), { path: appPath(e) }).then(
      () => assert.fail('expected a 503'),
      (err: unknown) => err,
    );
    assert.ok(isArmError(error) && error.status === 503, String(error));
    const attempts = e
      .requests()
      .slice(before)
      .filter((q) => q.host === 'arm' && q.method === 'GET' && /\/sites\/contoso-web$/i.test(q.path));
    assert.equal(attempts.length, 3, 'no second retry policy multiplies the attempts');
  });

  it('refuses a nextLink to another host: the ARM token never leaves the ARM endpoint', async () => {
    const e = await start(baseScenario({ slots: ['staging'] }));
    e.setFaults([
      {
        host: 'arm',
        method: 'GET',
        pathRegex: '/sites/contoso-web/slots\\?',
        status: 200,
        body: { value: [], nextLink: 'https://attacker.example/subscriptions/x/slots?page=2' },
      },
    ]);
    const error = await listSlots(emulatorArmClient(e), appPath(e)).then(
      () => assert.fail('expected the link to be refused'),
      (err: unknown) => err,
    );
    // Refused by the outbound guard before the SDK's signing step (or by the bearer policy behind it).
    assert.match(
      String(error),
      /Refus\w+ to send (a request|the ARM token) to (https:\/\/)?attacker\.example/,
    );
  });

  it('an identity operation that ends Failed is an ArmError with the operation error code', async () => {
    // Longer than the first wait, so the site shows no principal yet and the operation status is read.
    const e = await start(baseScenario({ delays: { siteOperationSeconds: 60 } }));
    e.setFaults([
      {
        host: 'arm',
        method: 'GET',
        path: '/operationresults/',
        status: 200,
        body: {
          status: 'Failed',
          error: { code: 'SiteIdentityUpdateFailed', message: 'Identity could not be set.' },
        },
      },
    ]);
    const error = await systemIdentityOn(e).then(
      () => assert.fail('expected the operation to fail'),
      (err: unknown) => err,
    );
    assert.ok(isArmError(error), String(error));
    assert.equal(error.code, 'SiteIdentityUpdateFailed');
  });

  it('a 403 on the identity PATCH becomes IdentityWriteForbidden with the role to grant', async () => {
    const error = await configureWith403({
      host: 'arm',
      method: 'PATCH',
      pathRegex: '/sites/contoso-web(\\?|$)',
      status: 403,
      body: { error: { code: 'AuthorizationFailed', message: 'The client does not have authorization.' } },
    });
    assert.equal(error.code, 'IdentityWriteForbidden');
    assert.match(error.remedy, /Website Contributor/);
    assert.ok(isArmError(error.cause) && error.cause.code === 'AuthorizationFailed');
  });
});
