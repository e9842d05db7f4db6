import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { BUNDLE, runTask } from '../harness/run-task';

describe('the built bundle', () => {
  it('is one file that fails, naming the missing inputs, when run with none', async () => {
    assert.ok(statSync(BUNDLE).isFile(), 'npm test builds dist/ before mocha');
    const run = await runTask({ agent: true, inputs: {} });
    assert.equal(run.exitCode, 0, 'the agent reads the result from ##vso[task.complete], not the exit code');
    assert.equal(run.result, 'Failed');
    assert.match(run.message, /Input 'azureSubscription' is ''/);
    assert.match(run.message, /Input 'appName' is ''/);
    assert.equal(run.stderr, '');
  });

  it('names a missing service connection instead of crashing', async () => {
    const run = await runTask({
      agent: true,
      inputs: { azureSubscription: 'no-such-connection', appName: 'contoso-web' },
    });
    assert.equal(run.result, 'Failed');
    assert.match(run.message, /no-such-connection/);
    assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at /, 'no stack trace');
  });
});
