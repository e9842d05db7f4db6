/**
 * One call for index.ts: read the service connection, check its cloud (Azure Stack Hub is refused), and build the
 * credential. Secrets are registered with the agent's mask as they are read.
 */
import type { TokenCredential } from '@azure/identity';
import { type CredentialOptions, createCredential } from './credential';
import type { EndpointSource } from './endpoint-source';
import { type AzureConnection, readServiceConnection, resolveCloud } from './service-connection';

export interface Connected {
  readonly connection: AzureConnection;
  /** Ask it for `connection.scope`. */
  readonly credential: TokenCredential;
  dispose(): Promise<void>;
}

export async function connect(
  source: EndpointSource,
  connectedServiceId: string,
  options: CredentialOptions = {},
): Promise<Connected> {
  const read = readServiceConnection(source, connectedServiceId);
  const connection = await resolveCloud(read);
  const { credential, dispose } = createCredential(connection, source, options);
  return { connection, credential, dispose };
}
