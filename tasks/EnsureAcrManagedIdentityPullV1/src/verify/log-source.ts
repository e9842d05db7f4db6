/**
 * Where the verifier reads a target's platform docker log from, incrementally.
 *
 * Kudu first: `/api/logs/docker` lists the newest file per machine; we skip the container-output and sidecar
 * sources (`_default`, `_msi`, `_easyauth`) and files not written since the restart, then read each file from the
 * byte we already have (`Range: bytes=N-`), falling back to a whole-file diff when the server ignores ranges.
 * When Kudu cannot be used (no SCM host, credentials refused, repeated errors) we switch to ARM `containerlogs`.
 * Sources return data and never log; the follow loop decides what to say.
 */

import type { ArmClient } from '../arm/client';
import { getContainerLogs } from '../arm/container-logs';
import type { KuduClient } from '../arm/kudu';
import type { PathRef } from '../arm/web-apps';
import { describeError, isCancelledError } from '../errors';

export interface LogSnapshot {
  /** Everything read so far per log file (bounded), for the classifier. */
  readonly files: readonly { readonly name: string; readonly text: string }[];
  readonly source: 'kudu' | 'containerlogs';
  /** Kudu answered 406: wait at least 5 s before the next read. */
  readonly rateLimited: boolean;
  /** Why the last read gave nothing new, or why the source changed (for the log). */
  readonly note?: string;
}

export interface LogSource {
  /** `notBefore`: epoch ms (server clock); files last written before it are skipped. */
  read(notBefore: number, signal?: AbortSignal): Promise<LogSnapshot>;
}

/** Keep at most this much text per file: a day's log can be large, and only the recent attempts matter. */
const MAX_TEXT_BYTES = 512 * 1024;
const NOT_PLATFORM = /_(default|msi|easyauth)$/i;

interface FileState {
  name: string;
  bytes: number;
  text: string;
}

function keepTail(text: string): string {
  if (text.length <= MAX_TEXT_BYTES) return text;
  const cut = text.slice(text.length - MAX_TEXT_BYTES);
  const newline = cut.indexOf('\n');
  return newline >= 0 ? cut.slice(newline + 1) : cut;
}

function fileName(href: string): string {
  const last = href.split('/').pop() ?? href;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** Kudu first, ARM `containerlogs` once Kudu cannot be used. */
export function createLogSource(options: {
  arm: ArmClient;
  target: PathRef;
  kudu: KuduClient | undefined;
}): LogSource {
  const files = new Map<string, FileState>();
  let kudu = options.kudu;
  let kuduFailures = 0;
  let containerLogs = '';

  const snapshot = (source: LogSnapshot['source'], rateLimited: boolean, note?: string): LogSnapshot => ({
    files: [
      ...(source === 'kudu' ? [...files.values()].map((f) => ({ name: f.name, text: f.text })) : []),
      // While Kudu throttles us, ARM containerlogs keeps the verdict moving.
      ...(source === 'containerlogs' || containerLogs
        ? [{ name: 'containerlogs', text: containerLogs }]
        : []),
    ],
    source,
    rateLimited,
    ...(note ? { note } : {}),
  });

  /** Reads from Kudu; undefined when Kudu should be given up. */
  async function readKudu(client: KuduClient, notBefore: number, signal?: AbortSignal) {
    const listing = await client.listDockerLogs(signal);
    if (listing.kind === 'rateLimited')
      return snapshot('kudu', true, 'Kudu asked us to slow down (HTTP 406).');
    // Refused credentials will not get better: give up at once. Other errors get a second chance.
    if (listing.kind === 'denied')
      return { giveUp: true, reason: `Kudu refused our credentials (HTTP ${listing.status})` };
    if (listing.kind === 'failed') return { giveUp: false, reason: `Kudu answered HTTP ${listing.status}` };
    const platformFiles = listing.value.filter(
      (e) => !NOT_PLATFORM.test(e.machineName) && e.lastUpdated >= notBefore,
    );
    for (const entry of platformFiles) {
      const key = entry.href.toLowerCase();
      const known = files.get(key) ?? { name: fileName(entry.href), bytes: 0, text: '' };
      if (known.bytes > 0 && entry.size > 0 && entry.size === known.bytes) continue; // nothing new
      // A first read of a large file starts near its end; the partial first line is dropped below.
      const from =
        known.bytes === 0 && entry.size > MAX_TEXT_BYTES ? entry.size - MAX_TEXT_BYTES : known.bytes;
      const slice = await client.readLogFile(entry.href, from, signal);
      if (slice.kind === 'rateLimited')
        return snapshot('kudu', true, 'Kudu asked us to slow down (HTTP 406).');
      if (slice.kind !== 'ok') continue;
      let added: string;
      if (slice.value.ranged || from === 0) {
        added = slice.value.text;
        if (known.bytes === 0 && from > 0) added = added.slice(added.indexOf('\n') + 1);
        known.bytes = from + Buffer.byteLength(slice.value.text);
      } else {
        // The server ignored the range: diff the whole file against what we have.
        const whole = Buffer.from(slice.value.text);
        added = whole.length >= known.bytes ? whole.subarray(known.bytes).toString('utf8') : slice.value.text;
        if (whole.length < known.bytes) known.text = ''; // the file was replaced
        known.bytes = whole.length;
      }
      known.text = keepTail(known.text + added);
      files.set(key, known);
    }
    return snapshot('kudu', false);
  }

  return {
    async read(notBefore, signal) {
      if (kudu) {
        try {
          const result = await readKudu(kudu, notBefore, signal);
          if ('files' in result) {
            kuduFailures = 0;
            if (!result.rateLimited) return result;
            await readContainerLogs(signal).catch((e: unknown) => {
              if (isCancelledError(e)) throw e;
            });
            return snapshot('kudu', true, result.note);
          }
          kuduFailures++;
          if (!result.giveUp && kuduFailures < 3) return snapshot('kudu', false, result.reason);
          kudu = undefined;
          const fallback = await readContainerLogs(signal);
          return {
            ...fallback,
            note: `${result.reason}; reading the log through ARM containerlogs instead.`,
          };
        } catch (e: unknown) {
          if (isCancelledError(e)) throw e;
          kuduFailures++;
          if (kuduFailures < 3) return snapshot('kudu', false, `Kudu could not be read: ${describeError(e)}`);
          kudu = undefined;
          const fallback = await readContainerLogs(signal);
          return {
            ...fallback,
            note: `Kudu could not be read (${describeError(e)}); reading the log through ARM containerlogs instead.`,
          };
        }
      }
      return readContainerLogs(signal);
    },
  };

  async function readContainerLogs(signal?: AbortSignal): Promise<LogSnapshot> {
    // The whole current log each time; keeping only the latest copy is the diff (the classifier judges by time).
    containerLogs = keepTail(await getContainerLogs(options.arm, options.target, signal));
    return snapshot('containerlogs', false);
  }
}
