/**
 * The docker log files an app's workers expose under /home/LogFiles, derived from the per-instance line lists:
 * one file per machine, source and UTC day, holding only lines already written (`at <= now`). Kudu's listing
 * rules (docs/azure-behaviour.md#kudu-docker-log-listing): newest file per source, sources within 7 days of the
 * newest.
 */
import type { App, InstanceLog, LogLine } from './model';

export interface DockerLogFile {
  name: string;
  /** Kudu's machineName: the file name minus `YYYY_MM_DD_` and `_docker.log`. */
  machineName: string;
  lastUpdated: number;
  content: string;
}

function day(at: number): string {
  return new Date(at).toISOString().slice(0, 10).replace(/-/g, '_');
}

function sourceSuffix(app: App, log: InstanceLog): string {
  if (log.source === 'platform') return app.platform === 'windows' ? '_system' : '';
  return `_${log.source}`;
}

function render(lines: LogLine[]): string {
  return lines.length ? `${lines.map((l) => l.text).join('\n')}\n` : '';
}

/** Every file of the app, one per machine, source and day (oldest first). */
export function logFiles(app: App, now: number): DockerLogFile[] {
  const out: DockerLogFile[] = [];
  for (const log of app.logs) {
    const byDay = new Map<string, LogLine[]>();
    for (const line of log.lines) {
      if (line.at > now) continue;
      const d = day(line.at);
      const list = byDay.get(d) ?? [];
      list.push(line);
      byDay.set(d, list);
    }
    const machineName = `${log.machineName}${sourceSuffix(app, log)}`;
    for (const [d, lines] of [...byDay.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      out.push({
        name: `${d}_${machineName}_docker.log`,
        machineName,
        lastUpdated: lines[lines.length - 1]?.at ?? 0,
        content: render(lines),
      });
    }
  }
  return out;
}

/** What Kudu's /api/logs/docker lists: the newest file per source, within 7 days of the newest overall. */
export function latestLogFiles(app: App, now: number): DockerLogFile[] {
  const newestPerSource = new Map<string, DockerLogFile>();
  for (const f of logFiles(app, now)) {
    const prev = newestPerSource.get(f.machineName);
    if (!prev || prev.name < f.name) newestPerSource.set(f.machineName, f);
  }
  const files = [...newestPerSource.values()];
  const newest = files.reduce((m, f) => Math.max(m, f.lastUpdated), 0);
  return files.filter((f) => newest - f.lastUpdated <= 7 * 86_400_000);
}

/** The current platform docker log of the app's first instance (what ARM `containerlogs` returns). */
export function currentPlatformLog(app: App, now: number): string {
  const first = app.instances[0];
  const files = latestLogFiles(app, now).filter(
    (f) => f.machineName === `${first}${app.platform === 'windows' ? '_system' : ''}`,
  );
  return files[0]?.content ?? '';
}

/** Kudu's `lastUpdated`: UTC ISO with seven fractional digits. */
export function kuduTimestamp(at: number): string {
  return new Date(at).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}
