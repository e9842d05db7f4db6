/**
 * Runs the task the way the agent does: inputs as INPUT_* variables, the AzureRM service connection as ENDPOINT_*
 * variables, the job's SystemVssConnection and System.* variables, the emulator's CA through NODE_EXTRA_CA_CERTS.
 * Parses the `##vso[...]` commands the task printed into a result object: it sees only what an agent would see.
 *
 * Where it runs: in this process (in-process.ts: the same `runTask` the bundle runs, an in-memory agent with the
 * same output guard, on the emulator's clock) whenever the connection points at an emulator of this process and
 * nothing needs a real process; otherwise, or with `agent: true` (the agent tier, `*.agent.test.ts`), the BUILT
 * bundle in a child process on the real clock.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inProcessTarget, startInProcess } from './in-process';
import { makeTempDir, removeTempDir, trackProcess } from './temp';

export const BUNDLE = join(__dirname, '..', '..', 'dist', 'EnsureAcrManagedIdentityPullV1', 'index.js');

/** The AzureRM service connection as the agent hands it over. */
export interface ServiceConnection {
  id: string;
  /** ENDPOINT_URL: the ARM base URL. */
  url: string;
  /** undefined = no ENDPOINT_AUTH_SCHEME variable at all (Microsoft's own tests do that; it means ServicePrincipal). */
  scheme: string | undefined;
  /** Auth parameters, keys as the service stores them (serviceprincipalid, tenantid, ...). */
  auth: Record<string, string>;
  /** Data parameters (subscriptionId, environment, activeDirectoryAuthority, ...). */
  data: Record<string, string>;
}

/** The pipeline job around the task (System.* variables and the job access token). */
export interface PipelineJob {
  accessToken?: string;
  oidcRequestUri?: string;
  collectionUri?: string;
  teamProject?: string;
  teamProjectId?: string;
  hostType?: string;
  planId?: string;
  jobId?: string;
}

export interface TaskRunOptions {
  /**
   * Spawn the built bundle like the agent does (task-lib, signals, raw stdout, Node versions): the agent tier.
   * Default: in this process on the emulator's clock when the case allows it (in-process.ts `inProcessTarget`).
   */
  agent?: boolean;
  inputs: Record<string, string>;
  connection?: ServiceConnection;
  job?: PipelineJob;
  caCertPath?: string;
  debug?: boolean;
  /**
   * Pipeline variables as YAML names them (`"system.debug": "true"`); the agent hands each to the task as an
   * environment variable, upper-cased with `.` and spaces turned into `_`.
   */
  variables?: Record<string, string>;
  /** Extra environment (e.g. what a managed-identity host would set). */
  env?: Record<string, string>;
  /** Kill switch for the test itself (not the agent's cancellation). */
  timeoutInMs?: number;
  /** The Node binary that runs the bundle (default: this one). The agent's Node24 handler runs Node 24. */
  nodePath?: string;
  /** Called with every complete stdout line as it arrives (the demo renders them live). */
  onStdoutLine?: (line: string) => void;
}

export interface TaskRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  result: 'Succeeded' | 'SucceededWithIssues' | 'Failed' | 'Cancelled' | 'Skipped' | undefined;
  message: string;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string | undefined;
  /** The section title the summary gets on the run's summary page. */
  summaryTitle?: string;
  errors: string[];
  warnings: string[];
  /** Values the task registered with ##vso[task.setsecret]. */
  secrets: string[];
  durationMs: number;
}

/**
 * The agent's HTTP settings found in an environment (AGENT_PROXYURL, AGENT_CAINFO, ...), as the agent hands them
 * to a task: the proxy and client-certificate passwords as secret variables (SECRET_*), the rest as is.
 */
export function agentHttpVariables(from: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  const plain = [
    'AGENT_PROXYURL',
    'AGENT_PROXYUSERNAME',
    'AGENT_PROXYBYPASSLIST',
    'AGENT_CAINFO',
    'AGENT_CLIENTCERT',
    'AGENT_CLIENTCERTKEY',
    'AGENT_CLIENTCERTARCHIVE',
    'AZURE_HTTP_USER_AGENT',
  ];
  for (const name of plain) if (from[name]) out[name] = from[name] as string;
  for (const name of ['AGENT_PROXYPASSWORD', 'AGENT_CLIENTCERTPASSWORD']) {
    const value = from[name] ?? from[`SECRET_${name}`];
    if (value) out[`SECRET_${name}`] = value;
  }
  return out;
}

/** How the agent names a variable in the task's environment (`system.debug` → `SYSTEM_DEBUG`). */
export function variableEnvName(name: string): string {
  return name.replace(/[. ]/g, '_').toUpperCase();
}

/**
 * The environment an agent gives the task. `tempDirectory` is the job's Agent.TempDirectory; without one a
 * fresh directory is made, which is removed when this process exits (startTask removes its own at once).
 */
export function agentEnvironment(options: TaskRunOptions, tempDirectory?: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.inputs)) {
    env[`INPUT_${name.replace(/[. ]/g, '_').toUpperCase()}`] = value;
  }
  const c = options.connection;
  if (c) {
    env[`ENDPOINT_URL_${c.id}`] = c.url;
    env[`ENDPOINT_AUTH_${c.id}`] = JSON.stringify({
      parameters: c.auth,
      scheme: c.scheme ?? 'ServicePrincipal',
    });
    if (c.scheme !== undefined) env[`ENDPOINT_AUTH_SCHEME_${c.id}`] = c.scheme;
    for (const [k, v] of Object.entries(c.auth))
      env[`ENDPOINT_AUTH_PARAMETER_${c.id}_${k.toUpperCase()}`] = v;
    env[`ENDPOINT_DATA_${c.id}`] = JSON.stringify(c.data);
    for (const [k, v] of Object.entries(c.data)) env[`ENDPOINT_DATA_${c.id}_${k.toUpperCase()}`] = v;
  }
  const job = options.job ?? {};
  if (job.accessToken) {
    env.ENDPOINT_AUTH_SYSTEMVSSCONNECTION = JSON.stringify({
      parameters: { AccessToken: job.accessToken },
      scheme: 'OAuth',
    });
    env.ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION = 'OAuth';
    env.ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN = job.accessToken;
    env.ENDPOINT_URL_SYSTEMVSSCONNECTION = job.collectionUri ?? 'https://dev.azure.com/contoso/';
  }
  const vars: Record<string, string | undefined> = {
    SYSTEM_OIDCREQUESTURI: job.oidcRequestUri,
    SYSTEM_COLLECTIONURI: job.collectionUri,
    SYSTEM_TEAMFOUNDATIONCOLLECTIONURI: job.collectionUri,
    SYSTEM_TEAMPROJECT: job.teamProject,
    SYSTEM_TEAMPROJECTID: job.teamProjectId,
    SYSTEM_HOSTTYPE: job.hostType,
    SYSTEM_PLANID: job.planId,
    SYSTEM_JOBID: job.jobId,
  };
  for (const [k, v] of Object.entries(vars)) if (v) env[k] = v;
  env.AGENT_TEMPDIRECTORY = tempDirectory ?? makeTempDir('agent-temp-');
  env.SYSTEM_DEFAULTWORKINGDIRECTORY = env.AGENT_TEMPDIRECTORY;
  for (const [name, value] of Object.entries(options.variables ?? {})) env[variableEnvName(name)] = value;
  if (options.debug) env.SYSTEM_DEBUG = 'true';
  if (options.caCertPath) env.NODE_EXTRA_CA_CERTS = options.caCertPath;
  return { ...env, ...options.env };
}

export interface StartedTask {
  child: ChildProcess;
  /** Resolves once the given text (or pattern) appeared on stdout. */
  waitForOutput(pattern: RegExp, timeoutInMs?: number): Promise<void>;
  done: Promise<TaskRun>;
}

/**
 * Starts the task (in process when it can, see above); the caller may signal it (cancellation tests: `child.kill`
 * cancels an in-process run the way the agent's signals cancel the bundle) before awaiting `done`.
 */
export function startTask(options: TaskRunOptions): StartedTask {
  const target = inProcessTarget(options);
  if (target) return startInProcess(options, target.emulator);
  return spawnTask(options);
}

/** Starts the BUILT bundle in a child process, always (the agent tier; `startTask` with `agent: true`). */
export function spawnTask(options: TaskRunOptions): StartedTask {
  const started = Date.now();
  // The job's temp directory lives exactly as long as the task: removed when it ends, however it ends.
  const tempDirectory = makeTempDir('agent-temp-');
  const env = agentEnvironment(options, tempDirectory);
  // A clean environment, like the agent's: only PATH/HOME and what we set.
  const base: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[k]) base[k] = process.env[k]!;
  const child = spawn(options.nodePath ?? process.execPath, [BUNDLE], {
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackProcess(child);
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (options.onStdoutLine) {
      const lines = (pending + chunk).split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) options.onStdoutLine(line);
    }
    for (const w of waiters.splice(0)) {
      if (w.pattern.test(stdout)) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutInMs ?? 120_000);
  const done = new Promise<TaskRun>((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(killer);
      removeTempDir(tempDirectory);
      reject(e);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(killer);
      // The summary file the task uploaded lives in the temp directory: read it before the directory goes.
      try {
        resolve(parseRun(stdout, stderr, exitCode, signal, Date.now() - started));
      } catch (e: unknown) {
        reject(e);
      } finally {
        removeTempDir(tempDirectory);
      }
    });
  });
  return {
    child,
    done,
    waitForOutput: (pattern, timeoutInMs = 60_000) =>
      new Promise((resolve, reject) => {
        if (pattern.test(stdout)) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`no ${pattern} on stdout in ${timeoutInMs} ms:\n${stdout}`)),
          timeoutInMs,
        );
        waiters.push({
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      }),
  };
}

export function runTask(options: TaskRunOptions): Promise<TaskRun> {
  return startTask(options).done;
}

/**
 * What the agent would show of a run: stdout and stderr without the `##vso[task.setsecret]` commands, which the
 * agent consumes (they register a mask) and never prints. Secret scans look here.
 */
export function visibleLog(run: Pick<TaskRun, 'stdout' | 'stderr'>): string {
  const stdout = run.stdout
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('##vso[task.setsecret]'))
    .join('\n');
  return `${stdout}\n${run.stderr}`;
}

/** Reads the agent commands out of a task's stdout. */
export function parseRun(
  stdout: string,
  stderr: string,
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  durationMs: number,
): TaskRun {
  const run: TaskRun = {
    exitCode,
    signal,
    result: undefined,
    message: '',
    stdout,
    stderr,
    outputs: {},
    summary: undefined,
    errors: [],
    warnings: [],
    secrets: [],
    durationMs,
  };
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^##vso\[([\w.]+)([^\]]*)\](.*)$/.exec(line);
    if (!m) continue;
    const [, command, rawProps, value] = m as unknown as [string, string, string, string];
    const props = Object.fromEntries(
      rawProps
        .trim()
        .split(';')
        .filter(Boolean)
        .map((p) => p.split('=') as [string, string]),
    );
    const text = unescapeData(value);
    switch (command) {
      case 'task.complete':
        run.result = props.result as TaskRun['result'];
        run.message = text;
        break;
      case 'task.setvariable':
        if (props.variable) run.outputs[props.variable] = text;
        break;
      case 'task.uploadsummary':
        run.summary = readFileSync(text, 'utf8');
        run.summaryTitle = text.split(/[\\/]/).pop();
        break;
      case 'task.addattachment':
        // A summary attachment: its name is the section's title on the run's summary page.
        if (props.type === 'Distributedtask.Core.Summary') {
          run.summary = readFileSync(text, 'utf8');
          run.summaryTitle = unescapeData(props.name ?? '');
        }
        break;
      case 'task.issue':
        (props.type === 'error' ? run.errors : run.warnings).push(text);
        break;
      case 'task.setsecret':
        run.secrets.push(text);
        break;
    }
  }
  return run;
}

function unescapeData(s: string): string {
  return (
    s
      .replace(/%0D/g, '\r')
      .replace(/%0A/g, '\n')
      .replace(/%5D/g, ']')
      .replace(/%3B/g, ';')
      .replace(/%25/g, '%')
      // task-lib 5 escapes `%` as `%AZP25` in command data and properties.
      .replace(/%AZP25/g, '%')
  );
}
