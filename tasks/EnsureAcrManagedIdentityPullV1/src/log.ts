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

/** A logger that drops everything (used by pure code paths in tests). */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  group() {},
  endGroup() {},
};
