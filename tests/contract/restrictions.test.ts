/**
 * task.json restricts the variables the task may set to its declared outputs, so even a forged
 * `##vso[task.setvariable]` (or `task.prependpath`) that slipped through would be refused by the agent. Command
 * mode stays unrestricted: restricted mode blocks `task.uploadsummary`, which the summary needs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const taskJson = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'tasks', 'EnsureAcrManagedIdentityPullV1', 'task.json'), 'utf8'),
) as {
  outputVariables: { name: string }[];
  restrictions?: { commands?: { mode?: string }; settableVariables?: { allowed?: string[] } };
};

describe('task.json restrictions', () => {
  it('allows setting exactly the declared output variables', () => {
    const allowed = taskJson.restrictions?.settableVariables?.allowed;
    assert.ok(allowed, 'restrictions.settableVariables.allowed is declared');
    assert.deepEqual(
      [...allowed].sort(),
      taskJson.outputVariables.map((o) => o.name).sort(),
      'the allowed list is the outputs, nothing else (no PATH, no other variable)',
    );
  });

  it('leaves command mode unrestricted, so the run summary can be uploaded', () => {
    assert.notEqual(taskJson.restrictions?.commands?.mode, 'restricted');
  });
});
