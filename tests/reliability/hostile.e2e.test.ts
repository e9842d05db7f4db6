/**
 * Hostile responses and hostile input, through the built bundle against the emulator (issue 17, bullets 2, 4, 5
 * and 6):
 * - remote text that tries to drive the agent (an image name, ARM and Kudu error texts, container log lines) never
 *   reaches stdout as a command: the WHOLE stdout and stderr are searched, and only the task's own command prefixes
 *   may carry `##vso[` / `##[`; the summary shows remote HTML and Markdown links as text;
 * - IDs that decide a write (the registry a grant is scoped to, the user-assigned identity, principal IDs, slot
 *   names) are checked against their type and the input before anything is written;
 * - a setting someone adds while the task runs survives the removal of the registry password settings;
 * - resource-ID inputs whose name segment is not a name (`%2e%2e`, `?api-version=...`, `#`) are refused before any
 *   request, naming the input, the value and the expected form;
 * - the job token read from a System.AccessToken variable never appears, even with system.debug=true.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseScenario, type Emulator, loadScenario } from '../emulator/index';
import { pullAttemptLines } from '../emulator/log-lines';
import { federatedConnection } from '../harness/connections';
import { runTask, type TaskRun, visibleLog } from '../harness/run-task';
import {
  APP,
  assertClean,
  assertFailed,
  assertSucceeded,
  type Case,
  describeRun,
  inputs,
  itConcurrently,
  RG,
  requestsTo,
  start,
  twoSlots,
  until,
} from './helpers';

const TASK_JSON = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'tasks', 'EnsureAcrManagedIdentityPullV1', 'task.json'), 'utf8'),
) as { outputVariables: { name: string }[] };
const OUTPUT_NAMES = TASK_JSON.outputVariables.map((o) => o.name);

/** Everything a hostile party would like the agent to obey, and the summary to render. */
const HOSTILE =
  '##vso[task.setvariable variable=pwned]yes ##[error]forged ##vso[task.prependpath]/tmp/evil ' +
  '<img src="https://evil.example/pixel.png"> <a href="https://evil.example/a">a</a> ' +
  '[click](https://evil.example/x) ![i](https://evil.example/i.png) `code` |cell|';

/** The task's own command prefixes; whatever follows them (and every other line) is text. */
const OWN_PREFIX = /^(?:##vso\[[a-z.]+(?:\s[^\]]*)?\]|##\[(?:group|endgroup)\])/i;

/** No line of stdout or stderr carries an agent command that the task did not write itself. */
function assertNoForgedCommands(r: TaskRun): void {
  const lines = `${r.stdout}\n${r.stderr}`.split(/\r?\n/);
  for (const line of lines) {
    const text = line.replace(OWN_PREFIX, '');
    assert.doesNotMatch(text, /##vso\[/i, `remote text carries an agent command: ${line.slice(0, 300)}`);
    assert.doesNotMatch(text, /##\[/, `remote text carries a ##[ command: ${line.slice(0, 300)}`);
  }
  assert.equal(r.outputs.pwned, undefined, 'no forged variable');
  assert.deepEqual(
    Object.keys(r.outputs).filter((k) => !OUTPUT_NAMES.includes(k)),
    [],
    'only the declared outputs were set',
  );
}

/** The hostile text did reach the output, neutralised: the test would see a forged command if there were one. */
function assertReadNeutralised(r: TaskRun): void {
  assert.match(
    `${r.stdout}\n${r.stderr}`,
    /# #vso\[task\.setvariable variable=pwned/,
    `the hostile text was printed, neutralised:\n${describeRun(r)}`,
  );
}

/** The summary shows remote HTML, links and images as text. */
function assertInertSummary(r: TaskRun, mustShowHostile: boolean): void {
  const s = r.summary ?? '';
  assert.doesNotMatch(s, /<(?:img|a|script)\b/i, `raw HTML in the summary:\n${s}`);
  assert.doesNotMatch(s, /(?<!\\)\]\(/, `a Markdown link or image in the summary:\n${s}`);
  assert.doesNotMatch(s, /https?:\/\/evil/, `a bare URL to link in the summary:\n${s}`);
  assert.doesNotMatch(s, /##vso\[|##\[/, 'no agent command in the summary');
  if (mustShowHostile) assert.match(s, /&lt;img/, `the remote text is shown as text:\n${s}`);
}

const hostileTextCase = (name: string, c: Omit<Case, 'name' | 'check'>, summaryShowsIt: boolean): Case => ({
  name,
  ...c,
  options: { debug: true },
  check: (r) => {
    assertClean(r);
    assertNoForgedCommands(r);
    assertReadNeutralised(r);
    assertInertSummary(r, summaryShowsIt);
  },
});

/** A failing pull attempt whose log lines carry the hostile text (served for every docker log Kudu lists). */
function hostileLog(emu: Emulator): string {
  return pullAttemptLines({
    format: 'classic',
    startAt: emu.now() + 1000,
    siteName: APP,
    image: 'contosoacr.azurecr.io/web:1.0.0',
    outcome: 'notFound',
    pullDurationMs: 3000,
  })
    .map((l) => (/ERROR/.test(l.text) ? `${l.text} ${HOSTILE}` : l.text))
    .concat([`##[error]${HOSTILE}`])
    .join('\n');
}

const outputGuard: Case[] = [
  hostileTextCase(
    'prints an image name (linuxFxVersion) that carries agent commands only as text',
    {
      scenario: twoSlots(),
      inputs: { timeoutMinutes: '0.1' },
      prepare: (emu) => {
        for (const a of emu.state.apps)
          a.siteConfig.linuxFxVersion = `DOCKER|contosoacr.azurecr.io/web:1.0.0${HOSTILE}`;
      },
    },
    false,
  ),
  hostileTextCase(
    'prints an ARM error message that carries agent commands, HTML and links only as text, in the log and the summary',
    {
      scenario: twoSlots(),
      prepare: (emu) =>
        emu.setFaults([
          {
            method: 'PATCH',
            path: '/config/web',
            status: 400,
            body: { error: { code: 'BadRequest', message: HOSTILE } },
          },
        ]),
    },
    true,
  ),
  hostileTextCase(
    'prints an error text from the log source (Kudu refused, ARM containerlogs failing) only as text',
    {
      scenario: twoSlots(),
      inputs: { timeoutMinutes: '0.1' },
      prepare: (emu) =>
        emu.setFaults([
          { host: 'kudu', status: 401, body: HOSTILE },
          {
            method: 'POST',
            path: '/containerlogs',
            status: 400,
            body: { error: { code: 'BadRequest', message: HOSTILE } },
          },
        ]),
    },
    false,
  ),
  hostileTextCase(
    'prints container log lines that carry agent commands only as text',
    {
      scenario: twoSlots(),
      timeScale: 10,
      inputs: { timeoutMinutes: '0.2' },
      // Served once every target's pull settings were written, stamped after that: the verifier reads them.
      during: async (emu) => {
        await until(() => requestsTo(emu, '/config/web', 'PATCH').length >= 3);
        emu.setFaults([
          { host: 'kudu', method: 'GET', path: '/api/vfs/logfiles/', status: 200, body: hostileLog(emu) },
        ]);
      },
    },
    false,
  ),
];

/** Nothing was written (observe failed before the plan) and the message says which value was not trusted. */
function assertRefusedBeforeWrite(r: TaskRun, emu: Emulator, names: RegExp): void {
  assertFailed(r, names);
  assert.match(r.message, /UntrustedResponse/, describeRun(r));
  assert.deepEqual(
    emu.writes().map((w) => `${w.method} ${w.path}`),
    [],
    'nothing written',
  );
  assert.equal(requestsTo(emu, 'roleAssignments/', 'PUT').length, 0, 'no grant anywhere');
}

const registryBody = (emu: Emulator, id: string) => {
  const real = emu.state.registries.find((r) => r.name === 'contosoacr');
  return {
    id,
    name: 'contosoacr',
    type: 'Microsoft.ContainerRegistry/registries',
    location: 'westeurope',
    sku: { name: 'Standard' },
    properties: { loginServer: real?.loginServer ?? 'contosoacr.azurecr.io', adminUserEnabled: false },
  };
};
const groupId = (emu: Emulator) => `/subscriptions/${emu.info.subscriptionId}/resourceGroups/${RG}`;
const registryId = (emu: Emulator) =>
  `${groupId(emu)}/providers/Microsoft.ContainerRegistry/registries/contosoacr`;

const userScenario = () => loadScenario(join(__dirname, '..', 'emulator', 'scenarios', 'user-assigned.json'));

const trustNothing: Case[] = [
  {
    name: 'grants nothing when the registry read by its ID answers with the resource group as its ID',
    scenario: twoSlots(),
    inputs: (emu) => ({ registry: registryId(emu) }),
    prepare: (emu) =>
      emu.setFaults([
        {
          method: 'GET',
          pathRegex: '/registries/contosoacr\\?',
          status: 200,
          body: registryBody(emu, groupId(emu)),
        },
      ]),
    check: (r, emu) => assertRefusedBeforeWrite(r, emu, /registry.*resourceGroups\/rg-web/i),
  },
  {
    name: 'grants nothing when the registry found by login server has the resource group as its ID',
    scenario: twoSlots(),
    prepare: (emu) =>
      emu.setFaults([
        {
          method: 'GET',
          pathRegex: '/providers/Microsoft.ContainerRegistry/registries\\?',
          status: 200,
          body: { value: [registryBody(emu, groupId(emu))] },
        },
      ]),
    check: (r, emu) => assertRefusedBeforeWrite(r, emu, /not a container registry resource ID/),
  },
  {
    name: 'grants nothing when the registry read by its ID answers with another registry',
    scenario: twoSlots(),
    inputs: (emu) => ({ registry: registryId(emu) }),
    prepare: (emu) =>
      emu.setFaults([
        {
          method: 'GET',
          pathRegex: '/registries/contosoacr\\?',
          status: 200,
          body: registryBody(
            emu,
            `${groupId(emu)}/providers/Microsoft.ContainerRegistry/registries/otheracr`,
          ),
        },
      ]),
    check: (r, emu) => assertRefusedBeforeWrite(r, emu, /otheracr/),
  },
  {
    name: 'attaches nothing when the user-assigned identity read answers with another identity',
    scenario: userScenario(),
    inputs: userScenario().inputs ?? {},
    prepare: (emu) => {
      const legacy = emu.state.identities.find((i) => i.name === 'id-legacy');
      assert.ok(legacy);
      emu.setFaults([
        {
          method: 'GET',
          pathRegex: '/userAssignedIdentities/id-acr-pull\\?',
          status: 200,
          body: {
            id: legacy.id,
            name: 'id-acr-pull',
            location: 'westeurope',
            properties: {
              clientId: legacy.clientId,
              principalId: legacy.principalId,
              tenantId: emu.info.tenantId,
            },
          },
        },
      ]);
    },
    check: (r, emu) => assertRefusedBeforeWrite(r, emu, /id-legacy/),
  },
  {
    name: 'writes nothing when the slot list names a slot that is not a slot name',
    scenario: twoSlots(),
    prepare: (emu) => {
      const slot = emu.state.apps.find((a) => a.slot === 'qa');
      assert.ok(slot);
      emu.setFaults([
        {
          method: 'GET',
          pathRegex: `/sites/${APP}/slots\\?`,
          status: 200,
          body: {
            value: [
              {
                id: `${slot.id.replace(/\/qa$/, '')}/x`,
                name: `${APP}/..%2f..%2fx?api-version=2000-01-01`,
                type: 'Microsoft.Web/sites/slots',
                kind: 'app,linux,container',
                location: 'westeurope',
                properties: { state: 'Running', defaultHostName: 'x.azurewebsites.net' },
              },
            ],
          },
        },
      ]);
    },
    check: (r, emu) => assertRefusedBeforeWrite(r, emu, /slot/),
  },
  {
    name: 'grants nothing to a principal ID that is not a GUID',
    scenario: twoSlots(),
    prepare: (emu) => {
      const production = emu.state.apps.find((a) => a.slot === undefined);
      assert.ok(production);
      production.identity = {
        type: 'SystemAssigned',
        principalId: '../../../providers/Microsoft.Authorization/x',
        tenantId: emu.info.tenantId,
        userAssignedIdentities: {},
      };
    },
    check: (r, emu) => assertRefusedBeforeWrite(r, emu, /not a GUID/),
  },
  {
    name: 'grants nothing when turning on an identity answers with a principal ID that is not a GUID',
    scenario: baseScenario(),
    prepare: (emu) =>
      emu.setFaults([
        {
          method: 'PATCH',
          pathRegex: `/sites/${APP}\\?`,
          status: 200,
          body: {
            id: `${groupId(emu)}/providers/Microsoft.Web/sites/${APP}`,
            name: APP,
            type: 'Microsoft.Web/sites',
            identity: {
              type: 'SystemAssigned',
              principalId: '../../providers/x',
              tenantId: emu.info.tenantId,
            },
          },
        },
      ]),
    check: (r, emu) => {
      assertFailed(r, /not a GUID/);
      assert.match(r.message, /UntrustedResponse/, describeRun(r));
      assert.equal(requestsTo(emu, 'roleAssignments/', 'PUT').length, 0, 'no grant anywhere');
      assert.equal(emu.state.roleAssignments.filter((a) => a.principalId.includes('/')).length, 0);
    },
  },
  {
    name: 'keeps an app setting added while the task runs when it removes the registry password settings',
    scenario: twoSlots({
      // The grant PUT waits a while in the emulator; another writer adds a setting meanwhile.
      faults: [{ method: 'PUT', path: '/roleAssignments/', latencyMs: 1500, times: 1 }],
    }),
    inputs: { removeRegistryCredentials: 'true', verifyPull: 'false' },
    prepare: (emu) => {
      for (const a of emu.state.apps) {
        a.appSettings.DOCKER_REGISTRY_SERVER_USERNAME = 'contosoacr';
        a.appSettings.DOCKER_REGISTRY_SERVER_PASSWORD = 'stale-password-1234';
        // Stopped, so it does not serve today: the fast path removes the password (a serving target under
        // verifyPull: false keeps it, tests/harm/cutover-held.e2e.test.ts).
        a.state = 'Stopped';
      }
    },
    during: async (emu) => {
      await until(() => requestsTo(emu, '/roleAssignments/', 'PUT').length > 0);
      for (const a of emu.state.apps) a.appSettings.ADDED_WHILE_RUNNING = 'keep-me';
    },
    check: (r, emu) => {
      assertSucceeded(r);
      for (const a of emu.state.apps) {
        const label = a.slot ?? 'production';
        assert.equal(
          a.appSettings.ADDED_WHILE_RUNNING,
          'keep-me',
          `${label}: the setting added mid-run survived`,
        );
        assert.equal(
          a.appSettings.WEBSITES_ENABLE_APP_SERVICE_STORAGE,
          'false',
          `${label}: old settings kept`,
        );
        assert.equal(a.appSettings.DOCKER_REGISTRY_SERVER_PASSWORD, undefined, `${label}: password removed`);
        assert.equal(a.appSettings.DOCKER_REGISTRY_SERVER_USERNAME, undefined, `${label}: user name removed`);
      }
    },
  },
];

/** Refused before any request, naming the input, the value and what the name must look like. */
const badName = (what: string, input: string, value: (emu: Emulator) => string, form: RegExp): Case => ({
  name: `refuses ${what} before any request, naming the input, the value and the expected form`,
  scenario: userScenario(),
  inputs: (emu) => ({
    ...(input === 'userAssignedIdentityId' ? { identityType: 'user' } : {}),
    [input]: value(emu),
  }),
  check: (r, emu) => {
    assertFailed(r, new RegExp(`Input '${input}'`));
    assert.ok(r.message.includes(`'${value(emu)}'`), `the value is echoed:\n${r.message}`);
    assert.match(r.message, form);
    assert.deepEqual(
      emu.requests().filter((q) => q.host === 'arm'),
      [],
      'no ARM request at all',
    );
  },
});

const registryPrefix = (emu: Emulator) => `${groupId(emu)}/providers/Microsoft.ContainerRegistry/registries`;
const identityPrefix = (emu: Emulator) =>
  `/subscriptions/${emu.info.subscriptionId}/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities`;
const REGISTRY_FORM = /5 to 50 letters and digits/;
const IDENTITY_FORM = /3 to 128 letters, digits, hyphens and underscores/;

const strictInputs: Case[] = [
  badName(
    'a registry ID whose name is %2e%2e',
    'registry',
    (e) => `${registryPrefix(e)}/%2e%2e`,
    REGISTRY_FORM,
  ),
  badName(
    'a registry ID whose name carries ?api-version=',
    'registry',
    (e) => `${registryPrefix(e)}/contosoacr?api-version=2019-05-01`,
    REGISTRY_FORM,
  ),
  badName(
    'a registry ID with extra segments',
    'registry',
    (e) => `${registryPrefix(e)}/contosoacr/../../x`,
    /path segments/,
  ),
  badName(
    'a registry ID whose resource group is %2e%2e',
    'registry',
    (e) =>
      `/subscriptions/${e.info.subscriptionId}/resourceGroups/%2e%2e/providers/Microsoft.ContainerRegistry/registries/contosoacr`,
    /resource group '%2e%2e'/,
  ),
  badName(
    'an identity ID whose name carries an encoded slash',
    'userAssignedIdentityId',
    (e) => `${identityPrefix(e)}/id%2F..%2Fx`,
    IDENTITY_FORM,
  ),
  badName(
    'an identity ID whose name carries a fragment',
    'userAssignedIdentityId',
    (e) => `${identityPrefix(e)}/id-acr-pull#x`,
    IDENTITY_FORM,
  ),
];

describe('reliability: hostile responses and hostile input (system.debug=true where it matters)', () => {
  itConcurrently([...outputGuard, ...trustNothing, ...strictInputs], 6);

  describe('the job token from a System.AccessToken variable', () => {
    let emu: Emulator;
    before(async () => {
      emu = await start(twoSlots());
    });
    after(async () => emu.close());

    /** Federation without the job's SystemVssConnection: the token comes from a variable instead. */
    async function runWithTokenVariable(env: Record<string, string>): Promise<TaskRun> {
      const { connection, job } = federatedConnection(emu.info);
      const { accessToken: _dropped, ...withoutConnection } = job;
      return runTask({
        inputs: { ...inputs(), azureSubscription: connection.id, verifyPull: 'false' },
        connection,
        job: withoutConnection,
        caCertPath: emu.info.caCertPath,
        debug: true,
        env,
        timeoutInMs: 60_000,
      });
    }

    const token = () => emu.info.jobAccessToken;

    it('never prints it when the pipeline maps it as SYSTEM_ACCESSTOKEN', async function () {
      this.timeout(90_000);
      const r = await runWithTokenVariable({ SYSTEM_ACCESSTOKEN: token() });
      assertSucceeded(r);
      assert.match(r.stdout, /##vso\[task\.debug\]/, 'debug output was on');
      assert.ok(!visibleLog(r).includes(token()), `the job token was printed:\n${describeRun(r)}`);
      assert.ok(!visibleLog(r).includes(token().split('.')[2] ?? token()), 'not even its signature');
    });

    it('never prints it when the agent passes it as a secret variable', async function () {
      this.timeout(90_000);
      const r = await runWithTokenVariable({
        SECRET_SYSTEM_ACCESSTOKEN: token(),
        VSTS_SECRET_VARIABLES: JSON.stringify(['System.AccessToken']),
      });
      assertSucceeded(r);
      assert.match(r.stdout, /##vso\[task\.debug\]/, 'debug output was on');
      assert.ok(!visibleLog(r).includes(token()), `the job token was printed:\n${describeRun(r)}`);
    });
  });
});
