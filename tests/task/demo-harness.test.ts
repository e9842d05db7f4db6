import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { killTimerMs } from '../harness/scenario-runs';
import { makeTempDir, removeTempDir } from '../harness/temp';

const root = join(__dirname, '..', '..');
const run = promisify(execFile);
const defaultScenario = JSON.parse(
  readFileSync(join(root, 'tests', 'emulator', 'scenarios', 'default.json'), 'utf8'),
) as { inputs: Record<string, string> };

describe("the demo harness reads the inputs the way the task does (what a user's scenario shows)", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = makeTempDir('demo-harness-');
  });
  after(() => removeTempDir(dir));

  /** Runs the demo on the default scenario with `inputs` over its own; exit code and stdout. */
  async function demo(inputs: Record<string, string>): Promise<{ code: number; stdout: string }> {
    const file = join(dir, `${Object.keys(inputs).join('-')}.json`);
    writeFileSync(
      file,
      JSON.stringify({ ...defaultScenario, inputs: { ...defaultScenario.inputs, ...inputs } }),
    );
    try {
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', join(root, 'scripts', 'demo.ts'), '--scenario', file],
        { cwd: root },
      );
      return { code: 0, stdout };
    } catch (e: unknown) {
      const failed = e as { code?: number; stdout?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? '' };
    }
  }

  it('kill timer: a minute past the task timeout, at least 2 minutes, and a value the task refuses never a NaN', () => {
    const cases: [string | undefined, number][] = [
      [undefined, 16 * 60_000],
      ['2', 180_000],
      ['0.5', 120_000],
      ['30', 31 * 60_000],
      ['15m', 16 * 60_000],
      ['', 16 * 60_000],
      ['abc', 16 * 60_000],
    ];
    for (const [text, expected] of cases)
      assert.equal(killTimerMs(text === undefined ? {} : { timeoutMinutes: text }), expected, String(text));
  });

  it("timeoutMinutes: '15m' ends with the task's own InvalidInput, not 'no result'", async () => {
    const { code, stdout } = await demo({ timeoutMinutes: '15m' });
    assert.equal(code, 1, stdout);
    assert.match(stdout, /Input 'timeoutMinutes' is '15m'/);
    assert.match(stdout, /\(InvalidInput\)/);
    assert.match(stdout, /^Run 1: Failed/m);
    assert.doesNotMatch(stdout, /no result|Result: undefined/);
  });

  it('verifyPull: false gets no "set but ignored" warning for the demo\'s own poll and timeout defaults', async () => {
    const { code, stdout } = await demo({ verifyPull: 'false' });
    assert.equal(code, 0, stdout);
    assert.doesNotMatch(stdout, /is set to .* but is ignored/);
    assert.match(stdout, /verification is off/);
  });
});
