/**
 * The task uses the agent's proxy settings only (Agent.ProxyUrl and its bypass list, through task-lib), never the
 * shell's HTTPS_PROXY / HTTP_PROXY / NO_PROXY: the Marketplace page says so (issue #29 item 13), and this holds it.
 * A dead proxy in those variables changes nothing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadScenario, startEmulator } from '../emulator/index';
import { runScenario } from '../harness/scenario-runs';

describe('proxy settings: the agent’s, not HTTPS_PROXY / NO_PROXY', function () {
  this.timeout(120_000);

  it('a dead proxy in HTTPS_PROXY, HTTP_PROXY and NO_PROXY=* changes nothing: the agent proxy carries the run', async () => {
    const scenario = loadScenario(join(__dirname, '..', 'emulator', 'scenarios', 'default.json'));
    const emulator = await startEmulator({ scenario, timeScale: 30 });
    try {
      const dead = 'http://127.0.0.1:9';
      const [r] = await runScenario(emulator, scenario, {
        overrides: { verifyPull: 'false' },
        env: {
          HTTPS_PROXY: dead,
          https_proxy: dead,
          HTTP_PROXY: dead,
          http_proxy: dead,
          NO_PROXY: '*',
          no_proxy: '*',
        },
      });
      assert.ok(r);
      assert.equal(r.task.result, 'Succeeded', r.task.message);
      // The registry's data plane (the image check) is reached only through the agent's proxy here.
      assert.match(r.task.stdout, /Image check: .* exists/);
    } finally {
      await emulator.close();
    }
  });
});
