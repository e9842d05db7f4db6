/**
 * AzureRM service connections pointing at a running emulator, as the agent would export them. The emulator is
 * configured like any custom cloud: the ARM URL is the endpoint URL, the authority and the token audience come
 * from the endpoint data. Nothing in the task knows it is talking to an emulator.
 */
import type { EmulatorInfo } from '../emulator/index';
import {
  type PipelineJob,
  runTask,
  type ServiceConnection,
  type TaskRun,
  type TaskRunOptions,
} from './run-task';

function cloudData(info: EmulatorInfo): Record<string, string> {
  return {
    subscriptionId: info.subscriptionId,
    subscriptionName: 'Emulated subscription',
    environment: 'AzureCloud',
    scopeLevel: 'Subscription',
    activeDirectoryAuthority: info.authorityUrl,
    environmentAuthorityUrl: info.authorityUrl,
    activeDirectoryServiceEndpointResourceId: 'https://management.core.windows.net/',
  };
}

/** Workload identity federation: the connection most new pipelines use. */
export function federatedConnection(info: EmulatorInfo): { connection: ServiceConnection; job: PipelineJob } {
  return {
    connection: {
      id: info.serviceConnectionId,
      url: info.armUrl,
      scheme: 'WorkloadIdentityFederation',
      auth: { serviceprincipalid: info.clientId, tenantid: info.tenantId },
      data: cloudData(info),
    },
    job: pipelineJob(info),
  };
}

/** A service principal with a client secret (scheme spelled as the service stores it). */
export function secretConnection(
  info: EmulatorInfo,
  id = 'c0ffee00-0000-4000-8000-000000000001',
): ServiceConnection {
  return {
    id,
    url: info.armUrl,
    scheme: 'ServicePrincipal',
    auth: {
      serviceprincipalid: info.clientId,
      serviceprincipalkey: info.clientSecret,
      tenantid: info.tenantId,
      authenticationType: 'spnKey',
    },
    data: cloudData(info),
  };
}

/** The job around the task: System.* variables and the job access token the OIDC route checks. */
export function pipelineJob(info: EmulatorInfo): PipelineJob {
  const m =
    /^(https:\/\/[^/]+\/[^/]+\/)([^/]+)\/_apis\/distributedtask\/hubs\/([^/]+)\/plans\/([^/]+)\/jobs\/([^/]+)\/oidctoken/.exec(
      info.oidcRequestUri,
    );
  return {
    accessToken: info.jobAccessToken,
    oidcRequestUri: info.oidcRequestUri,
    collectionUri: m?.[1],
    teamProject: 'contoso',
    teamProjectId: m?.[2],
    hostType: m?.[3],
    planId: m?.[4],
    jobId: m?.[5],
  };
}

/**
 * Runs the built task against a running emulator with its workload-identity-federation connection, as a
 * pipeline job would; `inputs` need not name the connection. Extra run options (nodePath, debug...) pass through.
 */
export function runFederated(
  emulator: { info: EmulatorInfo },
  inputs: Record<string, string>,
  extra: Omit<TaskRunOptions, 'inputs' | 'connection' | 'job' | 'caCertPath'> = {},
): Promise<TaskRun> {
  const { connection, job } = federatedConnection(emulator.info);
  return runTask({
    ...extra,
    // The agent sits behind the emulator's proxy, which is how registry login servers reach the emulator.
    env: { AGENT_PROXYURL: emulator.info.proxyUrl, ...extra.env },
    inputs: { ...inputs, azureSubscription: connection.id },
    connection,
    job,
    caCertPath: emulator.info.caCertPath,
  });
}
