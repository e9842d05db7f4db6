/**
 * The harness leaves nothing behind: no directory in the temp folder, no process, no file in the checkout —
 * also when a run is killed on its timeout and when the test process dies with a task still running.
 * Other developers' runs share the system temp folder, so the probe runs with TMPDIR pointed at a fresh,
 * private directory and the assertion is that this directory is empty afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

function gitStatus(): string {
  return execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
    cwd: root,
    encoding: 'utf8',
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test harness cleanup', function () {
  this.timeout(120_000);
  let privateTmp: string;
  before(() => {
    privateTmp = mkdtempSync(join(tmpdir(), 'harness-cleanup-test-'));
  });
  after(() => rmSync(privateTmp, { recursive: true, force: true }));

  it('removes every temp directory and kills every task it started, even when the process dies mid-run', async () => {
    const checkoutBefore = gitStatus();
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: privateTmp };
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'cleanup-probe.ts')], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 3, `the probe died as planned:\n${stdout}\n${stderr}`);
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      finished: string;
      killed: string | null;
      runningPid: number;
    };
    assert.equal(report.finished, 'Succeeded', 'a finished run');
    assert.equal(report.killed, 'SIGKILL', 'a run the harness killed on its timeout');
    for (let i = 0; i < 40 && alive(report.runningPid); i += 1) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(report.runningPid), false, 'the task still running when the process died was killed');
    // tsx (which runs the probe, as it runs mocha) keeps one compile cache per user, `tsx-<uid>`, reused by every
    // run: in the system temp folder it exists already, so it is not new there.
    const left = readdirSync(privateTmp).filter((name) => !/^tsx-\d+$/.test(name));
    assert.deepEqual(left, [], 'nothing left in the temp folder');
    assert.equal(gitStatus(), checkoutBefore, 'no stray files in the checkout');
  });
});
