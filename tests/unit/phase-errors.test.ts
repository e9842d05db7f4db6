import * as assert from 'node:assert/strict';
import { ArmError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/client';
import { envEndpointSource } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/endpoint-source';
import {
  type AzureConnection,
  readServiceConnection,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/service-connection';
import type { TaskErrorCode, TaskPhase } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/error-codes';
import {
  CancelledError,
  isCancelledError,
  isTaskError,
  TaskError,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
import {
  type ArmOperation,
  appLookupError,
  operationError,
  type PhaseErrorContext,
  toTaskError,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/phase-errors';
import { endpointEnv } from '../auth/agent-env';

const ID = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
const APP = 'a0a0a0a0-0000-4000-8000-000000000002';
const source = envEndpointSource({
  ...endpointEnv(ID, {
    scheme: 'ServicePrincipal',
    url: 'https://management.usgovcloudapi.net/',
    auth: {
      serviceprincipalid: APP,
      tenantid: 'tnt',
      authenticationType: 'spnKey',
      serviceprincipalkey: 'k',
    },
    data: { subscriptionid: 'sub', environment: 'AzureUSGovernment' },
  }),
  SYSTEM_COLLECTIONURI: 'https://dev.azure.com/contoso/',
  SYSTEM_TEAMPROJECT: 'web',
});
const connection: AzureConnection = readServiceConnection(source, ID);
const withConnection: PhaseErrorContext = { connection, source };

const SITE = '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Web/sites/contoso-web';
const REGISTRY =
  '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contosoacr';
const IDENTITY =
  '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pull';

function arm(
  status: number,
  code: string,
  message = `${code} happened.`,
  method = 'GET',
  path = SITE,
): ArmError {
  return new ArmError({ status, code, message, method, path, correlationId: 'corr-1' });
}

const API_VERSION_MESSAGE =
  "The resource type 'sites' could not be found in the namespace 'Microsoft.Web' for api version '2024-11-01'. The supported api-versions are '2023-12-01,2022-09-01'.";

/** [case, error, context, expected code, remedy fragment, message fragment?] */
const GENERIC: readonly [string, unknown, PhaseErrorContext, TaskErrorCode, RegExp, RegExp?][] = [
  ['401', arm(401, 'InvalidAuthenticationToken'), {}, 'AzureRequestFailed', /correlation id corr-1/],
  [
    '403',
    arm(403, 'AuthorizationFailed'),
    {},
    'AzureRequestFailed',
    /Grant the service connection the rights/,
  ],
  ['404', arm(404, 'ResourceNotFound'), {}, 'AzureRequestFailed', /deleted or renamed while the task ran/],
  ['409', arm(409, 'Conflict'), {}, 'AzureRequestFailed', /^Run the task again; if it persists.*corr-1/],
  ['429', arm(429, 'TooManyRequests'), {}, 'AzureRequestFailed', /Azure throttled the service connection/],
  ['503', arm(503, 'ServiceUnavailable'), {}, 'AzureRequestFailed', /Azure kept failing on every attempt/],
  [
    'InvalidApiVersionParameter in a named cloud',
    arm(400, 'InvalidApiVersionParameter', API_VERSION_MESSAGE),
    withConnection,
    'ApiVersionNotOffered',
    /has not rolled out the api-version/,
    /AzureUSGovernment cloud .* does not offer api-version 2024-11-01.* It offers: 2023-12-01,2022-09-01\./,
  ],
  [
    'NoRegisteredProviderFound in a named cloud',
    arm(
      400,
      'NoRegisteredProviderFound',
      "No registered resource provider found for api version '2099-01-01'.",
    ),
    withConnection,
    'ApiVersionNotOffered',
    /Run the task against a cloud that offers it/,
    /api-version 2099-01-01/,
  ],
  [
    'InvalidApiVersionParameter before the connection is known',
    arm(400, 'InvalidApiVersionParameter', API_VERSION_MESSAGE),
    {},
    'AzureRequestFailed',
    /open an Azure support case/,
  ],
  [
    'SubscriptionNotFound',
    arm(404, 'SubscriptionNotFound', 'The subscription sub could not be found.', 'GET', '/subscriptions/sub'),
    withConnection,
    'AUTH_SUBSCRIPTION_NOT_VISIBLE',
    /Grant app a0a0a0a0-0000-4000-8000-000000000002 a role on subscription sub/,
  ],
  [
    'a network error after the retries',
    new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }),
    withConnection,
    'Unexpected',
    /Re-run the task with system\.debug=true/,
    /failed unexpectedly while it tried to .*: fetch failed/,
  ],
];

const PHASES: readonly TaskPhase[] = ['connect', 'observe', 'plan', 'apply', 'verify'];

describe('toTaskError: an Azure error at the end of a phase', () => {
  for (const phase of PHASES) {
    for (const [name, error, context, code, remedy, message] of GENERIC) {
      it(`${phase}: ${name} becomes ${code}`, () => {
        const e = toTaskError(phase, error, context);
        assert.ok(isTaskError(e), `a TaskError, not ${String(e)}`);
        assert.equal(e.code, code);
        assert.match(e.remedy, remedy);
        if (message) assert.match(e.message, message);
        assert.equal(e.cause, error, 'the original error stays as the cause (debug output)');
      });
    }
    it(`${phase}: a cancellation passes unchanged (reported as Cancelled, not as a failure)`, () => {
      const abort = Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
      assert.equal(toTaskError(phase, abort, withConnection), abort);
      const cancelled = new CancelledError();
      assert.ok(isCancelledError(toTaskError(phase, cancelled)));
    });
    it(`${phase}: a TaskError passes unchanged`, () => {
      const own = new TaskError('SlotNotFound', 'no slot', { remedy: 'use one' });
      assert.equal(toTaskError(phase, own, withConnection), own);
    });
  }

  it('names the phase of an unexpected failure in words', () => {
    const e = toTaskError('inputs', new Error('boom'));
    assert.ok(isTaskError(e));
    assert.match(e.message, /^The task failed unexpectedly while it tried to read its inputs: boom$/);
    const v = toTaskError('verify', new Error('boom'));
    assert.ok(isTaskError(v));
    assert.match(v.message, /while it tried to verify: boom$/);
  });

  it('neutralises remote text in the message (no agent command reaches the log)', () => {
    const e = toTaskError(
      'observe',
      arm(500, 'InternalServerError', 'bad\n##vso[task.complete result=Succeeded]'),
    );
    assert.ok(isTaskError(e));
    assert.doesNotMatch(e.message, /\n##vso\[/);
  });
});

const READ_APP: ArmOperation = {
  kind: 'readApp',
  appName: 'contoso-web',
  resourceGroup: 'rg',
  subscriptionId: 'sub',
};
const WRITE_SYSTEM: ArmOperation = {
  kind: 'writeIdentity',
  target: 'staging',
  appName: 'contoso-web',
  userAssigned: false,
};
const WRITE_USER: ArmOperation = { ...WRITE_SYSTEM, userAssigned: true };

/** [operation, status, expected code, remedy fragment, message fragment] */
const OPERATIONS: readonly [ArmOperation, number, TaskErrorCode, RegExp, RegExp][] = [
  [
    READ_APP,
    404,
    'AppNotFound',
    /Check the appName and resourceGroupName inputs/,
    /'contoso-web' was not found in resource group 'rg' of subscription sub/,
  ],
  [READ_APP, 403, 'AzureRequestFailed', /Grant the service connection the rights/, /Azure refused GET/],
  [READ_APP, 500, 'AzureRequestFailed', /kept failing/, /500 InternalServerError/],
  [
    { kind: 'readRegistry', registryId: REGISTRY },
    404,
    'RegistryNotFound',
    /at least Reader on the registry/,
    /contosoacr could not be read \(E404\)/,
  ],
  [
    { kind: 'readRegistry', registryId: REGISTRY },
    403,
    'RegistryNotFound',
    /at least Reader on the registry/,
    /could not be read \(E403\)/,
  ],
  [{ kind: 'readRegistry', registryId: REGISTRY }, 429, 'AzureRequestFailed', /throttled/, /429/],
  [
    { kind: 'readUserIdentity', identityId: IDENTITY },
    404,
    'IdentityNotFound',
    /Managed Identity Operator on the identity/,
    /pull could not be read/,
  ],
  [
    { kind: 'readUserIdentity', identityId: IDENTITY },
    403,
    'IdentityNotFound',
    /userAssignedIdentityId input/,
    /pull could not be read/,
  ],
  [
    WRITE_SYSTEM,
    403,
    'IdentityWriteForbidden',
    /^Give the service connection Website Contributor \(or Contributor\) on the app contoso-web\.$/,
    /identity of staging/,
  ],
  [
    WRITE_USER,
    403,
    'IdentityWriteForbidden',
    /and Managed Identity Operator on the user-assigned identity/,
    /identity of staging/,
  ],
  [WRITE_USER, 409, 'AzureRequestFailed', /correlation id corr-1/, /409/],
];

describe('toTaskError with the operation that failed (the mappings that need local context)', () => {
  for (const [op, status, code, remedy, message] of OPERATIONS) {
    it(`${op.kind}${op.kind === 'writeIdentity' && op.userAssigned ? ' (user-assigned)' : ''} answered ${status} is ${code}`, () => {
      const phase: TaskPhase = op.kind === 'writeIdentity' ? 'apply' : 'observe';
      const e = toTaskError(phase, arm(status, status === 500 ? 'InternalServerError' : `E${status}`), {
        operation: op,
      });
      assert.ok(isTaskError(e));
      assert.equal(e.code, code);
      assert.match(e.remedy, remedy);
      assert.match(e.message, message);
    });
  }

  it('leaves a hidden subscription to the phase: it is about the connection, not the app', () => {
    const hidden = arm(404, 'SubscriptionNotFound', 'The subscription sub could not be found.');
    const e = toTaskError('observe', hidden, { ...withConnection, operation: READ_APP });
    assert.ok(isTaskError(e));
    assert.equal(e.code, 'AUTH_SUBSCRIPTION_NOT_VISIBLE');
    assert.equal(operationError(hidden, READ_APP), hidden);
  });

  it('keeps the target on a per-target failure', () => {
    const e = toTaskError('apply', arm(403, 'AuthorizationFailed'), { operation: WRITE_SYSTEM });
    assert.ok(isTaskError(e));
    assert.equal(e.target, 'staging');
  });
});

describe('appLookupError: the app found in no resource group, or in several', () => {
  it('none is AppNotFound and offers the resourceGroupName input', () => {
    const e = appLookupError({ kind: 'none' }, 'contoso-web', 'sub');
    assert.equal(e.code, 'AppNotFound');
    assert.match(e.message, /No web app named 'contoso-web' was found in subscription sub\./);
    assert.match(e.remedy, /or set the resourceGroupName input\.$/);
  });
  it('several is AppAmbiguous and lists the groups to choose from', () => {
    const e = appLookupError({ kind: 'several', resourceGroups: ['rg-a', 'rg-b'] }, 'contoso-web', 'sub');
    assert.equal(e.code, 'AppAmbiguous');
    assert.match(e.remedy, /one of: rg-a, rg-b/);
  });
});
