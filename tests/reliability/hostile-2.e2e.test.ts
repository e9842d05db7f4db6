/**
 * Hostile responses, second review (issue 27), through the built bundle against the emulator. Each case is a
 * response Azure does not send today, that would otherwise steer the task:
 * - a registry answer whose login server is not `<registry name>[-<hash>].<the cloud's ACR suffix>` (a lookalike
 *   such as `contosoacr.azurecr.io.evil.example`): no request reaches that host (the emulator's CONNECT proxy logs
 *   every host the task asks for), the image check is skipped with a warning naming the mismatch;
 * - lists that never end: a page linking to itself (slots, role assignments, permissions, sidecars), new links
 *   forever (slow pages: the run's deadline; big pages: the byte cap, peak RSS under 200 MB), one page of two
 *   million items (the item cap, no stack overflow);
 * - a sidecar container name that is a path (`contoso-web/..`): nothing is written;
 * - the registry's refresh and access tokens, quoted back in a registry error: registered as secrets, never in
 *   clear on stdout or in the summary.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseScenario, type Emulator } from '../emulator/index';
import { type TaskRun, visibleLog } from '../harness/run-task';
import { makeTempDir, removeTempDir } from '../harness/temp';
import {
  APP,
  assertClean,
  assertFailed,
  type Case,
  describeRun,
  itConcurrently,
  RG,
  requestsTo,
  twoSlots,
} from './helpers';

const LOOKALIKE = 'contosoacr.azurecr.io.evil.example';

const groupId = (emu: Emulator) => `/subscriptions/${emu.info.subscriptionId}/resourceGroups/${RG}`;
const registryId = (emu: Emulator) =>
  `${groupId(emu)}/providers/Microsoft.ContainerRegistry/registries/contosoacr`;
const siteId = (emu: Emulator) => `${groupId(emu)}/providers/Microsoft.Web/sites/${APP}`;

function registryBody(emu: Emulator, loginServer: string, id = registryId(emu)) {
  return {
    id,
    name: 'contosoacr',
    type: 'Microsoft.ContainerRegistry/registries',
    location: 'westeurope',
    sku: { name: 'Standard' },
    properties: { loginServer, adminUserEnabled: false },
  };
}

/** Every target runs its image from `host`. */
function imagesOn(emu: Emulator, host: string): void {
  for (const a of emu.state.apps) {
    a.siteConfig.linuxFxVersion = `DOCKER|${host}/web:1.0.0`;
    for (const c of a.siteContainers ?? []) if (c.isMain) c.image = `${host}/web:1.0.0`;
  }
}

/** Nothing asked the proxy for `host` (the registry data plane is only reachable through it). */
function assertNeverAsked(emu: Emulator, host: string): void {
  const asked = emu.proxyLog().filter((p) => p.host.toLowerCase() === host.toLowerCase());
  assert.deepEqual(asked, [], `the task asked the proxy for ${host}`);
}

/** The URL of an ARM list on the emulator, as a nextLink names it. */
const linkTo = (emu: Emulator, pathAndQuery: string) =>
  `${emu.info.armUrl.replace(/\/$/, '')}${pathAndQuery}`;

/** A run stopped by a list that does not end: the list code, no write, and within the time given. */
function assertListStopped(r: TaskRun, emu: Emulator, maxSeconds: number): void {
  assertFailed(r, /ListUnbounded/);
  assert.doesNotMatch(`${r.stdout}\n${r.stderr}`, /call stack/i, describeRun(r));
  assert.deepEqual(
    emu.writes().map((w) => `${w.method} ${w.path}`),
    [],
    'nothing written',
  );
  assert.ok(r.durationMs < maxSeconds * 1000, `the run took ${(r.durationMs / 1000).toFixed(1)} s`);
}

/** A page that links to itself, served for every GET of the list. */
function selfLinkedPage(emu: Emulator, pathRegex: string, link: string, value: unknown[] = []) {
  emu.setFaults([{ method: 'GET', pathRegex, status: 200, body: { value, nextLink: linkTo(emu, link) } }]);
}

const FAST_INPUTS = { timeoutMinutes: '0.25', pollIntervalSeconds: '0.2' };
/** A self-linked list must stop at once: a few requests to that list, not thousands. */
const FEW = 3;

const loginServers: Case[] = [
  {
    name: 'sends no token to a login server that the registry read by its ID names outside its name and suffix (dry run)',
    scenario: twoSlots(),
    inputs: (emu) => ({ registry: registryId(emu), dryRun: 'true' }),
    options: { debug: true },
    prepare: (emu) => {
      imagesOn(emu, LOOKALIKE);
      emu.setFaults([
        {
          method: 'GET',
          pathRegex: '/registries/contosoacr\\?',
          status: 200,
          body: registryBody(emu, LOOKALIKE),
        },
      ]);
    },
    check: (r, emu) => {
      assertClean(r);
      assertNeverAsked(emu, LOOKALIKE);
      assert.ok(
        r.warnings.some((w) => w.includes(LOOKALIKE) && /contosoacr\.azurecr\.io(?!\.evil)/.test(w)),
        `a warning names the login server and what it should be:\n${describeRun(r)}`,
      );
    },
  },
  {
    name: 'sends no token to a lookalike login server that the images and the registry list agree on (dry run)',
    scenario: twoSlots(),
    inputs: { dryRun: 'true' },
    options: { debug: true },
    prepare: (emu) => {
      imagesOn(emu, LOOKALIKE);
      emu.setFaults([
        {
          method: 'GET',
          pathRegex: '/providers/Microsoft.ContainerRegistry/registries\\?',
          status: 200,
          body: { value: [registryBody(emu, LOOKALIKE)] },
        },
      ]);
    },
    check: (r, emu) => {
      assertClean(r);
      assertNeverAsked(emu, LOOKALIKE);
    },
  },
];

const endlessLists: Case[] = [
  {
    name: 'stops a slot list whose page links to itself',
    scenario: twoSlots(),
    inputs: FAST_INPUTS,
    prepare: (emu) =>
      selfLinkedPage(
        emu,
        `/sites/${APP}/slots\\?`,
        `${siteId(emu)}/slots?api-version=2024-11-01&$skiptoken=1`,
      ),
    check: (r, emu) => {
      assertListStopped(r, emu, 40);
      assert.ok(requestsTo(emu, `/sites/${APP}/slots`, 'GET').length <= FEW, 'a few slot pages');
    },
  },
  {
    name: 'stops a role-assignment list whose page links to itself',
    scenario: twoSlots(),
    inputs: FAST_INPUTS,
    prepare: (emu) =>
      selfLinkedPage(
        emu,
        '/providers/Microsoft.Authorization/roleAssignments\\?',
        `${registryId(emu)}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()&api-version=2022-04-01&$skiptoken=1`,
      ),
    check: (r, emu) => {
      assertListStopped(r, emu, 40);
      const lists = requestsTo(emu, '/providers/Microsoft.Authorization/roleAssignments', 'GET');
      assert.ok(lists.length <= FEW, `a few role-assignment pages (${lists.length})`);
    },
  },
  {
    name: 'stops a permissions list whose page links to itself, and goes on without it (it is advisory)',
    scenario: twoSlots(),
    inputs: { ...FAST_INPUTS, verifyPull: 'false' },
    prepare: (emu) =>
      selfLinkedPage(
        emu,
        '/providers/Microsoft.Authorization/permissions\\?',
        `${registryId(emu)}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01&$skiptoken=1`,
      ),
    check: (r, emu) => {
      assertClean(r);
      const lists = requestsTo(emu, '/providers/Microsoft.Authorization/permissions', 'GET');
      assert.ok(lists.length >= 1 && lists.length <= FEW, `a few permission pages (${lists.length})`);
      assert.ok(r.durationMs < 40_000, `the run took ${(r.durationMs / 1000).toFixed(1)} s`);
    },
  },
  {
    name: 'stops a sidecar list whose page links to itself',
    scenario: baseScenario({ platform: 'sidecar' }),
    inputs: FAST_INPUTS,
    prepare: (emu) =>
      selfLinkedPage(
        emu,
        '/sitecontainers\\?',
        `${siteId(emu)}/sitecontainers?api-version=2024-11-01&$skiptoken=1`,
      ),
    check: (r, emu) => {
      assertListStopped(r, emu, 40);
      assert.ok(requestsTo(emu, '/sitecontainers', 'GET').length <= FEW, 'a few sidecar pages');
    },
  },
  {
    name: "stops a slow list that never ends at the run's deadline (timeout 15 s)",
    scenario: twoSlots(),
    inputs: FAST_INPUTS,
    prepare: (emu) =>
      emu.setFaults([
        {
          method: 'GET',
          pathRegex: `/sites/${APP}/slots\\?`,
          status: 200,
          slowMs: 250,
          endlessPages: true,
          body: { value: [] },
        },
      ]),
    // The deadline of observe is the timeout (at least 20 s); then one request may still be in flight.
    check: (r, emu) => assertListStopped(r, emu, 20 + 15),
  },
  {
    name: 'stops a list of one page with two million items at the item cap',
    scenario: twoSlots(),
    inputs: FAST_INPUTS,
    prepare: (emu) =>
      emu.setFaults([
        {
          method: 'GET',
          pathRegex: '/providers/Microsoft.ContainerRegistry/registries\\?',
          status: 200,
          body: `{"value":[${'0,'.repeat(2_000_000 - 1)}0]}`,
          headers: { 'content-type': 'application/json' },
        },
      ]),
    check: (r, emu) => assertListStopped(r, emu, 40),
  },
];

const containerNames: Case[] = [
  {
    name: 'writes nothing when a sidecar container name from ARM is a path (contoso-web/..)',
    scenario: baseScenario({ platform: 'sidecar' }),
    inputs: FAST_INPUTS,
    prepare: (emu) =>
      emu.setFaults([
        {
          method: 'GET',
          pathRegex: '/sitecontainers\\?',
          status: 200,
          body: {
            value: [
              {
                id: `${siteId(emu)}/sitecontainers/main`,
                name: `${APP}/..`,
                type: 'Microsoft.Web/sites/sitecontainers',
                properties: {
                  image: 'contosoacr.azurecr.io/web:1.0.0',
                  isMain: true,
                  targetPort: '8080',
                  authType: 'Anonymous',
                },
              },
            ],
          },
        },
      ]),
    check: (r, emu) => {
      assertFailed(r, /UntrustedResponse/);
      assert.match(r.message, /contoso-web\/\.\./, describeRun(r));
      assert.deepEqual(
        emu.writes().map((w) => `${w.method} ${w.path}`),
        [],
        'nothing written',
      );
    },
  },
];

/** Long enough for the agent to mask (it ignores very short values), unique enough to search for. */
const REFRESH_TOKEN = 'acr-refresh.7f3c9a1e5b2d4c6f8a0e1d2c3b4a5f6e.quoted-back';
const ACCESS_TOKEN = 'acr-access.0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d.quoted-back';

/** The token is registered as a secret and appears in clear neither on stdout/stderr nor in the summary. */
function assertMasked(r: TaskRun, token: string): void {
  assert.ok(r.secrets.includes(token), `the token is registered as a secret:\n${r.secrets.join('\n')}`);
  assert.ok(!visibleLog(r).includes(token), `the token was printed:\n${describeRun(r)}`);
  assert.ok(!(r.summary ?? '').includes(token), `the token is in the summary:\n${r.summary}`);
}

const registryTokens: Case[] = [
  {
    name: 'masks the registry refresh token a registry error quotes back (system.debug=true)',
    scenario: twoSlots(),
    inputs: { dryRun: 'true' },
    options: { debug: true },
    prepare: (emu) =>
      emu.setFaults([
        {
          host: 'registry',
          method: 'POST',
          path: '/oauth2/exchange',
          status: 200,
          body: { refresh_token: REFRESH_TOKEN },
        },
        {
          host: 'registry',
          method: 'POST',
          path: '/oauth2/token',
          status: 401,
          body: {
            errors: [{ code: 'UNAUTHORIZED', message: `the refresh token ${REFRESH_TOKEN} is not valid` }],
          },
        },
      ]),
    check: (r) => {
      assertClean(r);
      assert.ok(
        r.warnings.some((w) => /oauth2\/token/.test(w)),
        `the refusal is reported:\n${describeRun(r)}`,
      );
      assertMasked(r, REFRESH_TOKEN);
    },
  },
  {
    name: 'masks the registry access token a registry error quotes back (system.debug=true)',
    scenario: twoSlots(),
    inputs: { dryRun: 'true' },
    options: { debug: true },
    prepare: (emu) =>
      emu.setFaults([
        {
          host: 'registry',
          method: 'POST',
          path: '/oauth2/exchange',
          status: 200,
          body: { refresh_token: REFRESH_TOKEN },
        },
        {
          host: 'registry',
          method: 'POST',
          path: '/oauth2/token',
          status: 200,
          body: { access_token: ACCESS_TOKEN },
        },
        {
          host: 'registry',
          method: 'HEAD',
          path: '/manifests/',
          status: 403,
          body: '',
        },
      ]),
    check: (r) => {
      assertClean(r);
      assertMasked(r, REFRESH_TOKEN);
      assertMasked(r, ACCESS_TOKEN);
    },
  },
];

describe('reliability: hostile responses, second review (issue 27)', () => {
  itConcurrently([...loginServers, ...endlessLists, ...containerNames, ...registryTokens], 4);

  describe('a list that never ends, with big pages', () => {
    let dir: string;
    before(() => {
      dir = makeTempDir('hostile-2-');
    });
    after(() => removeTempDir(dir));

    itConcurrently(
      [
        {
          name: 'stops at the byte cap with peak memory under 200 MB (pages of 2 MiB, new links forever)',
          scenario: twoSlots(),
          inputs: FAST_INPUTS,
          options: () => {
            const preload = join(dir, 'rss.js');
            writeFileSync(
              preload,
              `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(join(dir, 'rss.txt'))}, String(process.resourceUsage().maxRSS)));`,
            );
            return { env: { NODE_OPTIONS: `--require ${preload}` }, timeoutInMs: 90_000 };
          },
          prepare: (emu) => {
            // About 2 MiB of registries that match nothing, on every page.
            const filler = {
              id: `${groupId(emu)}/providers/Microsoft.ContainerRegistry/registries/filler`,
              name: 'filler',
              properties: { loginServer: 'filler.azurecr.io', note: 'x'.repeat(900) },
            };
            emu.setFaults([
              {
                method: 'GET',
                pathRegex: '/providers/Microsoft.ContainerRegistry/registries\\?',
                status: 200,
                endlessPages: true,
                body: { value: Array.from({ length: 2100 }, () => filler) },
              },
            ]);
          },
          check: (r, emu) => {
            assertListStopped(r, emu, 60);
            const peakMb = Number(readFileSync(join(dir, 'rss.txt'), 'utf8')) / 1024;
            assert.ok(peakMb < 200, `peak RSS ${peakMb.toFixed(0)} MB`);
          },
        },
      ],
      1,
    );
  });
});
