/**
 * Builds the environment variables an Azure Pipelines agent sets for a service connection
 * (docs/azure-behaviour.md#how-the-agent-hands-a-service-connection-to-a-task): ENDPOINT_URL_<id>,
 * ENDPOINT_AUTH_<id> (JSON), ENDPOINT_AUTH_SCHEME_<id>,
 * ENDPOINT_AUTH_PARAMETER_<id>_<KEY>, ENDPOINT_DATA_<id>_<KEY>. The id is kept verbatim; keys are upper-cased
 * with `.` and spaces turned into `_`.
 */
export interface EndpointSpec {
  /** Omitted = the agent sends no scheme (azure-arm-rest then assumes ServicePrincipal). */
  scheme?: string;
  url?: string;
  auth?: Record<string, string>;
  data?: Record<string, string>;
}

const envKey = (key: string) => key.replace(/[.\s]/g, '_').toUpperCase();

export function endpointEnv(id: string, spec: EndpointSpec): Record<string, string> {
  const env: Record<string, string> = {};
  if (spec.url !== undefined) env[`ENDPOINT_URL_${id}`] = spec.url;
  const auth = spec.auth ?? {};
  env[`ENDPOINT_AUTH_${id}`] = JSON.stringify({
    parameters: auth,
    ...(spec.scheme !== undefined ? { scheme: spec.scheme } : {}),
  });
  if (spec.scheme !== undefined) env[`ENDPOINT_AUTH_SCHEME_${id}`] = spec.scheme;
  for (const [k, v] of Object.entries(auth)) env[`ENDPOINT_AUTH_PARAMETER_${id}_${envKey(k)}`] = v;
  const data = spec.data ?? {};
  env[`ENDPOINT_DATA_${id}`] = JSON.stringify(data);
  for (const [k, v] of Object.entries(data)) env[`ENDPOINT_DATA_${id}_${envKey(k)}`] = v;
  return env;
}

/** The job's own connection, whose AccessToken authenticates the OIDC request. */
export function systemConnectionEnv(accessToken: string, collectionUri: string): Record<string, string> {
  return {
    ...endpointEnv('SYSTEMVSSCONNECTION', {
      scheme: 'OAuth',
      url: collectionUri,
      auth: { AccessToken: accessToken },
    }),
  };
}
