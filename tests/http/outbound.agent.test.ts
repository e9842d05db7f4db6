/**
 * The transport, end to end through the BUILT task against the emulator: the agent's proxy (every request through
 * it, the bypass list, its credentials), the agent's CA file, no credential for a foreign host on any of the
 * three paths a response could name one (nextLink, polling Location, SCM host), a gzip bomb at the warm-up, and a
 * server that asks the task to wait for an hour.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createServerCertificate } from '../emulator/certs';
import type { Emulator } from '../emulator/index';
import { startProxy, type TestProxy } from '../emulator/proxy';
import { emulatorCredential, rawRequest } from '../emulator/sdk-client';
import { federatedConnection, pipelineJob, secretConnection } from '../harness/connections';
import { runTask, type TaskRun } from '../harness/run-task';
import { makeTempDir, removeTempDir } from '../harness/temp';
import { useEmulator } from '../harness/use-emulator';

const DEFAULT_SCENARIO = join(__dirname, '..', 'emulator', 'scenarios', 'default.json');

/** A server on `localhost` (another host than the emulator's 127.0.0.1) that records whatever reaches it. */
interface Hostile {
  readonly host: string;
  readonly caPem: string;
  readonly seen: { url: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

async function startHostile(): Promise<Hostile> {
  const cert = await createServerCertificate();
  const seen: Hostile['seen'] = [];
  const server: Server = createServer(
    { cert: cert.certPem, key: cert.keyPem },
    (req: IncomingMessage, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"value":[]}');
    },
  );
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `localhost:${port}`,
    caPem: cert.caPem,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('transport: proxy, CA, outbound guard and bounds (built bundle)', function () {
  this.timeout(120_000);
  let emulator: Emulator;
  let proxy: TestProxy | undefined;
  let hostile: Hostile | undefined;
  let dir: string;

  // Registered before useEmulator's hook (mocha runs hooks in order): proxies close before the emulator.
  afterEach(async () => {
    await proxy?.close();
    await hostile?.close();
    proxy = undefined;
    hostile = undefined;
    // Each test's CA files and probes go with it: the suite leaves its temporary folder as it found it.
    removeTempDir(dir);
  });
  const start = useEmulator({ timeScale: 30 });
  beforeEach(async () => {
    emulator = await start(DEFAULT_SCENARIO);
    dir = makeTempDir('transport-test-');
  });

  /** The CA file the agent hands over (Agent.CAInfo): the emulator's CA, plus the hostile server's when given. */
  function caFile(extra: string[] = []): string {
    const path = join(dir, 'ca.pem');
    writeFileSync(path, [readFileSync(emulator.info.caCertPath, 'utf8'), ...extra].join('\n'));
    return path;
  }

  function run(inputs: Record<string, string>, env: Record<string, string>): Promise<TaskRun> {
    const { connection, job } = federatedConnection(emulator.info);
    return runTask({
      inputs: {
        azureSubscription: connection.id,
        appName: 'contoso-web',
        pollIntervalSeconds: '0.5',
        timeoutMinutes: '1',
        ...inputs,
      },
      connection,
      job,
      // No NODE_EXTRA_CA_CERTS: the emulator is trusted only through the agent's CA file.
      env,
    });
  }

  function appPorts(): { site: string[]; scm: string[] } {
    const apps = emulator.state.apps.filter((a) => a.siteName === 'contoso-web');
    return {
      site: apps.map((a) => `127.0.0.1:${a.sitePort}`),
      scm: apps.map((a) => `127.0.0.1:${a.scmPort}`),
    };
  }

  it('sends every request through the agent proxy with its credentials, trusting the agent CA file, and succeeds', async () => {
    const emulatorPort = Number(new URL(emulator.info.armUrl).port);
    proxy = await startProxy({
      credentials: { username: 'build', password: 'pr0xy-Secret!' },
      // The registry's login server (the pre-flight image check) is tunnelled to the emulator's data plane.
      route: (host, port) =>
        /\.azurecr\.io$/i.test(host) && port === 443 ? { host: '127.0.0.1', port: emulatorPort } : undefined,
    });
    const result = await run(
      {},
      {
        AGENT_PROXYURL: proxy.url,
        AGENT_PROXYUSERNAME: 'build',
        SECRET_AGENT_PROXYPASSWORD: 'pr0xy-Secret!',
        AGENT_CAINFO: caFile(),
        // task-lib prints Agent.ProxyPassword in a debug line while it loads: the task's mask must hide it.
        SYSTEM_DEBUG: 'true',
      },
    );
    assert.equal(result.result, 'Succeeded', result.message + result.stderr);
    const main = new URL(emulator.info.armUrl).host;
    const { site, scm } = appPorts();
    const targets = proxy.targets();
    const registry = `${emulator.state.registries[0]?.loginServer}:443`;
    // ARM, Entra and OIDC (one listener), the registry, every site warm-up and every Kudu host went through the
    // proxy ...
    for (const host of [main, registry, ...site, ...scm])
      assert.ok(targets.includes(host), `${host} via the proxy: ${targets}`);
    // ... and nothing else did, always with credentials.
    assert.deepEqual(
      targets.filter((t) => ![main, registry, ...site, ...scm].includes(t)),
      [],
    );
    assert.ok(proxy.log().every((r) => r.proxyAuthGiven && r.status === 200));
    // The agent knows Agent.ProxyPassword as a secret and masks it; the task registers it too before using it.
    assert.ok(result.secrets.includes('pr0xy-Secret!'), 'the proxy password is registered as a secret');
    const leaks = `${result.stdout}\n${result.stderr}`
      .split('\n')
      .filter((l) => l.includes('pr0xy-Secret!') && !l.startsWith('##vso[task.setsecret]'));
    assert.deepEqual(leaks, [], 'the proxy password on stdout, even with system.debug=true');
  });

  it('goes around the proxy for hosts on the agent bypass list, and only for them', async () => {
    proxy = await startProxy();
    const { scm } = appPorts();
    const bypass = scm.map((h) => h.replace(/\./g, '\\.'));
    const result = await run(
      {},
      { AGENT_PROXYURL: proxy.url, AGENT_PROXYBYPASSLIST: JSON.stringify(bypass), AGENT_CAINFO: caFile() },
    );
    assert.equal(result.result, 'Succeeded', result.message + result.stderr);
    const targets = proxy.targets();
    assert.ok(targets.includes(new URL(emulator.info.armUrl).host));
    for (const host of scm) assert.ok(!targets.includes(host), `${host} bypassed the proxy`);
    assert.ok(
      emulator.requests().some((r) => r.host === 'kudu'),
      'Kudu was still read (directly)',
    );
  });

  it('fails without touching Azure when the proxy refuses its credentials (nothing goes around it)', async () => {
    proxy = await startProxy({ credentials: { username: 'build', password: 'right' } });
    const result = await run(
      {},
      {
        AGENT_PROXYURL: proxy.url,
        AGENT_PROXYUSERNAME: 'build',
        SECRET_AGENT_PROXYPASSWORD: 'wrong',
        AGENT_CAINFO: caFile(),
      },
    );
    assert.equal(result.result, 'Failed');
    assert.equal(emulator.requests().length, 0, 'no request reached the emulator');
    assert.ok(proxy.log().length > 0 && proxy.log().every((r) => r.status === 407));
  });

  it('signs in through the proxy too (a client-secret connection: Entra is the first host)', async () => {
    proxy = await startProxy({ credentials: { username: 'build', password: 'right' } });
    const connection = secretConnection(emulator.info);
    const refused = await runTask({
      inputs: { azureSubscription: connection.id, appName: 'contoso-web', verifyPull: 'false' },
      connection,
      job: pipelineJob(emulator.info),
      env: {
        AGENT_PROXYURL: proxy.url,
        AGENT_PROXYUSERNAME: 'build',
        SECRET_AGENT_PROXYPASSWORD: 'wrong',
        AGENT_CAINFO: caFile(),
      },
    });
    assert.equal(refused.result, 'Failed');
    assert.equal(emulator.requests().length, 0, '@azure/identity did not go around the proxy');
    assert.ok(proxy.log().length > 0);
  });

  describe('no credential reaches a host that a response names', () => {
    it('refuses a nextLink that starts with a backslash (scheme-relative to another host)', async () => {
      hostile = await startHostile();
      emulator.setFaults([
        {
          host: 'arm',
          method: 'GET',
          path: '/providers/microsoft.authorization/roleassignments',
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: { value: [], nextLink: `/\\${hostile.host}/steal?api-version=2022-04-01` },
        },
      ]);
      const result = await run({}, { AGENT_CAINFO: caFile([hostile.caPem]) });
      assert.deepEqual(hostile.seen, [], 'nothing reached the foreign host');
      assert.notEqual(result.result, 'Succeeded');
    });

    it('refuses a polling Location on another host while fetching publishing credentials', async () => {
      hostile = await startHostile();
      emulator.setFaults([
        // Kudu refuses every bearer token, so the task turns to the publishing credentials ...
        { host: 'kudu', status: 401, body: '' },
        // ... whose long-running POST points its poll at another host.
        {
          host: 'arm',
          method: 'POST',
          path: '/config/publishingcredentials/list',
          status: 202,
          headers: {
            location: `https://${hostile.host}/poll`,
            'azure-asyncoperation': `https://${hostile.host}/op`,
            'retry-after': '1',
          },
          body: '',
        },
      ]);
      const result = await run({ timeoutMinutes: '0.25' }, { AGENT_CAINFO: caFile([hostile.caPem]) });
      assert.deepEqual(hostile.seen, [], 'nothing reached the foreign host');
      assert.ok(result.result !== undefined);
    });

    it('derives the SCM host instead of taking hostNameSslStates: a hostile Repository entry gets nothing', async () => {
      // Configure first, so the second run only verifies (the site body below stays true).
      const first = await run({}, { AGENT_CAINFO: caFile() });
      assert.equal(first.result, 'Succeeded', first.message);
      hostile = await startHostile();
      const app = emulator.state.apps.find((a) => a.siteName === 'contoso-web' && !a.slot);
      assert.ok(app);
      const token = await emulatorCredential(emulator.info).getToken('https://management.azure.com/.default');
      const got = await rawRequest(
        emulator.info,
        `${emulator.info.armUrl.replace(/\/$/, '')}${app.id}?api-version=2024-11-01`,
        {
          headers: { authorization: `Bearer ${token?.token}` },
        },
      );
      const site = JSON.parse(got.body) as {
        properties: { hostNameSslStates: { name: string; hostType: string }[]; enabledHostNames: string[] };
      };
      for (const s of site.properties.hostNameSslStates)
        if (s.hostType === 'Repository') s.name = hostile.host;
      site.properties.enabledHostNames = site.properties.enabledHostNames.map((h) =>
        h.endsWith(`:${app.scmPort}`) ? hostile!.host : h,
      );
      emulator.setFaults([
        {
          host: 'arm',
          method: 'GET',
          pathRegex: '/sites/contoso-web\\?',
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: site,
        },
      ]);
      const second = await run({ restartPolicy: 'never' }, { AGENT_CAINFO: caFile([hostile.caPem]) });
      assert.deepEqual(hostile.seen, [], 'nothing reached the foreign host');
      assert.ok(second.result !== undefined);
    });
  });

  it('keeps peak memory under 200 MB when the warm-up answers with a gzip bomb', async () => {
    // 48 gzip members of 64 MiB of zeros: about 3 GiB once inflated, 3 MiB on the wire.
    const member = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 48 }, () => member));
    emulator.setFaults([
      {
        host: 'site',
        status: 200,
        headers: { 'content-type': 'text/html', 'content-encoding': 'gzip' },
        body: bomb,
      },
    ]);
    const preload = join(dir, 'rss.js');
    const out = join(dir, 'rss.txt');
    writeFileSync(
      preload,
      `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));`,
    );
    const result = await run({}, { AGENT_CAINFO: caFile(), NODE_OPTIONS: `--require ${preload}` });
    assert.equal(result.result, 'Succeeded', result.message + result.stderr);
    const peakMb = Number(readFileSync(out, 'utf8')) / 1024;
    assert.ok(
      emulator.requests().some((r) => r.host === 'site'),
      'the bomb was served',
    );
    assert.ok(peakMb < 200, `peak RSS ${peakMb.toFixed(0)} MB`);
  });

  it('ends within timeoutMinutes plus one request timeout when every log source asks it to wait an hour', async () => {
    const inAnHour = new Date(Date.now() + 3_600_000).toUTCString();
    emulator.setFaults([
      { host: 'kudu', status: 429, headers: { 'retry-after': '3600' }, body: '' },
      { host: 'arm', path: '/containerlogs', status: 503, headers: { 'retry-after': inAnHour }, body: '' },
    ]);
    const started = Date.now();
    const result = await run({ timeoutMinutes: '0.25' }, { AGENT_CAINFO: caFile() });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(result.result, 'Failed', result.message);
    // 15 s of verification, plus at most one Kudu request timeout (30 s), plus sign-in and configuration.
    assert.ok(seconds < 15 + 30, `the run took ${seconds.toFixed(1)} s`);
  });
});
