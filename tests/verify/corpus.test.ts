/**
 * The classifier against the whole labelled corpus of real excerpts (tests/verify/data/container-logs*.jsonl, each
 * with its public source): every outcome right, causes right at least 95% of the time, every cause the classifier
 * names covered, and the misreads of issue #25 read as they should. Then the cost: entries are bounded and no
 * pattern backtracks without bound, so a megabyte entry costs what sixteen 64 KiB entries cost (a ratio measured
 * in one run, not a timed test), and the caller's deadline can stop the work between entries.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CAUSE_IN_WORDS,
  ClassifyStoppedError,
  classifyLog,
  explain,
  MAX_ENTRY_CHARS,
  parseLogLines,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/classify';

interface Sample {
  lines: string[];
  outcome: string;
  cause?: string;
  hint?: 'startTimeLimit' | 'crashed' | 'dockerHubDenied';
  source: string;
}

function load(file: string): Sample[] {
  return readFileSync(path.join(__dirname, 'data', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Sample);
}

const corpus = [...load('container-logs.jsonl'), ...load('container-logs-2.jsonl')];

describe('classify: the labelled corpus of real excerpts', () => {
  it('holds at least 60 excerpts, each with its public source', () => {
    assert.ok(corpus.length >= 60, `${corpus.length} samples`);
    for (const s of corpus) assert.ok(s.source.trim().length > 10, JSON.stringify(s.lines[0]));
  });

  it('covers every cause the classifier names', () => {
    const labelled = new Set(corpus.flatMap((s) => (s.cause ?? '').split('|')).filter(Boolean));
    for (const cause of Object.keys(CAUSE_IN_WORDS)) assert.ok(labelled.has(cause), `no sample for ${cause}`);
  });

  it('gets every outcome right and at least 95% of the causes', () => {
    const wrongOutcome: string[] = [];
    let causes = 0;
    let causesRight = 0;
    for (const s of corpus) {
      const c = classifyLog(s.lines);
      if (c.outcome !== s.outcome) wrongOutcome.push(`${s.source}: ${c.outcome} (${c.summary})`);
      if (s.cause) {
        causes++;
        if (s.cause.split('|').includes(c.cause ?? '')) causesRight++;
      }
    }
    assert.deepEqual(wrongOutcome, []);
    assert.ok(causesRight / causes >= 0.95, `causes right: ${causesRight} of ${causes}`);
  });

  for (const s of corpus.filter((x) => x.hint)) {
    it(`reads the ${s.hint} excerpt as it is meant — ${s.source.slice(0, 60)}`, () => {
      const c = classifyLog(s.lines);
      const { fix } = explain(c);
      if (s.hint === 'startTimeLimit') {
        assert.equal(c.startFailure, 'timeLimit');
        assert.match(fix ?? '', /WEBSITES_CONTAINER_START_TIME_LIMIT/);
      } else if (s.hint === 'crashed') {
        assert.equal(c.startFailure, 'crashed');
        assert.match(fix ?? '', /exited during start \(a crash, not a port problem\)/);
        assert.doesNotMatch(fix ?? '', /set the WEBSITES_PORT/);
      } else {
        assert.equal(c.dockerHubDenied, true);
        assert.equal(c.cause, 'unauthorized');
        assert.match(c.summary, /private/);
        assert.doesNotMatch(c.summary, /does not exist in the registry/);
        assert.match(fix ?? '', /DOCKER_REGISTRY_SERVER_USERNAME/);
      }
    });
  }
});

describe('classify: the 2024+ platform wordings', () => {
  const t = (s: number) => `2026-01-21T12:47:${String(s).padStart(2, '0')}.0000000Z`;
  const cases: { name: string; lines: string[]; outcome: string; cause?: string }[] = [
    {
      name: '"Failed to start site. Revert by stopping site." is a failed start',
      lines: [`${t(1)} Container is running.`, `${t(9)} Failed to start site. Revert by stopping site.`],
      outcome: 'container_start_failed',
    },
    {
      name: '"Site container: X terminated during site startup." is a failed start',
      lines: [
        `${t(1)} Container is running.`,
        `${t(9)} Site container: contoso-web terminated during site startup.`,
      ],
      outcome: 'container_start_failed',
    },
    {
      name: "the sidecar's own termination proves nothing",
      lines: [`${t(9)} Site container: contoso-web_managedIdentity terminated during site startup.`],
      outcome: 'nothing_relevant',
    },
    {
      // Built from the event's documented shape (microsoft/AzureTRE#924) with another reason.
      name: 'an EventName:SiteStartFailed event whose message is not about the pull is a failed start',
      lines: [
        'EventName:SiteStartFailed - Reason:ContainerStartFailure - Message:Container exited during startup - ContainerIDs: - AdditionalInfo: {}',
      ],
      outcome: 'container_start_failed',
    },
    {
      name: 'an EventName:SiteStartFailed event about the pull is a failed pull',
      lines: [
        'EventName:SiteStartFailed - Reason:Unknown - Message:Image pull failed since Inspect image returned null: contosoacr.azurecr.io/web:1.0 - ContainerIDs: - AdditionalInfo: {}',
      ],
      outcome: 'pull_failed',
      cause: 'unknown',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = classifyLog(c.lines);
      assert.equal(r.outcome, c.outcome, r.summary);
      if (c.cause) assert.equal(r.cause, c.cause);
    });
  }
});

describe('classify: linear time', () => {
  /** Entries built to make a backtracking pattern work hard: prefixes that start a match and never finish one. */
  const shapes: Record<string, (bytes: number) => string> = {
    'one long line of daemon request prefixes': (n) =>
      `2024-01-01T00:00:00.000Z ERROR - ${'Get "https://a.azurecr.io/v2/'.repeat(Math.ceil(n / 28))}`,
    'one long line of pull-failure prefixes': (n) =>
      `2024-01-01T00:00:00.000Z ERROR - ${'Pulling docker image x '.repeat(Math.ceil(n / 23))}`,
    'a headed line with a megabyte of continuation lines': (n) =>
      `20/01/2020 22:50:17.539 INFO - Site: x - Image: y\n${'Status: manifest for a not quite\n'.repeat(Math.ceil(n / 33))}`,
    'one line without spaces': (n) => `2024-01-01T00:00:00.000Z ERROR - manifest for ${'a'.repeat(n)}`,
  };

  function cost(text: string, times: number): number {
    const start = process.hrtime.bigint();
    for (let i = 0; i < times; i++) classifyLog(text);
    return Number(process.hrtime.bigint() - start) / 1e6;
  }

  for (const [name, make] of Object.entries(shapes)) {
    it(`${name}: 1 MiB costs about what sixteen 64 KiB entries cost`, () => {
      const small = make(64 * 1024);
      const large = make(1024 * 1024);
      cost(small, 2); // warm the regex engine
      const smallMs = cost(small, 16);
      const largeMs = cost(large, 1);
      // Linear: the ratio is about 1. Quadratic would be 16. Generous for a noisy shared machine.
      assert.ok(
        largeMs <= 6 * smallMs + 50,
        `1 MiB: ${largeMs.toFixed(1)} ms; 16 × 64 KiB: ${smallMs.toFixed(1)} ms`,
      );
    });
  }

  it('bounds the entry it classifies', () => {
    const [entry] = parseLogLines(shapes['one line without spaces']?.(1024 * 1024) ?? '');
    assert.ok(entry && entry.message.length <= MAX_ENTRY_CHARS + 3, `${entry?.message.length}`);
  });

  it('stops between entries when the caller’s deadline passes', () => {
    const text = Array.from(
      { length: 1000 },
      (_, i) => `2024-01-01T00:00:00.000Z INFO - Pull complete ${i}`,
    ).join('\n');
    let asked = 0;
    assert.throws(
      () =>
        classifyLog(text, {
          shouldStop: () => {
            asked++;
            return asked > 2;
          },
        }),
      ClassifyStoppedError,
    );
    assert.equal(asked, 3, 'asked every 64 entries, stopped at the first yes');
  });
});
