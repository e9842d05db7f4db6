/**
 * Everything the test harness leaves on the machine goes through here: temporary directories and child
 * processes are tracked from creation, removed (or killed) as soon as their owner is done with them, and
 * whatever is still around when this process exits — a failed test, a timed-out test, a crashed run — is
 * cleaned up by one `exit` hook. Nothing is left in the system temp folder.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const directories = new Set<string>();
const processes = new Set<ChildProcess>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  // `exit` handlers must be synchronous: kill and remove without waiting.
  process.once('exit', cleanUpEverything);
}

/** A fresh directory under the system temp folder, removed at the latest when this process exits. */
export function makeTempDir(prefix: string): string {
  hook();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  directories.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  directories.delete(dir);
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // Already gone, or busy on a slow file system: the exit hook cannot do better.
  }
}

/** Tracks a child process until it ends; still running when this process exits → killed. */
export function trackProcess(child: ChildProcess): void {
  hook();
  processes.add(child);
  child.once('exit', () => processes.delete(child));
  child.once('error', () => processes.delete(child));
}

/** Kills every tracked process and removes every tracked directory (also the `exit` hook). */
export function cleanUpEverything(): void {
  for (const child of processes) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // it ended in between
      }
    }
  }
  processes.clear();
  for (const dir of [...directories]) removeTempDir(dir);
}
