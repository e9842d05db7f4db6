/**
 * Pure rules and emulator routing from issue #28: which VNet image pull name wins, which operation statuses end a
 * wait, which api-versions the emulator answers, and the permissions path with and without an empty segment.
 */
import assert from 'node:assert/strict';
import {
  operationState,
  type Site,
  siteFacts,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/web-apps';
import { checkApiVersion } from '../emulator/api-versions';
import { baseScenario, startEmulator } from '../emulator/index';
import { emulatorCredential, rawRequest, trustingHttpClient } from '../emulator/sdk-client';

function site(properties: Site['properties']): Site {
  return { id: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/a', name: 'a', properties };
}

describe('REST fidelity rules (issue #28)', () => {
  describe('VNet image pull: the current name wins when the site states it', () => {
    const cases: [string, Site['properties'], boolean][] = [
      ['only the old name, on', { vnetImagePullEnabled: true }, true],
      ['only the new name, on', { outboundVnetRouting: { imagePullTraffic: true } }, true],
      [
        'the new name off, the old one on',
        { outboundVnetRouting: { imagePullTraffic: false }, vnetImagePullEnabled: true },
        false,
      ],
      [
        'routing without the image-pull flag, the old name on',
        { outboundVnetRouting: { allTraffic: true }, vnetImagePullEnabled: true },
        true,
      ],
      ['neither', {}, false],
    ];
    for (const [name, properties, expected] of cases) {
      it(`${name}: ${expected}`, () => {
        assert.equal(siteFacts(site(properties)).vnetImagePull, expected);
      });
    }
  });

  describe('operation statuses', () => {
    const answer = (status: unknown) => ({
      status: 200,
      headers: new Headers(),
      body: { status },
      retryAfterInMs: undefined,
    });
    const cases: [unknown, boolean, string | undefined][] = [
      ['InProgress', false, undefined],
      ['Created', false, undefined],
      [undefined, false, undefined],
      ['Succeeded', true, undefined],
      ['Failed', true, 'OperationFailed'],
      ['Canceled', true, 'OperationCanceled'],
      ['TimedOut', true, 'OperationTimedOut'],
      ['Abandoned', true, 'OperationAbandoned'],
    ];
    for (const [status, done, code] of cases) {
      it(`${String(status)}: ${done ? `ends the wait${code ? ` as ${code}` : ''}` : 'keeps waiting'}`, () => {
        const state = operationState('status', answer(status));
        assert.equal(state.done, done);
        assert.equal(state.error?.code, code);
        if (code) assert.match(state.error?.message ?? '', new RegExp(String(status)));
      });
    }
  });

  describe("the emulator's api-version table", () => {
    const site = '/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/a';
    const identity =
      '/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i';
    const cases: [string, string, boolean][] = [
      [site, '2026-03-15', true],
      [site, '2026-07-15', true],
      [site, '2026-09-01', true],
      [site, '2024-11-01', true],
      [site, '2026-10-01', false],
      [identity, '2026-05-31', true],
      [identity, '2023-01-31', true],
      [identity, '2026-04-30', false],
    ];
    for (const [path, version, answered] of cases) {
      it(`${path.split('/providers/')[1]?.split('/')[0]} ${version}: ${answered ? 'answered' : 'refused'}`, () => {
        const refusal = checkApiVersion('AzureCloud', undefined, path, version, 'westeurope');
        assert.equal(refusal === undefined, answered, JSON.stringify(refusal?.body));
      });
    }
  });

  it('routes the permissions of a top-level resource with and without the empty parent segment alike', async function () {
    this.timeout(30_000);
    const emulator = await startEmulator({ scenario: baseScenario() });
    try {
      const info = emulator.info;
      const token = (
        await emulatorCredential(info, trustingHttpClient(info)).getToken(
          'https://management.azure.com/.default',
        )
      ).token;
      const rg = `subscriptions/${info.subscriptionId}/resourceGroups/rg-web/providers`;
      const tail =
        'registries/contosoacr/providers/Microsoft.Authorization/permissions?api-version=2022-04-01';
      const get = (path: string) =>
        rawRequest(info, `${info.armUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const plain = await get(`${rg}/Microsoft.ContainerRegistry/${tail}`);
      const empty = await get(`${rg}/Microsoft.ContainerRegistry//${tail}`);
      assert.equal(plain.status, 200, plain.body);
      assert.equal(empty.status, 200, empty.body);
      assert.deepEqual(JSON.parse(empty.body), JSON.parse(plain.body));
      assert.ok((JSON.parse(plain.body) as { value: unknown[] }).value.length > 0);
    } finally {
      await emulator.close();
    }
  });
});
