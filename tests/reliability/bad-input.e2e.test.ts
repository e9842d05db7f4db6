/**
 * Bad input through the real entry (the built bundle, inputs and the service connection as the agent's
 * environment variables). Every case fails before anything is written, with a message that names the input,
 * echoes the value and states the expected form (or, for names Azure does not know, says what exists and what
 * to do).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Emulator } from '../emulator/index';
import { secretConnection } from '../harness/connections';
import type { ServiceConnection, TaskRun } from '../harness/run-task';
import { assertClean, type Case, describeRun, itConcurrently, twoSlots } from './helpers';

const SUB = '2b6e8a4c-1d3f-4a5b-8c7d-9e0f1a2b3c4d';

interface BadInput {
  /** What is wrong, for the test name. */
  what: string;
  inputs?: Record<string, string> | ((emu: Emulator) => Record<string, string>);
  connection?: (emu: Emulator) => ServiceConnection;
  prepare?: (emu: Emulator) => void;
  /** Each must appear in the message: the input's name, the value, the expected form or the fix. */
  names: (string | RegExp)[];
}

function badInput(c: BadInput): Case {
  return {
    name: `refuses ${c.what} before any write, naming it and the expected form`,
    scenario: twoSlots({
      identities: [{ name: 'uami-web', resourceGroup: 'rg-web' }],
    }),
    ...(c.inputs ? { inputs: c.inputs } : {}),
    ...(c.connection ? { options: (emu: Emulator) => ({ connection: c.connection!(emu) }) } : {}),
    ...(c.prepare ? { prepare: c.prepare } : {}),
    check: (r: TaskRun, emu: Emulator) => {
      assertClean(r);
      assert.equal(r.result, 'Failed', describeRun(r));
      assert.deepEqual(emu.writes(), [], 'nothing was written');
      for (const n of c.names) {
        if (typeof n === 'string') assert.ok(r.message.includes(n), `message names '${n}':\n${r.message}`);
        else assert.match(r.message, n);
      }
      assert.match(r.message, /\nFix: \S/, `a remedy:\n${r.message}`);
    },
  };
}

const input = (name: string, value: string, expected: RegExp): BadInput['names'] => [
  `'${name}'`,
  `'${value}'`,
  expected,
];

const uamiId = (emu: Emulator) => emu.state.identities[0]?.id ?? '';

const cases: Case[] = [
  // appName
  badInput({
    what: 'an empty app name',
    inputs: { appName: '' },
    names: input('appName', '', /Expected an App Service name/),
  }),
  badInput({
    what: 'an app name that starts with a hyphen',
    inputs: { appName: '-web' },
    names: input('appName', '-web', /not starting or ending with a hyphen/),
  }),
  badInput({
    what: 'a one-letter app name',
    inputs: { appName: 'w' },
    names: input('appName', 'w', /2 to 60/),
  }),
  badInput({
    what: 'an app name with an underscore',
    inputs: { appName: 'contoso_web' },
    names: input('appName', 'contoso_web', /letters, digits or hyphens/),
  }),
  badInput({
    what: 'an app name of 61 characters',
    inputs: { appName: 'a'.repeat(61) },
    names: input('appName', 'a'.repeat(61), /2 to 60/),
  }),
  badInput({
    what: 'an app that does not exist',
    inputs: { appName: 'contoso-api' },
    names: ['contoso-api', /not found|does not exist|no app/i],
  }),
  // resource group
  badInput({
    what: 'a resource group name ending with a period',
    inputs: { resourceGroupName: 'rg-web.' },
    names: input('resourceGroupName', 'rg-web.', /not ending with a period/),
  }),
  badInput({
    what: 'a resource group name with a space',
    inputs: { resourceGroupName: 'rg web' },
    names: input('resourceGroupName', 'rg web', /resource group name/),
  }),
  badInput({
    what: 'a resource group that does not exist',
    inputs: { resourceGroupName: 'rg-nowhere' },
    names: ['rg-nowhere'],
  }),
  // targets and slots
  badInput({
    what: 'an unknown target selection',
    inputs: { targets: 'everything' },
    names: input('targets', 'everything', /'all'.*'production'.*'slots'/),
  }),
  badInput({
    what: "'slots' without slot names",
    inputs: { targets: 'slots', slotNames: '' },
    names: input('slotNames', '', /one or more slot names/),
  }),
  badInput({
    what: 'a malformed slot name',
    inputs: { targets: 'slots', slotNames: 'staging, qa!' },
    names: input('slotNames', 'staging, qa!', /'qa!' is not a slot name/),
  }),
  badInput({
    what: 'a slot that does not exist',
    inputs: { targets: 'slots', slotNames: 'stagng' },
    names: ['stagng', /staging, qa|staging and qa/],
  }),
  // identity
  badInput({
    what: 'an unknown identity type',
    inputs: { identityType: 'both' },
    names: input('identityType', 'both', /'system'.*'user'/),
  }),
  badInput({
    what: 'a user-assigned identity without its resource ID',
    inputs: { identityType: 'user', userAssignedIdentityId: '' },
    names: input('userAssignedIdentityId', '', /userAssignedIdentities\/<name>/),
  }),
  badInput({
    what: 'a client ID given where the identity resource ID belongs',
    inputs: { identityType: 'user', userAssignedIdentityId: 'b0e4ad3c-5a4f-4d6f-9a48-7c9a1f3d2e10' },
    names: input('userAssignedIdentityId', 'b0e4ad3c-5a4f-4d6f-9a48-7c9a1f3d2e10', /looks like a client ID/),
  }),
  badInput({
    what: 'a malformed identity resource ID',
    inputs: { identityType: 'user', userAssignedIdentityId: '/subscriptions/not-a-guid/resourceGroups/rg/x' },
    names: input(
      'userAssignedIdentityId',
      '/subscriptions/not-a-guid/resourceGroups/rg/x',
      /resource ID like/,
    ),
  }),
  badInput({
    what: 'a registry resource ID given as the identity',
    inputs: {
      identityType: 'user',
      userAssignedIdentityId: `/subscriptions/${SUB}/resourceGroups/rg-web/providers/Microsoft.ContainerRegistry/registries/contosoacr`,
    },
    names: [`'userAssignedIdentityId'`, /Microsoft\.ManagedIdentity\/userAssignedIdentities/],
  }),
  badInput({
    what: 'a user-assigned identity that does not exist',
    inputs: {
      identityType: 'user',
      userAssignedIdentityId: `/subscriptions/${SUB}/resourceGroups/rg-web/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-gone`,
    },
    names: ['uami-gone'],
  }),
  badInput({
    what: 'a user-assigned identity in another tenant',
    prepare: (emu) => {
      const uami = emu.state.identities[0];
      if (uami) uami.tenantId = randomUUID();
    },
    inputs: (emu) => ({ identityType: 'user', userAssignedIdentityId: uamiId(emu) }),
    names: ['uami-web', /tenant/i],
  }),
  // registry
  badInput({
    what: 'Docker Hub as the registry',
    inputs: { registry: 'docker.io' },
    names: input('registry', 'docker.io', /Azure Container Registry login server/),
  }),
  badInput({
    what: 'GitHub Container Registry as the registry',
    inputs: { registry: 'ghcr.io/contoso' },
    names: input('registry', 'ghcr.io/contoso', /cannot be pulled with a managed identity/),
  }),
  badInput({
    what: 'a login server that only pretends to be ACR',
    inputs: { registry: 'contosoacr.azurecr.io.example.com' },
    names: input('registry', 'contosoacr.azurecr.io.example.com', /myregistry\.azurecr\.io/),
  }),
  badInput({
    what: 'a malformed registry resource ID',
    inputs: { registry: `/subscriptions/${SUB}/resourceGroups/rg-web/providers/Microsoft.ContainerRegistry` },
    names: [`'registry'`, /registry resource ID like/],
  }),
  badInput({
    what: 'an ACR login server no registry in the subscription has',
    inputs: { registry: 'nosuchacr.azurecr.io' },
    names: ['nosuchacr.azurecr.io', /^(?![\s\S]*Did you mean)/],
  }),
  badInput({
    what: 'a mistyped login server, suggesting the spelling',
    inputs: { registry: 'contosoarc.azurecr.io' },
    names: [
      'contosoarc.azurecr.io',
      "Did you mean 'contosoacr.azurecr.io'?",
      /Fix: If you meant contosoacr\.azurecr\.io, set the registry input to contosoacr\.azurecr\.io/,
    ],
  }),
  // verification timing
  badInput({
    what: 'a zero timeout',
    inputs: { timeoutMinutes: '0' },
    names: input('timeoutMinutes', '0', /number of minutes from 0\.05 to 120/),
  }),
  badInput({
    what: 'a timeout in words',
    inputs: { timeoutMinutes: 'ten' },
    names: input('timeoutMinutes', 'ten', /number of minutes/),
  }),
  badInput({
    what: 'a negative timeout',
    inputs: { timeoutMinutes: '-5' },
    names: input('timeoutMinutes', '-5', /number of minutes/),
  }),
  badInput({
    what: 'a zero poll interval',
    inputs: { pollIntervalSeconds: '0' },
    names: input('pollIntervalSeconds', '0', /number of seconds from 0\.1 to 300/),
  }),
  badInput({
    what: 'a poll interval in exponent notation',
    inputs: { pollIntervalSeconds: '1e3' },
    names: input('pollIntervalSeconds', '1e3', /number of seconds/),
  }),
  badInput({
    what: 'a poll interval longer than the timeout',
    inputs: { timeoutMinutes: '0.1', pollIntervalSeconds: '30' },
    names: input('pollIntervalSeconds', '30', /shorter than the timeout/),
  }),
  badInput({
    what: 'an unknown success condition',
    inputs: { verifyUntil: 'forever' },
    names: input('verifyUntil', 'forever', /'imagePulled'.*'containerStarted'/),
  }),
  badInput({
    what: 'a yes/no flag that is neither true nor false',
    inputs: { dryRun: 'maybe' },
    names: input('dryRun', 'maybe', /'true' or 'false'/),
  }),
  // the service connection
  badInput({
    what: 'a service connection id that is not there',
    inputs: { azureSubscription: 'f00dfeed-0000-4000-8000-00000000dead' },
    names: ["'azureSubscription'", 'f00dfeed-0000-4000-8000-00000000dead', /no service connection/],
  }),
  badInput({
    what: 'an empty service connection',
    inputs: { azureSubscription: '' },
    names: [`'azureSubscription'`, /service connection/],
  }),
  badInput({
    what: 'a publish-profile service connection',
    connection: (emu) => ({
      ...secretConnection(emu.info, 'c0ffee00-0000-4000-8000-0000000000aa'),
      scheme: 'PublishProfile',
      auth: { publishProfile: '<publishData/>' },
    }),
    names: ['c0ffee00-0000-4000-8000-0000000000aa', 'PublishProfile', /workload identity federation/],
  }),
  badInput({
    what: 'a GitHub service connection',
    connection: () => ({
      id: 'c0ffee00-0000-4000-8000-0000000000bb',
      url: 'https://github.com',
      scheme: 'Token',
      auth: { AccessToken: 'ghp_notarealtoken0000000000000000000000' },
      data: {},
    }),
    names: ['c0ffee00-0000-4000-8000-0000000000bb', "'Token'", /Azure Resource Manager/],
  }),
  badInput({
    what: 'a username/password service connection',
    connection: () => ({
      id: 'c0ffee00-0000-4000-8000-0000000000cc',
      url: 'https://example.invalid',
      scheme: 'UsernamePassword',
      auth: { username: 'u', password: 'p' },
      data: {},
    }),
    names: ['c0ffee00-0000-4000-8000-0000000000cc', "'UsernamePassword'"],
  }),
];

describe('reliability: bad input through the real entry fails before any write', () => {
  itConcurrently(cases, 8);
});
