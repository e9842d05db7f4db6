import assert from 'node:assert/strict';
import type {
  CheckedImage,
  ImageCheckReport,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/registry/image-check';
import {
  type CauseLessFacts,
  causeLessCauses,
  imageCheckLines,
  missingImageVerdict,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/registry/preflight';

const LS = 'contosoacr.azurecr.io';

function image(ref: string, targets: string[], state: CheckedImage['state']): CheckedImage {
  const [repository = '', reference = ''] = ref.split(':');
  return { image: `${LS}/${ref}`, repository, reference, byDigest: false, targets, state };
}

function report(images: CheckedImage[], skipped?: ImageCheckReport['skipped']): ImageCheckReport {
  return { loginServer: LS, images, otherRegistryImages: [], skipped, requests: 4, ms: 12 };
}

const missingTag = image('web:2.0.0', ['production', 'staging'], {
  kind: 'missing',
  what: 'tag',
  nearestTags: ['2.0.1', '1.0.0'],
  tagCount: 7,
});
const exists = image('web:1.0.0', ['production'], { kind: 'exists', digest: 'sha256:ab' });

describe('missingImageVerdict: a missing image stops the run before any write or restart', () => {
  const steps = [
    { kind: 'assignRole', target: 'production', what: 'Grant AcrPull on registry contosoacr to production.' },
    {
      kind: 'setAcrFlags',
      target: 'production',
      what: 'Set acrUseManagedIdentityCreds = true on production.',
    },
  ];

  it('fails with ImageNotFound, the image, its targets, the nearest tags and the changes it did not make', () => {
    const v = missingImageVerdict(report([missingTag]), steps, { verify: true, dryRun: false });
    assert.equal(v.error?.code, 'ImageNotFound');
    assert.match(
      v.error?.message ?? '',
      /web:2\.0\.0 \(production, staging\): repository 'web' has no tag '2\.0\.0'/,
    );
    assert.match(v.error?.message ?? '', /nearest to it: 2\.0\.1, 1\.0\.0 \(of 7\)/);
    assert.match(v.error?.remedy ?? '', /e\.g\. contosoacr\.azurecr\.io\/web:2\.0\.1/);
    assert.match(
      v.error?.remedy ?? '',
      /The 2 planned change\(s\) do not depend on the tag and were NOT made/,
    );
    assert.deepEqual(
      v.targets.map((t) => t.label),
      ['production', 'staging'],
    );
  });

  it('is nothing when every image exists or was not checked', () => {
    const unchecked = image('web:1.0.0', ['production'], {
      kind: 'unchecked',
      reason: 'firewall',
      detail: 'x',
    });
    for (const r of [undefined, report([exists]), report([unchecked])])
      assert.deepEqual(missingImageVerdict(r, steps, { verify: true, dryRun: false }), {
        error: undefined,
        targets: [],
        warning: undefined,
      });
  });

  it('fails a dry run the way the real run would (one rule for every failure before the first write)', () => {
    const v = missingImageVerdict(report([missingTag]), steps, { verify: true, dryRun: true });
    assert.equal(v.error?.code, 'ImageNotFound');
    assert.match(v.error?.message ?? '', /dry run stops where a real run would/);
    assert.equal(v.warning, undefined);
  });

  it('only warns when the run would neither write to nor restart that target (verification off)', () => {
    const v = missingImageVerdict(report([missingTag]), [steps[0]!], { verify: false, dryRun: false });
    assert.equal(v.error, undefined);
    assert.match(v.warning ?? '', /does not exist/);
    const w = missingImageVerdict(report([missingTag]), steps, { verify: false, dryRun: false });
    assert.equal(w.error?.code, 'ImageNotFound', 'a config write restarts the target: stop');
  });
});

describe('imageCheckLines: what the log says about the check', () => {
  it('says a skip once, as a warning, with its reason', () => {
    const unchecked = (t: string) =>
      image('web:1.0.0', [t], { kind: 'unchecked', reason: 'noDataPlaneRead', detail: 'no read' });
    const lines = imageCheckLines(
      report([unchecked('production'), unchecked('staging')], {
        reason: 'noDataPlaneRead',
        detail: 'no read',
      }),
      true,
    );
    assert.match(lines.warning ?? '', /^The image check was skipped: no read\. The task carries on/);
    assert.equal(lines.info.length, 0);
  });

  it('prints each image once with its targets, and the cost', () => {
    const lines = imageCheckLines(report([exists]), true);
    assert.deepEqual(lines.info, [
      `Image check: ${LS}/web:1.0.0 (production) exists (sha256:ab).`,
      `Image check on ${LS}: 1 image(s), 4 request(s), 12 ms.`,
    ]);
  });

  it('says when the check is off', () => {
    assert.deepEqual(imageCheckLines(undefined, false).info, ['Image check: off (checkImage: false).']);
  });
});

describe('causeLessCauses: a failure the platform does not explain', () => {
  const base: CauseLessFacts = {
    image: exists,
    skipped: undefined,
    grantIsFresh: false,
    registryNetworkRestricted: false,
    vnetImagePull: false,
    armTokenAuthDisabled: false,
  };
  const order = (f: Partial<CauseLessFacts>) => causeLessCauses({ ...base, ...f }).map((c) => c.cause);

  const table: [string, Partial<CauseLessFacts>, string[]][] = [
    ['tag confirmed, old grant, open registry', {}, ['identity', 'propagation', 'network']],
    ['tag confirmed, fresh grant', { grantIsFresh: true }, ['propagation', 'identity', 'network']],
    [
      'tag confirmed, old grant, restricted registry',
      { registryNetworkRestricted: true },
      ['network', 'identity', 'propagation'],
    ],
    [
      'tag not checked, fresh grant',
      { image: undefined, grantIsFresh: true },
      ['tag', 'propagation', 'identity', 'network'],
    ],
    [
      'ARM tokens refused',
      { armTokenAuthDisabled: true },
      ['armTokenPolicy', 'identity', 'propagation', 'network'],
    ],
  ];
  for (const [name, facts, expected] of table) it(name, () => assert.deepEqual(order(facts), expected));

  it('gives evidence for each cause', () => {
    const [first] = causeLessCauses({ ...base, registryNetworkRestricted: true });
    assert.match(first?.evidence ?? '', /says nothing about the app's outbound addresses/);
  });
});
