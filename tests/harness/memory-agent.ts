/**
 * An agent in memory, for running the task in this process (tests/harness/in-process.ts). It reads the same
 * environment the harness hands a spawned bundle (`agentEnvironment`: INPUT_*, ENDPOINT_*, System.* variables,
 * SECRET_* secret variables, the agent's proxy), and prints what task-lib would print: the same `##vso[...]`
 * commands (task-lib's own TaskCommand formats them), written through the SAME output guard as src/agent.ts
 * (src/agent-output.ts), then masked like raw stdout (src/secret-values.ts, what secret-mask.ts applies). So a
 * captured run parses into the same TaskRun as a spawned one.
 *
 * What it does not do is what only a real process proves (task-lib's own environment parsing and start-up output,
 * the agent's CA and client-certificate files, signals): those stay in the agent tier (`*.agent.test.ts`).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskCommand } from 'azure-pipelines-task-lib/taskcommand';
import type { Agent } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/agent';
import {
  clean,
  guardedCommandStream,
  guardedLogger,
  secretLines,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/agent-output';
import { envEndpointSource } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/auth/endpoint-source';
import type { TransportSettings } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import {
  createSecretValues,
  maskedOutput,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/secret-values';

export interface MemoryAgent {
  readonly agent: Agent;
  /** Everything printed so far, as the agent's stdout would hold it. */
  stdout(): string;
  /** Called with every line as it is printed. */
  onLine(listener: (line: string) => void): void;
}

/** Environment keys the in-memory agent understands; anything else needs a real process (the agent tier). */
export function understoodByMemoryAgent(name: string): boolean {
  return (
    /^(INPUT|ENDPOINT|SYSTEM|SECRET_SYSTEM|BUILD|RELEASE)_/.test(name) ||
    [
      'AGENT_TEMPDIRECTORY',
      'AGENT_PROXYURL',
      'AGENT_PROXYUSERNAME',
      'AGENT_PROXYBYPASSLIST',
      'SECRET_AGENT_PROXYPASSWORD',
      'AZURE_HTTP_USER_AGENT',
      'NODE_EXTRA_CA_CERTS',
    ].includes(name)
  );
}

export function createMemoryAgent(env: Readonly<Record<string, string>>): MemoryAgent {
  let out = '';
  const listeners: ((line: string) => void)[] = [];
  const mask = createSecretValues();
  // Raw stdout: the agent hands secret variables as SECRET_*, and secret-mask.ts masks them from the first line.
  for (const [name, value] of Object.entries(env)) if (name.startsWith('SECRET_') && value) mask.add(value);
  const writeLine = (line: string) => {
    const printed = maskedOutput(mask, line);
    out += `${printed}\n`;
    for (const l of listeners) l(printed);
  };
  const commandStream = guardedCommandStream(writeLine);
  const command = (name: string, properties: Record<string, string> | null, message: string) =>
    commandStream(new TaskCommand(name, properties, message).toString());
  const debug = (message: string) => command('task.debug', null, message);
  const issue = (type: 'warning' | 'error', message: string) =>
    command('task.issue', { type, source: 'TaskInternal' }, message);
  const setSecret = (value: string) => {
    mask.add(value);
    for (const line of secretLines(value)) command('task.setsecret', {}, line);
  };
  const secretVariable = (key: string) => env[`SECRET_${key}`];
  const source = envEndpointSource(env, { onSecret: setSecret });
  const tempDirectory = env.AGENT_TEMPDIRECTORY ?? '.';
  const endpoints = {
    ...source,
    variable: (name: string) =>
      source.variable(name) ?? secretVariable(name.replace(/[.\s]/g, '_').toUpperCase()),
    tempDirectory: () => tempDirectory,
  };
  const log = guardedLogger(writeLine, {
    warning: (m) => issue('warning', m),
    error: (m) => issue('error', m),
    debug,
  });
  const agent: Agent = {
    input: (name) => {
      const value = env[`INPUT_${name.replace(/[.\s]/g, '_').toUpperCase()}`];
      debug(`${name}=${value}`);
      return value;
    },
    endpoints,
    log,
    setSecret,
    setOutput: (name, value) => {
      const v = clean(value);
      debug(`set ${name}=${v}`);
      command('task.setvariable', { variable: name, isOutput: 'true', issecret: 'false' }, v);
    },
    uploadSummary: (markdown, title) => {
      const dir = mkdtempSync(join(tempDirectory, 'acr-mi-pull-'));
      const file = join(dir, 'summary.md');
      writeFileSync(file, markdown);
      command('task.addattachment', { type: 'Distributedtask.Core.Summary', name: clean(title) }, file);
    },
    complete: (outcome, message) => {
      const text = clean(message);
      debug(`task result: ${outcome}`);
      if (outcome === 'Failed' && text) issue('error', text);
      else if (outcome === 'SucceededWithIssues' && text) issue('warning', text);
      command('task.complete', { result: outcome }, text);
    },
    transport: () => transportSettings(env, setSecret),
  };
  return {
    agent,
    stdout: () => out,
    onLine: (listener) => listeners.push(listener),
  };
}

/** The agent's proxy (task-lib's getHttpProxyConfiguration reads the same variables) and the emulator's CA. */
function transportSettings(
  env: Readonly<Record<string, string>>,
  setSecret: (v: string) => void,
): TransportSettings {
  const password = env.SECRET_AGENT_PROXYPASSWORD;
  if (password) setSecret(password);
  let bypass: string[] = [];
  try {
    bypass = env.AGENT_PROXYBYPASSLIST ? (JSON.parse(env.AGENT_PROXYBYPASSLIST) as string[]) : [];
  } catch {
    bypass = [];
  }
  const ca = env.NODE_EXTRA_CA_CERTS ? readFileSync(env.NODE_EXTRA_CA_CERTS, 'utf8') : undefined;
  return {
    ...(env.AGENT_PROXYURL
      ? {
          proxy: {
            url: env.AGENT_PROXYURL,
            ...(env.AGENT_PROXYUSERNAME ? { username: env.AGENT_PROXYUSERNAME } : {}),
            ...(password ? { password } : {}),
            bypass,
          },
        }
      : {}),
    ...(ca ? { tls: { ca: [ca] } } : {}),
    ...(env.AZURE_HTTP_USER_AGENT?.trim() ? { userAgentSuffix: env.AZURE_HTTP_USER_AGENT.trim() } : {}),
  };
}
