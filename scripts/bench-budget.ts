/**
 * The benchmark's budget (GitHub issues 9 and 13), pure: which figures a run must produce, and the verdict per
 * figure. scripts/bench.ts measures; this file judges, so the judging is tested on a fixture
 * (tests/bench/budget.test.ts) without running the benchmark inside `npm test`.
 */

/** The figures, under exactly the names issue 9 uses (plus the context a reader needs to judge them). */
export interface RunCost {
  targets: number;
  requests: number;
  writes: number;
  wallMs: number;
  /** Pages of the slot list among `requests` (the emulator pages it 2 slots at a time). */
  slotListPages: number;
}

export interface Figures {
  vsixBytes: number;
  bundleBytes: number;
  startupMs: number;
  nodeBaselineMs: number;
  firstRun: RunCost[];
  rerun: RunCost[];
  /**
   * Restarts the task made per target (POST restart/start/stop), with verification on: a first run that
   * configures, then a re-run of the verified setup (which must restart nothing).
   */
  restarts: { firstRun: Record<string, number>; rerun: Record<string, number> };
  /** Worst of the trials (the target is a bound); the median beside it. */
  detectionLatencyMs: number;
  detectionLatencyMedianMs: number;
  pollIntervalMs: number;
  logBytesRead: number;
  finalLogBytes: number;
  logPolls: number;
  peakRssMb: number;
  armLatencyMs: number;
  /** The pre-flight image check (src/registry/): its cost per distinct image, through the agent proxy. */
  imageCheck: ImageCheckCost;
  /** Verification of a target on 1 and on 3 instances (issue #25): the cost of proving every instance. */
  instances: InstancesCost[];
  /** The log classifier on one adversarial 1 MiB entry (issue #27 item 6), best of a few runs. */
  classify1MiBMs: number;
  trials: number;
  machine: { nproc: number; memoryGb: number; cpu: string; node: string; date: string };
  /** Issue 24's live cutover, and one whose grant never takes effect (scripts/bench-cutover.ts); not in --quick. */
  cutover?: { live: CutoverFigures; neverEffective: CutoverFigures };
}

export interface CutoverFigures {
  /** Seconds each target answered errors because a pull failed (goal 0). */
  downtimeSeconds: Record<string, number>;
  /** Seconds of an explicit restart's own gap, per target (apart from downtime). */
  restartGapSeconds: Record<string, number>;
  /** Restarts the platform saw per target during the run (settings writes included). */
  restarts: Record<string, number>;
  /** Emulated seconds from the task's first ARM write to production's verified line (undefined: not verified). */
  firstWriteToProductionVerifiedSeconds: number | undefined;
  /** Emulated seconds from the moment production's grant took effect to its verified line. */
  grantEffectiveToVerifiedSeconds: number | undefined;
  /** One poll + pull + container start, emulated seconds: the least that lag can be. */
  floorSeconds: number;
  /** Per target, the outcome in targetResults. */
  outcomes: Record<string, string>;
  result: string | undefined;
}

export interface InstancesCost {
  instances: number;
  polls: number;
  /** Kudu listings (`/api/logs/docker`) per poll: one for all instances. */
  listingsPerPoll: number;
  /** Kudu file reads per poll (only files with new bytes are read). */
  fileReadsPerPoll: number;
  /** ARM `.../instances` reads over the whole verification. */
  instanceListReads: number;
  requests: number;
  logBytesRead: number;
  /** From the last instance's proof in the log to the task's "verified" line. */
  detectionLatencyMs: number;
  verified: boolean;
}

export interface ImageCheckCost {
  targets: number;
  distinctImages: number;
  /** Requests to the registry's data plane (token exchange, scoped token, one HEAD per image). */
  requests: number;
  /** Wall-clock ms of the check, as the task measured and printed it. */
  ms: number;
  requestsPerImage: number;
  msPerImage: number;
}

/** "Plus one request": what one Kudu read may add on top of the poll interval on a local machine. */
export const ONE_REQUEST_ALLOWANCE_MS = 250;
/** The constant in "N requests per target plus a constant": sign-in, app, slot list, registry, grants, rights. */
export const REQUEST_CONSTANT = 12;
/** The poll interval the benchmark's verification runs use. */
export const POLL_INTERVAL_MS = 1000;

/** The figures every run must produce (a number each), by the names issue 9 uses. */
export const NUMBERS = [
  'vsixBytes',
  'bundleBytes',
  'startupMs',
  'nodeBaselineMs',
  'detectionLatencyMs',
  'pollIntervalMs',
  'logBytesRead',
  'finalLogBytes',
  'peakRssMb',
  'classify1MiBMs',
] as const;

/**
 * What is missing or not a number in a set of figures (empty: complete). The benchmark fails (exit 2) rather than
 * report a table with holes; CI runs it on its own step.
 */
export function missingFigures(figures: unknown, slotCounts: readonly number[]): string[] {
  const f = (figures ?? {}) as Record<string, unknown>;
  const missing: string[] = [];
  const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  for (const name of NUMBERS) if (!isNumber(f[name])) missing.push(name);
  for (const name of ['firstRun', 'rerun']) {
    const runs = Array.isArray(f[name]) ? (f[name] as Record<string, unknown>[]) : [];
    const targets = runs.map((r) => r.targets);
    const expected = slotCounts.map((n) => n + 1);
    if (JSON.stringify(targets) !== JSON.stringify(expected))
      missing.push(`${name} for ${expected.join(', ')} target(s) (got ${targets.join(', ') || 'none'})`);
    for (const r of runs)
      for (const key of ['requests', 'writes', 'wallMs'])
        if (!isNumber(r[key])) missing.push(`${name}[targets=${String(r.targets)}].${key}`);
  }
  const check = (f.imageCheck ?? {}) as Record<string, unknown>;
  for (const key of ['distinctImages', 'requests', 'ms', 'requestsPerImage', 'msPerImage'])
    if (!isNumber(check[key])) missing.push(`imageCheck.${key}`);
  return missing;
}

export interface Row {
  figure: string;
  value: string;
  target: string;
  pass: boolean | undefined;
}

export function verdicts(f: Figures): Row[] {
  const rows: Row[] = [
    // Issue 13's budget with the SDK packages at runtime.
    { figure: 'vsixBytes', value: kb(f.vsixBytes), target: '<= 350 KB', pass: f.vsixBytes <= 350 * 1024 },
    { figure: 'bundleBytes', value: kb(f.bundleBytes), target: '(recorded)', pass: undefined },
    {
      figure: 'startupMs',
      value: `${f.startupMs} ms (${(f.startupMs / f.nodeBaselineMs).toFixed(1)}x)`,
      target: `< 3x nodeBaselineMs (${f.nodeBaselineMs} ms)`,
      pass: f.startupMs < 3 * f.nodeBaselineMs,
    },
  ];
  for (const r of f.firstRun) {
    // Issue 13's goal: <= 6 ARM requests per target on a first run. Each target costs exactly 6 (observe: config/web
    // GET, app settings list; apply: identity PATCH, one site GET after the first wait, grant PUT, config/web PATCH).
    // The slot list is one request per page, and the page size is the service's choice: the emulator serves 2 slots
    // per page to exercise paging, so every page after the first is added to the constant (and shown in the value).
    const extraPages = Math.max(0, r.slotListPages - 1);
    const limit = 6 * r.targets + REQUEST_CONSTANT + extraPages;
    rows.push({
      figure: `firstRun ${r.targets} target(s)`,
      value: `${r.requests} requests (${r.slotListPages} slot-list page(s)), ${r.writes} writes, ${r.wallMs} ms`,
      target: `<= 6/target + ${REQUEST_CONSTANT} + ${extraPages} further slot-list page(s) = ${limit} requests`,
      pass: r.requests <= limit && r.writes > 0,
    });
  }
  for (const r of f.rerun) {
    const limit = 4 * r.targets + REQUEST_CONSTANT;
    rows.push({
      figure: `rerun ${r.targets} target(s)`,
      value: `${r.requests} requests, ${r.writes} writes, ${r.wallMs} ms`,
      target: `0 writes, <= 4/target + ${REQUEST_CONSTANT} = ${limit} requests`,
      pass: r.writes === 0 && r.requests <= limit,
    });
  }
  const list = (r: Record<string, number>) =>
    Object.entries(r)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ');
  rows.push(
    {
      figure: 'restarts per target, first run',
      value: list(f.restarts.firstRun),
      target: 'config writes restart by themselves; extra restarts only while a new grant propagates',
      pass: undefined,
    },
    {
      figure: 'restarts per target, re-run',
      value: list(f.restarts.rerun),
      target: '0 (a verified setup is verified from the log)',
      pass: Object.values(f.restarts.rerun).every((n) => n === 0),
    },
  );
  const one = f.firstRun.find((r) => r.targets === 1);
  const most = f.firstRun.reduce<RunCost | undefined>(
    (m, r) => (!m || r.targets > m.targets ? r : m),
    undefined,
  );
  if (one && most && most !== one) {
    const ratio = most.wallMs / one.wallMs;
    rows.push({
      figure: `wallMs ${most.targets} vs 1 target (first run)`,
      value: `${ratio.toFixed(2)}x (${most.wallMs} / ${one.wallMs} ms)`,
      target: '<= 4x',
      pass: ratio <= 4,
    });
  }
  const c = f.imageCheck;
  rows.push({
    figure: `imageCheck ${c.distinctImages} distinct image(s) on ${c.targets} target(s)`,
    value: `${c.requests} requests, ${c.ms} ms (${c.requestsPerImage} requests and ${c.msPerImage} ms per image)`,
    target: `<= 1 per distinct image + 2 (exchange, token) = ${c.distinctImages + 2} requests; none per target`,
    pass: c.requests <= c.distinctImages + 2,
  });
  rows.push(
    {
      figure: 'detectionLatencyMs',
      value: `${f.detectionLatencyMs} ms worst, ${f.detectionLatencyMedianMs} ms median`,
      target: `<= pollIntervalMs (${f.pollIntervalMs}) + one request (${ONE_REQUEST_ALLOWANCE_MS})`,
      pass: f.detectionLatencyMs <= f.pollIntervalMs + ONE_REQUEST_ALLOWANCE_MS,
    },
    {
      figure: 'logBytesRead',
      value: `${kb(f.logBytesRead)} over ${f.logPolls} polls`,
      target: `<= final log size (${kb(f.finalLogBytes)})`,
      pass: f.logBytesRead <= f.finalLogBytes,
    },
    {
      figure: 'peakRssMb',
      value: `${f.peakRssMb} MB`,
      target: '< 150 MB',
      pass: f.peakRssMb < 150,
    },
  );
  const single = f.instances.find((x) => x.instances === 1);
  for (const x of f.instances) {
    rows.push({
      figure: `verify on ${x.instances} instance(s)`,
      value: `${x.verified ? 'verified' : 'NOT verified'}; ${x.polls} polls, ${x.listingsPerPoll} listing/poll, ${x.fileReadsPerPoll} file reads/poll, ${x.instanceListReads} instance-list reads, ${x.requests} requests, ${kb(x.logBytesRead)} read, detection ${x.detectionLatencyMs} ms`,
      target: `verified; 1 listing per poll for all instances; detection <= poll interval + one request (${POLL_INTERVAL_MS + ONE_REQUEST_ALLOWANCE_MS} ms)${single && x !== single ? `; vs 1 instance: ${kb(single.logBytesRead)}, ${single.requests} requests` : ''}`,
      pass:
        x.verified &&
        x.listingsPerPoll === 1 &&
        x.detectionLatencyMs >= 0 &&
        x.detectionLatencyMs <= POLL_INTERVAL_MS + ONE_REQUEST_ALLOWANCE_MS,
    });
  }
  rows.push({
    figure: 'classify a 1 MiB entry',
    value: `${f.classify1MiBMs} ms`,
    target: '< 100 ms',
    pass: f.classify1MiBMs < 100,
  });
  if (f.cutover) rows.push(...cutoverRows(f.cutover.live, f.cutover.neverEffective));
  return rows;
}

function kb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}

export function markdownTable(f: Figures): string {
  const lines = ['| Figure | Value | Target | Result |', '|---|---|---|---|'];
  for (const r of verdicts(f))
    lines.push(
      `| ${r.figure} | ${r.value} | ${r.target} | ${r.pass === undefined ? '—' : r.pass ? 'pass' : 'FAIL'} |`,
    );
  const m = f.machine;
  lines.push(
    '',
    `Machine: ${m.nproc} CPUs (${m.cpu}), ${m.memoryGb} GB, Node ${m.node}, ${m.date}. ARM latency injected: ${f.armLatencyMs} ms per request; medians of ${f.trials} trial(s).`,
  );
  return lines.join('\n');
}

const listOf = (r: Record<string, number | string>) =>
  Object.entries(r)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');

/** The bench rows for a live cutover and for one whose grant never takes effect. */
export function cutoverRows(live: CutoverFigures, never: CutoverFigures): Row[] {
  const zero = (f: CutoverFigures) => Object.values(f.downtimeSeconds).every((n) => n === 0);
  return [
    {
      figure:
        'live cutover (app + 2 slots, admin credentials, 3 instances, 240 s propagation): downtime per target',
      value: `${listOf(live.downtimeSeconds)} s (restart gaps apart: ${listOf(live.restartGapSeconds)} s)`,
      target: '0 s on every target',
      pass: zero(live),
    },
    {
      figure: 'live cutover: first write to production verified',
      value: `${live.firstWriteToProductionVerifiedSeconds ?? 'not verified'} s (emulated)`,
      target: '(recorded; the 10-minute settle bound dominates)',
      pass: live.firstWriteToProductionVerifiedSeconds !== undefined,
    },
    {
      figure: 'live cutover: restarts per target (platform, settings writes included)',
      value: listOf(live.restarts),
      target: '(recorded: identity write, switch write)',
      pass: undefined,
    },
    {
      figure: 'live cutover: grant effective to production verified',
      value: `${live.grantEffectiveToVerifiedSeconds ?? 'n/a'} s (floor: one poll + pull + start = ${live.floorSeconds} s)`,
      target: '(recorded beside its floor; the wait for the 10-minute bound is most of it)',
      pass: undefined,
    },
    {
      figure: 'grant never takes effect: downtime per target, outcomes',
      value: `${listOf(never.downtimeSeconds)} s; ${listOf(never.outcomes)}; ${never.result}`,
      target: '0 s, first target put_back, the rest not_switched, not Succeeded',
      pass:
        zero(never) &&
        never.result !== 'Succeeded' &&
        Object.values(never.outcomes).includes('put_back') &&
        !Object.values(never.outcomes).includes('verified'),
    },
  ];
}
