/**
 * The task-lib adapter: the only module (with index.ts) that imports azure-pipelines-task-lib. It turns the
 * agent into the small ports the rest of the task is written against (inputs, endpoints, logger, results).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import type { EndpointSource } from './auth/endpoint-source';
import type { Logger } from './log';

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
    uploadSummary: (markdown, title) => {
      const dir = mkdtempSync(join(endpoints.tempDirectory(), 'acr-mi-pull-'));
      const file = join(dir, 'summary.md');
      writeFileSync(file, markdown);
      // `uploadsummary` would title the section with the file name; a summary attachment carries its own title.
      tl.addAttachment('Distributedtask.Core.Summary', title, file);
    },
    complete: (outcome, message) => tl.setResult(tl.TaskResult[outcome], message),
  };
}
