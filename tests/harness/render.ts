/**
 * Renders a task's stdout line the way the pipeline log shows it: groups as headings, issues as WARNING/ERROR,
 * output variables, and the final result; debug and secret-registration commands are hidden.
 */
export function renderAgentLine(line: string, options: { color: boolean }): string | undefined {
  const paint = (code: number, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  if (line.startsWith('##[group]')) return paint(1, `\n▼ ${line.slice('##[group]'.length)}`);
  if (line.startsWith('##[endgroup]')) return undefined;
  const m = /^##vso\[([\w.]+)([^\]]*)\](.*)$/.exec(line);
  if (!m) return line;
  const [, command, props, value] = m as unknown as [string, string, string, string];
  const text = value
    .replace(/%0D/g, '')
    .replace(/%0A/g, '\n')
    .replace(/%5D/g, ']')
    .replace(/%3B/g, ';')
    .replace(/%25/g, '%');
  switch (command) {
    case 'task.issue':
      return /type=error/.test(props) ? paint(31, `ERROR: ${text}`) : paint(33, `WARNING: ${text}`);
    case 'task.setvariable': {
      const name = /variable=([^;]+)/.exec(props)?.[1];
      return paint(2, `output ${name} = ${text}`);
    }
    case 'task.complete': {
      const result = /result=([^;]+)/.exec(props)?.[1] ?? '';
      return paint(result.startsWith('Succeeded') ? 32 : 31, `\n${result}: ${text}`);
    }
    default:
      return undefined; // task.debug, task.setsecret, task.uploadsummary...
  }
}
