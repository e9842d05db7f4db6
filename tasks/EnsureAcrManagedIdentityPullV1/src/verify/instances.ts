/**
 * One verdict per instance, then one for the target: every instance that runs the app pulls the image itself, so
 * the target is proven only when each of them shows a fresh pull (docs/azure-behaviour.md#instances). Pure: the
 * follow loop passes the log files it read and the instances ARM lists; this file matches the two by machine name
 * (Kudu's file names carry it; ARM's instance list gives it as `machineName`), judges each machine's file with the
 * classifier, and explains machines that are missing from the log or no longer listed.
 */
import type { InstanceFacts } from '../arm/instances';
import { type Classification, classifyLog } from './classify';

export interface InstanceView {
  /** 1-based position among the instances judged. */
  readonly number: number;
  /** The worker's machine name, or `containerlogs` (ARM's copy of one instance's log). */
  readonly machine: string;
  readonly classification: Classification;
  /** This instance shows a fresh pull of the image (and, with containerStarted, a start from it). */
  readonly proven: boolean;
  /** Not readable through the source in use (ARM containerlogs shows one instance only). */
  readonly unreadable?: boolean;
}

export interface InstancesVerdict {
  /** What the follow loop decides on: the failing instance's classification, or the whole target's. */
  readonly combined: Classification;
  readonly views: readonly InstanceView[];
  /** Instances ARM lists (undefined: the list could not be read). */
  readonly expected: number | undefined;
  /** Machines with log lines that ARM no longer lists (moved, scaled in): not counted. */
  readonly left: readonly string[];
  /** One line per instance that is not proven ("instance 2 of 3 (lw1...): pull failed, unauthorized"). */
  readonly lines: readonly string[];
  /** "3 of 3 instances", for the verdict. */
  readonly coverage: string;
}

export interface JudgeOptions {
  readonly image: string;
  readonly since: number;
  readonly until: 'imagePulled' | 'containerStarted';
  /** What ARM lists (undefined when it could not be read). */
  readonly instances?: readonly InstanceFacts[] | undefined;
  /** The caller's deadline, asked between log entries (see classify.ts). */
  readonly shouldStop?: (() => boolean) | undefined;
}

const EMPTY: Classification = {
  outcome: 'nothing_relevant',
  imagePulled: false,
  evidence: [],
  attempts: 0,
  otherImages: [],
  summary: 'No platform log lines since the change yet.',
};

/** `2026_03_02_lw1sdlwk000A3Q_docker.log` → `lw1sdlwk000A3Q` (Windows `..._system_docker.log` too). */
export function machineOf(fileName: string): string {
  const m = /^\d{4}_\d{2}_\d{2}_(.+?)(?:_system)?_docker(?:\.\d+)?\.log$/i.exec(fileName);
  return m?.[1] ?? fileName;
}

function proves(c: Classification, until: JudgeOptions['until']): boolean {
  if (!c.imagePulled) return false;
  return c.outcome === 'container_started' || (until === 'imagePulled' && c.outcome === 'pull_succeeded');
}

function newestAt(c: Classification): number {
  let newest = 0;
  for (const l of c.evidence) if (l.at !== undefined && l.at > newest) newest = l.at;
  return newest;
}

/** What one instance shows, in a few words. */
export function describeInstance(v: InstanceView): string {
  const c = v.classification;
  if (v.unreadable) return 'not readable (ARM containerlogs shows one instance only; Kudu could not be read)';
  if (c.outcome === 'pull_failed') {
    const localCopy = c.evidence.some((l) => /Defaulting to local copy/i.test(l.message));
    const started = c.summary.includes('local copy may have started');
    return `pull failed, ${c.cause ?? 'unknown'}${localCopy && started ? ' (it started an older local copy)' : ''}`;
  }
  if (c.outcome === 'container_start_failed') return 'pulled, but the container failed to start';
  if (v.proven) return c.outcome === 'container_started' ? 'pulled and started' : 'pulled';
  if (c.outcome === 'container_started') return 'a container started without a fresh pull';
  if (c.outcome === 'pull_succeeded') return 'pulled, container still starting';
  if (c.outcome === 'in_progress') return 'pull or start still under way';
  return 'no start since the change yet';
}

/** Judges every instance's file and combines them (see the module comment). */
export function judgeInstances(
  files: readonly { readonly name: string; readonly text: string }[],
  o: JudgeOptions,
): InstancesVerdict {
  // One text per machine (a machine's log can span two days' files; read in name order).
  const byMachine = new Map<string, string>();
  for (const f of [...files].sort((a, b) => a.name.localeCompare(b.name))) {
    const m = f.name === 'containerlogs' ? 'containerlogs' : machineOf(f.name);
    byMachine.set(m, `${byMachine.get(m) ?? ''}${f.text}${f.text.endsWith('\n') ? '' : '\n'}`);
  }
  // ARM's containerlogs copy (read while Kudu throttles us) is one of the machines' logs again: Kudu's own files win.
  if (byMachine.size > 1) byMachine.delete('containerlogs');
  const classified = new Map<string, Classification>();
  for (const [m, text] of byMachine)
    classified.set(m, classifyLog(text, { image: o.image, since: o.since, shouldStop: o.shouldStop }));

  const listed = o.instances;
  const expected = listed?.length;
  const left: string[] = [];
  let machines: { machine: string; c: Classification; unreadable?: boolean }[];
  const onlyContainerLogs = byMachine.size === 1 && byMachine.has('containerlogs');
  if (onlyContainerLogs) {
    const c = classified.get('containerlogs') ?? EMPTY;
    machines = [{ machine: 'containerlogs', c }];
    for (let i = 1; i < (expected ?? 1); i++)
      machines.push({ machine: listed?.[i]?.machineName ?? `instance ${i + 1}`, c: EMPTY, unreadable: true });
  } else {
    // Match by machine name where ARM gives one and a file carries it. ARM's name and Kudu's can disagree (azure-cli
    // notes ARM tracks the worker, KuduLite the container): when no name matches at all, the files stand, newest
    // first, for the listed instances by count. Without a list, every machine that logged is an instance.
    const files = [...classified.entries()].map(([machine, c]) => ({ machine, c }));
    const taken = new Set<string>();
    const slots: ({ machine: string; c: Classification } | undefined)[] = (listed ?? []).map((x) => {
      const name = x.machineName?.toLowerCase();
      const file = name ? files.find((f) => f.machine.toLowerCase() === name) : undefined;
      if (file) taken.add(file.machine);
      return file;
    });
    const spare = files.filter((f) => !taken.has(f.machine)).sort((x, y) => newestAt(y.c) - newestAt(x.c));
    if (!listed || listed.length === 0) machines = spare.sort((x, y) => x.machine.localeCompare(y.machine));
    else {
      // One name that matches shows the names agree: then a listed instance without a file has not logged yet
      // (a new machine), and no other machine's file may stand in for it.
      const namesAgree = slots.some((x) => x !== undefined);
      machines = slots.map((slot, i) => {
        if (slot) return slot;
        const stand = namesAgree && listed[i]?.machineName ? undefined : spare.shift();
        if (stand) return stand;
        const name = listed[i]?.machineName;
        return { machine: name ?? `instance ${i + 1} (not in the log yet)`, c: EMPTY };
      });
      for (const f of spare) left.push(f.machine);
    }
  }
  if (machines.length === 0) machines = [{ machine: 'no instance log yet', c: EMPTY }];

  const views: InstanceView[] = machines.map((x, i) => ({
    number: i + 1,
    machine: x.machine,
    classification: x.c,
    proven: !x.unreadable && proves(x.c, o.until),
    ...(x.unreadable ? { unreadable: true } : {}),
  }));
  const total = views.length;
  const provenCount = views.filter((v) => v.proven).length;
  const coverage = `${provenCount} of ${total} instance${total === 1 ? '' : 's'}`;
  const name = (v: InstanceView) =>
    total === 1 && v.machine === 'containerlogs'
      ? 'the instance'
      : `instance ${v.number} of ${total} (${v.machine})`;
  const lines = views.filter((v) => !v.proven).map((v) => `${name(v)}: ${describeInstance(v)}`);
  const otherImages = [...new Set(views.flatMap((v) => v.classification.otherImages))];
  const base = { views, expected, left, lines, coverage };

  // One instance: the classification as it stands (the verdict reads as it always has).
  if (total === 1 && left.length === 0) {
    const only = views[0] as InstanceView;
    return { ...base, combined: only.classification };
  }
  const failing =
    views.find((v) => v.classification.outcome === 'pull_failed') ??
    views.find((v) => v.classification.outcome === 'container_start_failed');
  if (failing) {
    const c = failing.classification;
    const rest = lines.filter((l) => !l.startsWith(name(failing)));
    const summary = `${name(failing)}: ${c.summary}${rest.length ? ` Also ${rest.slice(0, 3).join('; ')}.` : ''}`;
    return { ...base, combined: { ...c, otherImages, summary } };
  }
  if (provenCount === total) {
    const allStarted = views.every((v) => v.classification.outcome === 'container_started');
    const evidence = views
      .flatMap((v) => v.classification.evidence.slice(-3))
      .sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
    const first = views[0]?.classification.summary.replace(/\.$/, '') ?? '';
    return {
      ...base,
      combined: {
        outcome: allStarted ? 'container_started' : 'pull_succeeded',
        imagePulled: true,
        evidence,
        attempts: Math.max(...views.map((v) => v.classification.attempts)),
        otherImages,
        summary: `On ${coverage}: ${first}.`,
      },
    };
  }
  const anything = views.some(
    (v) => v.proven || v.classification.outcome !== 'nothing_relevant' || v.unreadable,
  );
  return {
    ...base,
    combined: {
      outcome: anything ? 'in_progress' : 'nothing_relevant',
      imagePulled: false,
      evidence: views.flatMap((v) => v.classification.evidence.slice(-2)),
      attempts: Math.max(0, ...views.map((v) => v.classification.attempts)),
      otherImages,
      summary: `Proven on ${coverage} so far; ${lines.slice(0, 3).join('; ')}.`,
    },
  };
}
