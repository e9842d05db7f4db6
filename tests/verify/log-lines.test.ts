import assert from 'node:assert/strict';
import {
  type Classification,
  classifyLog,
  type Outcome,
  type PullFailureCause,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/classify';
import {
  type LogFormat,
  type PullOutcome,
  pullAttemptLines,
  sidecarNoiseLines,
  type TimedLine,
} from '../emulator/log-lines';

const IMAGE = 'myacr.azurecr.io/team/app:1.4.2';
const START = Date.UTC(2026, 2, 14, 9, 30, 0);
const formats: LogFormat[] = ['classic', 'platform2024', 'windows'];
const outcomes: PullOutcome[] = [
  'succeeded',
  'succeededButStartFailed',
  'unauthorized',
  'notFound',
  'networkDenied',
  'interrupted',
];

/** What the classifier must read from one generated attempt. The 2024+ platform prints no registry detail. */
function expected(format: LogFormat, outcome: PullOutcome): { outcome: Outcome; cause?: PullFailureCause } {
  const failed = (cause: PullFailureCause) => ({
    outcome: 'pull_failed' as const,
    cause: format === 'platform2024' && cause !== 'interrupted' ? 'unknown' : cause,
  });
  switch (outcome) {
    case 'succeeded':
      return { outcome: 'container_started' };
    case 'succeededButStartFailed':
      return { outcome: 'container_start_failed' };
    case 'unauthorized':
      return failed('unauthorized');
    case 'notFound':
      return failed('not_found');
    case 'networkDenied':
      return failed('network');
    case 'interrupted':
      return failed('interrupted');
  }
}

const text = (lines: TimedLine[]) => lines.map((l) => l.text).join('\n');

function attempt(format: LogFormat, outcome: PullOutcome, startAt = START, siteName = 'myapp__staging') {
  return pullAttemptLines({ format, startAt, siteName, image: IMAGE, outcome, pullDurationMs: 4200 });
}

function check(result: Classification, want: { outcome: Outcome; cause?: PullFailureCause }, what: string) {
  assert.equal(result.outcome, want.outcome, `${what}: ${result.summary}`);
  assert.equal(result.cause, want.cause, `${what}: cause`);
}

describe('emulator log lines read back through the classifier', () => {
  for (const format of formats) {
    for (const outcome of outcomes) {
      const want = expected(format, outcome);
      it(`a ${format} attempt that ${outcome} reads as ${want.outcome}${want.cause ? ` (${want.cause})` : ''}`, () => {
        const lines = attempt(format, outcome);
        check(classifyLog(text(lines), { image: IMAGE }), want, 'with the image');
        check(classifyLog(text(lines)), want, 'without the image');
        const pulled = outcome === 'succeeded' || outcome === 'succeededButStartFailed';
        assert.equal(classifyLog(text(lines), { image: IMAGE }).imagePulled, pulled);
      });
    }

    it(`${format} lines carry their own timestamps, in time order, parsed back to the emulated time`, () => {
      for (const outcome of outcomes) {
        const lines = attempt(format, outcome);
        assert.ok(lines.length > 0);
        for (let i = 1; i < lines.length; i++) assert.ok(lines[i]!.at >= lines[i - 1]!.at);
        const parsed = classifyLog(text(lines), { image: IMAGE, since: START });
        assert.notEqual(parsed.outcome, 'nothing_relevant', `${outcome}: nothing judged after since`);
        const late = classifyLog(text(lines), { image: IMAGE, since: lines.at(-1)!.at + 1 });
        assert.equal(late.outcome, 'nothing_relevant', `${outcome}: every line is older than since`);
      }
    });

    it(`${format}: sidecar noise alone proves nothing, and mixed into a failure changes nothing`, () => {
      const noise = sidecarNoiseLines(format, START + 500, 'myapp');
      assert.equal(classifyLog(text(noise), { image: IMAGE }).outcome, 'nothing_relevant');
      for (const outcome of outcomes) {
        const mixed = [...attempt(format, outcome, START, 'myapp'), ...noise].sort((a, b) => a.at - b.at);
        check(classifyLog(text(mixed), { image: IMAGE }), expected(format, outcome), `${outcome} with noise`);
      }
    });

    it(`${format}: the last of several attempts decides`, () => {
      const first = attempt(format, 'unauthorized', START);
      const second = attempt(format, 'succeeded', START + 60_000);
      check(
        classifyLog(text([...first, ...second]), { image: IMAGE }),
        expected(format, 'succeeded'),
        'fail→ok',
      );
      const third = attempt(format, 'notFound', START + 120_000);
      check(
        classifyLog(text([...first, ...second, ...third]), { image: IMAGE }),
        expected(format, 'notFound'),
        'fail→ok→fail',
      );
    });

    it(`${format}: an interruption written after a cut-off pull reads as interrupted`, () => {
      const partial = attempt(format, 'succeeded').filter((l) => l.at < START + 1500);
      const interruption = pullAttemptLines({
        format,
        startAt: START + 1500,
        siteName: 'myapp',
        image: IMAGE,
        outcome: 'interrupted',
        pullDurationMs: 0,
      });
      check(
        classifyLog(text([...partial, ...interruption]), { image: IMAGE }),
        expected(format, 'interrupted'),
        'cut',
      );
    });
  }

  it('is deterministic', () => {
    assert.deepEqual(attempt('classic', 'succeeded'), attempt('classic', 'succeeded'));
  });
});
