/**
 * The task-lib adapter: the only module (with index.ts) that imports azure-pipelines-task-lib. It turns the
 * agent into the small ports the rest of the task is written against (inputs, endpoints, logger, results).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import type { EndpointSource } from './auth/endpoint-source';
import type { TransportSettings } from './http/pipeline';
import type { Logger } from './log';

export type TaskOutcome = 'Succeeded' | 'SucceededWithIssues' | 'Failed' | 'Cancelled';

export interface Agent {
  input(name: string): string | undefined;
  endpoints: EndpointSource;
  log: Logger;
  setSecret(value: string): void;
  setOutput(name: string, value: string): void;
  uploadSummary(markdown: string): void;
  complete(outcome: TaskOutcome, message: string): void;
  /** The agent's proxy, CA and client certificate, and the extra User-Agent token, for every request. */
  transport(): TransportSettings;
}

/**
 * The agent's HTTP settings through task-lib (`getHttpProxyConfiguration()`, `getHttpCertConfiguration()`): the
 * proxy URL, credentials and bypass list (regular expressions), the CA file and the client certificate. The proxy
 * password and the certificate passphrase are registered as secrets before anything could print them.
 */
export function agentTransportSettings(setSecret: (value: string) => void): TransportSettings {
  const proxy = tl.getHttpProxyConfiguration();
  const cert = tl.getHttpCertConfiguration();
  if (proxy?.proxyPassword) setSecret(proxy.proxyPassword);
  if (cert?.passphrase) setSecret(cert.passphrase);
  const read = (path: string | undefined) => (path ? readFileSync(path) : undefined);
  const ca = read(cert?.caFile)?.toString('utf8');
  const clientCert = read(cert?.certFile)?.toString('utf8');
  const key = read(cert?.keyFile)?.toString('utf8');
  const pfx = read(cert?.certArchiveFile);
  const userAgent = process.env.AZURE_HTTP_USER_AGENT?.trim();
  return {
    ...(proxy
      ? {
          proxy: {
            url: proxy.proxyUrl,
            ...(proxy.proxyUsername ? { username: proxy.proxyUsername } : {}),
            ...(proxy.proxyPassword ? { password: proxy.proxyPassword } : {}),
            bypass: proxy.proxyBypassHosts ?? [],
          },
        }
      : {}),
    ...(ca || clientCert || pfx
      ? {
          tls: {
            ...(ca ? { ca: [ca] } : {}),
            ...(clientCert ? { cert: clientCert } : {}),
            ...(key ? { key } : {}),
            ...(pfx ? { pfx } : {}),
            ...(cert?.passphrase ? { passphrase: cert.passphrase } : {}),
          },
        }
      : {}),
    ...(userAgent ? { userAgentSuffix: userAgent } : {}),
  };
}

export function createAgent(): Agent {
  const setSecret = (value: string) => {
    // The agent refuses multi-line secrets (a PEM key): mask every meaningful line instead.
    for (const line of value.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed.length >= 8 && !/^-----(BEGIN|END) /.test(trimmed)) tl.setSecret(trimmed);
    }
  };
  const endpoints: EndpointSource = {
    url: (id) => tl.getEndpointUrl(id, true),
    scheme: (id) => tl.getEndpointAuthorizationScheme(id, true),
    // getEndpointAuthorizationParameter() writes the value into a debug line; reading the whole authorization
    // object logs only whether it exists, so secrets never reach the log even with system.debug=true.
    authParameter: (id, key) => {
      const parameters = tl.getEndpointAuthorization(id, true)?.parameters ?? {};
      const match = Object.keys(parameters).find((k) => k.toLowerCase() === key.toLowerCase());
      return match === undefined ? undefined : parameters[match];
    },
    dataParameter: (id, key) => tl.getEndpointDataParameter(id, key, true),
    variable: (name) => tl.getVariable(name),
    setSecret,
    tempDirectory: () => tl.getVariable('Agent.TempDirectory') || tmpdir(),
  };
  const log: Logger = {
    info: (m) => console.log(m),
    warn: (m) => tl.warning(m),
    error: (m) => tl.error(m),
    debug: (m) => tl.debug(m),
    group: (title) => console.log(`##[group]${title}`),
    endGroup: () => console.log('##[endgroup]'),
  };
  return {
    input: (name) => tl.getInput(name, false),
    endpoints,
    log,
    setSecret,
    setOutput: (name, value) => tl.setVariable(name, value, false, true),
    uploadSummary: (markdown) => {
      const dir = mkdtempSync(join(endpoints.tempDirectory(), 'acr-mi-pull-'));
      const file = join(dir, 'summary.md');
      writeFileSync(file, markdown);
      tl.uploadSummary(file);
    },
    complete: (outcome, message) => tl.setResult(tl.TaskResult[outcome], message),
    transport: () => agentTransportSettings(setSecret),
  };
}
