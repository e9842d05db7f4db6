/**
 * Every request body the task sends in the built-in scenarios, checked against its operation's request model at
 * the api-version it names (issue #28): no property the model does not define, none it marks read-only, every
 * required one, no null it does not allow, enum values from the enum. The models come from the SDK packages
 * generated for those versions (spec-models.ts); the bodies from the emulator's request log. Each scenario runs its
 * task runs with `verifyPull: false` (every write happens before verification, which only reads and restarts).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario, type RequestRecord, startEmulator } from '../emulator/index';
import { runScenario } from '../harness/scenario-runs';
import { sideBySide } from '../harness/side-by-side';
import { operationFor } from './operations';
import { authorization, check, modelsOf, requestModel, specOf, web } from './spec-models';

const SCENARIOS = join(__dirname, '..', 'emulator', 'scenarios');

async function bodyViolations(record: RequestRecord): Promise<string[]> {
  const op = operationFor(record.method, record.path);
  const where = `${record.method} ${record.path}?api-version=${record.apiVersion ?? ''}`;
  if (!op) return [`${where}: no spec operation known for this request`];
  if (op.apiVersion !== record.apiVersion)
    return [`${where}: sent at ${record.apiVersion}, the model is of ${op.apiVersion}`];
  const spec = await op.spec();
  const model = requestModel(spec);
  if (!model) return [`${where}: ${op.operationId} takes no body`];
  return check(record.body, model, modelsOf(spec), 'request', op.knownValues).map(
    (v) => `${where} (${op.operationId}): ${v.at} ${v.problem}${v.detail ? ` (${v.detail})` : ''}`,
  );
}

describe('the request bodies the task sends conform to the spec of their api-version', function () {
  this.timeout(120_000);

  describe('the checker', () => {
    const cases: [string, () => unknown, unknown, string[]][] = [
      [
        'a site PATCH with only the identity',
        () => web.webApps.update('rg', 'site', {}),
        { identity: { type: 'SystemAssigned' } },
        [],
      ],
      [
        'an identity type outside the enum',
        () => web.webApps.update('rg', 'site', {}),
        { identity: { type: 'Both' } },
        ['$.identity.type enum'],
      ],
      [
        'a read-only property (the principal) and an unknown one',
        () => web.webApps.update('rg', 'site', {}),
        { identity: { type: 'SystemAssigned', principalId: 'x' }, properties: { colour: 'red' } },
        ['$.identity.principalId read-only', '$.properties.colour unknown'],
      ],
      [
        'a null where the model allows none',
        () => web.webApps.createOrUpdateSiteContainer('rg', 'site', 'c', { image: 'x' }),
        { properties: { image: 'x', startUpCommand: null } },
        ['$.properties.startUpCommand null'],
      ],
      [
        'a role assignment without its principal',
        () => authorization.roleAssignments.create('/s', 'n', { roleDefinitionId: 'r', principalId: 'p' }),
        { properties: { roleDefinitionId: '/r', principalType: 'ServicePrincipal' } },
        ['$.properties.principalId required'],
      ],
      [
        'a container auth type outside the enum',
        () => web.webApps.createOrUpdateSiteContainer('rg', 'site', 'c', { image: 'x' }),
        { properties: { image: 'x', isMain: true, authType: 'Password' } },
        ['$.properties.authType enum'],
      ],
    ];
    it('a principal type outside the extensible enum (its known values from the SDK)', async () => {
      const op = operationFor('PUT', '/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/n')!;
      const spec = await op.spec();
      const body = { properties: { roleDefinitionId: '/r', principalId: 'p', principalType: 'Robot' } };
      const found = check(body, requestModel(spec)!, modelsOf(spec), 'request', op.knownValues);
      assert.deepEqual(
        found.map((v) => `${v.at} ${v.problem}`),
        ['$.properties.principalType enum'],
      );
    });
    for (const [name, call, body, expected] of cases) {
      it(`${name}: ${expected.length ? expected.join(', ') : 'conforms'}`, async () => {
        const spec = await specOf(call);
        const found = check(body, requestModel(spec)!, modelsOf(spec), 'request').map(
          (v) => `${v.at} ${v.problem}`,
        );
        assert.deepEqual(found, expected);
      });
    }
  });

  const files = readdirSync(SCENARIOS)
    .filter((f) => f.endsWith('.json'))
    .sort();
  /** Every built-in scenario's runs, a few side by side (they wait on emulated time). */
  let results = new Map<string, Promise<{ writes: RequestRecord[]; all: RequestRecord[] }>>();
  before(() => {
    results = sideBySide(files, 3, async (file) => {
      const scenario = loadScenario(join(SCENARIOS, file));
      const emulator = await startEmulator({ scenario });
      try {
        await runScenario(emulator, scenario, {
          overrides: { verifyPull: 'false', pollIntervalSeconds: '0.5', timeoutMinutes: '1' },
        });
        const all = emulator.requests().filter((r) => r.host === 'arm');
        return { all, writes: all.filter((r) => r.body !== undefined) };
      } finally {
        await emulator.close();
      }
    });
  });

  async function story(file: string) {
    return results.get(file)!;
  }

  for (const file of files) {
    it(`${file}: every body conforms, and no path has an empty segment`, async () => {
      const { writes, all } = await story(file);
      const problems: string[] = [];
      for (const record of writes) problems.push(...(await bodyViolations(record)));
      for (const record of all) {
        const path = record.url.split('?')[0] ?? '';
        if (path.includes('//')) problems.push(`${record.method} ${path}: an empty path segment`);
      }
      assert.deepEqual(problems, []);
    });
  }

  it('the built-in scenarios send a body for each kind of write the task makes', async () => {
    const kinds = new Set<string>();
    for (const file of files)
      for (const r of (await story(file)).writes)
        kinds.add(operationFor(r.method, r.path)?.operationId ?? '?');
    for (const id of [
      'WebApps_Update',
      'WebApps_UpdateConfiguration',
      'WebApps_UpdateApplicationSettings',
      'WebApps_CreateOrUpdateSiteContainer',
      'RoleAssignments_Create',
    ])
      assert.ok(kinds.has(id), `${id} among ${[...kinds].join(', ')}`);
  });
});
