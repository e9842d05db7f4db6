import assert from 'node:assert/strict';
import { isTaskError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
import { readSettings } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/inputs';
import { parseResourceId } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/resource-id';

const SUB = '11111111-2222-3333-4444-555555555555';
const UAMI = `/subscriptions/${SUB}/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pull-id`;
const ACR_ID = `/subscriptions/${SUB}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/contosoacr`;

const base = { azureSubscription: 'conn-1', appName: 'contoso-web' };
const settingsOf = (inputs: Record<string, string>) => readSettings((n) => ({ ...base, ...inputs })[n]);

function problemOf(inputs: Record<string, string>): { code: string; message: string } {
  try {
    settingsOf(inputs);
  } catch (e: unknown) {
    if (isTaskError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  assert.fail(`expected ${JSON.stringify(inputs)} to be rejected`);
}

describe('readSettings', () => {
  it('applies the documented defaults when only the connection and app are given', () => {
    const s = settingsOf({});
    assert.deepEqual(s, {
      connectedServiceId: 'conn-1',
      appName: 'contoso-web',
      resourceGroup: undefined,
      targets: { kind: 'all' },
      identity: { kind: 'system' },
      registry: { kind: 'fromImage' },
      removeRegistryCredentials: false,
      enableIdentityWithoutRoleRights: false,
      checkImage: true,
      verify: { kind: 'on', timeoutInMs: 15 * 60_000, pollIntervalInMs: 10_000, until: 'imagePulled' },
      dryRun: false,
      restart: 'whenNeeded',
      configureAnyway: false,
      placement: 'standalone',
      inputWarnings: [],
    });
  });

  const accepted: [string, Record<string, string>, (s: ReturnType<typeof settingsOf>) => unknown, unknown][] =
    [
      ['a resource group', { resourceGroupName: 'rg-web.prod(1)' }, (s) => s.resourceGroup, 'rg-web.prod(1)'],
      ['production only', { targets: 'production' }, (s) => s.targets, { kind: 'production' }],
      ['the image check off', { checkImage: 'false' }, (s) => s.checkImage, false],
      [
        'named slots with production, de-duplicated and lower-cased',
        { targets: 'slots', slotNames: 'Staging, qa\nproduction,staging' },
        (s) => s.targets,
        { kind: 'slots', slots: ['staging', 'qa'], includeProduction: true },
      ],
      [
        'a user-assigned identity by resource ID',
        { identityType: 'user', userAssignedIdentityId: UAMI },
        (s) => s.identity,
        {
          kind: 'user',
          identity: { id: UAMI, subscriptionId: SUB, resourceGroup: 'rg-id', name: 'pull-id' },
        },
      ],
      [
        'a login server, tolerating a scheme and upper case',
        { registry: 'https://ContosoACR.azurecr.io/' },
        (s) => s.registry,
        { kind: 'loginServer', loginServer: 'contosoacr.azurecr.io' },
      ],
      [
        'a login server with a domain-name-label hash',
        { registry: 'eteliosacr-hvawabdbgge7e0fu.azurecr.io' },
        (s) => s.registry,
        { kind: 'loginServer', loginServer: 'eteliosacr-hvawabdbgge7e0fu.azurecr.io' },
      ],
      [
        'a registry resource ID',
        { registry: ACR_ID },
        (s) => s.registry,
        {
          kind: 'resourceId',
          registry: { id: ACR_ID, subscriptionId: SUB, resourceGroup: 'rg-acr', name: 'contosoacr' },
        },
      ],
      [
        'verification off',
        { verifyPull: 'false', timeoutMinutes: 'ignored' },
        (s) => s.verify,
        { kind: 'off' },
      ],
      [
        'fractional timeout and interval, container start required',
        { timeoutMinutes: '0.5', pollIntervalSeconds: '0.25', verifyUntil: 'containerStarted' },
        (s) => s.verify,
        { kind: 'on', timeoutInMs: 30_000, pollIntervalInMs: 250, until: 'containerStarted' },
      ],
      [
        'booleans in any case',
        { dryRun: 'TRUE', removeRegistryCredentials: 'True' },
        (s) => [s.dryRun, s.removeRegistryCredentials],
        [true, true],
      ],
    ];
  for (const [what, inputs, pick, expected] of accepted) {
    it(`accepts ${what}`, () => assert.deepEqual(pick(settingsOf(inputs)), expected));
  }

  const rejected: [string, Record<string, string>, string, RegExp][] = [
    ['a missing connection', { azureSubscription: '' }, 'azureSubscription', /service connection/],
    ['a missing app name', { appName: '' }, 'appName', /App Service name/],
    ['an app name with an underscore', { appName: 'my_app' }, 'appName', /letters, digits or hyphens/],
    ['an app name starting with a hyphen', { appName: '-app' }, 'appName', /not starting or ending/],
    ['an app name of 61 characters', { appName: 'a'.repeat(61) }, 'appName', /2 to 60/],
    [
      'a resource group ending with a period',
      { resourceGroupName: 'rg.' },
      'resourceGroupName',
      /not ending with a period/,
    ],
    [
      'a resource group with a slash',
      { resourceGroupName: 'rg/x' },
      'resourceGroupName',
      /resource group name/,
    ],
    ['an unknown targets value', { targets: 'everything' }, 'targets', /'all'.*'production'.*'slots'/],
    [
      'named slots without names',
      { targets: 'slots', slotNames: ' , ' },
      'slotNames',
      /one or more slot names/,
    ],
    [
      'a malformed slot name',
      { targets: 'slots', slotNames: 'staging, bad_slot!' },
      'slotNames',
      /'bad_slot!' is not a slot name/,
    ],
    ['an unknown identity type', { identityType: 'both' }, 'identityType', /'system'.*'user'/],
    [
      'a user identity without its ID',
      { identityType: 'user' },
      'userAssignedIdentityId',
      /resource ID of the user-assigned identity/,
    ],
    [
      'a client ID where the resource ID belongs',
      { identityType: 'user', userAssignedIdentityId: SUB },
      'userAssignedIdentityId',
      /looks like a client ID/,
    ],
    [
      'an identity ID of another resource type',
      { identityType: 'user', userAssignedIdentityId: ACR_ID },
      'userAssignedIdentityId',
      /userAssignedIdentities/,
    ],
    [
      'an identity ID with a subscription that is not a GUID',
      { identityType: 'user', userAssignedIdentityId: UAMI.replace(SUB, 'prod') },
      'userAssignedIdentityId',
      /resource ID like/,
    ],
    ['a Docker Hub registry', { registry: 'docker.io' }, 'registry', /Docker Hub/],
    [
      'a registry name without the domain',
      { registry: 'contosoacr' },
      'registry',
      /login server like myregistry\.azurecr\.io/,
    ],
    [
      'a registry ID of another resource type',
      { registry: UAMI },
      'registry',
      /Microsoft\.ContainerRegistry\/registries/,
    ],
    ['a zero timeout', { timeoutMinutes: '0' }, 'timeoutMinutes', /0\.05 to 120/],
    ['a negative timeout', { timeoutMinutes: '-5' }, 'timeoutMinutes', /minutes/],
    ['a timeout with a unit', { timeoutMinutes: '15m' }, 'timeoutMinutes', /number of minutes/],
    ['a timeout over two hours', { timeoutMinutes: '121' }, 'timeoutMinutes', /to 120/],
    ['a non-numeric interval', { pollIntervalSeconds: 'often' }, 'pollIntervalSeconds', /number of seconds/],
    [
      'an interval longer than the timeout',
      { timeoutMinutes: '1', pollIntervalSeconds: '60' },
      'pollIntervalSeconds',
      /shorter than the timeout/,
    ],
    [
      'an unknown success condition',
      { verifyUntil: 'running' },
      'verifyUntil',
      /'imagePulled'.*'containerStarted'/,
    ],
    ['a boolean that is not true or false', { dryRun: 'yes' }, 'dryRun', /'true' or 'false'/],
  ];
  for (const [what, inputs, input, expected] of rejected) {
    it(`rejects ${what}, naming the input and echoing the value`, () => {
      const { code, message } = problemOf(inputs);
      assert.equal(code, 'InvalidInput');
      assert.match(message, new RegExp(`Input '${input}' is '`));
      const value = inputs[input] ?? '';
      assert.ok(message.includes(`'${value.trim()}'`), message);
      assert.match(message, expected);
    });
  }

  it('reports every bad input at once, numbered (the summary bullets them: no "- - Input")', () => {
    const { message } = problemOf({ appName: 'bad_app', timeoutMinutes: 'x', registry: 'ghcr.io' });
    assert.match(message, /^3 task inputs need fixing \(appName, registry, timeoutMinutes\):$/m);
    for (const input of ['appName', 'timeoutMinutes', 'registry'])
      assert.match(message, new RegExp(`^\\d\\. Input '${input}'`, 'm'));
    assert.doesNotMatch(message, /^- /m);
  });
});

describe('parseResourceId', () => {
  it('splits an ID case-insensitively and keeps the given casing', () => {
    const id = `/SUBSCRIPTIONS/${SUB}/resourcegroups/RG/providers/microsoft.containerregistry/REGISTRIES/acr01`;
    assert.deepEqual(parseResourceId(id, 'Microsoft.ContainerRegistry/registries'), {
      id,
      subscriptionId: SUB,
      resourceGroup: 'RG',
      name: 'acr01',
    });
  });
  it('refuses child resources and other types', () => {
    assert.equal(
      parseResourceId(`${ACR_ID}/replications/x`, 'Microsoft.ContainerRegistry/registries'),
      undefined,
    );
    assert.equal(parseResourceId(ACR_ID, 'Microsoft.ManagedIdentity/userAssignedIdentities'), undefined);
  });
});
