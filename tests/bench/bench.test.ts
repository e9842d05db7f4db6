/**
 * `npm run bench` stays runnable: the quick settings run end to end against the emulator and write every figure
 * issue 9 names. No thresholds here: timings belong to the benchmark's own table, not to `npm test`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

const NUMBERS = [
  'vsixBytes',
  'bundleBytes',
  'startupMs',
  'nodeBaselineMs',
  'detectionLatencyMs',
  'pollIntervalMs',
  'logBytesRead',
  'finalLogBytes',
  'peakRssMb',
] as const;

describe('npm run bench', function () {
  this.timeout(240_000);

  it('runs with --quick and writes every named figure as one JSON object', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
    try {
      const out = join(dir, 'figures.json');
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', join(ROOT, 'scripts', 'bench.ts'), '--quick', '--json', out],
          { cwd: ROOT, timeout: 230_000, maxBuffer: 16 * 1024 * 1024 },
          (error, so, se) => (error ? reject(new Error(`${error.message}\n${se}`)) : resolve(so)),
        );
      });
      const figures = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
      for (const name of NUMBERS) {
        assert.equal(typeof figures[name], 'number', `${name} is a number`);
        assert.ok(Number.isFinite(figures[name]), `${name} is finite`);
      }
      for (const name of ['firstRun', 'rerun']) {
        const runs = figures[name] as Record<string, unknown>[];
        assert.deepEqual(
          runs.map((r) => r.targets),
          [1, 3],
          `${name} covers an app with 0 and 2 slots`,
        );
        for (const r of runs)
          for (const key of ['requests', 'writes', 'wallMs'])
            assert.ok(Number.isFinite(r[key]), `${name}[targets=${String(r.targets)}].${key} is a number`);
      }
      const check = figures.imageCheck as Record<string, unknown>;
      for (const key of ['distinctImages', 'requests', 'ms', 'requestsPerImage', 'msPerImage'])
        assert.ok(Number.isFinite(check?.[key]), `imageCheck.${key} is a number`);
      assert.match(stdout, /\| Figure \| Value \| Target \| Result \|/, 'prints the markdown table');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
