/**
 * Issue 24, the pure parts of the cutover: which target serves today (servingFact), and the plan that keeps a
 * serving target's pull settings and password removal out of the fast path, slots first and production last.
 */
import assert from 'node:assert/strict';
import type { ObservedTarget } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/observe';
import { plan } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/plan';
import {
  describeCutover,
  GRANT_SETTLE_MS,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/cutover/plan';
import { servingFact } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/cutover/serving';
import { classifyLog } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/classify';
import { testSettings } from '../harness/settings';
import { IMAGE, observed, PASSWORD, target } from './cutover-fixture';

const started = classifyLog(
  [
    `2026-01-01T10:00:00.000Z INFO  - Pulling image: ${IMAGE}`,
    '2026-01-01T10:00:05.000Z INFO  - Digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    `2026-01-01T10:00:06.000Z INFO  - Status: Downloaded newer image for ${IMAGE}`,
    '2026-01-01T10:00:12.000Z INFO  - Container shop_0_1a2b3c4d for site shop initialized successfully and is ready to serve requests.',
  ],
  { image: IMAGE },
);
const refused = classifyLog(
  [
    `2026-01-01T10:00:00.000Z INFO  - Pulling image: ${IMAGE}`,
    '2026-01-01T10:00:01.000Z ERROR - DockerApiException: Docker API responded with status code=InternalServerError, response={"message":"Head https://shopacr.azurecr.io/v2/shop/manifests/1: unauthorized: authentication required"}',
    '2026-01-01T10:00:02.000Z INFO  - Stopping site shop because it failed during startup.',
  ],
  { image: IMAGE },
);

describe('cutover: which target serves today (pure)', () => {
  const cases: { name: string; t: ObservedTarget; log: typeof started | undefined; serving: boolean }[] = [
    {
      name: 'password + a start of the image',
      t: target({ appSettings: PASSWORD }),
      log: started,
      serving: true,
    },
    {
      name: 'password, log unreadable (careful: serving)',
      t: target({ appSettings: PASSWORD }),
      log: undefined,
      serving: true,
    },
    {
      name: 'password that fails today (fast path)',
      t: target({ appSettings: PASSWORD }),
      log: refused,
      serving: false,
    },
    { name: 'no password (new app)', t: target(), log: started, serving: false },
    {
      name: 'flag already on',
      t: target({
        appSettings: PASSWORD,
        config: { linuxFxVersion: `DOCKER|${IMAGE}`, acrUseManagedIdentityCreds: true },
      }),
      log: started,
      serving: false,
    },
    {
      name: 'image on another registry',
      t: target({ appSettings: PASSWORD, image: 'docker.io/library/nginx:1' }),
      log: started,
      serving: false,
    },
  ];
  for (const c of cases)
    it(`${c.name}: ${c.serving ? 'serving' : 'not serving'}`, () => {
      assert.equal(servingFact(c.t, 'shopacr.azurecr.io', c.log).serving, c.serving);
    });
});

describe('cutover: the plan (pure)', () => {
  it('serving targets leave the fast path: slots first, production last; the password is removed only in the cutover', () => {
    const targets = [
      target({ appSettings: PASSWORD }),
      target({ slot: 'staging', appSettings: PASSWORD }),
      target({ slot: 'qa', appSettings: PASSWORD }),
    ];
    const p = plan(
      observed(targets, { production: true, staging: true, qa: false }),
      testSettings({
        appName: 'shop',
        resourceGroup: 'rg-app',
        verify: { kind: 'on', timeoutInMs: 15 * 60_000, pollIntervalInMs: 10_000, until: 'imagePulled' },
        removeRegistryCredentials: true,
      }),
    );
    assert.deepEqual(
      p.cutover?.order.map((c) => c.target),
      ['staging', 'production'],
    );
    const fast = p.steps.filter((s) => s.kind === 'setAcrFlags' || s.kind === 'removeRegistryCredentials');
    assert.deepEqual(
      fast.map((s) => `${s.target}:${s.kind}`),
      ['qa:setAcrFlags', 'qa:removeRegistryCredentials'],
      'only the target that does not serve keeps the fast path',
    );
    assert.ok(p.cutover?.order.every((c) => c.removeCredentials && c.previous.useManagedIdentity !== true));
    // Identities and grants stay first, for every target.
    assert.equal(p.steps.filter((s) => s.kind === 'enableIdentity').length, 3);
    assert.equal(p.steps.filter((s) => s.kind === 'assignRole').length, 3);
    assert.equal(p.cutover?.settleMs, GRANT_SETTLE_MS);
  });

  it('says the sequence, the wait and the fallback (dry run and run alike)', () => {
    const p = plan(
      observed([target({ appSettings: PASSWORD }), target({ slot: 'staging', appSettings: PASSWORD })], {
        production: true,
        staging: true,
      }),
      testSettings({
        appName: 'shop',
        resourceGroup: 'rg-app',
        verify: { kind: 'on', timeoutInMs: 15 * 60_000, pollIntervalInMs: 10_000, until: 'imagePulled' },
      }),
    );
    assert.ok(p.cutover);
    const text = describeCutover(p.cutover).join('\n');
    assert.match(text, /1\. \[staging\].*10 minutes old \(Azure RBAC/);
    assert.match(text, /2\. \[production\]/);
    assert.match(text, /put back acrUseManagedIdentityCreds=false/);
  });

  it('nothing serves: no cutover, the plan is what it always was', () => {
    const p = plan(
      observed([target({ appSettings: PASSWORD })], { production: false }),
      testSettings({
        appName: 'shop',
        resourceGroup: 'rg-app',
        verify: { kind: 'on', timeoutInMs: 15 * 60_000, pollIntervalInMs: 10_000, until: 'imagePulled' },
      }),
    );
    assert.equal(p.cutover, undefined);
    assert.ok(p.steps.some((s) => s.kind === 'setAcrFlags'));
  });
});
