/**
 * task-lib's own test harness (MockTestRunner), offline: `nodePath` is this Node, so it never downloads one.
 * MockTestRunner runs the child synchronously, so the emulator runs in its own process here (`npm run emulator`),
 * which also proves the emulator's command line: its first stdout line is the JSON the clients need.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { MockTestRunner } from 'azure-pipelines-task-lib/mock-test';
import type { EmulatorInfo } from '../emulator/index';
import { federatedConnection } from '../harness/connections';
import { agentEnvironment } from '../harness/run-task';
import { makeTempDir, removeTempDir, trackProcess } from '../harness/temp';

const root = join(__dirname, '..', '..');
const script = join(__dirname, 'fixtures', 'mock-run.ts');
const taskJson = join(root, 'tasks', 'EnsureAcrManagedIdentityPullV1', 'task.json');

async function runMocked(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<MockTestRunner> {
  const saved = { ...process.env };
  // The job's temp directory, as an agent gives one: without it the task writes its summary under the system
  // temp folder, where nothing would remove it.
  const temp = makeTempDir('agent-temp-');
  // The child is `node mock-run.ts`: tsx must reach it through NODE_OPTIONS.
  Object.assign(process.env, { AGENT_TEMPDIRECTORY: temp }, env, {
    NODE_OPTIONS: '--import tsx',
    MOCK_TASK_INPUTS: JSON.stringify(inputs),
  });
  try {
    const tr = new MockTestRunner(script, taskJson);
    tr.nodePath = process.execPath;
    await tr.runAsync();
    return tr;
  } finally {
    // MockTestRunner leaves ENDPOINT_* variables behind; restore the environment exactly.
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    removeTempDir(temp);
    if (env.AGENT_TEMPDIRECTORY) removeTempDir(env.AGENT_TEMPDIRECTORY);
  }
}

describe('the task under task-lib MockTestRunner (offline)', function () {
  this.timeout(60_000);

  it('fails with the input named when the app name is malformed', async () => {
    const tr = await runMocked({ azureSubscription: 'EP1', appName: 'bad_app!' });
    assert.ok(tr.failed, tr.stdout);
    assert.ok(tr.stdOutContained("Input 'appName' is 'bad_app!'"), tr.stdout);
  });

  describe('against the emulator started with `npm run emulator`', () => {
    let child: ChildProcess;
    let info: EmulatorInfo;
    before(async () => {
      child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(root, 'tests', 'emulator', 'cli.ts'),
          '--scenario',
          join(root, 'tests', 'emulator', 'scenarios', 'slots.json'),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      trackProcess(child);
      info = await new Promise<EmulatorInfo>((resolve, reject) => {
        let buffered = '';
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          buffered += chunk;
          const newline = buffered.indexOf('\n');
          if (newline >= 0) resolve(JSON.parse(buffered.slice(0, newline)) as EmulatorInfo);
        });
        child.on('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
      });
    });
    after(() => {
      child.kill('SIGTERM');
    });

    it('prints one JSON line with everything a client needs', () => {
      for (const key of [
        'armUrl',
        'authorityUrl',
        'tenantId',
        'subscriptionId',
        'clientId',
        'clientSecret',
        'caCertPath',
        'controlUrl',
      ] as const) {
        assert.ok(info[key], key);
      }
    });

    it('plans the slots from agent-style variables and changes nothing on a dry run', async () => {
      const { connection, job } = federatedConnection(info);
      const inputs = { azureSubscription: connection.id, appName: 'contoso-web', dryRun: 'true' };
      const env = agentEnvironment({ inputs: {}, connection, job, caCertPath: info.caCertPath });
      const tr = await runMocked(inputs, env);
      assert.ok(tr.succeeded, tr.stdout + tr.stderr);
      assert.ok(tr.stdOutContained('Dry run:'), tr.stdout);
      assert.ok(
        tr.stdOutContained('##vso[task.setvariable variable=changeCount;isOutput=true;issecret=false;]0'),
      );
    });
  });
});
