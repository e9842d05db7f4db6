import type { TaskErrorCode } from './error-codes';

/**
 * The one error type the task raises on purpose. Every failure a user can act on carries a stable `code` from the
 * catalogue (`error-codes.ts`; tests and docs key on it), a message that says what failed and on which resource, and a `remedy`: the
 * concrete next step (a command, a setting, an input to change). Formatting for the log happens at the edge.
 */
export interface TaskErrorOptions {
  /** The concrete fix: an exact command, a portal setting, or the input to change. */
  remedy: string;
  /** The underlying error (an ArmError, a network error...), kept for debug output. */
  cause?: unknown;
  /** The target (production or a slot) the failure is about, when there is one. */
  target?: string;
}

export class TaskError extends Error {
  readonly code: TaskErrorCode;
  readonly remedy: string;
  readonly target: string | undefined;
  constructor(code: TaskErrorCode, message: string, options: TaskErrorOptions) {
    super(message, { cause: options.cause });
    this.name = 'TaskError';
    this.code = code;
    this.remedy = options.remedy;
    this.target = options.target;
  }
}

export function isTaskError(e: unknown): e is TaskError {
  return e instanceof Error && e.name === 'TaskError';
}

/** Raised when the agent cancels the job (SIGINT/SIGTERM) and every in-flight request was aborted. */
export class CancelledError extends Error {
  constructor(message = 'The task was cancelled.') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function isCancelledError(e: unknown): e is CancelledError {
  return e instanceof Error && (e.name === 'CancelledError' || e.name === 'AbortError');
}

/** A short, single-line description of any thrown value, for messages (never a stack). */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
