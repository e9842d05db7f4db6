/** The pure parts of the pipeline shapes (#26): placement, the deploy-step outputs, the connection's grant, inputs. */
import assert from 'node:assert/strict';
import { deferToDeploy } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/placement';
import {
  connectionGrantCommand,
  type Plan,
  type Step,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/plan';
import { readSettings } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/inputs';
import type { CheckedImage } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/registry/image-check';
import { missingImageVerdict } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/registry/preflight';
import { deployStepOutputs } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/report';
import type { RunReport } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/run';

const LS = 'contosoacr.azurecr.io';
const missing: CheckedImage = {
  image: `${LS}/web:1.0.0`,
  repository: 'web',
  reference: '1.0.0',
  byDigest: false,
  targets: ['production'],
  state: { kind: 'missing', what: 'tag', nearestTags: ['2.0.0'], tagCount: 1 },
};
const report = {
  loginServer: LS,
  images: [missing],
  otherRegistryImages: [],
  skipped: undefined,
  requests: 2,
  ms: 3,
};
const planned = [
  {
    kind: 'enableIdentity',
    target: 'production',
    what: 'Turn on the system-assigned identity of production.',
  },
  { kind: 'assignRole', target: 'production', what: 'Grant AcrPull.' },
  { kind: 'setAcrFlags', target: 'production', what: 'Set acrUseManagedIdentityCreds = true.' },
  { kind: 'setAcrFlags', target: 'staging', what: 'Set acrUseManagedIdentityCreds = true.' },
];

describe('placement: before and after the deploy', () => {
  const cases: [string, 'standalone' | 'beforeDeploy' | 'afterDeploy', RegExp | undefined][] = [
    ['standalone stops before any write and names beforeDeploy', 'standalone', /placement: beforeDeploy/],
    ['afterDeploy stops and points at the deploy step', 'afterDeploy', /The deploy step before this one set/],
    ['beforeDeploy never blocks the deploy', 'beforeDeploy', undefined],
  ];
  for (const [name, placement, remedy] of cases) {
    it(name, () => {
      const v = missingImageVerdict(report, planned, { verify: true, dryRun: false, placement });
      if (!remedy) {
        assert.equal(v.error, undefined);
        assert.deepEqual(v.targets, [{ label: 'production', image: missing.image }]);
        return;
      }
      assert.equal(v.error?.code, 'ImageNotFound');
      assert.match(v.error?.remedy ?? '', remedy);
    });
  }

  it('defers only the tag-dependent steps of the target whose current image is missing, with a warning', () => {
    const p = { steps: planned as unknown as Step[], warnings: [], principals: {}, blockedRoleSteps: [] };
    const d = deferToDeploy(p as unknown as Plan, [{ label: 'production', image: missing.image }]);
    assert.deepEqual(
      d.plan.steps.map((s) => `${s.target}:${s.kind}`),
      ['production:enableIdentity', 'production:assignRole', 'staging:setAcrFlags'],
    );
    assert.deepEqual(
      d.plan.warnings.map((w) => w.code),
      ['CurrentImageMissingBeforeDeploy'],
    );
    assert.deepEqual(d.deferred, [{ label: 'production', image: missing.image }]);
  });

  it('reads the placement input as a closed union, naming the input and the values', () => {
    const base = { azureSubscription: 'c', appName: 'contoso-web' };
    const read = (placement?: string) =>
      readSettings((n) => ({ ...base, ...(placement ? { placement } : {}) })[n as keyof typeof base]);
    assert.equal(read().placement, 'standalone');
    assert.equal(read('BeforeDeploy').placement, 'beforeDeploy');
    assert.equal(read('afterdeploy').placement, 'afterDeploy');
    assert.throws(() => read('later'), /Input 'placement' is 'later'\. Expected 'beforeDeploy'/);
  });
});

describe('outputs for the deploy step', () => {
  const of = (clientId?: string) =>
    deployStepOutputs({
      verify: [],
      dryRun: false,
      observed: { userIdentity: clientId ? { clientId } : undefined },
    } as unknown as RunReport);
  it('system identity: the flag alone, no client ID', () => {
    assert.deepEqual(of(), {
      userAssignedClientId: '',
      configurationStrings: '-acrUseManagedIdentityCreds true',
    });
  });
  it('user-assigned identity: the flag and the client ID, as AzureWebAppContainer@1 takes them', () => {
    assert.deepEqual(of('11111111-2222-3333-4444-555555555555'), {
      userAssignedClientId: '11111111-2222-3333-4444-555555555555',
      configurationStrings:
        '-acrUseManagedIdentityCreds true -acrUserManagedIdentityID 11111111-2222-3333-4444-555555555555',
    });
  });
  it('nothing observed: empty outputs', () => {
    assert.deepEqual(deployStepOutputs({ verify: [], dryRun: false } as RunReport), {
      userAssignedClientId: '',
      configurationStrings: '',
    });
  });
});

describe("the connection's own grant", () => {
  it('is RBAC Administrator constrained to the pull role IDs for write and delete, condition version 2.0', () => {
    const cmd = connectionGrantCommand(
      'abc',
      '/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/r',
    );
    assert.match(
      cmd,
      /^az role assignment create --assignee abc --role "Role Based Access Control Administrator" --scope \/subscriptions\/s\//,
    );
    const guids = '{7f951dda-4ed3-4680-a7ca-43fe172d538d, b93aa761-3e63-49ed-ac28-beffa264f7ac}';
    assert.ok(
      cmd.includes(
        `@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals ${guids}`,
      ),
    );
    assert.ok(
      cmd.includes(
        `@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals ${guids}`,
      ),
    );
    assert.match(cmd, /ActionMatches\{'Microsoft\.Authorization\/roleAssignments\/write'\}/);
    assert.match(cmd, /ActionMatches\{'Microsoft\.Authorization\/roleAssignments\/delete'\}/);
    assert.match(cmd, /" --condition-version 2\.0$/);
  });
});
