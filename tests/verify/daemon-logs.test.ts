import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { classifyLog, explain } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/classify';

interface Sample {
  lines: string[];
  outcome: string;
  cause?: string;
  image?: string;
  source: string;
  note: string;
}

// Daemon-only and registry-only lines, written from the documented formats (see data/README.md).
const samples: Sample[] = readFileSync(path.join(__dirname, 'data', 'daemon-logs.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Sample);

describe('classify: the container runtime and the registry speaking for themselves (no platform wrapper)', () => {
  it('has samples for every daemon form', () => {
    assert.ok(samples.length >= 15);
  });
  samples.forEach((sample, i) => {
    const label = sample.cause ? `${sample.outcome} (${sample.cause})` : sample.outcome;
    it(`daemon sample ${i + 1} is ${label}: ${sample.note}`, () => {
      const result = classifyLog(sample.lines, sample.image ? { image: sample.image } : {});
      assert.equal(result.outcome, sample.outcome, result.summary);
      assert.equal(result.cause, sample.cause, `cause ${result.cause}`);
      if (result.outcome !== 'nothing_relevant') assert.ok(result.evidence.length > 0, 'names its evidence');
    });
  });

  it('reads the image from the daemon request line, so a sidecar image proves nothing about the main one', () => {
    const line =
      'Head "https://contosoacr.azurecr.io/v2/web/manifests/sha256:abc": unauthorized: authentication required';
    assert.equal(classifyLog([line], { image: 'contosoacr.azurecr.io/web:1.0.0' }).outcome, 'pull_failed');
    assert.equal(
      classifyLog([line], { image: 'contosoacr.azurecr.io/api:1.0.0' }).outcome,
      'nothing_relevant',
    );
  });

  it('gives throttling its own fix (it heals; not a role problem)', () => {
    const result = classifyLog(['toomanyrequests: too many requests']);
    assert.match(explain(result).fix ?? '', /throttled.*restart the app in a few minutes/);
  });

  it('does not read platform lines that merely mention access as failures', () => {
    for (const line of [
      '2024-01-01T10:00:00.000Z INFO  - Site: app - Image: contosoacr.azurecr.io/web:1.0.0',
      '2024-01-01T10:00:01.000Z INFO  - Container app_0_1a2b3c4d for site app initialized successfully and is ready to serve requests.',
    ])
      assert.notEqual(classifyLog([line]).outcome, 'pull_failed', line);
  });
});
