/**
 * The task-lib adapter: the only module (with index.ts) that imports azure-pipelines-task-lib. It turns the
 * agent into the small ports the rest of the task is written against (inputs, endpoints, logger, results).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tlInternal from 'azure-pipelines-task-lib/internal';
import * as tl from 'azure-pipelines-task-lib/task';
import { clean, guardedCommandStream, guardedLogger, secretLines } from './agent-output';
import type { EndpointSource } from './auth/endpoint-source';
import { TaskError } from './errors';
import type { TransportSettings } from './http/pipeline';
import type { Logger } from './log';
import { masked, maskSecret } from './secret-mask';

export type TaskOutcome = 'Succeeded' | 'SucceededWithIssues' | 'Failed' | 'Cancelled';

export interface Agent {
  input(name: string): string | undefined;
  endpoints: EndpointSource;
  log: Logger;
  setSecret(value: string): void;
  setOutput(name: string, value: string): void;
  /** Adds a section titled `title` to the run's summary page. */
  uploadSummary(markdown: string, title: string): void;
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
  const read = (path: string | undefined) => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (e: unknown) {
      throw new TaskError(
        'AgentCertificateUnreadable',
        `The agent's certificate settings name ${path}, which cannot be read (${e instanceof Error ? e.message : String(e)}).`,
        {
          remedy:
            'Check the agent configuration (.cacert / .clientcert files, or the --sslcacert / --sslclientcert options of config.sh) and that the file is readable by the agent user.',
        },
      );
    }
  };
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
  // The output guard, in one place (agent-output.ts): task-lib writes every command (debug, issues, variables,
  // result) through its std stream, which passes each line through `guardLine`; the logger neutralises the rest.
  const writeLine = (line: string) => process.stdout.write(`${line}\n`);
  const commandStream = guardedCommandStream(writeLine);
  tl.setStdStream({
    write: (text: string) => {
      commandStream(text);
      return true;
    },
  } as unknown as NodeJS.WritableStream);
  const setSecret = (value: string) => {
    maskSecret(value);
    for (const line of secretLines(value)) tl.setSecret(line);
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
    variable: readVariableQuietly,
    setSecret,
    tempDirectory: () => tl.getVariable('Agent.TempDirectory') || tmpdir(),
  };
  const log: Logger = guardedLogger(writeLine, {
    warning: (m) => tl.warning(m),
    error: (m) => tl.error(m),
    debug: (m) => tl.debug(m),
  });
  return {
    input: (name) => tl.getInput(name, false),
    endpoints,
    log,
    setSecret,
    setOutput: (name, value) => tl.setVariable(name, clean(value), false, true),
    uploadSummary: (markdown, title) => {
      const dir = mkdtempSync(join(endpoints.tempDirectory(), 'acr-mi-pull-'));
      const file = join(dir, 'summary.md');
      // The summary is a file, not stdout: it gets the same mask (a token quoted in remote text stays hidden).
      writeFileSync(file, masked(markdown));
      // `uploadsummary` would title the section with the file name; a summary attachment carries its own title.
      tl.addAttachment('Distributedtask.Core.Summary', clean(title), file);
    },
    complete: (outcome, message) => tl.setResult(tl.TaskResult[outcome], clean(message)),
    transport: () => agentTransportSettings(setSecret),
  };
}

/** Variables whose value is a credential: read, never echoed. */
const SECRET_VARIABLE = /accesstoken|secret|password|token|key/i;

/**
 * A pipeline variable, read the way task-lib's getVariable() does (the vault for secret variables, the
 * environment otherwise) but without its `name=value` debug line: that line would print System.AccessToken
 * before anyone registered it as a secret. Non-secret values are still echoed at debug level.
 */
function readVariableQuietly(name: string): string | undefined {
  const key = tlInternal._getVariableKey(name);
  const info = tlInternal._knownVariableMap[key];
  const value = info?.secret ? tlInternal._vault.retrieveSecret(`SECRET_${key}`) : process.env[key];
  const secret = info?.secret === true || SECRET_VARIABLE.test(name);
  tl.debug(secret ? `${name} ${value ? 'is set (not shown)' : 'is not set'}` : `${name}=${value ?? ''}`);
  return value || undefined;
}
