import assert from 'node:assert/strict';
import type { Clock } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/context';
import { classifyLog } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/classify';
import {
  decide,
  type FollowOptions,
  follow,
  initialFollowState,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/follow';
import type {
  LogSnapshot,
  LogSource,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/log-source';
import { type PullOutcome, pullAttemptLines } from '../emulator/log-lines';

const IMAGE = 'myacr.azurecr.io/app:2.0';
const T0 = Date.UTC(2026, 4, 1, 8, 0, 0);

/** A clock that jumps instead of waiting, and rejects sleeps once the signal aborts. */
function fakeClock(): Clock & { sleeps: number[] } {
  let t = T0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    async sleep(ms, signal) {
      if (signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      sleeps.push(ms);
      t += ms;
    },
    timeout: () => ({ signal: new AbortController().signal, clear() {} }),
  };
}

/**
 * A scripted platform: each restart starts an attempt one second later whose outcome `outcomeAt(restartTime)`
 * decides; the log source returns every line written up to "now", in the classic format.
 */
function scriptedPlatform(clock: Clock, outcomeAt: (at: number, attempt: number) => PullOutcome) {
  const lines: { at: number; text: string }[] = [];
  const restarts: number[] = [];
  let rateLimitedReads = 0;
  const source: LogSource = {
    async read(): Promise<LogSnapshot> {
      if (rateLimitedReads > 0) {
        rateLimitedReads--;
        return { files: [], source: 'kudu', rateLimited: true };
      }
      const text = lines
        .filter((l) => l.at <= clock.now())
        .map((l) => l.text)
        .join('\n');
      return { files: [{ name: 'x_docker.log', text }], source: 'kudu', rateLimited: false };
    },
  };
  return {
    restarts,
    lines,
    rateLimitNextReads(n: number) {
      rateLimitedReads = n;
    },
    source,
    async restart() {
      const at = clock.now();
      restarts.push(at);
      const outcome = outcomeAt(at, restarts.length);
      lines.push(
        ...pullAttemptLines({
          format: 'classic',
          startAt: at + 1000,
          siteName: 'app',
          image: IMAGE,
          outcome,
          pullDurationMs: 3000,
        }),
      );
      return at;
    },
  };
}

const options: FollowOptions = {
  label: 'production',
  image: IMAGE,
  until: 'containerStarted',
  timeoutInMs: 15 * 60_000,
  pollIntervalInMs: 10_000,
  restartNeeded: true,
};

function run(
  outcomeAt: (at: number, attempt: number) => PullOutcome,
  o: Partial<FollowOptions> = {},
  signal = new AbortController().signal,
) {
  const clock = fakeClock();
  const platform = scriptedPlatform(clock, outcomeAt);
  const messages: string[] = [];
  const promise = follow(
    {
      clock,
      signal,
      source: platform.source,
      restart: () => platform.restart(),
      serverNow: async () => clock.now(),
      warmUp: async () => {},
      info: (m) => messages.push(m),
    },
    { ...options, ...o },
  );
  return { clock, platform, messages, promise };
}

describe('decide', () => {
  const c = (lines: string[]) => classifyLog(lines, { image: IMAGE });
  const t = (s: number) => new Date(T0 + s * 1000).toISOString();
  const unauthorized = c([
    `${t(1)} INFO  - Pulling image: ${IMAGE}`,
    `${t(2)} ERROR - DockerApiException: Docker API responded with status code=InternalServerError, response={"message":"unauthorized: authentication required"}`,
  ]);

  it('waits through early unauthorized failures, then asks for a restart after six polls', () => {
    let state = initialFollowState;
    for (let poll = 1; poll < 6; poll++) {
      const d = decide(unauthorized, 'containerStarted', state);
      assert.equal(d.kind, 'wait');
      if (d.kind === 'wait') state = d.state;
    }
    const sixth = decide(unauthorized, 'containerStarted', state);
    assert.equal(sixth.kind, 'restart');
    assert.ok(sixth.kind === 'restart' && sixth.reason === 'propagation');
  });

  it('ignores a failure written before the restart it caused', () => {
    const d = decide(unauthorized, 'containerStarted', { ...initialFollowState, freshAfter: T0 + 5000 });
    assert.ok(d.kind === 'wait' && d.state.failingPolls === 0);
  });

  it('counts a pull as enough only when the settings say so', () => {
    const pulled = c([
      `${t(1)} INFO  - Pulling image: ${IMAGE}`,
      `${t(3)} INFO  - Pull Image successful, Time taken: 0 Minutes and 2 Seconds`,
    ]);
    assert.deepEqual(decide(pulled, 'imagePulled', initialFollowState), {
      kind: 'done',
      outcome: 'verified',
    });
    assert.equal(decide(pulled, 'containerStarted', initialFollowState).kind, 'wait');
  });
});

describe('follow (scripted platform, injected clock)', () => {
  it('verifies a pull that succeeds on the first attempt after one restart', async () => {
    const { promise } = run(() => 'succeeded');
    const r = await promise;
    assert.equal(r.outcome, 'verified');
    assert.equal(r.restarts, 1);
  });

  it('outlasts a role assignment that propagates after several failed pulls, restarting again', async () => {
    const propagatedAt = T0 + 3 * 60_000;
    const { promise, messages } = run((at) => (at < propagatedAt ? 'unauthorized' : 'succeeded'));
    const r = await promise;
    assert.equal(r.outcome, 'verified');
    assert.ok(r.restarts >= 2, `restarts ${r.restarts}`);
    assert.ok(messages.some((m) => /still propagating, so restarting again/.test(m)));
  });

  it('stops early on a missing tag', async () => {
    const { promise } = run(() => 'notFound');
    const r = await promise;
    assert.equal(r.outcome, 'pull_failed');
    assert.equal(r.last.cause, 'not_found');
    assert.equal(r.restarts, 1);
    assert.ok(r.elapsedInMs <= 20_000);
  });

  it('stops early on a firewall denial', async () => {
    const r = await run(() => 'networkDenied').promise;
    assert.equal(r.outcome, 'pull_failed');
    assert.equal(r.last.cause, 'network');
  });

  it('restarts once more after an interrupted pull', async () => {
    const r = await run((_at, attempt) => (attempt === 1 ? 'interrupted' : 'succeeded')).promise;
    assert.equal(r.outcome, 'verified');
    assert.equal(r.restarts, 2);
  });

  it('reports a container that crashes after a good pull as a start failure', async () => {
    const r = await run(() => 'succeededButStartFailed').promise;
    assert.equal(r.outcome, 'start_failed');
    assert.equal(r.last.imagePulled, true);
  });

  it('times out with the last failure it saw when the grant never applies', async () => {
    const r = await run(() => 'unauthorized', { timeoutInMs: 5 * 60_000 }).promise;
    assert.equal(r.outcome, 'timed_out');
    assert.equal(r.last.cause, 'unauthorized');
    assert.ok(r.last.evidence.length > 0);
    assert.ok(r.elapsedInMs <= 5 * 60_000);
  });

  it('backs off at least five seconds after Kudu answers 406', async () => {
    const { promise, clock, platform } = run(() => 'succeeded', { pollIntervalInMs: 1000 });
    platform.rateLimitNextReads(1);
    await promise;
    assert.ok((clock.sleeps[1] ?? 0) >= 5000, `second wait ${clock.sleeps[1]}`);
  });

  /** Follows (no restart of its own) a site the platform restarted after a config write. */
  async function followAfterPlatformRestart(o: Partial<FollowOptions> = {}) {
    const clock = fakeClock();
    const platform = scriptedPlatform(clock, () => 'succeeded');
    await platform.restart(); // the platform's own restart after the config write
    const r = await follow(
      {
        clock,
        signal: new AbortController().signal,
        source: platform.source,
        restart: () => platform.restart(),
        serverNow: async () => clock.now(),
        warmUp: async () => {},
        info: () => {},
      },
      { ...options, restartNeeded: false, ...o },
    );
    return { r, platform };
  }

  it('follows without restarting when a config write already restarted the site', async () => {
    const { r, platform } = await followAfterPlatformRestart();
    assert.equal(r.outcome, 'verified');
    assert.equal(r.restarts, 0);
    assert.equal(platform.restarts.length, 1);
  });

  it('restarts once when the start it follows never shows in the log (the write changed nothing)', async () => {
    // No platform restart after "the config write": another run had already made the change.
    const { promise, platform } = run(() => 'succeeded', { restartNeeded: false });
    const r = await promise;
    assert.equal(r.outcome, 'verified');
    assert.equal(r.restarts, 1);
    assert.equal(platform.restarts.length, 1);
  });

  it('a log it cannot read is not silence: no restart for it', async () => {
    const clock = fakeClock();
    const platform = scriptedPlatform(clock, () => 'succeeded');
    const r = await follow(
      {
        clock,
        signal: new AbortController().signal,
        source: {
          read: async () => {
            throw new Error('Kudu answered 502');
          },
        },
        restart: () => platform.restart(),
        serverNow: async () => clock.now(),
        warmUp: async () => {},
        info: () => {},
      },
      { ...options, restartNeeded: false, timeoutInMs: 5 * 60_000 },
    );
    assert.equal(r.outcome, 'timed_out');
    assert.equal(platform.restarts.length, 0);
    assert.match(r.readError ?? '', /502/);
  });

  it('under restart: never, a start that never comes is waited for, not forced', async () => {
    const { promise, platform } = run(() => 'succeeded', {
      restartNeeded: false,
      mayRestart: false,
      timeoutInMs: 5 * 60_000,
    });
    const r = await promise;
    assert.equal(r.outcome, 'timed_out');
    assert.equal(platform.restarts.length, 0);
  });

  it('does not restart a followed start that shows in the log, however short the poll interval', async () => {
    const { r, platform } = await followAfterPlatformRestart({ pollIntervalInMs: 1000 });
    assert.equal(r.outcome, 'verified');
    assert.equal(platform.restarts.length, 1, 'only the platform restart');
  });

  it('returns cancelled when the signal aborts mid-poll', async () => {
    const controller = new AbortController();
    const { promise } = run(() => 'unauthorized', {}, controller.signal);
    controller.abort();
    const r = await promise;
    assert.equal(r.outcome, 'cancelled');
  });

  it('logs one line per poll naming the target and the next check', async () => {
    const { promise, messages } = run(() => 'succeeded');
    await promise;
    assert.ok(messages.length > 0);
    assert.ok(messages.every((m) => m.startsWith('production: ')));
    assert.match(messages[0] ?? '', /next check in 10 s/);
  });
});
