import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { baseScenario, type Emulator } from '../emulator/index';
import { startProxy, type TestProxy } from '../emulator/proxy';
import { useEmulator } from '../harness/use-emulator';

const root = path.resolve(__dirname, '../..');

/** A 2024+ platform log: the pull failed, and it does not say why. */
const causeLess = [
  '2025-06-06T09:51:04.8612056Z Establishing network.',
  '2025-06-06T09:51:05.1234567Z Pulling image: contosoacr.azurecr.io/web:IMAGE_TAG',
  '2025-06-06T09:51:06.7654321Z Container pull image failed with reason: ImagePullFailure.',
].join('\n');

function explainLog(
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tsx', 'scripts/explain-log.ts', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('explain-log asks the registry when a credential is at hand', function () {
  this.timeout(60_000);
  let emulator: Emulator;
  let proxy: TestProxy;
  let dir: string;
  // Registered before useEmulator's hook (mocha runs hooks in order): the proxy closes before the emulator.
  after(async () => {
    await proxy.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = useEmulator({ per: 'suite' });
  before(async () => {
    emulator = await start(baseScenario({ registryTags: ['1.0.0', '2.0.1'] }));
    const port = Number(new URL(emulator.info.armUrl).port);
    proxy = await startProxy({
      route: (host, p) =>
        /\.azurecr\.io$/i.test(host) && p === 443 ? { host: '127.0.0.1', port } : undefined,
    });
    dir = mkdtempSync(path.join(tmpdir(), 'explain-registry-'));
  });

  const env = () => ({
    AZURE_TENANT_ID: emulator.info.tenantId,
    AZURE_CLIENT_ID: emulator.info.clientId,
    AZURE_CLIENT_SECRET: emulator.info.clientSecret,
    AZURE_AUTHORITY_HOST: emulator.info.authorityUrl,
    NODE_EXTRA_CA_CERTS: emulator.info.caCertPath,
    HTTPS_PROXY: proxy.url,
  });

  it('turns a cause-less failure into "the tag does not exist", with the nearest tags', async () => {
    const file = path.join(dir, 'missing.log');
    writeFileSync(file, causeLess.replace('IMAGE_TAG', '2.0.0'));
    const r = await explainLog([file, '--image', 'contosoacr.azurecr.io/web:2.0.0'], env());
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout.trimEnd().split('\n').at(-1) ?? '{}');
    assert.equal(json.outcome, 'pull_failed');
    assert.equal(json.imageCheck?.kind, 'missing');
    assert.match(r.stdout, /web:2\.0\.0 \(image\) does NOT exist: repository 'web' has no tag '2\.0\.0'/);
    assert.match(
      r.stdout,
      /Fix: .*\(1\) tag: the registry says contosoacr\.azurecr\.io\/web:2\.0\.0 does not exist/,
    );
  });

  it('with the tag confirmed, ranks the other causes and says the tag exists', async () => {
    const file = path.join(dir, 'exists.log');
    writeFileSync(file, causeLess.replace('IMAGE_TAG', '1.0.0'));
    const r = await explainLog([file, '--image', 'contosoacr.azurecr.io/web:1.0.0'], env());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /web:1\.0\.0 \(image\) exists/);
    assert.match(
      r.stdout,
      /Fix: .*\(1\) propagation: .*\(2\) identity: contosoacr\.azurecr\.io\/web:1\.0\.0 exists/,
    );
    assert.doesNotMatch(r.stdout, /\) tag: /);
  });

  it('asks nothing without a credential', async () => {
    const file = path.join(dir, 'none.log');
    writeFileSync(file, causeLess.replace('IMAGE_TAG', '1.0.0'));
    const before = emulator.requests().length;
    const r = await explainLog([file, '--image', 'contosoacr.azurecr.io/web:1.0.0'], {
      HTTPS_PROXY: proxy.url,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(emulator.requests().length, before);
    assert.doesNotMatch(r.stdout, /Image check/);
  });
});
