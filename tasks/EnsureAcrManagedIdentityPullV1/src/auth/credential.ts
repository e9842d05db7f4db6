/**
 * Service connection → @azure/identity TokenCredential, per scheme:
 *
 * - ServicePrincipal + spnKey → ClientSecretCredential
 * - ServicePrincipal + spnCertificate → ClientCertificateCredential with the PEM passed in memory
 *   (`{ certificate }`): nothing is written to disk, so there is no key file to protect or delete
 * - WorkloadIdentityFederation → ClientAssertionCredential whose callback fetches a fresh Azure DevOps OIDC token
 *   every time MSAL needs a new access token
 * - ManagedServiceIdentity → ManagedIdentityCredential (optional client ID). It talks to IMDS, or to whatever
 *   the machine's environment points MSAL at (`AZURE_POD_IDENTITY_AUTHORITY_HOST`, App Service / Arc variables):
 *   the task has no switch of its own.
 *
 * Every credential uses the connection's authority host; instance discovery is off unless the host is one of
 * Microsoft's login hosts. Every access token is registered with the agent's mask before it is returned, and
 * failures become TaskErrors (auth-errors.ts).
 */
import {
  type AccessToken,
  ClientAssertionCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  type GetTokenOptions,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import type { Clock } from '../clock';
import { defaultTransport, pipelineHttpClient, type Transport } from '../http/pipeline';
import { abortErrorFrom, type RetryOptions, taskRetryStrategy } from '../http/retry';
import { authFailure } from './auth-errors';
import type { EndpointSource } from './endpoint-source';
import { fetchOidcToken, oidcRequestFor } from './oidc';
import { type AzureConnection, connectionSecrets, isMicrosoftLoginHost } from './service-connection';

export interface CredentialOptions {
  /** Cancels OIDC requests and token requests in flight. */
  readonly signal?: AbortSignal;
  /** Retry policy for the OIDC request (tests shorten the back-off). */
  readonly retry?: RetryOptions;
  /** The run's transport (default: `defaultTransport()`): sign-in takes the agent's proxy and CA too. */
  readonly transport?: Transport;
}

/**
 * @azure/identity's options for the run's transport: its requests go through the task's pipeline (agent proxy and
 * CA, outbound guard, bounded bodies). Identity keeps its own retries (they know Entra's and IMDS's rules), so the
 * pipeline makes one attempt per request and nothing nests.
 */
export function identityTransportOptions(
  transport: Transport,
  clock?: Clock,
): {
  httpClient: ReturnType<typeof pipelineHttpClient>;
  userAgentOptions: { userAgentPrefix: string };
} {
  return {
    httpClient: pipelineHttpClient(transport, {
      strategy: taskRetryStrategy(),
      maxAttempts: 1,
      attemptTimeoutInMs: 60_000,
      maxBodyBytes: 1024 * 1024,
      ...(clock ? { clock } : {}),
    }),
    userAgentOptions: { userAgentPrefix: transport.userAgent },
  };
}

/**
 * The sign-in hosts the guard allows: the connection's authority (a trusted input), Microsoft's discovery host
 * when the authority is one of Microsoft's, and for a managed identity the endpoint the machine names (IMDS, or
 * the App Service / Arc / pod-identity variables the identity library reads).
 */
function trustSignInHosts(connection: AzureConnection, transport: Transport): void {
  transport.guard.trust(new URL(connection.authorityHost).host, "the service connection's authority");
  if (isMicrosoftLoginHost(connection.authorityHost))
    transport.guard.trust('login.microsoftonline.com', 'Entra instance discovery');
  if (connection.scheme !== 'ManagedServiceIdentity') return;
  transport.guard.trust('169.254.169.254', 'the Azure Instance Metadata Service', { insecure: true });
  for (const name of [
    'IDENTITY_ENDPOINT',
    'MSI_ENDPOINT',
    'IMDS_ENDPOINT',
    'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  ]) {
    const value = process.env[name];
    if (!value) continue;
    try {
      const url = new URL(value);
      transport.guard.trust(url.host, `the managed identity endpoint (${name})`, {
        insecure: url.protocol === 'http:',
      });
    } catch {
      // Not a URL: the identity library will say so.
    }
  }
}

export interface ConnectionCredential {
  readonly credential: TokenCredential;
  /** Releases what the credential holds. Nothing is on disk today; kept so callers need not change if that changes. */
  dispose(): Promise<void>;
}

/** The options every Entra credential gets: the connection's cloud, and instance discovery only for Microsoft's hosts. */
export function authorityOptions(connection: AzureConnection): {
  authorityHost: string;
  disableInstanceDiscovery: boolean;
} {
  return {
    authorityHost: connection.authorityHost,
    disableInstanceDiscovery: !isMicrosoftLoginHost(connection.authorityHost),
  };
}

export function createCredential(
  connection: AzureConnection,
  source: EndpointSource,
  options: CredentialOptions = {},
): ConnectionCredential {
  // Values that must never appear in a message, even if a remote error were to echo them.
  const secrets = [...connectionSecrets(connection)];
  for (const s of secrets) source.setSecret(s);
  // An error thrown inside the assertion callback reaches us wrapped by MSAL; keep the original to rethrow it.
  let assertionError: unknown;
  // MSAL asks for the client assertion twice while acquiring one token (once for the client configuration, once for
  // the token request): both get the same one, so a sign-in costs one round trip to Azure DevOps, not two. Reset
  // for every getToken, so a later sign-in always starts from a fresh assertion.
  let assertionOfThisSignIn: Promise<string> | undefined;

  const transport = options.transport ?? defaultTransport();
  trustSignInHosts(connection, transport);
  const inner = innerCredential();

  function innerCredential(): TokenCredential {
    const authority = {
      ...authorityOptions(connection),
      ...identityTransportOptions(transport, options.retry?.clock),
    };
    switch (connection.scheme) {
      case 'ServicePrincipal':
        if (connection.authenticationType === 'spnKey') {
          return new ClientSecretCredential(
            connection.tenantId,
            connection.clientId,
            connection.clientSecret.reveal(),
            authority,
          );
        }
        return new ClientCertificateCredential(
          connection.tenantId,
          connection.clientId,
          { certificate: connection.certificatePem.reveal() },
          authority,
        );
      case 'WorkloadIdentityFederation': {
        const request = oidcRequestFor(source, connection.id);
        secrets.push(request.accessToken);
        return new ClientAssertionCredential(
          connection.tenantId,
          connection.clientId,
          () => {
            assertionOfThisSignIn ??= (async () => {
              assertionError = undefined;
              try {
                const token = await fetchOidcToken(request, source, connection.id, { ...options, transport });
                secrets.push(token);
                return token;
              } catch (e: unknown) {
                assertionError = e;
                throw e;
              }
            })();
            return assertionOfThisSignIn;
          },
          authority,
        );
      }
      case 'ManagedServiceIdentity':
        return connection.clientId
          ? new ManagedIdentityCredential({
              clientId: connection.clientId,
              ...identityTransportOptions(transport, options.retry?.clock),
            })
          : new ManagedIdentityCredential(identityTransportOptions(transport, options.retry?.clock));
    }
  }

  const credential: TokenCredential = {
    async getToken(
      scopes: string | string[],
      getTokenOptions?: GetTokenOptions,
    ): Promise<AccessToken | null> {
      const abortSignal = getTokenOptions?.abortSignal ?? options.signal;
      assertionOfThisSignIn = undefined;
      try {
        const token = await inner.getToken(scopes, { ...getTokenOptions, abortSignal });
        // MSAL hands out a cached token until it nears expiry: register each value once.
        if (token && !secrets.includes(token.token)) {
          source.setSecret(token.token);
          secrets.push(token.token);
        }
        return token;
      } catch (e: unknown) {
        if (abortSignal?.aborted) throw abortErrorFrom(abortSignal as AbortSignal);
        throw authFailure(assertionError ?? e, connection, source, secrets);
      } finally {
        assertionOfThisSignIn = undefined;
      }
    },
  };

  return { credential, dispose: async () => {} };
}
