import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv from 'ajv-draft-04';
import { INPUT } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/inputs';
import { parseVisibleRule, taskJsonProblems } from './task-json-rules';

const root = join(__dirname, '..', '..');
const taskJson = JSON.parse(
  readFileSync(join(root, 'tasks/EnsureAcrManagedIdentityPullV1/task.json'), 'utf8'),
);

/**
 * The official schema is not part of this repository. When a copy is at hand (TASK_SCHEMA=<path>, or a checkout
 * of microsoft/azure-pipelines-task-lib next to this one), the task.json is also validated against it.
 */
const officialSchemaPath = [
  process.env.TASK_SCHEMA,
  join(root, '..', 'azure-pipelines-task-lib', 'tasks.schema.json'),
].find((p): p is string => !!p && existsSync(p));

/**
 * Input and output names are a public contract: pipelines reference them in YAML. A name may be added here,
 * never removed or renamed (that breaks every pipeline that uses it; ship a new major version instead).
 */
const PUBLISHED_INPUTS = [
  'azureSubscription',
  'appName',
  'resourceGroupName',
  'targets',
  'slotNames',
  'identityType',
  'userAssignedIdentityId',
  'registry',
  'removeRegistryCredentials',
  'verifyPull',
  'verifyUntil',
  'timeoutMinutes',
  'pollIntervalSeconds',
  'dryRun',
  'enableIdentityWithoutRoleRights',
];
const PUBLISHED_OUTPUTS = [
  'principalIds',
  'registryResourceId',
  'verificationOutcome',
  'pullSeconds',
  'changeCount',
];

describe('task.json', () => {
  it('keeps the task.json rules (keys, required fields, handlers, input types, visibleRules, outputs)', () => {
    // tfx only warns about task.json problems, so this test is what catches them.
    const built = (target: string) =>
      existsSync(join(root, 'dist', 'EnsureAcrManagedIdentityPullV1', target)) ||
      existsSync(join(root, 'tasks', 'EnsureAcrManagedIdentityPullV1', target.replace(/\.js$/, '.ts')));
    assert.deepEqual(taskJsonProblems(taskJson, built), []);
  });

  it('is valid against the official task schema, when a copy is at hand', function () {
    if (!officialSchemaPath) {
      console.log(
        '      note: official task schema not found (set TASK_SCHEMA=<path to tasks.schema.json> or check out ' +
          "microsoft/azure-pipelines-task-lib beside this repository); the project's own rules above still ran.",
      );
      this.skip();
    }
    const schema = JSON.parse(readFileSync(resolve(officialSchemaPath), 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }).compile(schema);
    const ok = validate(taskJson);
    assert.ok(ok, JSON.stringify(validate.errors, null, 2));
  });

  it('runs on Node20_1 and Node24 with one bundle, from agent 3.232.1', () => {
    assert.deepEqual(Object.keys(taskJson.execution).sort(), ['Node20_1', 'Node24']);
    assert.equal(taskJson.execution.Node20_1.target, 'index.js');
    assert.equal(taskJson.execution.Node24.target, 'index.js');
    assert.equal(taskJson.minimumAgentVersion, '3.232.1');
  });

  it('has the identity fields tfx and the Marketplace check', () => {
    assert.match(taskJson.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(taskJson.name, /^[A-Za-z0-9-]+$/);
    assert.ok(taskJson.friendlyName.length >= 1 && taskJson.friendlyName.length <= 40);
    assert.match(taskJson.instanceNameFormat, /\$\(appName\)/);
    assert.equal(taskJson.category, 'Deploy');
    assert.match(taskJson.helpMarkDown, /\[[^\]]+\]\(https:\/\/[^)]+\)/);
  });

  it('keeps every published input and output name', () => {
    const inputs = taskJson.inputs.map((i: { name: string }) => i.name);
    for (const name of PUBLISHED_INPUTS) assert.ok(inputs.includes(name), `input '${name}' disappeared`);
    const outputs = taskJson.outputVariables.map((o: { name: string }) => o.name);
    for (const name of PUBLISHED_OUTPUTS) assert.ok(outputs.includes(name), `output '${name}' disappeared`);
  });

  it('declares exactly the inputs the inputs module reads', () => {
    const declared = taskJson.inputs.map((i: { name: string }) => i.name).sort();
    assert.deepEqual(declared, Object.values(INPUT).sort());
  });

  it('gives every input a label, help text and a group, and every group exists', () => {
    const groups = new Set(taskJson.groups.map((g: { name: string }) => g.name));
    for (const input of taskJson.inputs) {
      assert.ok(input.label && input.helpMarkDown, `input '${input.name}' lacks a label or help`);
      assert.ok(
        groups.has(input.groupName),
        `input '${input.name}' is in unknown group '${input.groupName}'`,
      );
    }
  });

  it('binds App Service pickers that list web apps and function apps (the app list of AzureAppServiceManage@0)', () => {
    const bindings = Object.fromEntries(
      taskJson.dataSourceBindings.map((b: { target: string; dataSourceName: string }) => [
        b.target,
        b.dataSourceName,
      ]),
    );
    assert.deepEqual(bindings, {
      // Lists every Microsoft.Web/sites of the subscription, function apps included (docs/azure-behaviour.md#hosting-kinds).
      appName: 'AzureRMWebAppNames',
      resourceGroupName: 'AzureRMWebAppResourceGroup',
      slotNames: 'AzureRMWebAppSlotsId',
    });
    const connection = taskJson.inputs.find((i: { name: string }) => i.name === 'azureSubscription');
    assert.equal(connection.type, 'connectedService:AzureRM');
  });
});

// biome-ignore lint/suspicious/noExplicitAny: the cases below edit the parsed JSON freely.
type TaskDoc = Record<string, any>;

const input = (t: TaskDoc, name: string): TaskDoc => t.inputs.find((i: TaskDoc) => i.name === name);

/** A copy of the real task.json with one change, to prove each rule can fail. */
function broken(change: (t: TaskDoc) => void): string[] {
  const copy = structuredClone(taskJson);
  change(copy);
  return taskJsonProblems(copy);
}

describe('task.json rules catch what tfx only warns about', () => {
  const cases: [string, (t: TaskDoc) => void, RegExp][] = [
    ['a misspelt top-level key', (t) => (t.outputVariable = []), /unknown top-level key 'outputVariable'/],
    ['a missing required field', (t) => delete t.instanceNameFormat, /'instanceNameFormat' is required/],
    ['an id that is not a GUID', (t) => (t.id = 'not-a-guid'), /is not a GUID/],
    ['a friendlyName over 40 characters', (t) => (t.friendlyName = 'x'.repeat(41)), /1-40 characters/],
    ['an unknown handler', (t) => (t.execution.Node22 = { target: 'index.js' }), /unknown handler 'Node22'/],
    ['only end-of-life handlers', (t) => (t.execution = { Node16: { target: 'index.js' } }), /end-of-life/],
    ['a handler without a target', (t) => (t.execution.Node24 = {}), /Node24\.target is required/],
    [
      'a wrongly cased input type',
      (t) => (input(t, 'appName').type = 'picklist'),
      /type 'picklist' is not one of/,
    ],
    [
      'an input in no declared group',
      (t) => (input(t, 'azureSubscription').groupName = 'nowhere'),
      /unknown group 'nowhere'/,
    ],
    ['an input declared twice', (t) => t.inputs.push({ ...input(t, 'azureSubscription') }), /declared twice/],
    [
      'a boolean property not "True"/"False"',
      (t) => (input(t, 'appName').properties = { EditableOptions: true }),
      /"True" or "False"/,
    ],
    [
      'a visibleRule over an unknown input',
      (t) => (input(t, 'slotNames').visibleRule = 'target = slots'),
      /unknown input 'target'/,
    ],
    [
      'a visibleRule with a made-up operator',
      (t) => (input(t, 'slotNames').visibleRule = 'targets Is slots'),
      /not '<input> <operator> <value>'/,
    ],
    [
      'a visibleRule value the pickList does not offer',
      (t) => (input(t, 'slotNames').visibleRule = 'targets = slot'),
      /not one of its options/,
    ],
    [
      'a visibleRule comparing a boolean with a word',
      (t) => (input(t, 'verifyUntil').visibleRule = 'verifyPull = yes'),
      /boolean 'verifyPull'/,
    ],
    [
      'an output name with a dot',
      (t) => t.outputVariables.push({ name: 'pull.seconds' }),
      /output name 'pull\.seconds'/,
    ],
    ['an unknown restrictions key', (t) => (t.restrictions = { settable: {} }), /restrictions\.settable/],
  ];
  for (const [what, change, expected] of cases) {
    it(`fails ${what}`, () => {
      const problems = broken(change);
      assert.ok(
        problems.some((p) => expected.test(p)),
        problems.join('\n') || 'no problem reported',
      );
    });
  }

  it('reads the visibleRule forms the schema describes', () => {
    assert.deepEqual(parseVisibleRule('a != "" && b = value || c NotEndsWith value'), [
      { input: 'a', operator: '!=', value: '' },
      { input: 'b', operator: '=', value: 'value' },
      { input: 'c', operator: 'NotEndsWith', value: 'value' },
    ]);
    assert.deepEqual(parseVisibleRule('Action = Swap Slots'), [
      { input: 'Action', operator: '=', value: 'Swap Slots' },
    ]);
  });
});

describe('dependencies', () => {
  it('hold exactly one copy of azure-pipelines-task-lib', () => {
    // A second copy has its own empty secret vault and fails at run time ("reading 'retrieveSecret'").
    // npm is a .cmd shim on Windows, which only a shell runs.
    const out = execFileSync('npm', ['ls', 'azure-pipelines-task-lib', '--all', '--parseable'], {
      cwd: root,
      encoding: 'utf8',
      shell: process.platform === 'win32',
    });
    const copies = out.split('\n').filter((l) => l.includes('node_modules/azure-pipelines-task-lib'));
    assert.equal(copies.length, 1, out);
  });
});
