/**
 * The benchmark's budget, judged on a fixture (tests/bench/fixtures/figures.json): `npm run bench` itself runs in
 * its own CI step (`.ci/run`, `--quick`), not inside `npm test`; here only the pure parts: which figures a run
 * must produce, and the verdict per figure.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Figures,
  markdownTable,
  missingFigures,
  NUMBERS,
  REQUEST_CONSTANT,
  verdicts,
} from '../../scripts/bench-budget';

const fixture = (): Figures =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', 'figures.json'), 'utf8')) as Figures;

const QUICK_SLOTS = [0, 2];

function row(f: Figures, figure: string) {
  const found = verdicts(f).find((r) => r.figure.startsWith(figure));
  assert.ok(found, `a row for ${figure}`);
  return found;
}

describe('bench budget (pure, on a fixture)', () => {
  it('takes the fixture as complete: every figure issue 9 names is there', () => {
    assert.deepEqual(missingFigures(fixture(), QUICK_SLOTS), []);
  });

  for (const name of NUMBERS) {
    it(`names ${name} when it is missing or not a number`, () => {
      const f = fixture() as unknown as Record<string, unknown>;
      f[name] = Number.NaN;
      assert.deepEqual(missingFigures(f, QUICK_SLOTS), [name]);
      delete f[name];
      assert.deepEqual(missingFigures(f, QUICK_SLOTS), [name]);
    });
  }

  it('names the runs that are missing (0 and 2 slots: 1 and 3 targets) and their fields', () => {
    const f = fixture();
    f.firstRun = f.firstRun.slice(0, 1);
    (f.rerun[1] as unknown as Record<string, unknown>).wallMs = undefined;
    assert.deepEqual(missingFigures(f, QUICK_SLOTS), [
      'firstRun for 1, 3 target(s) (got 1)',
      'rerun[targets=3].wallMs',
    ]);
    assert.deepEqual(missingFigures(undefined, QUICK_SLOTS).length, NUMBERS.length + 2 + 5);
  });

  it('names a missing image-check figure', () => {
    const f = fixture();
    (f.imageCheck as unknown as Record<string, unknown>).msPerImage = 'fast';
    assert.deepEqual(missingFigures(f, QUICK_SLOTS), ['imageCheck.msPerImage']);
  });

  it('passes the fixture on every budget it has a target for', () => {
    const failed = verdicts(fixture()).filter((r) => r.pass === false);
    assert.deepEqual(failed, []);
  });

  it('fails a package over 350 KB and a start-up of 3x the Node baseline or more', () => {
    const f = fixture();
    f.vsixBytes = 351 * 1024;
    f.startupMs = 3 * f.nodeBaselineMs;
    assert.equal(row(f, 'vsixBytes').pass, false);
    assert.equal(row(f, 'startupMs').pass, false);
  });

  it('allows 6 ARM requests per target plus the constant on a first run, and counts extra slot-list pages', () => {
    const f = fixture();
    const three = f.firstRun[1] as Figures['firstRun'][number];
    three.requests = 6 * 3 + REQUEST_CONSTANT;
    assert.equal(row(f, 'firstRun 3').pass, true);
    three.requests += 1;
    assert.equal(row(f, 'firstRun 3').pass, false);
    three.slotListPages = 2;
    assert.equal(row(f, 'firstRun 3').pass, true, 'one more page of slots is one more request');
    three.writes = 0;
    assert.equal(row(f, 'firstRun 3').pass, false, 'a first run that writes nothing configured nothing');
  });

  it('fails a re-run that writes, or restarts a verified target', () => {
    const f = fixture();
    (f.rerun[0] as Figures['rerun'][number]).writes = 1;
    f.restarts.rerun.production = 1;
    assert.equal(row(f, 'rerun 1').pass, false);
    assert.equal(row(f, 'restarts per target, re-run').pass, false);
  });

  it('fails a wall time that grows more than 4x from 1 to 3 targets, a slow detection, a greedy log read, 150 MB', () => {
    const f = fixture();
    (f.firstRun[1] as Figures['firstRun'][number]).wallMs =
      4.5 * (f.firstRun[0] as Figures['firstRun'][number]).wallMs;
    f.detectionLatencyMs = f.pollIntervalMs + 251;
    f.logBytesRead = f.finalLogBytes + 1;
    f.peakRssMb = 150;
    for (const figure of ['wallMs 3 vs 1', 'detectionLatencyMs', 'logBytesRead', 'peakRssMb'])
      assert.equal(row(f, figure).pass, false, figure);
  });

  it('fails an image check that costs more than one request per distinct image plus two', () => {
    const f = fixture();
    f.imageCheck.requests = f.imageCheck.distinctImages + 3;
    assert.equal(row(f, 'imageCheck').pass, false);
  });

  it('prints the markdown table with a result per row and the machine', () => {
    const table = markdownTable(fixture());
    assert.match(table, /^\| Figure \| Value \| Target \| Result \|$/m);
    assert.equal(table.split('\n').filter((l) => l.endsWith('| FAIL |')).length, 0);
    assert.match(table, /Machine: 2 CPUs \(fixture\)/);
  });
});
