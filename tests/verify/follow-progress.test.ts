/**
 * Progress lines of the follow loop (issue #25): a line when what the log shows changes, and at most one a minute
 * while it stays the same; the decision lines (restarts, verdict inputs) are never dropped. Scripted log, fake
 * clock, no real time.
 */
import assert from 'node:assert/strict';
import type { Clock } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/context';
import { follow, PROGRESS_REPEAT_MS } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/follow';
import type { LogSource } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/log-source';
import { type PullOutcome, pullAttemptLines } from '../emulator/log-lines';

const IMAGE = 'myacr.azurecr.io/app:2.0';
const T0 = Date.UTC(2026, 4, 1, 8, 0, 0);

async function followFor(outcomeAt: (attempt: number) => PullOutcome, minutes: number) {
  let t = T0;
  const clock: Clock = {
    now: () => t,
    async sleep(ms) {
      t += ms;
    },
  };
  const lines: { at: number; text: string }[] = [];
  let restarts = 0;
  const source: LogSource = {
    async read() {
      const text = lines
        .filter((l) => l.at <= t)
        .map((l) => l.text)
        .join('\n');
      return { files: [{ name: '2026_05_01_lw1_docker.log', text }], source: 'kudu', rateLimited: false };
    },
  };
  const messages: { at: number; text: string }[] = [];
  const result = await follow(
    {
      clock,
      signal: new AbortController().signal,
      source,
      restart: async () => {
        restarts++;
        lines.push(
          ...pullAttemptLines({
            format: 'classic',
            startAt: t + 1000,
            siteName: 'app',
            image: IMAGE,
            outcome: outcomeAt(restarts),
            pullDurationMs: 3000,
          }),
        );
        return t;
      },
      serverNow: async () => t,
      warmUp: async () => {},
      info: (m) => messages.push({ at: t, text: m }),
    },
    {
      label: 'production',
      image: IMAGE,
      until: 'containerStarted',
      timeoutInMs: minutes * 60_000,
      pollIntervalInMs: 10_000,
      restartNeeded: true,
    },
  );
  return { result, messages };
}

describe('follow: progress lines', () => {
  it('a 15-minute unauthorized wait prints about one progress line a minute, not one per poll', async () => {
    const { result, messages } = await followFor(() => 'unauthorized', 15);
    assert.equal(result.outcome, 'timed_out');
    const progress = messages.filter((m) => /next check in/.test(m.text));
    // 90 polls; one line a minute plus one per change of what the log shows.
    assert.ok(progress.length <= 25, `${progress.length} progress lines`);
    assert.ok(progress.length >= 14, `${progress.length} progress lines`);
    // The same line never repeats within a minute.
    for (let i = 1; i < progress.length; i++) {
      const [a, b] = [progress[i - 1], progress[i]];
      if (a && b && a.text.replace(/\d+ s\.$/, '') === b.text.replace(/\d+ s\.$/, ''))
        assert.ok(b.at - a.at >= PROGRESS_REPEAT_MS, `repeated after ${(b.at - a.at) / 1000} s`);
    }
    // Decision lines stay: every extra restart is announced.
    assert.ok(messages.some((m) => /restarting again/.test(m.text)));
  });

  it('a change is printed at once', async () => {
    const { result, messages } = await followFor((n) => (n === 1 ? 'unauthorized' : 'succeeded'), 15);
    assert.equal(result.outcome, 'verified');
    const progress = messages.filter((m) => /next check in/.test(m.text)).map((m) => m.text);
    assert.ok(progress.some((m) => /pull failing \(unauthorized\)/.test(m)));
    assert.ok(progress.some((m) => /pulling or starting|waiting for the platform|image pulled/.test(m)));
  });
});
