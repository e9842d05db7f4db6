import assert from 'node:assert/strict';
import {
  MANIFEST_ACCEPT,
  type RegistrySend,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/registry/data-plane';
import {
  checkImages,
  type ImageCheckReport,
  nearestTags,
  splitImage,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/registry/image-check';
import { baseScenario, type Emulator, type Scenario } from '../emulator/index';
import { manifestDigest } from '../emulator/routes/registry-data-plane';
import { emulatorCredential } from '../emulator/sdk-client';
import { useEmulator } from '../harness/use-emulator';
import { directSend } from './direct-send';

const LS = 'contosoacr.azurecr.io';

describe('pre-flight image check against the emulated registry data plane', function () {
  this.timeout(30_000);
  const start = useEmulator();
  let emulator: Emulator;

  async function check(
    scenario: Scenario,
    targets: { label: string; images: string[] }[],
    options: { armTokenAuthDisabled?: boolean; send?: RegistrySend; registryAudience?: boolean } = {},
  ): Promise<ImageCheckReport> {
    emulator = await start(scenario);
    const credential = emulatorCredential(emulator.info);
    return checkImages(
      {
        send: options.send ?? directSend(emulator.info),
        getToken: async () =>
          (await credential.getToken('https://management.azure.com/.default'))?.token ?? '',
        ...(options.registryAudience
          ? {
              getRegistryToken: async () =>
                (await credential.getToken('https://containerregistry.azure.net/.default'))?.token ?? '',
            }
          : {}),
      },
      { loginServer: LS, armTokenAuthDisabled: options.armTokenAuthDisabled ?? false },
      targets,
    );
  }

  const scenario = (extra: Partial<Scenario> = {}): Scenario => ({
    ...baseScenario({ registryTags: ['1.0.0', '1.0.1', '2.0.1', 'latest'] }),
    ...extra,
  });

  it('confirms an existing tag once for several targets, with its digest, in 3 requests', async () => {
    const report = await check(scenario(), [
      { label: 'production', images: [`${LS}/web:1.0.0`] },
      { label: 'staging', images: [`${LS}/web:1.0.0`] },
    ]);
    assert.equal(report.skipped, undefined);
    assert.equal(report.images.length, 1);
    const [image] = report.images;
    assert.deepEqual(image?.targets, ['production', 'staging']);
    assert.deepEqual(image?.state, { kind: 'exists', digest: manifestDigest(LS, 'web', '1.0.0') });
    assert.equal(report.requests, 3, 'exchange + scoped token + one HEAD');
  });

  it('names a missing tag and the nearest existing tags', async () => {
    const report = await check(scenario(), [{ label: 'production', images: [`${LS}/web:2.0.0`] }]);
    const state = report.images[0]?.state;
    assert.equal(state?.kind, 'missing');
    assert.ok(state?.kind === 'missing');
    assert.equal(state.what, 'tag');
    assert.deepEqual(state.nearestTags?.slice(0, 2), ['2.0.1', '1.0.0']);
    assert.equal(state.tagCount, 4);
    assert.equal(report.requests, 4, 'exchange + token + HEAD + tag list');
  });

  it('tells a missing repository from a missing tag', async () => {
    const report = await check(scenario(), [{ label: 'production', images: [`${LS}/api:1.0.0`] }]);
    assert.deepEqual(report.images[0]?.state, {
      kind: 'missing',
      what: 'repository',
      nearestTags: undefined,
      tagCount: undefined,
    });
  });

  it('checks a digest reference: the digest of a tag exists, another digest does not', async () => {
    const good = manifestDigest(LS, 'web', '1.0.1');
    const bad = `sha256:${'0'.repeat(64)}`;
    const report = await check(scenario(), [
      { label: 'production', images: [`${LS}/web@${good}`] },
      { label: 'staging', images: [`${LS}/web:1.0.1@${bad}`] },
    ]);
    assert.equal(report.images[0]?.state.kind, 'exists');
    assert.equal(report.images[1]?.state.kind, 'missing');
    assert.equal(report.images[1]?.byDigest, true);
    assert.equal(report.images[1]?.state.kind === 'missing' && report.images[1].state.what, 'digest');
  });

  it('checks every sidecar image, and only those on the configured registry', async () => {
    const report = await check(scenario(), [
      {
        label: 'production',
        images: [
          `${LS}/web:1.0.0`,
          `${LS}/otel:1.0`,
          'mcr.microsoft.com/dotnet/aspnet:8.0',
          'other.azurecr.io/x:1',
        ],
      },
    ]);
    assert.deepEqual(
      report.images.map((i) => [i.image, i.state.kind]),
      [
        [`${LS}/web:1.0.0`, 'exists'],
        [`${LS}/otel:1.0`, 'missing'],
      ],
    );
    assert.deepEqual(report.otherRegistryImages, [
      { image: 'other.azurecr.io/x:1', targets: ['production'] },
    ]);
    assert.equal(report.requests, 5, 'one token for both repositories, two HEADs, one tag list');
  });

  it('skips (once, not fatal) when the connection may not read the repositories (ABAC registry)', async () => {
    const s = scenario();
    s.registries = [{ ...s.registries![0]!, roleAssignmentMode: 'AbacRepositoryPermissions' }];
    const report = await check(s, [{ label: 'production', images: [`${LS}/web:1.0.0`] }]);
    assert.equal(report.skipped?.reason, 'noDataPlaneRead');
    assert.equal(report.images[0]?.state.kind, 'unchecked');
  });

  it('skips when the registry firewall refuses the agent, and says it is the firewall', async () => {
    const s = scenario();
    s.registries = [{ ...s.registries![0]!, networkRuleSet: { defaultAction: 'Deny', ipRules: [] } }];
    const report = await check(s, [{ label: 'production', images: [`${LS}/web:1.0.0`] }]);
    assert.equal(report.skipped?.reason, 'firewall');
    assert.match(report.skipped?.detail ?? '', /network rules refuse the agent.*DENIED.*not allowed access/);
    assert.equal(report.requests, 1);
  });

  it('lets the agent in through an IP rule', async () => {
    const s = scenario();
    s.registries = [
      {
        ...s.registries![0]!,
        networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '127.0.0.0/8' }] },
      },
    ];
    const report = await check(s, [{ label: 'production', images: [`${LS}/web:1.0.0`] }]);
    assert.equal(report.images[0]?.state.kind, 'exists');
  });

  it('skips without a request when the registry refuses ARM-audience tokens', async () => {
    const report = await check(scenario(), [{ label: 'production', images: [`${LS}/web:1.0.0`] }], {
      armTokenAuthDisabled: true,
    });
    assert.equal(report.skipped?.reason, 'armTokenPolicy');
    assert.equal(report.requests, 0);
  });

  it('uses a registry-audience token when the registry refuses ARM-audience tokens', async () => {
    const s = scenario();
    s.registries = [{ ...s.registries![0]!, azureADAuthenticationAsArmPolicy: 'disabled' }];
    const report = await check(s, [{ label: 'production', images: [`${LS}/web:9.9`] }], {
      armTokenAuthDisabled: true,
      registryAudience: true,
    });
    assert.equal(report.skipped, undefined);
    assert.equal(report.images[0]?.state.kind, 'missing');
  });

  it('skips when the registry cannot be reached from the agent', async () => {
    const report = await check(scenario(), [{ label: 'production', images: [`${LS}/web:1.0.0`] }], {
      send: async () => {
        throw Object.assign(new Error('fetch failed'), { cause: { code: 'ENOTFOUND' } });
      },
    });
    assert.equal(report.skipped?.reason, 'unreachable');
    assert.match(report.skipped?.detail ?? '', /could not be reached from the agent.*ENOTFOUND/);
  });
});

describe('image references and nearest tags', () => {
  it('splits tags, digests and nested repositories', () => {
    assert.deepEqual(splitImage('a.azurecr.io/team/web:1.2'), {
      host: 'a.azurecr.io',
      repository: 'team/web',
      reference: '1.2',
      byDigest: false,
    });
    assert.deepEqual(splitImage('a.azurecr.io/web'), {
      host: 'a.azurecr.io',
      repository: 'web',
      reference: 'latest',
      byDigest: false,
    });
    assert.deepEqual(splitImage('a.azurecr.io/web:1@sha256:ab'), {
      host: 'a.azurecr.io',
      repository: 'web',
      reference: 'sha256:ab',
      byDigest: true,
    });
  });

  it('ranks tags by edits, then shared prefix', () => {
    assert.deepEqual(nearestTags('2.0.0', ['latest', '1.0.0', '2.0.1', '2.1.0', 'dev'], 3), [
      '2.0.1',
      '2.1.0',
      '1.0.0',
    ]);
    assert.deepEqual(nearestTags('v1', [], 5), []);
  });

  it('asks for manifest lists and OCI indexes too (a multi-arch tag must not look missing)', () => {
    assert.match(MANIFEST_ACCEPT, /manifest\.list\.v2\+json/);
    assert.match(MANIFEST_ACCEPT, /oci\.image\.index\.v1\+json/);
  });
});
