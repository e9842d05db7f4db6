/**
 * The one rule for names a response hands the task that then become part of a write's path (sidecar container
 * names, slot names, the names inside registry and identity IDs), and the one error when a response breaks it:
 * `UntrustedResponse`, raised before anything is written. Pure.
 *
 * A name is one path segment: a letter or digit, then letters, digits, `-`, `_` or `.` (at most 64 in all). That
 * refuses `..`, `.`, `/`, `\`, `%2f`, `?`, `#` and empty names, whatever ARM's own rule for the resource is.
 * Slots are held to the stricter host-label form (they become part of the slot's host name).
 */
import { TaskError } from './errors';

export const NAME_FROM_RESPONSE = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

/** Slot names as ARM may return them (up to the 59 characters a host label leaves). */
export const SLOT_FROM_RESPONSE = /^[a-z0-9](?:[a-z0-9-]{0,57}[a-z0-9])?$/i;

/** A response that would steer a write somewhere else: stop before anything is written. */
export function untrusted(message: string): TaskError {
  return new TaskError('UntrustedResponse', `${message} Nothing was changed.`, {
    remedy:
      'Azure (or a proxy in between) answered with a value the task does not trust for a write. Run the task again; ' +
      'if it persists, check the resource in the portal and open an Azure support case with the debug log (system.debug=true).',
  });
}

/** `name` when it is one safe path segment; else UntrustedResponse naming `what` (`The sidecar list of ...`). */
export function checkNameFromResponse(name: string, what: string, pattern = NAME_FROM_RESPONSE): string {
  if (typeof name === 'string' && pattern.test(name)) return name;
  throw untrusted(
    `${what} names '${String(name).slice(0, 200)}', which is not a name of letters, digits, hyphens, underscores and dots (one path segment).`,
  );
}
