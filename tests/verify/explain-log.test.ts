import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

function explainLog(args: string[], input?: string) {
  const r = spawnSync('npx', ['tsx', 'scripts/explain-log.ts', ...args], {
    cwd: root,
    input,
    encoding: 'utf8',
    timeout: 30_000,
  });
  const lines = r.stdout.trimEnd().split('\n');
  const last = lines.at(-1) ?? '';
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    json: last.startsWith('{') ? JSON.parse(last) : undefined,
  };
}

const notFound = [
  '2020-02-27 20:26:50.967 INFO  - Pulling image: myacr.azurecr.io/app:113127',
  '2020-02-27 20:26:51.098 ERROR - DockerApiException: Docker API responded with status code=NotFound, response={"message":"manifest for myacr.azurecr.io/app:113127 not found: manifest unknown: manifest unknown"}',
  '2020-02-27 20:26:51.100 INFO  - Pulling image from Docker hub: myacr.azurecr.io/app:113127',
  '2020-02-27 20:26:51.124 ERROR - DockerApiException: Docker API responded with status code=InternalServerError, response={"message":"Get https://myacr.azurecr.io/v2/app/manifests/113127: unauthorized: authentication required"}',
].join('\n');

describe('npm run explain-log', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'explain-log-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('explains a log file with the fix, and ends with one JSON line naming outcome and cause', () => {
    const file = path.join(dir, 'docker.log');
    writeFileSync(file, notFound);
    const r = explainLog([file]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual([r.json.outcome, r.json.cause], ['pull_failed', 'not_found']);
    assert.match(r.stdout, /Fix: .*tag/);
  });

  it('reads stdin with - and honours --image', () => {
    const r = explainLog(['-', '--image', 'myacr.azurecr.io/app:other'], notFound);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json.outcome, 'nothing_relevant');
    assert.deepEqual(r.json.otherImages, ['myacr.azurecr.io/app:113127']);
  });

  it('never echoes a pipeline command from the log un-neutralised', () => {
    const hostile =
      '2025-01-01T10:00:00.000Z ERROR - DockerApiException: Docker API responded with status code=InternalServerError, response={"message":"unauthorized: authentication required ##vso[task.setvariable variable=x]pwned"}';
    const r = explainLog(['-'], hostile);
    assert.equal(r.json.cause, 'unauthorized');
    assert.doesNotMatch(r.stdout, /##vso\[/);
  });

  it('answers a usage error with exit code 2', () => {
    const r = explainLog([]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage/);
  });
});
