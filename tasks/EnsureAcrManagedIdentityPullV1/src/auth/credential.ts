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
import { abortErrorFrom, type RetryOptions } from '../http/retry';
import { authFailure } from './auth-errors';
import type { EndpointSource } from './endpoint-source';
import { fetchOidcToken, oidcRequestFor } from './oidc';
import { type AzureConnection, connectionSecrets, isMicrosoftLoginHost } from './service-connection';

export interface CredentialOptions {
  /** Cancels OIDC requests and token requests in flight. */
  readonly signal?: AbortSignal;
  /** Retry policy for the OIDC request (tests shorten the back-off). */
  readonly retry?: RetryOptions;
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

  const inner = innerCredential();

  function innerCredential(): TokenCredential {
    const authority = authorityOptions(connection);
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
                const token = await fetchOidcToken(request, source, connection.id, options);
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
          ? new ManagedIdentityCredential({ clientId: connection.clientId })
          : new ManagedIdentityCredential();
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
