import * as assert from 'node:assert/strict';
import { AuthenticationError } from '@azure/identity';
import {
  authFailure,
  subscriptionNotVisible,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/auth-errors';
import { envEndpointSource } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/endpoint-source';
import {
  type AzureConnection,
  readServiceConnection,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/service-connection';
import { isTaskError, TaskError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
import { endpointEnv } from './agent-env';

const ID = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
const APP = 'a0a0a0a0-0000-4000-8000-000000000002';
const SECRET = 's3cr3t-value-never-printed';

const source = envEndpointSource({
  ...endpointEnv(ID, {
    scheme: 'ServicePrincipal',
    url: 'https://management.azure.com/',
    auth: {
      serviceprincipalid: APP,
      tenantid: 'tnt',
      authenticationType: 'spnKey',
      serviceprincipalkey: SECRET,
    },
    data: { subscriptionid: 'sub', environment: 'AzureCloud' },
  }),
  SYSTEM_COLLECTIONURI: 'https://dev.azure.com/contoso/',
  SYSTEM_TEAMPROJECT: 'web',
});
const connection: AzureConnection = readServiceConnection(source, ID);

/** What @azure/identity throws when Entra answers an error (the OAuth body it got). */
function entraError(code: number, description: string, error = 'invalid_client'): AuthenticationError {
  return new AuthenticationError(400, {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: 0d6c Correlation ID: 9f1e Timestamp: 2026-11-28 12:00:00Z`,
    error_codes: [code],
  });
}

function mapped(e: unknown): TaskError {
  const result = authFailure(e, connection, source, [SECRET]);
  assert.ok(isTaskError(result), String(result));
  return result;
}

describe('authFailure', () => {
  const table: [number, string, RegExp][] = [
    [7000222, 'AUTH_SECRET_EXPIRED', /new client secret/],
    [7000215, 'AUTH_SECRET_INVALID', /not its secret ID/],
    [700016, 'AUTH_APP_NOT_FOUND', /tenant ID/],
    [90002, 'AUTH_TENANT_NOT_FOUND', /tenant ID and the cloud/],
    [70021, 'AUTH_FEDERATION_MISMATCH', /issuer and subject identifier/],
    [700211, 'AUTH_FEDERATION_MISMATCH', /issuer and subject identifier/],
    [700024, 'AUTH_ASSERTION_EXPIRED', /clock/],
    [700027, 'AUTH_CERTIFICATE_REJECTED', /Upload the certificate/],
    [50034, 'AUTH_FAILED', /Verify/],
  ];
  for (const [aadsts, code, remedy] of table) {
    it(`maps AADSTS${aadsts} to ${code} with a remedy`, () => {
      const e = mapped(entraError(aadsts, 'Something about the app.'));
      assert.equal(e.code, code);
      assert.match(e.remedy, remedy);
      assert.match(e.message, new RegExp(`AADSTS${aadsts}: Something about the app\\.$`));
    });
  }

  it('links the remedy to the connection settings page', () => {
    const e = mapped(entraError(7000222, 'expired'));
    assert.match(
      e.remedy,
      /https:\/\/dev\.azure\.com\/contoso\/web\/_settings\/adminservices\?resourceId=3f2504e0/,
    );
  });

  it('finds the AADSTS code in the message when the error has no error codes', () => {
    assert.equal(
      mapped(new Error('ClientSecretCredential: AADSTS7000215: Invalid client secret provided.')).code,
      'AUTH_SECRET_INVALID',
    );
  });

  it('drops the trace tail, neutralises agent commands and masks secrets in remote text', () => {
    const e = mapped(entraError(7000215, `Bad ##vso[task.setvariable variable=x]1 and ${SECRET} echoed.`));
    assert.doesNotMatch(e.message, /Trace ID|##vso\[/);
    assert.doesNotMatch(e.message, new RegExp(SECRET));
    assert.match(e.message, /\*\*\*/);
  });

  it('lets TaskErrors and cancellations through unchanged', () => {
    const own = new TaskError('AUTH_OIDC_UNAUTHORIZED', 'x', { remedy: 'y' });
    assert.equal(authFailure(own, connection, source, []), own);
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    assert.equal(authFailure(abort, connection, source, []), abort);
  });

  it('explains a managed identity failure without an AADSTS code in terms of the agent VM', () => {
    const msi = { ...connection, scheme: 'ManagedServiceIdentity', clientId: 'c1' } as AzureConnection;
    const e = authFailure(new Error('ManagedIdentityCredential: Network unreachable.'), msi, source, []);
    assert.ok(isTaskError(e));
    assert.equal(e.code, 'AUTH_MANAGED_IDENTITY_UNAVAILABLE');
    assert.match(e.remedy, /user-assigned identity c1/);
  });
});

describe('subscriptionNotVisible', () => {
  it('names the subscription and the principal, and says which role to grant', () => {
    const e = subscriptionNotVisible(connection, source);
    assert.equal(e.code, 'AUTH_SUBSCRIPTION_NOT_VISIBLE');
    assert.match(e.message, /Subscription sub is not visible to app a0a0a0a0/);
    assert.match(e.remedy, /Grant app a0a0a0a0-0000-4000-8000-000000000002 a role on subscription sub/);
  });
});
