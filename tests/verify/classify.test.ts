import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  classifyLines,
  classifyLog,
  explain,
  parseLogLines,
  sameImage,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/classify';

interface Sample {
  lines: string[];
  outcome: string;
  cause?: string;
  source: string;
}

// The project's labelled real samples (see data/README.md for the format and where each one comes from).
const samplesPath = path.join(__dirname, 'data', 'container-logs.jsonl');
const samples: Sample[] = readFileSync(samplesPath, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Sample);

describe('classify: every labelled real sample', () => {
  it('has samples to check', () => {
    assert.ok(samples.length >= 19);
  });
  samples.forEach((sample, i) => {
    const label = sample.cause ? `${sample.outcome} (${sample.cause})` : sample.outcome;
    it(`sample ${i + 1} is ${label} — ${sample.source.slice(0, 70)}`, () => {
      const result = classifyLog(sample.lines);
      assert.equal(result.outcome, sample.outcome, result.summary);
      if (sample.cause)
        assert.ok(sample.cause.split('|').includes(result.cause ?? ''), `cause ${result.cause}`);
      else assert.equal(result.cause, undefined);
      if (result.outcome !== 'nothing_relevant') assert.ok(result.evidence.length > 0, 'names its evidence');
    });
  });
});

describe('parseLogLines', () => {
  it('reads ISO timestamps with 3, 7 and 9 fractional digits as UTC', () => {
    const lines = parseLogLines(
      [
        '2023-09-28T12:27:30.909Z INFO  - Pull complete',
        '2025-06-06T09:51:04.8612056Z Establishing network.',
        '2023-03-15T10:25:32.956333434Z Migrations for app',
      ].join('\n'),
    );
    assert.deepEqual(
      lines.map((l) => l.at),
      [
        Date.UTC(2023, 8, 28, 12, 27, 30, 909),
        Date.UTC(2025, 5, 6, 9, 51, 4, 861),
        Date.UTC(2023, 2, 15, 10, 25, 32, 956),
      ],
    );
    assert.equal(lines[0]?.level, 'INFO');
    assert.equal(lines[0]?.message, 'Pull complete');
    assert.equal(lines[2]?.appOutput, true, 'nine fractional digits and no level is container output');
    assert.equal(lines[1]?.appOutput, false);
  });

  it('reads classic space-separated and Windows dd/MM/yyyy timestamps', () => {
    const [classic, windows] = parseLogLines([
      '2018-08-27 19:58:27.129 INFO  - Issuing docker pull x.azurecr.io/a:1',
      '20/01/2020 22:50:17.539 INFO - Site: uniun__441f - Image: x.azurecr.io/a:1',
    ]);
    assert.equal(classic?.at, Date.UTC(2018, 7, 27, 19, 58, 27, 129));
    assert.equal(windows?.at, Date.UTC(2020, 0, 20, 22, 50, 17, 539));
  });

  it('joins Windows continuation lines into one entry and ends it at a blank line', () => {
    const lines = parseLogLines([
      '20/01/2020 22:50:17.539 INFO - Site: a - Image: x.azurecr.io/a:1',
      'Custom Registry: https://x.azurecr.io',
      'Status: 937deba44b05 Downloading',
      '',
      'Status: orphan line',
    ]);
    assert.equal(lines.length, 2);
    assert.match(lines[0]?.message ?? '', /Custom Registry[\s\S]*Downloading/);
    assert.equal(lines[1]?.timestamped, false);
  });

  it('folds portal artefacts: a timestamp alone on a line, and Ok lines', () => {
    const lines = parseLogLines([
      '2023-10-10T16:39:30.123Z',
      'INFO  - Pull Image successful, Time taken: 0 Minutes and 3 Seconds',
      'Ok',
    ]);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.at, Date.UTC(2023, 9, 10, 16, 39, 30, 123));
    assert.equal(lines[0]?.message, 'Pull Image successful, Time taken: 0 Minutes and 3 Seconds');
  });

  it('names the container a line is about, even when the space before "for site" is missing', () => {
    const [a, b, c] = parseLogLines([
      '2023-03-15T10:25:36.340Z ERROR - Container app_0_66aec21cfor site app has exited, failing site start',
      '2026-01-21T12:43:18.4886328Z Starting container: e441855b391f_app.',
      '2023-11-16T11:17:33.812Z INFO - Container app_0_0d51af4d_msiProxy for site app initialized successfully and is ready to serve requests.',
    ]);
    assert.equal(a?.container, 'app_0_66aec21c');
    assert.equal(b?.container, 'e441855b391f_app');
    assert.equal(c?.container, 'app_0_0d51af4d_msiProxy');
  });
});

describe('sameImage', () => {
  it('compares repository and tag case-insensitively and ignores digests', () => {
    assert.ok(sameImage('MyAcr.azurecr.io/App:1.0', 'myacr.azurecr.io/app:1.0'));
    assert.ok(sameImage('myacr.azurecr.io/app@sha256:abc', 'myacr.azurecr.io/app:1.0'));
    assert.ok(sameImage('myacr.azurecr.io/app:1.0@sha256:abc', 'myacr.azurecr.io/app:1.0'));
    assert.ok(sameImage('myacr.azurecr.io/app', 'myacr.azurecr.io/app:latest'));
    assert.ok(sameImage('library/nginx:1', 'nginx:1'));
    assert.ok(!sameImage('myacr.azurecr.io/app:1.0', 'myacr.azurecr.io/app:1.1'));
    assert.ok(!sameImage('myacr.azurecr.io:5000/app', 'myacr.azurecr.io/app:5000'));
  });
});

const IMAGE = 'myacr.azurecr.io/app:2.0';
const t = (s: number) => `2025-01-01T10:00:${String(s).padStart(2, '0')}.000Z`;
const pullOk = (s: number, image = IMAGE) => [
  `${t(s)} INFO  - Pulling image: ${image}`,
  `${t(s)} INFO  -  Digest: sha256:${'a'.repeat(64)}`,
  `${t(s)} INFO  -  Status: Downloaded newer image for ${image}`,
  `${t(s)} INFO  - Pull Image successful, Time taken: 0 Minutes and 1 Seconds`,
  `${t(s)} INFO  - Starting container for site`,
  `${t(s + 1)} INFO  - Container app_0_1a2b3c4d for site app initialized successfully and is ready to serve requests.`,
];
const pullUnauthorized = (s: number) => [
  `${t(s)} INFO  - Pulling image: ${IMAGE}`,
  `${t(s)} ERROR - DockerApiException: Docker API responded with status code=InternalServerError, response={"message":"Get https://myacr.azurecr.io/v2/app/manifests/2.0: unauthorized: authentication required"}`,
  `${t(s)} WARN  - Image pull failed. Defaulting to local copy if present.`,
];

describe('classifyLines: edge cases', () => {
  it('lets a later success beat an earlier failure', () => {
    const r = classifyLog([...pullUnauthorized(1), ...pullOk(10)], { image: IMAGE });
    assert.equal(r.outcome, 'container_started');
    assert.equal(r.imagePulled, true);
    assert.equal(r.attempts, 2);
  });

  it('lets a later failure beat an earlier success', () => {
    const r = classifyLog([...pullOk(1), ...pullUnauthorized(10)], { image: IMAGE });
    assert.equal(r.outcome, 'pull_failed');
    assert.equal(r.cause, 'unauthorized');
  });

  it('ignores everything before `since`', () => {
    const r = classifyLog([...pullOk(1), ...pullUnauthorized(10)], { image: IMAGE, since: Date.parse(t(5)) });
    assert.equal(r.cause, 'unauthorized');
    const old = classifyLog([...pullUnauthorized(1), ...pullOk(10)], { since: Date.parse(t(30)) });
    assert.equal(old.outcome, 'nothing_relevant');
  });

  it('does not count the start of a local copy after a failed pull as success', () => {
    const r = classifyLog(
      [
        ...pullUnauthorized(1),
        `${t(2)} INFO  - Starting container for site`,
        `${t(3)} INFO  - Container app_0_1a2b3c4d for site app initialized successfully and is ready to serve requests.`,
      ],
      { image: IMAGE },
    );
    assert.equal(r.outcome, 'pull_failed');
    assert.equal(r.cause, 'unauthorized');
    assert.match(r.summary, /older local copy/);
  });

  it('does not count a start without any pull as a pull of the configured image', () => {
    const r = classifyLog(
      [
        `${t(2)} INFO  - Starting container for site`,
        `${t(3)} INFO  - Container app_0_1a2b3c4d for site app initialized successfully and is ready to serve requests.`,
      ],
      { image: IMAGE },
    );
    assert.equal(r.outcome, 'container_started');
    assert.equal(r.imagePulled, false);
  });

  it('treats a pull of another tag as proving nothing about the configured image', () => {
    const r = classifyLog(pullOk(1, 'myacr.azurecr.io/app:1.0'), { image: IMAGE });
    assert.notEqual(r.outcome, 'pull_succeeded');
    assert.equal(r.imagePulled, false);
    assert.deepEqual(r.otherImages, ['myacr.azurecr.io/app:1.0']);
    const noImage = classifyLog(pullOk(1, 'myacr.azurecr.io/app:1.0'));
    assert.equal(noImage.outcome, 'container_started');
  });

  it('ignores sidecar containers that start while the main container fails', () => {
    const r = classifyLog([
      `${t(1)} INFO - Container app_0_1a_msiProxy for site app initialized successfully and is ready to serve requests.`,
      `${t(2)} INFO - Container app_0_1a_middleware for site app initialized successfully and is ready to serve requests.`,
      `${t(3)} INFO - Container app_0_1a_kudu_f4a05571 for site app initialized successfully and is ready to serve requests.`,
    ]);
    assert.equal(r.outcome, 'nothing_relevant');
  });

  it('reads not_found when NotFound precedes the Docker Hub retry, whatever the order of causes after it', () => {
    const r = classifyLog([
      `${t(1)} INFO  - Pulling image: ${IMAGE}`,
      `${t(1)} ERROR - DockerApiException: Docker API responded with status code=NotFound, response={"message":"manifest for ${IMAGE} not found: manifest unknown: manifest unknown"}`,
      `${t(1)} INFO  - Pulling image from Docker hub: ${IMAGE}`,
      `${t(1)} ERROR - DockerApiException: Docker API responded with status code=InternalServerError, response={"message":"Get https://myacr.azurecr.io/v2/app/manifests/2.0: unauthorized: authentication required"}`,
    ]);
    assert.equal(r.outcome, 'pull_failed');
    assert.equal(r.cause, 'not_found');
  });

  it('infers the pull on the 2024+ platform from a container start after "Pulling image"', () => {
    const r = classifyLog(
      [
        '2025-06-06T09:51:04.8612056Z Establishing network.',
        `2025-06-06T09:51:04.8613412Z Pulling image: ${IMAGE}.`,
        '2025-06-06T09:51:09.1000000Z Starting container: e441855b391f_app.',
        '2025-06-06T09:51:09.2000000Z Container is running.',
        '2025-06-06T09:51:19.2000000Z Site startup probe succeeded after 10.1 seconds.',
        '2025-06-06T09:51:19.3000000Z Site started.',
      ],
      { image: IMAGE },
    );
    assert.equal(r.outcome, 'container_started');
    assert.equal(r.imagePulled, true);
  });

  it('classifies network causes', () => {
    for (const text of [
      'dial tcp 10.0.0.4:443: i/o timeout',
      'dial tcp: lookup myacr.azurecr.io: no such host',
      'context deadline exceeded',
    ]) {
      const r = classifyLog([
        `${t(1)} ERROR - DockerApiException: Docker API responded with status code=InternalServerError, response={"message":"Get https://myacr.azurecr.io/v2/: ${text}"}`,
      ]);
      assert.equal(r.cause, 'network', text);
    }
  });

  it('keeps a pull in progress until a verdict arrives', () => {
    const r = classifyLog([
      `${t(1)} INFO  - Pulling image: ${IMAGE}`,
      `${t(2)} INFO  - 3a9444c255ce Downloading 12MB / 40MB`,
    ]);
    assert.equal(r.outcome, 'in_progress');
  });

  it('never reads an "unauthorized" in container output as a pull failure', () => {
    const r = classifyLog([
      '2025-01-01T10:00:01.123456789Z GET /admin 401 Unauthorized authentication required',
    ]);
    assert.equal(r.outcome, 'nothing_relevant');
  });

  it('explains every pull failure cause with a concrete fix', () => {
    const fixes = {
      unauthorized: /AcrPull/,
      not_found: /tag/,
      network: /firewall|VNet/,
      interrupted: /restart/i,
      unknown: /tag/,
    } as const;
    for (const [cause, pattern] of Object.entries(fixes)) {
      const r = classifyLines([], {});
      const e = explain({ ...r, outcome: 'pull_failed', cause: cause as keyof typeof fixes });
      assert.match(e.fix ?? '', pattern, cause);
    }
    assert.match(
      explain({ ...classifyLines([]), outcome: 'container_start_failed' }).fix ?? '',
      /WEBSITES_PORT/,
    );
    assert.equal(explain(classifyLog(pullOk(1))).fix, undefined);
  });
});
