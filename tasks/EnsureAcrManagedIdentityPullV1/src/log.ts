/**
 * The Logger port. Everything the task prints goes through it; only the task-lib adapter writes to stdout.
 * Azure-surface modules never log: they return data and the orchestration decides what to say.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** An error line that becomes a pipeline issue. */
  error(message: string): void;
  /** Printed only with system.debug=true. Never pass secrets here either. */
  debug(message: string): void;
  /** A collapsible `##[group]` section in the pipeline log. */
  group(title: string): void;
  endGroup(): void;
}

/**
 * Remote text (container logs, Azure error messages) is untrusted: the agent executes `##vso[` anywhere in a
 * line and `##[` at the start of a line (MSRC 125166). We break those sequences, drop ANSI escapes and
 * control characters, and cut very long lines so a hostile log cannot drive the agent or flood the log.
 */
export function neutralise(text: string, maxLength = 2000): string {
  let clean = text
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
    // `##vso[` anywhere and `##[` anywhere become `# #vso[` / `# #[`: still readable, never a command.
    .replace(/##(?=vso\[|\[)/gi, '# #');
  if (clean.length > maxLength)
    clean = `${clean.slice(0, maxLength)}… [${clean.length - maxLength} characters cut]`;
  return clean;
}

/** The longest line the agent is handed; the task's own lines (a remedy with commands) stay well below it. */
export const LINE_LIMIT = 16_000;

/**
 * The output guard for task-lib's command stream (the agent adapter routes task-lib's writes through it; the
 * logger's own lines get `neutralise` whole). task-lib writes every line as a command it formatted itself, in
 * lower case: such a line keeps its `##vso[command props]` prefix (the props are ours: names and types, never
 * remote text) and its data is neutralised; any other line is neutralised whole.
 */
export function guardLine(line: string): string {
  const command = /^##vso\[[a-z0-9.]+(?:\s[^\]]*)?\]/.exec(line);
  if (!command) return neutralise(line, LINE_LIMIT);
  const prefix = command[0];
  // The mask registration must carry the exact secret, and the agent consumes it without printing it.
  if (/^##vso\[task\.setsecret\b/i.test(prefix)) return line;
  return `${prefix}${neutralise(line.slice(prefix.length), LINE_LIMIT)}`;
}

/** A logger that drops everything (used by pure code paths in tests). */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  group() {},
  endGroup() {},
};
