import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv-draft-04';
import { INPUT } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/inputs';

const root = join(__dirname, '..', '..');
const taskJson = JSON.parse(
  readFileSync(join(root, 'tasks/EnsureAcrManagedIdentityPullV1/task.json'), 'utf8'),
);
const schema = JSON.parse(readFileSync(join(root, '..', 'shared', 'schemas', 'task.schema.json'), 'utf8'));

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
  it('is valid against the official task schema', () => {
    // tfx only warns about task.json problems, so this test is what catches them.
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

  it('only uses visibleRules over inputs that exist', () => {
    const names = new Set(taskJson.inputs.map((i: { name: string }) => i.name));
    for (const input of taskJson.inputs.filter((i: { visibleRule?: string }) => i.visibleRule)) {
      const referenced = input.visibleRule.match(/[A-Za-z]+(?=\s*(?:=|!=|==))/g) ?? [];
      for (const name of referenced) assert.ok(names.has(name), `${input.name}: visibleRule names '${name}'`);
    }
  });

  it('binds the same App Service pickers as AzureWebAppContainer@1', () => {
    const bindings = Object.fromEntries(
      taskJson.dataSourceBindings.map((b: { target: string; dataSourceName: string }) => [
        b.target,
        b.dataSourceName,
      ]),
    );
    assert.deepEqual(bindings, {
      appName: 'AzureWebAppContainerNames',
      resourceGroupName: 'AzureRMWebAppResourceGroup',
      slotNames: 'AzureRMWebAppSlotsId',
    });
    const connection = taskJson.inputs.find((i: { name: string }) => i.name === 'azureSubscription');
    assert.equal(connection.type, 'connectedService:AzureRM');
  });
});

describe('dependencies', () => {
  it('hold exactly one copy of azure-pipelines-task-lib', () => {
    // A second copy has its own empty secret vault and fails at run time ("reading 'retrieveSecret'").
    const out = execFileSync('npm', ['ls', 'azure-pipelines-task-lib', '--all', '--parseable'], {
      cwd: root,
      encoding: 'utf8',
    });
    const copies = out.split('\n').filter((l) => l.includes('node_modules/azure-pipelines-task-lib'));
    assert.equal(copies.length, 1, out);
  });
});
