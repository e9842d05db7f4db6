/**
 * judgeInstances, the pure per-instance verdict: log files matched to the instances ARM lists (by machine name, by
 * count where the names disagree), one classification per machine, and the target's verdict from all of them.
 */
import assert from 'node:assert/strict';
import { judgeInstances, machineOf } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/instances';
import { pullAttemptLines } from '../emulator/log-lines';

const IMAGE = 'contosoacr.azurecr.io/web:1.0.0';
const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);

function file(machine: string, outcome: 'succeeded' | 'unauthorized' | 'none', index = 0) {
  const lines =
    outcome === 'none'
      ? []
      : pullAttemptLines({
          format: 'classic',
          startAt: T0 + 1000 + index * 500,
          siteName: 'web',
          image: IMAGE,
          outcome,
          pullDurationMs: 3000,
          instanceIndex: index,
        });
  return { name: `2026_03_02_${machine}_docker.log`, text: lines.map((l) => l.text).join('\n') };
}

const judge = (
  files: { name: string; text: string }[],
  instances?: { instanceId: string; machineName: string | undefined }[],
) => judgeInstances(files, { image: IMAGE, since: T0, until: 'containerStarted', instances });

describe('judgeInstances', () => {
  it('reads the machine from Kudu file names (Windows too)', () => {
    assert.equal(machineOf('2026_03_02_lw1sdlwk000A3Q_docker.log'), 'lw1sdlwk000A3Q');
    assert.equal(machineOf('2026_03_02_RD0003FF1C1EF4_system_docker.log'), 'RD0003FF1C1EF4');
  });

  it('proves a target only when every listed instance pulled', () => {
    const listed = ['a', 'b', 'c'].map((m) => ({ instanceId: `id-${m}`, machineName: m }));
    const all = judge([file('a', 'succeeded'), file('b', 'succeeded', 1), file('c', 'succeeded', 2)], listed);
    assert.equal(all.combined.outcome, 'container_started');
    assert.equal(all.coverage, '3 of 3 instances');
    const two = judge(
      [file('a', 'succeeded'), file('b', 'unauthorized', 1), file('c', 'succeeded', 2)],
      listed,
    );
    assert.equal(two.combined.outcome, 'pull_failed');
    assert.match(two.combined.summary, /^instance 2 of 3 \(b\): /);
    assert.deepEqual(two.lines, ['instance 2 of 3 (b): pull failed, unauthorized']);
  });

  it('awaits a listed instance that has not logged yet; no other machine stands in for it', () => {
    const listed = [
      { instanceId: '1', machineName: 'a' },
      { instanceId: '2', machineName: 'new' },
    ];
    const j = judge([file('a', 'succeeded'), file('old', 'succeeded', 1)], listed);
    assert.equal(j.combined.outcome, 'in_progress');
    assert.deepEqual(j.left, ['old']);
    assert.match(j.lines.join(), /instance 2 of 2 \(new\): no start since the change yet/);
  });

  it('matches by count when ARM names no machine the log carries', () => {
    const listed = [
      { instanceId: '1', machineName: 'worker-1' },
      { instanceId: '2', machineName: 'worker-2' },
    ];
    const j = judge([file('a', 'succeeded'), file('b', 'succeeded', 1)], listed);
    assert.equal(j.combined.outcome, 'container_started');
    assert.equal(j.coverage, '2 of 2 instances');
  });

  it('without a list, every machine that logged is an instance', () => {
    const j = judge([file('a', 'succeeded'), file('b', 'unauthorized', 1)]);
    assert.equal(j.expected, undefined);
    assert.equal(j.combined.outcome, 'pull_failed');
  });

  it('one instance reads as it always did', () => {
    const j = judge([file('a', 'succeeded')], [{ instanceId: '1', machineName: 'a' }]);
    assert.equal(j.combined.summary, `${IMAGE} was pulled and the container started.`);
  });

  it('ARM containerlogs shows one instance: the others are unreadable, not silent', () => {
    const listed = ['a', 'b', 'c'].map((m) => ({ instanceId: m, machineName: m }));
    const j = judge([{ name: 'containerlogs', text: file('a', 'succeeded').text }], listed);
    assert.deepEqual(
      j.views.map((v) => [v.proven, v.unreadable === true]),
      [
        [true, false],
        [false, true],
        [false, true],
      ],
    );
  });
});
