/**
 * `explain-log --image` when it cannot ask the registry: it says so, and how to let it (issue #25: it used to ask
 * nothing in silence). The script runs as a user runs it; no emulator is needed, since nothing may be asked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const LOG = [
  '2025-06-06T09:51:04.8612056Z Pulling image: contosoacr.azurecr.io/web:1.0.0.',
  '2025-06-06T09:51:05.1000000Z Container pull image failed with reason: ImagePullFailure. Revert by terminate.',
].join('\n');

function explainLog(args: string[]): { status: number | null; stdout: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AZURE_')));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/explain-log.ts', ...args], {
    cwd: ROOT,
    env: { ...env, HTTPS_PROXY: 'http://127.0.0.1:9' }, // anything asked would fail loudly
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout };
}

describe('explain-log --image without a way to ask the registry', function () {
  this.timeout(90_000);
  let dir = '';
  let file = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'explain-log-'));
    file = path.join(dir, 'docker.log');
    writeFileSync(file, LOG);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases = [
    {
      name: 'an ACR image and no credential: says it did not ask, and how to let it',
      image: 'contosoacr.azurecr.io/web:1.0.0',
      says: /Registry not asked: no credential to ask contosoacr\.azurecr\.io with\. .*AZURE_CLIENT_ID.*--az/,
    },
    {
      name: 'an image on Docker Hub: says the check asks ACR only',
      image: 'contoso/web:1.0.0',
      says: /Registry not asked: docker\.io is not an Azure Container Registry/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = explainLog([file, '--image', c.image]);
      assert.equal(r.status, 0, r.stdout);
      assert.match(r.stdout, c.says);
      const json = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
        imageCheck?: { kind?: string };
      };
      assert.equal(json.imageCheck?.kind, 'notAsked');
    });
  }
});
