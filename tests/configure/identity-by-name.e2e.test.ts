/**
 * A user-assigned identity given by its name (issue #29 item 7): the task looks it up in the connection's
 * subscription and uses it when exactly one identity has that name; none or several is IdentityNotFound with the
 * command (or the IDs) that settle it, before any write.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadScenario, type Scenario, startEmulator } from '../emulator/index';
import { runScenario } from '../harness/scenario-runs';

const SCENARIO = join(__dirname, '..', 'emulator', 'scenarios', 'user-assigned.json');

async function runWith(name: string, change: (s: Scenario) => Scenario = (s) => s) {
  const scenario = change(loadScenario(SCENARIO));
  const emulator = await startEmulator({ scenario, timeScale: 30 });
  try {
    const [r] = await runScenario(emulator, scenario, {
      overrides: { userAssignedIdentityId: name, verifyPull: 'false' },
    });
    assert.ok(r);
    const attached = emulator.state.apps.map((a) => Object.keys(a.identity.userAssignedIdentities).join(','));
    return { r, attached };
  } finally {
    await emulator.close();
  }
}

describe('userAssignedIdentityId given by name', function () {
  this.timeout(120_000);

  it('resolves the one identity with that name and configures with it, saying which ID it used', async () => {
    const { r, attached } = await runWith('id-acr-pull');
    assert.equal(r.task.result, 'Succeeded', r.task.message);
    assert.match(
      r.task.stdout,
      /User-assigned identity 'id-acr-pull' is \/subscriptions\/[^/]+\/resourceGroups\/rg-identities\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/id-acr-pull/i,
    );
    for (const ids of attached)
      assert.match(
        ids,
        /rg-identities\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/id-acr-pull/i,
      );
  });

  it('refuses to guess between two identities of that name, listing both IDs, and writes nothing', async () => {
    const { r } = await runWith('id-acr-pull', (s) => ({
      ...s,
      identities: [...(s.identities ?? []), { name: 'id-acr-pull', resourceGroup: 'rg-web' }],
    }));
    assert.equal(r.task.result, 'Failed');
    assert.match(
      r.task.message,
      /^2 user-assigned identities are named 'id-acr-pull' .*\(IdentityNotFound\)$/m,
    );
    assert.match(
      r.task.message,
      /Fix: Put the resource ID of the one to use in userAssignedIdentityId, one of: .*rg-identities.*rg-web/,
    );
    assert.equal(r.writes, 0);
  });

  it('a name no identity has: IdentityNotFound with the az commands that print the ID', async () => {
    const { r } = await runWith('id-nope');
    assert.equal(r.task.result, 'Failed');
    assert.match(
      r.task.message,
      /No user-assigned identity named 'id-nope' is visible .*\(IdentityNotFound\)/,
    );
    assert.match(
      r.task.message,
      /az identity show --name id-nope --resource-group rg-web --query id --output tsv/,
    );
    assert.equal(r.writes, 0);
  });
});
