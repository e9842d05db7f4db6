/**
 * Reads an AzureRM service connection the way Microsoft's azure-arm-rest does (`AzureRMEndpoint.getEndpoint()`,
 * docs/azure-behaviour.md#how-an-azurerm-service-connection-is-read), into a closed union by scheme:
 *
 * - the scheme is compared lower-case, and a missing scheme means ServicePrincipal;
 * - `tenantid` is required, `serviceprincipalid` too for service principals and federation;
 * - `authenticationType` `spnCertificate` selects the certificate, anything else the key (`spnKey`, the default);
 * - the authority comes from the endpoint data (`activeDirectoryAuthority`, then `environmentAuthorityUrl`),
 *   falling back to the cloud's well-known login host;
 * - the token audience is the ARM URL (arm-rest overwrites `activeDirectoryServiceEndpointResourceId` with the
 *   endpoint URL outside Azure Stack), and the scope is the audience plus `/.default`;
 * - Azure Stack Hub is refused (`resolveCloud`): its API profile has no managed-identity image pull.
 */
import { TaskError } from '../errors';
import { neutralise } from '../log';
import type { EndpointSource } from './endpoint-source';
import { type Secret, secret } from './secret';

export type AuthScheme = 'ServicePrincipal' | 'WorkloadIdentityFederation' | 'ManagedServiceIdentity';

interface ConnectionBase {
  /** The connection GUID (the task input's value). */
  readonly id: string;
  readonly subscriptionId: string;
  readonly subscriptionName: string | undefined;
  readonly tenantId: string;
  /** `AzureCloud`, `AzureUSGovernment`, `AzureChinaCloud`, `AzureStack`, or a custom name, as the connection says. */
  readonly environment: string;
  /** ARM base URL, always with one trailing slash. */
  readonly armUrl: string;
  /** Entra (or ADFS) login host, origin plus path, always with one trailing slash; the tenant is appended by MSAL. */
  readonly authorityHost: string;
  /** Token audience (resource). */
  readonly audience: string;
  /** `audience` + `/.default`. */
  readonly scope: string;
  /** True for Azure Stack Hub, which `resolveCloud` refuses. */
  readonly azureStack: boolean;
  /** `Subscription` or `ManagementGroup` (absent on older connections). */
  readonly scopeLevel: string | undefined;
}

export type AzureConnection =
  | (ConnectionBase & {
      readonly scheme: 'ServicePrincipal';
      readonly authenticationType: 'spnKey';
      readonly clientId: string;
      readonly clientSecret: Secret;
    })
  | (ConnectionBase & {
      readonly scheme: 'ServicePrincipal';
      readonly authenticationType: 'spnCertificate';
      readonly clientId: string;
      /** Certificate and unencrypted private key, PEM. */
      readonly certificatePem: Secret;
    })
  | (ConnectionBase & { readonly scheme: 'WorkloadIdentityFederation'; readonly clientId: string })
  | (ConnectionBase & {
      readonly scheme: 'ManagedServiceIdentity';
      /** `msiclientId`: a user-assigned identity of the agent VM; undefined = the VM's (system) identity. */
      readonly clientId: string | undefined;
    });

/** The clouds whose endpoints are known without asking (fallbacks when the connection omits them). */
export const KNOWN_CLOUDS: Readonly<Record<string, { armUrl: string; authorityHost: string }>> = {
  azurecloud: {
    armUrl: 'https://management.azure.com/',
    authorityHost: 'https://login.microsoftonline.com/',
  },
  azureusgovernment: {
    armUrl: 'https://management.usgovcloudapi.net/',
    authorityHost: 'https://login.microsoftonline.us/',
  },
  azurechinacloud: {
    armUrl: 'https://management.chinacloudapi.cn/',
    authorityHost: 'https://login.chinacloudapi.cn/',
  },
  azuregermancloud: {
    armUrl: 'https://management.microsoftazure.de/',
    authorityHost: 'https://login.microsoftonline.de/',
  },
};

/**
 * Microsoft's own login hosts: MSAL's instance discovery knows them. Any other authority (Azure Stack, ADFS, a
 * private or emulated cloud) is used with instance discovery turned off, or MSAL would ask
 * login.microsoftonline.com about it and fail.
 */
export const MICROSOFT_LOGIN_HOSTS: ReadonlySet<string> = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
  'login.windows.net',
  'login.microsoftonline.de',
]);

export function isMicrosoftLoginHost(authorityHost: string): boolean {
  try {
    return MICROSOFT_LOGIN_HOSTS.has(new URL(authorityHost).hostname.toLowerCase());
  } catch {
    return false;
  }
}

/**
 * Reads and validates the connection, and registers its secret (key or certificate) with the agent's mask at once.
 * Throws TaskError (AUTH_*) with the connection named in the message.
 */
export function readServiceConnection(source: EndpointSource, id: string): AzureConnection {
  const rawScheme = source.scheme(id)?.trim();
  const scheme = (rawScheme || 'ServicePrincipal').toLowerCase();
  const label = connectionLabel(source, id);

  // The agent exports nothing at all for an id that is not a service connection this job may use.
  if (
    !rawScheme &&
    !source.url(id)?.trim() &&
    !source.authParameter(id, 'tenantid') &&
    !source.dataParameter(id, 'subscriptionid')
  ) {
    throw new TaskError(
      'AUTH_CONNECTION_NOT_FOUND',
      `Input 'azureSubscription' is '${neutralise(id, 120)}', but no service connection with that name or id is available to this job.`,
      {
        remedy:
          'Set azureSubscription to an Azure Resource Manager service connection of this project, and allow this pipeline to use it (Project settings > Service connections > the connection > Security > Pipeline permissions).',
      },
    );
  }

  if (!['serviceprincipal', 'workloadidentityfederation', 'managedserviceidentity'].includes(scheme)) {
    throw new TaskError(
      'AUTH_SCHEME_NOT_SUPPORTED',
      `Service connection ${label} uses the authentication scheme '${neutralise(rawScheme ?? '', 80)}', which this task does not support.`,
      {
        remedy:
          'Use an Azure Resource Manager service connection with workload identity federation (recommended), a service principal (secret or certificate), or a managed identity. Publish-profile connections cannot change identities or role assignments.',
      },
    );
  }

  const subscriptionId = source.dataParameter(id, 'subscriptionid')?.trim();
  const tenantId = source.authParameter(id, 'tenantid')?.trim();
  const missing: string[] = [];
  if (!tenantId) missing.push('tenant ID (tenantid)');
  if (!subscriptionId) missing.push('subscription ID (subscriptionid)');
  const clientId = source.authParameter(id, 'serviceprincipalid')?.trim();
  if (scheme !== 'managedserviceidentity' && !clientId)
    missing.push('service principal ID (serviceprincipalid)');
  const scopeLevel = source.dataParameter(id, 'ScopeLevel')?.trim() || undefined;
  if (missing.length > 0) {
    const managementGroup = !subscriptionId && scopeLevel?.toLowerCase() === 'managementgroup';
    throw new TaskError(
      'AUTH_CONNECTION_INCOMPLETE',
      `Service connection ${label} has no ${missing.join(', ')}.`,
      {
        remedy: managementGroup
          ? `This connection is scoped to a management group; the task needs a subscription-scoped Azure Resource Manager connection. ${settingsHint(source, id)}`
          : `Edit the service connection and fill in the missing fields, or re-create it. ${settingsHint(source, id)}`,
      },
    );
  }

  const environment = source.dataParameter(id, 'environment')?.trim() || 'AzureCloud';
  const azureStack = environment.toLowerCase() === 'azurestack';
  const known = KNOWN_CLOUDS[environment.toLowerCase()];
  const url = source.url(id)?.trim() || known?.armUrl;
  if (!url) {
    throw new TaskError(
      'AUTH_CONNECTION_INCOMPLETE',
      `Service connection ${label} has no Azure Resource Manager URL for environment '${neutralise(environment, 80)}'.`,
      { remedy: `Set the environment URL of the service connection. ${settingsHint(source, id)}` },
    );
  }
  const armUrl = withTrailingSlash(url);
  const authorityHost = withTrailingSlash(
    source.dataParameter(id, 'activeDirectoryAuthority')?.trim() ||
      source.dataParameter(id, 'environmentAuthorityUrl')?.trim() ||
      known?.authorityHost ||
      'https://login.microsoftonline.com/',
  );
  const audience = azureStack
    ? source.dataParameter(id, 'activeDirectoryServiceEndpointResourceId')?.trim() || armUrl
    : armUrl;

  const base: ConnectionBase = {
    id,
    subscriptionId: subscriptionId as string,
    subscriptionName: source.dataParameter(id, 'subscriptionname')?.trim() || undefined,
    tenantId: tenantId as string,
    environment,
    armUrl,
    authorityHost,
    audience,
    scope: scopeFor(audience),
    azureStack,
    scopeLevel,
  };

  if (scheme === 'workloadidentityfederation') {
    return { ...base, scheme: 'WorkloadIdentityFederation', clientId: clientId as string };
  }
  if (scheme === 'managedserviceidentity') {
    return {
      ...base,
      scheme: 'ManagedServiceIdentity',
      clientId: source.dataParameter(id, 'msiclientId')?.trim() || undefined,
    };
  }

  const authenticationType = source.authParameter(id, 'authenticationType')?.trim().toLowerCase();
  if (authenticationType === 'spncertificate') {
    const pem = source.authParameter(id, 'servicePrincipalCertificate');
    if (
      !pem ||
      !/-----BEGIN CERTIFICATE-----/.test(pem) ||
      !/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem)
    ) {
      // Register what we got before failing: the message must not be the only place it is unmasked.
      if (pem) source.setSecret(pem);
      throw new TaskError(
        'AUTH_CERTIFICATE_INVALID',
        `Service connection ${label} uses certificate authentication, but its certificate is ${pem ? 'not a PEM with both the certificate and its private key' : 'empty'}.`,
        {
          remedy: `Upload a PEM file that contains the certificate and its unencrypted private key to the service connection. ${settingsHint(source, id)}`,
        },
      );
    }
    source.setSecret(pem);
    return {
      ...base,
      scheme: 'ServicePrincipal',
      authenticationType: 'spnCertificate',
      clientId: clientId as string,
      certificatePem: secret(pem),
    };
  }
  const key = source.authParameter(id, 'serviceprincipalkey');
  if (!key) {
    throw new TaskError(
      'AUTH_CONNECTION_INCOMPLETE',
      `Service connection ${label} has no service principal key.`,
      {
        remedy: `Enter the client secret in the service connection, or switch it to workload identity federation. ${settingsHint(source, id)}`,
      },
    );
  }
  source.setSecret(key);
  return {
    ...base,
    scheme: 'ServicePrincipal',
    authenticationType: 'spnKey',
    clientId: clientId as string,
    clientSecret: secret(key),
  };
}

/** `https://management.azure.com/` → `https://management.azure.com/.default` (one slash, whatever the input). */
export function scopeFor(audience: string): string {
  return `${audience.replace(/\/+$/, '')}/.default`;
}

export function withTrailingSlash(url: string): string {
  return `${url.replace(/\/+$/, '')}/`;
}

/** The secret values a connection carries, to register with the agent before anything could print them. */
export function connectionSecrets(connection: AzureConnection): string[] {
  if (connection.scheme !== 'ServicePrincipal') return [];
  return connection.authenticationType === 'spnKey'
    ? [connection.clientSecret.reveal()]
    : [connection.certificatePem.reveal()];
}

/** A one-line, secret-free description for the log: scheme, client, tenant, subscription, cloud. */
export function describeConnection(connection: AzureConnection): string {
  const how =
    connection.scheme === 'ServicePrincipal'
      ? `service principal ${connection.clientId} (${connection.authenticationType === 'spnKey' ? 'secret' : 'certificate'})`
      : connection.scheme === 'WorkloadIdentityFederation'
        ? `workload identity federation, app ${connection.clientId}`
        : `managed identity${connection.clientId ? ` ${connection.clientId}` : ' (the agent VM’s identity)'}`;
  return `${how}, tenant ${connection.tenantId}, subscription ${connection.subscriptionName ? `'${connection.subscriptionName}' ` : ''}${connection.subscriptionId}, ${connection.environment} (${connection.armUrl})`;
}

// ---------------------------------------------------------------------------------------------------------
// Azure Stack Hub: refused before any request
// ---------------------------------------------------------------------------------------------------------

/**
 * Azure Stack Hub is refused up front, before sign-in or any ARM call: its newest API profile (2020-09-01-hybrid,
 * https://learn.microsoft.com/azure-stack/user/azure-stack-profiles-azure-resource-manager-versions) serves
 * Microsoft.Web 2018-02-01, which has no `acrUseManagedIdentityCreds` (azure-rest-api-specs,
 * specification/web/resource-manager/Microsoft.Web/stable/2018-02-01/WebApps.json), so the setting this task
 * exists to make cannot be made there. Other clouds are returned unchanged.
 */
export async function resolveCloud<T extends AzureConnection>(connection: T): Promise<T> {
  if (!connection.azureStack) return connection;
  throw new TaskError(
    'AzureStackNotSupported',
    `Service connection ${connection.id} targets Azure Stack Hub (${connection.armUrl}). Its newest API profile, 2020-09-01-hybrid, serves Microsoft.Web 2018-02-01, which has no managed-identity image pull (acrUseManagedIdentityCreds); nothing was changed.`,
    {
      remedy:
        'On Azure Stack Hub, pull with registry credentials (the AzureWebAppContainer task with a Docker registry service connection, or DOCKER_REGISTRY_SERVER_* app settings), or use this task with a service connection to Azure (AzureCloud, AzureUSGovernment, AzureChinaCloud).',
    },
  );
}

// ---------------------------------------------------------------------------------------------------------
// Naming the connection in messages, and linking to its settings page
// ---------------------------------------------------------------------------------------------------------

/** `'name' (id)` when the connection has a subscription name, else the id. */
function connectionLabel(source: EndpointSource, id: string): string {
  const name = source.dataParameter(id, 'subscriptionname')?.trim();
  return name ? `'${neutralise(name, 120)}' (${id})` : id;
}

/**
 * The connection's settings page, `{collection}{project}/_settings/adminservices?resourceId={id}`, when the
 * pipeline variables to build it exist.
 */
export function connectionSettingsUrl(source: EndpointSource, id: string): string | undefined {
  const collection =
    source.variable('System.CollectionUri') || source.variable('System.TeamFoundationCollectionUri');
  const project = source.variable('System.TeamProject');
  if (!collection || !project) return undefined;
  return `${withTrailingSlash(collection)}${encodeURIComponent(project)}/_settings/adminservices?resourceId=${encodeURIComponent(id)}`;
}

/** "Service connection settings: <url>" or a pointer to Project settings when the URL cannot be built. */
export function settingsHint(source: EndpointSource, id: string): string {
  const url = connectionSettingsUrl(source, id);
  return url
    ? `Service connection settings: ${url}`
    : `Find it under Project settings > Service connections (id ${id}).`;
}
