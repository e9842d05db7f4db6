/**
 * AzureRM service connections pointing at a running emulator, as the agent would export them. The emulator is
 * configured like any custom cloud: the ARM URL is the endpoint URL, the authority and the token audience come
 * from the endpoint data. Nothing in the task knows it is talking to an emulator.
 */
import { createTestCertificate } from '../auth/certificate';
import type { EmulatorInfo } from '../emulator/index';
import type { EmulatorState, ScenarioConnection } from '../emulator/model';
import {
  type PipelineJob,
  runTask,
  type ServiceConnection,
  type TaskRun,
  type TaskRunOptions,
} from './run-task';

function cloudData(info: EmulatorInfo, environment = 'AzureCloud'): Record<string, string> {
  return {
    subscriptionId: info.subscriptionId,
    subscriptionName: 'Emulated subscription',
    environment,
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

/** A service connection and what the agent sets around it: the job (for OIDC) and machine environment. */
export interface AgentConnection {
  connection: ServiceConnection;
  job?: PipelineJob;
  /** Machine environment the scheme needs (managed identity: where IMDS answers). */
  env?: Record<string, string>;
}

/**
 * The service connection a scenario's `connection` describes, pointing at a running emulator:
 * WorkloadIdentityFederation (default; the seeded pipeline's connection), ServicePrincipal with a secret
 * (`spnKey`) or a certificate (`spnCertificate`: a fresh certificate is registered on the caller's app), or
 * ManagedServiceIdentity (the agent machine's identity, answered by the emulator's IMDS; scenario.ts makes
 * the caller that identity). `environment` becomes the endpoint data's `environment`.
 */
export function scenarioConnection(
  emulator: { info: EmulatorInfo; state: EmulatorState },
  spec: ScenarioConnection = {},
): AgentConnection {
  const info = emulator.info;
  const environment = spec.environment ?? 'AzureCloud';
  const scheme = spec.scheme ?? 'WorkloadIdentityFederation';
  switch (scheme) {
    case 'WorkloadIdentityFederation': {
      const { connection, job } = federatedConnection(info);
      return { connection: { ...connection, data: cloudData(info, environment) }, job };
    }
    case 'ServicePrincipal': {
      const connection = { ...secretConnection(info), data: cloudData(info, environment) };
      if (spec.authenticationType === 'spnCertificate') {
        const certificate = createTestCertificate('sc-emulator-certificate');
        const app = emulator.state.applications.find((a) => a.clientId === info.clientId);
        if (!app) throw new Error('the emulator has no application for the service connection');
        app.certificatesPem.push(certificate.certificatePem);
        connection.auth = {
          serviceprincipalid: info.clientId,
          tenantid: info.tenantId,
          authenticationType: 'spnCertificate',
          servicePrincipalCertificate: certificate.combinedPem,
        };
      }
      return { connection };
    }
    case 'ManagedServiceIdentity':
      return {
        connection: {
          id: 'c0ffee00-0000-4000-8000-00000000005e',
          url: info.armUrl,
          scheme: 'ManagedServiceIdentity',
          auth: { tenantid: info.tenantId },
          data: cloudData(info, environment),
        },
        // How a machine with a non-default IMDS endpoint announces it to the Azure Identity library.
        env: { AZURE_POD_IDENTITY_AUTHORITY_HOST: info.armUrl.replace(/\/$/, '') },
      };
  }
}
