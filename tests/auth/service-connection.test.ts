import * as assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { authorityOptions } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/credential';
import { envEndpointSource } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/endpoint-source';
import {
  type AzureConnection,
  connectionSettingsUrl,
  describeConnection,
  isMicrosoftLoginHost,
  readServiceConnection,
  resolveCloud,
  scopeFor,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/service-connection';
import { isTaskError, type TaskError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
import { type EndpointSpec, endpointEnv } from './agent-env';
import { createTestCertificate } from './certificate';

/** A lower-case GUID, as the agent exports it. */
const ID = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const SUB = 'c0ffee00-0000-4000-8000-000000000001';
const APP = 'a0a0a0a0-0000-4000-8000-000000000002';
const SECRET = 's3cr3t-value-never-printed';

const baseData = { subscriptionid: SUB, subscriptionname: 'Production', environment: 'AzureCloud' };
const spnKeyAuth = {
  serviceprincipalid: APP,
  tenantid: TENANT,
  authenticationType: 'spnKey',
  serviceprincipalkey: SECRET,
};

function read(spec: EndpointSpec, extraEnv: Record<string, string> = {}) {
  const registered: string[] = [];
  const source = envEndpointSource(
    { ...endpointEnv(ID, spec), ...extraEnv },
    { onSecret: (v) => registered.push(v) },
  );
  return { connection: readServiceConnection(source, ID), registered, source };
}

function readError(spec: EndpointSpec): TaskError {
  try {
    read(spec);
  } catch (e: unknown) {
    assert.ok(isTaskError(e), String(e));
    return e;
  }
  assert.fail('expected a TaskError');
}

describe('readServiceConnection', () => {
  describe('schemes', () => {
    it('reads a service principal with a key, and registers the key as a secret at once', () => {
      const { connection, registered } = read({
        scheme: 'ServicePrincipal',
        url: 'https://management.azure.com/',
        auth: spnKeyAuth,
        data: baseData,
      });
      assert.equal(connection.scheme, 'ServicePrincipal');
      assert.ok(connection.scheme === 'ServicePrincipal' && connection.authenticationType === 'spnKey');
      assert.equal(connection.clientSecret.reveal(), SECRET);
      assert.equal(connection.clientId, APP);
      assert.equal(connection.tenantId, TENANT);
      assert.equal(connection.subscriptionId, SUB);
      assert.deepEqual(registered, [SECRET]);
    });

    it('reads a connection without a scheme as a service principal, as azure-arm-rest does', () => {
      const { connection } = read({ url: 'https://management.azure.com/', auth: spnKeyAuth, data: baseData });
      assert.equal(connection.scheme, 'ServicePrincipal');
    });

    it('compares the scheme case-insensitively', () => {
      const { connection } = read({
        scheme: 'workloadidentityfederation',
        url: 'https://management.azure.com/',
        auth: { serviceprincipalid: APP, tenantid: TENANT },
        data: baseData,
      });
      assert.equal(connection.scheme, 'WorkloadIdentityFederation');
    });

    it('reads a service principal with a certificate PEM and registers the PEM', () => {
      const pem = createTestCertificate().combinedPem;
      const { connection, registered } = read({
        scheme: 'ServicePrincipal',
        url: 'https://management.azure.com/',
        auth: {
          serviceprincipalid: APP,
          tenantid: TENANT,
          authenticationType: 'spnCertificate',
          servicePrincipalCertificate: pem,
        },
        data: baseData,
      });
      assert.ok(
        connection.scheme === 'ServicePrincipal' && connection.authenticationType === 'spnCertificate',
      );
      assert.equal(connection.certificatePem.reveal(), pem);
      assert.deepEqual(registered, [pem]);
    });

    it('rejects a certificate connection whose PEM has no private key', () => {
      const pem = createTestCertificate().certificatePem;
      const e = readError({
        scheme: 'ServicePrincipal',
        url: 'https://management.azure.com/',
        auth: {
          serviceprincipalid: APP,
          tenantid: TENANT,
          authenticationType: 'spnCertificate',
          servicePrincipalCertificate: pem,
        },
        data: baseData,
      });
      assert.equal(e.code, 'AUTH_CERTIFICATE_INVALID');
    });

    it('reads a managed identity connection with and without msiclientId', () => {
      const spec = {
        scheme: 'ManagedServiceIdentity',
        url: 'https://management.azure.com/',
        auth: { tenantid: TENANT },
      };
      const system = read({ ...spec, data: baseData }).connection;
      assert.ok(system.scheme === 'ManagedServiceIdentity');
      assert.equal(system.clientId, undefined);
      const user = read({
        ...spec,
        data: { ...baseData, msiclientId: 'b1b1b1b1-0000-4000-8000-000000000003' },
      }).connection;
      assert.equal(user.clientId, 'b1b1b1b1-0000-4000-8000-000000000003');
    });

    for (const scheme of ['PublishProfile', 'UsernamePassword', 'Token']) {
      it(`refuses the ${scheme} scheme and names the connection`, () => {
        const e = readError({
          scheme,
          url: 'https://management.azure.com/',
          auth: spnKeyAuth,
          data: baseData,
        });
        assert.equal(e.code, 'AUTH_SCHEME_NOT_SUPPORTED');
        assert.match(e.message, /'Production' \(3f2504e0-4f89-11d3-9a0c-0305e82c3301\)/);
      });
    }
  });

  describe('required fields', () => {
    const cases: [string, EndpointSpec, RegExp][] = [
      [
        'the tenant ID',
        { url: 'https://management.azure.com/', auth: { ...spnKeyAuth, tenantid: '' }, data: baseData },
        /tenant ID/,
      ],
      [
        'the subscription ID',
        { url: 'https://management.azure.com/', auth: spnKeyAuth, data: { environment: 'AzureCloud' } },
        /subscription ID/,
      ],
      [
        'the service principal ID',
        {
          url: 'https://management.azure.com/',
          auth: { ...spnKeyAuth, serviceprincipalid: '' },
          data: baseData,
        },
        /service principal ID/,
      ],
      [
        'the key of a key-based service principal',
        {
          url: 'https://management.azure.com/',
          auth: { ...spnKeyAuth, serviceprincipalkey: '' },
          data: baseData,
        },
        /service principal key/,
      ],
      [
        'the ARM URL of an unknown cloud',
        { auth: spnKeyAuth, data: { ...baseData, environment: 'ContosoCloud' } },
        /Resource Manager URL/,
      ],
    ];
    for (const [what, spec, message] of cases) {
      it(`fails with AUTH_CONNECTION_INCOMPLETE without ${what}`, () => {
        const e = readError(spec);
        assert.equal(e.code, 'AUTH_CONNECTION_INCOMPLETE');
        assert.match(e.message, message);
      });
    }

    it('explains that a management-group connection cannot be used', () => {
      const e = readError({
        url: 'https://management.azure.com/',
        auth: spnKeyAuth,
        data: { environment: 'AzureCloud', ScopeLevel: 'ManagementGroup' },
      });
      assert.match(e.remedy, /subscription-scoped/);
    });
  });

  describe('clouds', () => {
    const cases: {
      name: string;
      url?: string;
      data: Record<string, string>;
      armUrl: string;
      authorityHost: string;
      scope: string;
    }[] = [
      {
        name: 'Azure public cloud with everything the agent sends',
        url: 'https://management.azure.com/',
        data: {
          environment: 'AzureCloud',
          environmentAuthorityUrl: 'https://login.windows.net/',
          activeDirectoryAuthority: 'https://login.microsoftonline.com/',
          activeDirectoryServiceEndpointResourceId: 'https://management.core.windows.net/',
        },
        armUrl: 'https://management.azure.com/',
        authorityHost: 'https://login.microsoftonline.com/',
        scope: 'https://management.azure.com/.default',
      },
      {
        name: 'Azure public cloud with no authority data (falls back to the well-known login host)',
        url: 'https://management.azure.com',
        data: {},
        armUrl: 'https://management.azure.com/',
        authorityHost: 'https://login.microsoftonline.com/',
        scope: 'https://management.azure.com/.default',
      },
      {
        name: 'environmentAuthorityUrl when activeDirectoryAuthority is absent',
        url: 'https://management.azure.com/',
        data: { environmentAuthorityUrl: 'https://login.windows.net' },
        armUrl: 'https://management.azure.com/',
        authorityHost: 'https://login.windows.net/',
        scope: 'https://management.azure.com/.default',
      },
      {
        name: 'Azure US Government from the environment name alone',
        data: { environment: 'AzureUSGovernment' },
        armUrl: 'https://management.usgovcloudapi.net/',
        authorityHost: 'https://login.microsoftonline.us/',
        scope: 'https://management.usgovcloudapi.net/.default',
      },
      {
        name: 'Azure China from the environment name alone',
        data: { environment: 'AzureChinaCloud' },
        armUrl: 'https://management.chinacloudapi.cn/',
        authorityHost: 'https://login.chinacloudapi.cn/',
        scope: 'https://management.chinacloudapi.cn/.default',
      },
      {
        name: 'a custom cloud with its own URLs',
        url: 'https://127.0.0.1:8443//',
        data: { environment: 'Emulator', activeDirectoryAuthority: 'https://127.0.0.1:8443' },
        armUrl: 'https://127.0.0.1:8443/',
        authorityHost: 'https://127.0.0.1:8443/',
        scope: 'https://127.0.0.1:8443/.default',
      },
    ];
    for (const c of cases) {
      it(`reads ${c.name}`, () => {
        const { connection } = read({
          url: c.url,
          auth: spnKeyAuth,
          data: { subscriptionid: SUB, ...c.data },
        });
        assert.equal(connection.armUrl, c.armUrl);
        assert.equal(connection.authorityHost, c.authorityHost);
        assert.equal(connection.scope, c.scope);
        assert.equal(connection.azureStack, false);
      });
    }

    it('marks Azure Stack (any case) for metadata resolution', () => {
      const { connection } = read({
        url: 'https://management.local.azurestack.external/',
        auth: spnKeyAuth,
        data: { subscriptionid: SUB, environment: 'azurestack' },
      });
      assert.equal(connection.azureStack, true);
    });
  });

  it('never shows a secret when the connection is serialised or inspected', () => {
    const { connection } = read({ url: 'https://management.azure.com/', auth: spnKeyAuth, data: baseData });
    assert.doesNotMatch(JSON.stringify(connection), new RegExp(SECRET));
    assert.doesNotMatch(inspect(connection, { depth: 5 }), new RegExp(SECRET));
    assert.doesNotMatch(`${describeConnection(connection)}`, new RegExp(SECRET));
  });
});

describe('scopes and authorities', () => {
  const scopes: [string, string][] = [
    ['https://management.azure.com/', 'https://management.azure.com/.default'],
    ['https://management.azure.com', 'https://management.azure.com/.default'],
    ['https://management.core.windows.net//', 'https://management.core.windows.net/.default'],
  ];
  for (const [audience, scope] of scopes) {
    it(`turns the audience ${audience} into the scope ${scope}`, () => {
      assert.equal(scopeFor(audience), scope);
    });
  }

  const hosts: [string, boolean][] = [
    ['https://login.microsoftonline.com/', true],
    ['https://login.microsoftonline.us/', true],
    ['https://login.chinacloudapi.cn/', true],
    ['https://login.partner.microsoftonline.cn/', true],
    ['https://LOGIN.WINDOWS.NET/', true],
    ['https://127.0.0.1:8443/', false],
    ['https://adfs.local.azurestack.external/', false],
    ['https://login.microsoftonline.com.evil.example/', false],
  ];
  for (const [host, known] of hosts) {
    it(`${known ? 'keeps' : 'turns off'} instance discovery for ${host}`, () => {
      assert.equal(isMicrosoftLoginHost(host), known);
      const connection = { authorityHost: host } as AzureConnection;
      assert.deepEqual(authorityOptions(connection), {
        authorityHost: host,
        disableInstanceDiscovery: !known,
      });
    });
  }
});

describe('Azure Stack Hub', () => {
  function stackConnection(): AzureConnection {
    return read({
      url: 'https://management.local.azurestack.external/',
      auth: spnKeyAuth,
      data: { subscriptionid: SUB, environment: 'AzureStack' },
    }).connection;
  }

  it('is refused before any request, naming the missing api-versions and the way out', async () => {
    // Nothing listens at that host: a request would fail differently (and slowly).
    await assert.rejects(resolveCloud(stackConnection()), (e: unknown) => {
      assert.ok(isTaskError(e));
      assert.equal(e.code, 'AzureStackNotSupported');
      assert.match(e.message, /2020-09-01-hybrid/);
      assert.match(e.message, /Microsoft\.Web 2018-02-01/);
      assert.match(e.remedy, /AzureWebAppContainer|registry credentials/i);
      return true;
    });
  });

  it('leaves other clouds alone without asking anything', async () => {
    const connection = read({
      url: 'https://management.azure.com/',
      auth: spnKeyAuth,
      data: baseData,
    }).connection;
    assert.equal(await resolveCloud(connection), connection);
  });
});

describe('connectionSettingsUrl', () => {
  it('links to the connection in the project settings when the collection and project are known', () => {
    const { source } = read(
      { url: 'https://management.azure.com/', auth: spnKeyAuth, data: baseData },
      { SYSTEM_COLLECTIONURI: 'https://dev.azure.com/contoso', SYSTEM_TEAMPROJECT: 'Web Shop' },
    );
    assert.equal(
      connectionSettingsUrl(source, ID),
      `https://dev.azure.com/contoso/Web%20Shop/_settings/adminservices?resourceId=${ID}`,
    );
  });

  it('gives no link without the pipeline variables', () => {
    const { source } = read({ url: 'https://management.azure.com/', auth: spnKeyAuth, data: baseData });
    assert.equal(connectionSettingsUrl(source, ID), undefined);
  });
});
