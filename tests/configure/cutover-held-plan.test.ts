/**
 * Issue 24, second wave, pure: a serving target whose switch no proof can precede is held (identity and grant, no
 * pull setting): under verifyPull: false, and a sidecar app on UserCredentials (always). Its password is never
 * advised away. And the restore command of a failed put-back.
 */
import assert from 'node:assert/strict';
import type { ObservedTarget } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/observe';
import { plan } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/plan';
import { restoreCommand } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/cutover/cutover';
import { pullsWithPassword } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/cutover/serving';
import { targetFromArm } from '../harness/facts';
import { testSettings } from '../harness/settings';
import { APP, IMAGE, observed, PASSWORD, target } from './cutover-fixture';

function sidecar(authType: string, password = true): ObservedTarget {
  return targetFromArm(
    {
      target: { label: 'production', slot: undefined, path: APP },
      site: { id: APP, name: 'shop' },
      config: { linuxFxVersion: 'SITECONTAINERS' },
      containers: [
        {
          name: 'main',
          properties: {
            image: IMAGE,
            isMain: true,
            authType,
            ...(password ? { userName: 'shopacr' } : {}),
            passwordSecret: null,
          },
        },
        {
          name: 'otel',
          properties: { image: 'mcr.microsoft.com/otel:1', isMain: false, authType: 'Anonymous' },
        },
      ],
      appSettings: {},
    },
    { os: 'linux', sidecar: true, images: [IMAGE, 'mcr.microsoft.com/otel:1'], vnetImagePull: false },
  );
}

const kinds = (p: ReturnType<typeof plan>, label: string) =>
  p.steps.filter((s) => s.target === label).map((s) => s.kind);

describe('cutover: held serving targets (pure)', () => {
  const settings = (o: Parameters<typeof testSettings>[0] = {}) =>
    testSettings({
      appName: 'shop',
      resourceGroup: 'rg-app',
      verify: { kind: 'on', timeoutInMs: 15 * 60_000, pollIntervalInMs: 10_000, until: 'imagePulled' },
      ...o,
    });

  it('verifyPull: false: a serving target gets identity and grant, no pull setting and no password removal', () => {
    const p = plan(
      observed([target({ appSettings: PASSWORD }), target({ slot: 'qa', appSettings: PASSWORD })], {
        production: true,
        qa: false,
      }),
      settings({ verify: { kind: 'off' }, removeRegistryCredentials: true }),
    );
    assert.deepEqual(kinds(p, 'production'), ['enableIdentity', 'assignRole']);
    assert.deepEqual(kinds(p, 'qa'), [
      'enableIdentity',
      'assignRole',
      'setAcrFlags',
      'removeRegistryCredentials',
    ]);
    assert.equal(p.cutover, undefined);
    assert.deepEqual(
      p.held?.map((h) => `${h.target}:${h.reason}`),
      ['production:verifyOff'],
    );
    const w = p.warnings.find((x) => x.code === 'ServingSwitchHeld');
    assert.equal(w?.target, 'production');
    assert.match(w?.fix ?? '', /verifyPull: true/);
    assert.match(w?.fix ?? '', /placement: afterDeploy/);
  });

  it('verifyPull: false: no advice to delete the password a held target still pulls with', () => {
    const p = plan(
      observed([target({ appSettings: PASSWORD })], { production: true }),
      settings({ verify: { kind: 'off' } }),
    );
    assert.equal(
      p.warnings.some((w) => w.code === 'StaleRegistryCredentials'),
      false,
    );
  });

  it('verifyPull on: the same target is cut over, not held', () => {
    const p = plan(observed([target({ appSettings: PASSWORD })], { production: true }), settings());
    assert.deepEqual(
      p.cutover?.order.map((c) => c.target),
      ['production'],
    );
    assert.equal(p.held, undefined);
  });

  for (const verify of [{ kind: 'off' as const }, undefined])
    it(`a serving sidecar app on UserCredentials is held (${verify ? 'verifyPull: false' : 'verifyPull on'})`, () => {
      const t = sidecar('UserCredentials');
      assert.equal(pullsWithPassword(t, 'shopacr.azurecr.io'), true);
      const p = plan(observed([t], { production: true }), settings(verify ? { verify } : {}));
      assert.deepEqual(kinds(p, 'production'), ['enableIdentity', 'assignRole']);
      assert.deepEqual(
        p.held?.map((h) => `${h.target}:${h.reason}`),
        ['production:sidecarPassword'],
      );
      const w = p.warnings.find((x) => x.code === 'SidecarSwitchHeld');
      assert.match(w?.message ?? '', /container\(s\) main/);
      assert.match(w?.fix ?? '', /authType UserCredentials with its user name and password again/);
    });

  it('a sidecar app that does not serve keeps the fast path (its containers are switched)', () => {
    const p = plan(observed([sidecar('UserCredentials')], { production: false }), settings());
    assert.ok(kinds(p, 'production').includes('setSidecarAuth'));
    assert.equal(p.held, undefined);
  });

  it('a sidecar app on Anonymous does not pull with a password', () => {
    assert.equal(pullsWithPassword(sidecar('Anonymous', false), 'shopacr.azurecr.io'), false);
  });
});

describe('cutover: the restore command of a failed put-back (pure)', () => {
  const cases = [
    {
      path: `${APP}/slots/staging`,
      previous: { useManagedIdentity: false, clientId: null },
      command: `az webapp config set --name shop --resource-group rg-app --slot staging --generic-configurations '{"acrUseManagedIdentityCreds":false}'`,
    },
    {
      path: APP,
      previous: { useManagedIdentity: false, clientId: '' },
      command: `az webapp config set --name shop --resource-group rg-app --generic-configurations '{"acrUseManagedIdentityCreds":false}'`,
    },
    {
      path: APP,
      previous: { useManagedIdentity: true, clientId: 'c0ffee00-0000-0000-0000-000000000001' },
      command: `az webapp config set --name shop --resource-group rg-app --generic-configurations '{"acrUseManagedIdentityCreds":true,"acrUserManagedIdentityID":"c0ffee00-0000-0000-0000-000000000001"}'`,
    },
  ];
  for (const c of cases)
    it(c.command.slice(0, 90), () => {
      assert.equal(restoreCommand(c), c.command);
    });
});
