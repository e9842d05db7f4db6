/**
 * The emulator's response bodies against the spec of the api-version each request names (issue #28): at the
 * versions the task sends (Web 2024-11-01, ManagedIdentity 2023-01-31) every property must be one that version's
 * model defines (spec-models.ts: the SDK packages generated for exactly those versions); and the parts that change
 * between versions change with the request's api-version (web-versions.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { exampleBody } from '../emulator/azure-examples';
import { type Emulator, loadScenario, startEmulator } from '../emulator/index';
import type { Scenario, WireOptions } from '../emulator/model';
import { emulatorCredential, rawRequest, trustingHttpClient } from '../emulator/sdk-client';
import { operationFor } from './operations';
import { check, modelsOf, responseModel, type Violation } from './spec-models';

const SCENARIOS = join(__dirname, '..', 'emulator', 'scenarios');

/**
 * Where Web 2024-11-01 itself shows two shapes: its GetWebApp.json example (kept as a structure in
 * tests/emulator/data/azure-example-shapes.json with its source) carries site properties that the version's
 * definitions (and so @azure/arm-appservice 17) no longer have: `vnetRouteAllEnabled`, `vnetImagePullEnabled`,
 * `vnetContentShareEnabled`. A site property is defined at 2024-11-01 when either shows it.
 */
const WEB_2024_11_01_EXAMPLE_ONLY = Object.keys(
  (exampleBody('Microsoft.Web/2024-11-01/GetWebApp.json').properties ?? {}) as object,
).map((k) => `$.properties.${k}`);

interface Probe {
  method: string;
  /** Under the subscription. */
  path: string;
  apiVersion: string;
  /** The response is a `{ value: [...] }` page of this operation's items. */
  paged?: boolean;
}

const SITE = '/resourceGroups/rg-web/providers/Microsoft.Web/sites/contoso-web';
const PROBES: Probe[] = [
  { method: 'GET', path: SITE, apiVersion: '2024-11-01' },
  { method: 'GET', path: `${SITE}/slots`, apiVersion: '2024-11-01', paged: true },
  { method: 'GET', path: `${SITE}/config/web`, apiVersion: '2024-11-01' },
  { method: 'POST', path: `${SITE}/config/appsettings/list`, apiVersion: '2024-11-01' },
  { method: 'GET', path: `${SITE}/config/slotConfigNames`, apiVersion: '2024-11-01' },
  { method: 'GET', path: `${SITE}/sitecontainers`, apiVersion: '2024-11-01', paged: true },
  { method: 'POST', path: `${SITE}/config/publishingcredentials/list`, apiVersion: '2024-11-01' },
  { method: 'GET', path: `${SITE}/basicPublishingCredentialsPolicies/scm`, apiVersion: '2024-11-01' },
  {
    method: 'GET',
    path: '/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-acr-pull',
    apiVersion: '2023-01-31',
  },
];

async function start(file: string, wire?: WireOptions): Promise<{ emulator: Emulator; token: string }> {
  const scenario: Scenario = loadScenario(join(SCENARIOS, file));
  if (wire) scenario.wire = wire;
  const emulator = await startEmulator({ scenario });
  const info = emulator.info;
  const token = (
    await emulatorCredential(info, trustingHttpClient(info)).getToken('https://management.azure.com/.default')
  ).token;
  return { emulator, token };
}

async function call(
  emulator: Emulator,
  token: string,
  probe: Pick<Probe, 'method' | 'path' | 'apiVersion'>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const info = emulator.info;
  const url = `${info.armUrl}subscriptions/${info.subscriptionId}${probe.path}?api-version=${probe.apiVersion}`;
  const r = await rawRequest(info, url, {
    method: probe.method,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: r.status, body: r.body ? (JSON.parse(r.body) as Record<string, unknown>) : {} };
}

/** The violations of one response against its operation's model at that version. */
async function violations(
  emulator: Emulator,
  token: string,
  probe: Probe,
): Promise<{ status: number; found: Violation[] }> {
  const { status, body } = await call(emulator, token, probe);
  if (status >= 300) return { status, found: [] };
  const op = operationFor(probe.method, `/subscriptions/x${probe.path}`);
  if (!op) throw new Error(`no spec operation for ${probe.method} ${probe.path}`);
  assert.equal(op.apiVersion, probe.apiVersion, `${op.operationId}: the model is of the version asked for`);
  const spec = await op.spec();
  let model = responseModel(spec, status);
  if (!model) throw new Error(`${op.operationId} has no response model`);
  const items: unknown[] = probe.paged ? ((body.value as unknown[]) ?? []) : [body];
  if (probe.paged) {
    const element = (model.type as { modelProperties?: Record<string, { type: { element?: unknown } }> })
      .modelProperties?.value?.type.element;
    model = element as typeof model;
  }
  const found = items.flatMap((item) => check(item, model!, modelsOf(spec), 'response'));
  return { status, found };
}

describe('emulator responses against the spec of the requested api-version', function () {
  this.timeout(60_000);

  it("the 2024-11-01 example's site properties beyond the model are the three old VNet flags", async () => {
    const { emulator, token } = await start('default.json', { vnetImagePullShape: 'vnetImagePullEnabled' });
    try {
      const { found } = await violations(emulator, token, PROBES[0]!);
      assert.deepEqual(found.map((v) => `${v.at} ${v.problem}`).sort(), [
        '$.properties.vnetContentShareEnabled unknown',
        '$.properties.vnetImagePullEnabled unknown',
        '$.properties.vnetRouteAllEnabled unknown',
      ]);
      for (const v of found)
        assert.ok(WEB_2024_11_01_EXAMPLE_ONLY.includes(v.at), `${v.at} is in the example`);
    } finally {
      await emulator.close();
    }
  });

  const cases: [string, WireOptions | undefined, string[]][] = [
    // The default shape of 2024-11-01 names VNet routing both ways: only what the example shows is extra.
    ['user-assigned.json', undefined, WEB_2024_11_01_EXAMPLE_ONLY],
    ['user-assigned.json', { vnetImagePullShape: 'outboundVnetRouting' }, []],
    ['sidecar.json', { vnetImagePullShape: 'outboundVnetRouting' }, []],
  ];
  for (const [file, wire, allowed] of cases) {
    it(`${file}${wire ? ` with ${JSON.stringify(wire)}` : ''}: every property is one the version defines`, async () => {
      const { emulator, token } = await start(file, wire);
      try {
        const problems: string[] = [];
        for (const probe of PROBES) {
          const { status, found } = await violations(emulator, token, probe);
          if (status >= 300 && !/identities|sitecontainers/.test(probe.path))
            problems.push(`${probe.method} ${probe.path}: HTTP ${status}`);
          for (const v of found)
            if (!(v.problem === 'unknown' && allowed.includes(v.at)))
              problems.push(`${probe.method} ${probe.path} @${probe.apiVersion}: ${v.at} ${v.problem}`);
        }
        assert.deepEqual(problems, []);
      } finally {
        await emulator.close();
      }
    });
  }

  /** Which VNet names a site body carries at an api-version, per wire shape. */
  const network: [
    string,
    WireOptions['vnetImagePullShape'],
    { legacy: boolean; routing: boolean; mi: boolean },
  ][] = [
    ['2024-04-01', undefined, { legacy: true, routing: false, mi: false }],
    ['2024-04-01', 'outboundVnetRouting', { legacy: true, routing: false, mi: false }],
    ['2024-11-01', undefined, { legacy: true, routing: true, mi: false }],
    ['2024-11-01', 'vnetImagePullEnabled', { legacy: true, routing: false, mi: false }],
    ['2024-11-01', 'outboundVnetRouting', { legacy: false, routing: true, mi: false }],
    ['2025-05-01', undefined, { legacy: false, routing: true, mi: true }],
    ['2025-05-01', 'vnetImagePullEnabled', { legacy: false, routing: true, mi: true }],
    ['2026-03-15', undefined, { legacy: false, routing: true, mi: true }],
  ];
  it('names VNet image pull as the requested api-version does', async () => {
    const { emulator, token } = await start('default.json');
    try {
      for (const [apiVersion, shape, expected] of network) {
        emulator.state.wire = shape ? { vnetImagePullShape: shape } : {};
        const { body } = await call(emulator, token, { method: 'GET', path: SITE, apiVersion });
        const p = body.properties as Record<string, unknown> & {
          outboundVnetRouting?: Record<string, unknown>;
        };
        const seen = {
          legacy: 'vnetImagePullEnabled' in p,
          routing: p.outboundVnetRouting !== undefined && 'imagePullTraffic' in p.outboundVnetRouting,
          mi: p.outboundVnetRouting !== undefined && 'managedIdentityTraffic' in p.outboundVnetRouting,
        };
        assert.deepEqual(seen, expected, `${apiVersion} ${shape ?? 'default'}`);
      }
    } finally {
      await emulator.close();
    }
  });

  it('answers a user-assigned identity at 2023-01-31 with the keys of that version (no isolationScope)', async () => {
    const { emulator, token } = await start('user-assigned.json');
    try {
      const path = PROBES[PROBES.length - 1]!.path;
      const old = await call(emulator, token, { method: 'GET', path, apiVersion: '2023-01-31' });
      const current = await call(emulator, token, { method: 'GET', path, apiVersion: '2024-11-30' });
      assert.equal('isolationScope' in (old.body.properties as object), false);
      // The keys of that version's own example (IdentityGet.json of 2023-01-31, kept with its source).
      const example = exampleBody('Microsoft.ManagedIdentity/2023-01-31/IdentityGet.json');
      assert.deepEqual(Object.keys(old.body).sort(), Object.keys(example).sort());
      assert.deepEqual(
        Object.keys(old.body.properties as object).sort(),
        Object.keys(example.properties as object).sort(),
      );
      assert.equal((current.body.properties as { isolationScope?: string }).isolationScope, 'None');
    } finally {
      await emulator.close();
    }
  });
});
