/**
 * The output guard in one place, for the task-lib agent (agent.ts) and the in-memory agent the tests run the task
 * with (tests/harness/memory-agent.ts): task-lib's command stream passes each line through `guardLine`, plain log
 * lines are neutralised from their first character, and our own text is neutralised before it becomes a command.
 */
import { guardLine, LINE_LIMIT, type Logger, neutralise } from './log';

/** The commands the logger needs (task-lib's `warning`, `error`, `debug`). */
export interface IssueCommands {
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

/** Our own text may hold remote parts anywhere: neutralised before a command carries it. */
export function clean(text: string): string {
  return neutralise(text, LINE_LIMIT);
}

/** A writer for task-lib's std stream: every line it formatted goes through `guardLine` to `writeLine`. */
export function guardedCommandStream(writeLine: (line: string) => void): (text: string) => void {
  return (text) => {
    for (const line of text.replace(/\r?\n$/, '').split(/\r?\n/)) writeLine(guardLine(line));
  };
}

/** The Logger on an agent: `writeLine` prints one raw line (with its newline added by the writer). */
export function guardedLogger(writeLine: (line: string) => void, commands: IssueCommands): Logger {
  // A plain log line is text from its first character: even a leading `##vso[` or `##[` is broken.
  const emit = (line: string) => writeLine(neutralise(line, LINE_LIMIT));
  return {
    info: (m) => {
      for (const line of m.split(/\r?\n/)) emit(line);
    },
    warn: (m) => commands.warning(clean(m)),
    error: (m) => commands.error(clean(m)),
    debug: (m) => commands.debug(clean(m)),
    // The `##[group]` prefix is ours; the title after it is neutralised like any other text.
    group: (title) => writeLine(`##[group]${clean(title).replace(/\r?\n/g, ' ')}`),
    endGroup: () => writeLine('##[endgroup]'),
  };
}

/** The agent refuses multi-line secrets (a PEM key): each meaningful line is registered instead. */
export function secretLines(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((trimmed) => trimmed.length >= 8 && !/^-----(BEGIN|END) /.test(trimmed));
}
