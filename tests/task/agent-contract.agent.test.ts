/**
 * The agent contract: what only a real process proves, kept small and run concurrently. The built bundle, started
 * the way the agent starts it (task-lib reading INPUT_*, ENDPOINT_*, SECRET_* and System.* from its environment),
 * once per connection scheme that signs in with a secret of its own (workload identity federation, client secret,
 * certificate), with system.debug=true and the agent's proxy settings (a password task-lib itself prints in a
 * debug line at start-up): every run succeeds, and raw stdout carries none of the secrets (secret-mask.ts masks
 * what task-lib prints before any task code runs). The managed-identity scheme, Node 24, signals, the agent's CA
 * file and the demo have agent-tier files of their own (`*.agent.test.ts`).
 */
import assert from 'node:assert/strict';
import { createTestCertificate } from '../auth/certificate';
import { baseScenario, type Emulator, startEmulator } from '../emulator/index';
import { federatedConnection, secretConnection } from '../harness/connections';
import { runTask, type TaskRun, type TaskRunOptions } from '../harness/run-task';

const PROXY_PASSWORD = 'agent-proxy-p4ssw0rd-9f3c';
const certificate = createTestCertificate('sc-agent-contract');

interface Contract {
  name: string;
  options: (emu: Emulator) => TaskRunOptions;
  /** Values that must not appear in stdout (besides what the emulator issued). */
  secrets: (emu: Emulator) => string[];
}

const inputs = (connectionId: string) => ({
  azureSubscription: connectionId,
  appName: 'contoso-web',
  resourceGroupName: 'rg-web',
  pollIntervalSeconds: '0.2',
  timeoutMinutes: '1',
});

const contracts: Contract[] = [
  {
    name: 'workload identity federation, behind the agent proxy with a password',
    options: (emu) => {
      const { connection, job } = federatedConnection(emu.info);
      return {
        agent: true,
        inputs: inputs(connection.id),
        connection,
        job,
        caCertPath: emu.info.caCertPath,
        debug: true,
        env: {
          AGENT_PROXYURL: emu.info.proxyUrl,
          AGENT_PROXYUSERNAME: 'build-agent',
          SECRET_AGENT_PROXYPASSWORD: PROXY_PASSWORD,
        },
      };
    },
    secrets: (emu) => [PROXY_PASSWORD, emu.info.jobAccessToken],
  },
  {
    name: 'a service principal with a client secret',
    options: (emu) => {
      const connection = secretConnection(emu.info);
      return {
        agent: true,
        inputs: inputs(connection.id),
        connection,
        caCertPath: emu.info.caCertPath,
        debug: true,
        env: { AGENT_PROXYURL: emu.info.proxyUrl },
      };
    },
    secrets: (emu) => [emu.info.clientSecret],
  },
  {
    name: 'a service principal with a certificate',
    options: (emu) => {
      const c = secretConnection(emu.info, 'c0ffee00-0000-4000-8000-0000000000c7');
      return {
        agent: true,
        inputs: inputs(c.id),
        connection: {
          ...c,
          auth: {
            serviceprincipalid: emu.info.clientId,
            tenantid: emu.info.tenantId,
            authenticationType: 'spnCertificate',
            servicePrincipalCertificate: certificate.combinedPem,
          },
        },
        caCertPath: emu.info.caCertPath,
        debug: true,
        env: { AGENT_PROXYURL: emu.info.proxyUrl },
      };
    },
    secrets: () =>
      certificate.keyPem
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length >= 8 && !l.startsWith('-----')),
  },
];

describe('the agent contract (built bundle, real processes, run side by side)', function () {
  this.timeout(180_000);
  const outcomes = new Map<string, Promise<{ run: TaskRun; emu: Emulator }>>();
  const emulators: Emulator[] = [];

  before(() => {
    for (const c of contracts) {
      const p = (async () => {
        const emu = await startEmulator({
          scenario: {
            ...baseScenario({ slots: ['staging'] }),
            caller: { certificatesPem: [certificate.certificatePem] },
          },
          timeScale: 30,
        });
        emulators.push(emu);
        return { run: await runTask(c.options(emu)), emu };
      })();
      p.catch(() => {}); // reported by the case's own `it`
      outcomes.set(c.name, p);
    }
  });
  after(async () => {
    await Promise.all(emulators.map((e) => e.close()));
  });

  for (const c of contracts) {
    it(`${c.name}: Succeeded, and raw stdout holds no secret`, async () => {
      const { run, emu } = await (outcomes.get(c.name) as Promise<{ run: TaskRun; emu: Emulator }>);
      assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stderr}`);
      assert.equal(run.exitCode, 0);
      assert.equal(run.outputs.verificationOutcome, 'verified');
      assert.match(run.stdout, /##vso\[task\.debug\]/, 'task-lib read system.debug from the environment');
      const raw = run.stdout
        .split(/\r?\n/)
        .filter((l) => !l.startsWith('##vso[task.setsecret]'))
        .join('\n');
      const secrets = [...c.secrets(emu), ...emu.issuedSecrets()].filter((s) => s.length >= 8);
      for (const s of secrets)
        assert.ok(!raw.includes(s), `stdout holds a secret starting ${s.slice(0, 4)}…`);
      assert.ok(!run.stderr.includes(PROXY_PASSWORD));
    });
  }
});
