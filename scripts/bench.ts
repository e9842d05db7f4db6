/**
 * `npm run bench`: what a run of the task costs, measured side by side in one run against the local emulator
 * (GitHub issue 9). Every figure comes from the BUILT bundle run the way an agent runs it; counts come from the
 * emulator's request log, times from this process's clock (the emulator runs at time scale 1 here, so its
 * timestamps are wall-clock milliseconds too). Medians over repeated trials; ratios where the machine's speed
 * matters.
 *
 *   npm run bench                        # markdown table: figure, target, pass/fail
 *   npm run bench -- --json out.json     # also the figures as one JSON object
 *   npm run bench -- --quick             # tiny settings (fewer trials, 0 and 2 slots) for the test
 *
 * Exit code 0 whatever the verdicts (a benchmark reports; the table says what missed), 2 when it could not run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { classifyLog } from '../tasks/EnsureAcrManagedIdentityPullV1/src/verify/classify';
import {
  baseScenario,
  type Emulator,
  type RequestRecord,
  type Scenario,
  startEmulator,
} from '../tests/emulator/index';
import { latestLogFiles } from '../tests/emulator/log-files';
import type { LogLine } from '../tests/emulator/model';
import { startProxy } from '../tests/emulator/proxy';
import { federatedConnection } from '../tests/harness/connections';
import { BUNDLE, startTask, type TaskRun } from '../tests/harness/run-task';
import {
  type Figures,
  type ImageCheckCost,
  markdownTable,
  missingFigures,
  POLL_INTERVAL_MS,
  type RunCost,
} from './bench-budget';
import { measureCutover } from './bench-cutover';

const ROOT = join(__dirname, '..');

interface Settings {
  trials: number;
  startupTrials: number;
  slotCounts: number[];
  detectionTrials: number;
}

const FULL: Settings = { trials: 3, startupTrials: 7, slotCounts: [0, 5, 20], detectionTrials: 5 };
const QUICK: Settings = { trials: 1, startupTrials: 2, slotCounts: [0, 2], detectionTrials: 1 };

/** Latency the emulator adds to every ARM request, so concurrency (or its absence) shows in the wall time. */
const ARM_LATENCY_MS = 50;
// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Records peak RSS of the task process at exit, without touching the task: a `--require` preload. */
function rssProbe(dir: string): { env: (tag: string) => Record<string, string>; peakKb: () => number } {
  const preload = join(dir, 'rss-probe.cjs');
  writeFileSync(
    preload,
    `process.on('exit', () => { try { require('fs').writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)); } catch {} });\n`,
  );
  const files: string[] = [];
  return {
    env(tag) {
      const file = join(dir, `rss-${tag}-${files.length}.txt`);
      files.push(file);
      return { NODE_OPTIONS: `--require ${preload}`, BENCH_RSS_FILE: file };
    },
    peakKb: () => Math.max(0, ...files.filter(existsSync).map((f) => Number(readFileSync(f, 'utf8')) || 0)),
  };
}

interface TaskOptions {
  emulator: Emulator;
  inputs: Record<string, string>;
  env?: Record<string, string>;
  onStdoutLine?: (line: string) => void;
}

interface Measured {
  run: TaskRun;
  startedAt: number;
  requests: RequestRecord[];
}

/** Runs the built bundle once against the emulator; returns the run and the requests it made. */
async function runBundle(o: TaskOptions): Promise<Measured> {
  const { connection, job } = federatedConnection(o.emulator.info);
  const before = o.emulator.requests().length;
  const startedAt = Date.now();
  const task = startTask({
    // The bundle as the agent runs it, on the real clock: what the figures are about.
    agent: true,
    inputs: { azureSubscription: connection.id, ...o.inputs },
    connection,
    job,
    caCertPath: o.emulator.info.caCertPath,
    env: { AGENT_PROXYURL: o.emulator.info.proxyUrl, ...o.env },
    ...(o.onStdoutLine ? { onStdoutLine: o.onStdoutLine } : {}),
    timeoutInMs: 180_000,
  });
  const run = await task.done;
  if (run.result !== 'Succeeded' && run.result !== 'SucceededWithIssues') {
    throw new Error(
      `the task ended ${run.result ?? `without a result (exit ${run.exitCode})`}: ${run.message}\n${run.stderr}\n${run.stdout.slice(-3000)}`,
    );
  }
  return { run, startedAt, requests: o.emulator.requests().slice(before) };
}

function inputsFor(scenario: Scenario, extra: Record<string, string>): Record<string, string> {
  return { targets: 'all', identityType: 'system', ...scenario.inputs, ...extra };
}

function slotNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `slot${String(i + 1).padStart(2, '0')}`);
}

// ---------------------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------------------

/**
 * The image check on an app whose targets run `images` distinct tags (production and slots, several targets per
 * tag), reached through the agent proxy as a real agent would. Dry run: only observe and plan run.
 */
async function imageCheckCost(
  emulator: Emulator,
  probe: ReturnType<typeof rssProbe>,
  trials: number,
): Promise<ImageCheckCost> {
  const tags = ['1.0.0', '1.1.0', '2.0.0'];
  const slots = slotNames(5);
  const scenario = baseScenario({ slots, registryTags: tags, delays: { armLatencyMs: ARM_LATENCY_MS } });
  const site = scenario.sites?.[0];
  if (!site) throw new Error('baseScenario has no site');
  site.slotOverrides = Object.fromEntries(
    slots.map((slot, i) => [slot, { image: `contosoacr.azurecr.io/web:${tags[(i + 1) % tags.length]}` }]),
  );
  const port = Number(new URL(emulator.info.armUrl).port);
  const proxy = await startProxy({
    route: (host, p) => (/\.azurecr\.io$/i.test(host) && p === 443 ? { host: '127.0.0.1', port } : undefined),
  });
  const requests: number[] = [];
  const ms: number[] = [];
  try {
    for (let i = 0; i < trials; i++) {
      await emulator.seed(scenario);
      const m = await runBundle({
        emulator,
        inputs: inputsFor(scenario, { dryRun: 'true', verifyPull: 'false' }),
        env: { ...probe.env('image-check'), AGENT_PROXYURL: proxy.url },
      });
      const said = /Image check on \S+: (\d+) image\(s\), (\d+) request\(s\), (\d+) ms/.exec(m.run.stdout);
      if (!said || Number(said[1]) !== tags.length)
        throw new Error(
          `the task did not report the image check of ${tags.length} images:\n${m.run.stdout.slice(-2000)}`,
        );
      requests.push(m.requests.filter((r) => r.host === 'registry').length);
      ms.push(Number(said[3]));
    }
  } finally {
    await proxy.close();
  }
  const r = median(requests);
  const t = Math.round(median(ms));
  return {
    targets: slots.length + 1,
    distinctImages: tags.length,
    requests: r,
    ms: t,
    requestsPerImage: Math.round((r / tags.length) * 100) / 100,
    msPerImage: Math.round((t / tags.length) * 10) / 10,
  };
}

function sizes(): { vsixBytes: number; bundleBytes: number } {
  if (!existsSync(BUNDLE))
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  // Packaged into a temporary folder: measuring must not leave a .vsix in the checkout.
  const dir = mkdtempSync(join(tmpdir(), 'bench-vsix-'));
  try {
    const out = execFileSync(process.execPath, [join(ROOT, 'scripts', 'package.mjs'), '--output-path', dir], {
      encoding: 'utf8',
    });
    const path = /(\S+\.vsix)/.exec(out)?.[1];
    if (!path || !existsSync(path)) throw new Error(`package.mjs wrote no .vsix: ${out}`);
    return { vsixBytes: statSync(path).size, bundleBytes: statSync(BUNDLE).size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Spawn of a bare `node -e 0` until it exits. */
function nodeBaseline(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(Date.now() - t0));
  });
}

/** Spawn of the bundle until the emulator logs its first request (the OIDC assertion, then sign-in). */
async function startup(emulator: Emulator, probe: ReturnType<typeof rssProbe>, trials: number) {
  const scenario = baseScenario();
  const bundle: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < trials; i++) {
    bare.push(await nodeBaseline());
    await emulator.seed(scenario);
    const m = await runBundle({
      emulator,
      inputs: inputsFor(scenario, { verifyPull: 'false', dryRun: 'true' }),
      env: probe.env('startup'),
    });
    const first = m.requests[0];
    if (!first) throw new Error('the task made no request');
    bundle.push(first.at - m.startedAt);
  }
  return { startupMs: median(bundle), nodeBaselineMs: median(bare) };
}

/** A first run that configures everything (no verification), then a re-run that should write nothing. */
async function configureRuns(
  emulator: Emulator,
  probe: ReturnType<typeof rssProbe>,
  s: Settings,
): Promise<{ firstRun: RunCost[]; rerun: RunCost[] }> {
  const firstRun: RunCost[] = [];
  const rerun: RunCost[] = [];
  for (const slots of s.slotCounts) {
    const scenario = baseScenario({ slots: slotNames(slots), delays: { armLatencyMs: ARM_LATENCY_MS } });
    const inputs = inputsFor(scenario, { verifyPull: 'false' });
    const first: RunCost[] = [];
    const second: RunCost[] = [];
    for (let i = 0; i < s.trials; i++) {
      await emulator.seed(scenario);
      for (const into of [first, second]) {
        const m = await runBundle({ emulator, inputs, env: probe.env(`configure-${slots}`) });
        into.push({
          targets: slots + 1,
          requests: m.requests.length,
          writes: m.requests.filter((r) => r.write).length,
          wallMs: m.run.durationMs,
          slotListPages: m.requests.filter((r) => r.method === 'GET' && /\/slots$/i.test(r.path)).length,
        });
      }
    }
    const summarise = (runs: RunCost[]): RunCost => ({
      targets: slots + 1,
      requests: median(runs.map((r) => r.requests)),
      writes: median(runs.map((r) => r.writes)),
      wallMs: Math.round(median(runs.map((r) => r.wallMs))),
      slotListPages: median(runs.map((r) => r.slotListPages)),
    });
    firstRun.push(summarise(first));
    rerun.push(summarise(second));
  }
  return { firstRun, rerun };
}

/** Restarts per target with verification on: the first run configures and verifies, the re-run only verifies. */
async function restartRuns(
  emulator: Emulator,
  probe: ReturnType<typeof rssProbe>,
): Promise<{ restarts: Figures['restarts'] }> {
  const scenario = baseScenario({
    slots: ['staging', 'qa'],
    delays: {
      roleAssignmentPropagationSeconds: 3,
      pullSeconds: 1,
      containerStartSeconds: 1,
      startDelaySeconds: 1,
    },
  });
  await emulator.seed(scenario);
  const inputs = inputsFor(scenario, { pollIntervalSeconds: '0.5', timeoutMinutes: '2' });
  const perTarget = (m: Measured): Record<string, number> => {
    const out: Record<string, number> = { production: 0, staging: 0, qa: 0 };
    for (const r of m.requests) {
      if (r.method !== 'POST' || !/\/(restart|start|stop)$/i.test(r.path)) continue;
      const slot = /\/slots\/([^/]+)\//i.exec(r.path)?.[1];
      const label = slot ?? 'production';
      out[label] = (out[label] ?? 0) + 1;
    }
    return out;
  };
  const first = await runBundle({ emulator, inputs, env: probe.env('restarts-first') });
  const second = await runBundle({ emulator, inputs, env: probe.env('restarts-rerun') });
  return { restarts: { firstRun: perTarget(first), rerun: perTarget(second) } };
}

/**
 * The first log line from which the task's own classifier calls the pull done: the line that "proves the pull"
 * (docker's `Status: Downloaded newer image`, the platform's start line... whatever the log format).
 */
function firstPullProof(lines: readonly LogLine[], image: string): LogLine | undefined {
  for (let i = 0; i < lines.length; i++) {
    const c = classifyLog(
      lines.slice(0, i + 1).map((l) => l.text),
      { image },
    );
    if (c.outcome === 'pull_succeeded' || (c.outcome === 'container_started' && c.imagePulled))
      return lines[i];
  }
  return undefined;
}

/**
 * From the moment the emulator's log holds the successful-pull line (its emulated timestamp, which is wall time at
 * time scale 1: a line is served from that instant on) to the moment the task's "verified" line reaches stdout.
 */
async function detection(emulator: Emulator, probe: ReturnType<typeof rssProbe>, trials: number) {
  const latencies: number[] = [];
  for (let i = 0; i < trials; i++) {
    // A pull duration spread over one poll interval puts the proof at every phase of the polling cycle, so the
    // worst trial approaches the worst case instead of repeating one lucky alignment.
    const scenario = baseScenario({
      delays: {
        startDelaySeconds: 1,
        pullSeconds: Math.round(1500 + ((i + 0.5) / trials) * POLL_INTERVAL_MS) / 1000,
        containerStartSeconds: 1,
      },
    });
    const inputs = inputsFor(scenario, {
      verifyPull: 'true',
      pollIntervalSeconds: String(POLL_INTERVAL_MS / 1000),
      timeoutMinutes: '2',
    });
    const image = scenario.sites?.[0]?.image ?? '';
    await emulator.seed(scenario);
    let verifiedAt: number | undefined;
    const m = await runBundle({
      emulator,
      inputs,
      env: probe.env('detection'),
      onStdoutLine: (line) => {
        if (verifiedAt === undefined && /^production: verified\b/.test(line)) verifiedAt = Date.now();
      },
    });
    const app = emulator.state.apps.find((a) => !a.slot);
    const lines = (app?.logs ?? [])
      .filter((l) => l.source === 'platform' && l.machineName === app?.instances[0])
      .flatMap((l) => l.lines)
      .filter((l) => l.at >= m.startedAt)
      .sort((a, b) => a.at - b.at);
    const success = firstPullProof(lines, image);
    if (verifiedAt === undefined || !success) {
      throw new Error(
        `detection: verified line at ${verifiedAt ?? 'never'}, run started ${m.startedAt}, pull proven at ${success?.at ?? 'never'}:\n${m.run.stdout
          .split('\n')
          .filter((l) => !l.startsWith('##'))
          .join('\n')
          .slice(-3000)}`,
      );
    }
    latencies.push(verifiedAt - success.at);
  }
  // The target is a bound ("within one poll interval plus one request"), so the worst trial is the figure.
  return {
    detectionLatencyMs: Math.max(...latencies),
    detectionLatencyMedianMs: Math.round(median(latencies)),
    pollIntervalMs: POLL_INTERVAL_MS,
  };
}

/**
 * A verification that polls many times (the grant takes a while to propagate, so early pulls fail and are
 * retried) over a log that already holds a day of old lines: how many log bytes the emulator served (Kudu file
 * reads and ARM containerlogs) against the size of the platform log files at the end.
 */
async function logReads(emulator: Emulator, probe: ReturnType<typeof rssProbe>, quick: boolean) {
  const scenario = baseScenario({
    delays: {
      startDelaySeconds: 1,
      pullSeconds: 1,
      containerStartSeconds: 1,
      retryBaseSeconds: 2,
      roleAssignmentPropagationSeconds: quick ? 4 : 10,
    },
  });
  const site = scenario.sites?.[0];
  if (site) {
    site.seedLogLines = Array.from({ length: 1500 }, (_, i) => ({
      secondsAgo: 7000 - i,
      text: `${new Date(Date.now() - (7000 - i) * 1000).toISOString()} INFO  - Site heartbeat ${i}: the container answered the health check in 12 ms.`,
    }));
  }
  const inputs = inputsFor(scenario, {
    verifyPull: 'true',
    pollIntervalSeconds: String(POLL_INTERVAL_MS / 1000),
    timeoutMinutes: '3',
  });
  await emulator.seed(scenario);
  const m = await runBundle({ emulator, inputs, env: probe.env('logs') });
  const logReads = m.requests.filter(
    (r) =>
      (r.host === 'kudu' && /\/api\/vfs\/logfiles\/.+/i.test(r.path)) || /\/containerlogs$/i.test(r.path),
  );
  const polls = m.requests.filter((r) => r.host === 'kudu' && /\/api\/logs\/docker$/i.test(r.path)).length;
  const app = emulator.state.apps.find((a) => !a.slot);
  const finalLogBytes = app
    ? latestLogFiles(app, emulator.now())
        .filter((f) => !/_(default|msi|easyauth)$/i.test(f.machineName))
        .reduce((sum, f) => sum + Buffer.byteLength(f.content), 0)
    : 0;
  return {
    logBytesRead: logReads.reduce((sum, r) => sum + r.bytes, 0),
    finalLogBytes,
    logPolls: polls,
  };
}

/**
 * One verification of a target on `n` instances (each pulls on its own and writes its own log file): how many
 * requests per poll, bytes read, and how long after the last instance's proof the task says "verified".
 */
async function instancesCost(emulator: Emulator, probe: ReturnType<typeof rssProbe>, n: number) {
  const scenario = baseScenario({
    delays: { startDelaySeconds: 1, pullSeconds: 2, containerStartSeconds: 1 },
  });
  const site = scenario.sites?.[0];
  if (site) site.instances = n;
  const inputs = inputsFor(scenario, {
    verifyPull: 'true',
    pollIntervalSeconds: String(POLL_INTERVAL_MS / 1000),
    timeoutMinutes: '2',
  });
  const image = scenario.sites?.[0]?.image ?? '';
  await emulator.seed(scenario);
  let verifiedAt: number | undefined;
  const m = await runBundle({
    emulator,
    inputs,
    env: probe.env(`instances-${n}`),
    onStdoutLine: (line) => {
      if (verifiedAt === undefined && /^production: verified\b/.test(line)) verifiedAt = Date.now();
    },
  });
  const app = emulator.state.apps.find((a) => !a.slot);
  // The proof is complete when the slowest instance has proven its pull.
  const proofs = (app?.instances ?? []).map((machine) =>
    firstPullProof(
      (app?.logs ?? [])
        .filter((l) => l.source === 'platform' && l.machineName === machine)
        .flatMap((l) => l.lines)
        .filter((l) => l.at >= m.startedAt)
        .sort((a, b) => a.at - b.at),
      image,
    ),
  );
  const lastProof = proofs.every((p) => p) ? Math.max(...proofs.map((p) => p?.at ?? 0)) : undefined;
  const kudu = m.requests.filter((r) => r.host === 'kudu').sort((a, b) => a.at - b.at);
  // A poll is a burst of Kudu requests; bursts are a poll interval apart.
  let polls = 0;
  let previous = Number.NEGATIVE_INFINITY;
  for (const r of kudu) {
    if (r.at - previous > POLL_INTERVAL_MS / 2) polls++;
    previous = r.at;
  }
  const listings = kudu.filter((r) => /\/api\/logs\/docker$/i.test(r.path)).length;
  const reads = kudu.filter((r) => /\/api\/vfs\/logfiles\/.+/i.test(r.path));
  const perPoll = (k: number) => (polls ? Math.round((k / polls) * 100) / 100 : 0);
  return {
    instances: n,
    polls,
    listingsPerPoll: perPoll(listings),
    fileReadsPerPoll: perPoll(reads.length),
    instanceListReads: m.requests.filter((r) => /\/instances$/i.test(r.path)).length,
    requests: m.requests.length,
    logBytesRead: reads.reduce((sum, r) => sum + r.bytes, 0),
    detectionLatencyMs: verifiedAt !== undefined && lastProof !== undefined ? verifiedAt - lastProof : -1,
    verified: verifiedAt !== undefined,
  };
}

/** The classifier on a megabyte entry built to make backtracking patterns work (best of three). */
function classifyMegabyte(): number {
  const entry = `2024-01-01T00:00:00.000Z ERROR - ${'Pulling docker image x '.repeat(Math.ceil((1024 * 1024) / 23))}`;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint();
    classifyLog(entry);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return Math.round(best * 100) / 100;
}

// ---------------------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const jsonAt = args.indexOf('--json');
  const jsonPath = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
  if (jsonAt >= 0 && !jsonPath) throw new Error('--json needs a file name');
  const s = quick ? QUICK : FULL;
  const say = (m: string) => process.stderr.write(`bench: ${m}\n`);

  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const probe = rssProbe(dir);
  say('packaging');
  const size = sizes();
  const emulator = await startEmulator({ timeScale: 1 });
  try {
    say('startup');
    const start = await startup(emulator, probe, s.startupTrials);
    say(`configure runs (${s.slotCounts.join(', ')} slots)`);
    const runs = await configureRuns(emulator, probe, s);
    say('restarts (first run and re-run, verification on)');
    const restarts = await restartRuns(emulator, probe);
    say('detection');
    const detect = await detection(emulator, probe, s.detectionTrials);
    say('log reads');
    const logs = await logReads(emulator, probe, quick);
    say('image check');
    const imageCheck = await imageCheckCost(emulator, probe, s.trials);
    say('instances (1 and 3)');
    const instances = [await instancesCost(emulator, probe, 1), await instancesCost(emulator, probe, 3)];
    const classify1MiBMs = classifyMegabyte();
    // Each live-cutover run waits out the 10-minute settle bound (20 s at time scale 30): not in --quick.
    if (!quick) say('live cutover (and a grant that never takes effect)');
    const cutover = quick
      ? undefined
      : { live: await measureCutover(), neverEffective: await measureCutover(10_000_000) };
    const figures: Figures = {
      ...size,
      ...start,
      ...runs,
      ...restarts,
      ...detect,
      ...logs,
      imageCheck,
      instances,
      classify1MiBMs,
      ...(cutover ? { cutover } : {}),
      peakRssMb: Math.round((probe.peakKb() / 1024) * 10) / 10,
      armLatencyMs: ARM_LATENCY_MS,
      trials: s.trials,
      machine: {
        nproc: availableParallelism(),
        memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
        cpu: cpus()[0]?.model.trim() ?? 'unknown',
        node: process.version,
        date: new Date().toISOString().slice(0, 10),
      },
    };
    const missing = missingFigures(figures, s.slotCounts);
    if (missing.length > 0) throw new Error(`the benchmark could not produce: ${missing.join(', ')}`);
    console.log(markdownTable(figures));
    if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`bench failed: ${e instanceof Error ? e.stack : String(e)}`);
    process.exit(2);
  },
);
