/**
 * Secrets and hostile input. With system.debug=true, across every scenario under tests/emulator/scenarios/ and
 * every connection scheme the emulator can serve (federation, client secret, certificate, managed identity),
 * no secret may appear in stdout, stderr, the summary or the output variables: not the client secret, not a
 * line of the certificate's key, not any access token or OIDC assertion the emulator issued, not a publishing
 * or registry password. And a container log that tries to drive the agent reaches stdout only neutralised.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCertificate } from '../auth/certificate';
import { type Emulator, loadScenario, type Scenario } from '../emulator/index';
import { pullAttemptLines } from '../emulator/log-lines';
import { secretConnection } from '../harness/connections';
import type { TaskRun } from '../harness/run-task';
import {
  APP,
  assertClean,
  type Case,
  type ConnectionKind,
  describeRun,
  itConcurrently,
  type RunOptions,
  twoSlots,
} from './helpers';

const SCENARIOS = join(__dirname, '..', 'emulator', 'scenarios');

/** Every value that must never be printed, as the emulator knows them after the run. */
function secretsOf(emu: Emulator, extra: string[] = []): string[] {
  const values = new Set<string>([...emu.issuedSecrets(), ...extra]);
  for (const a of emu.state.apps) {
    values.add(a.publishingPassword);
    for (const [k, v] of Object.entries(a.appSettings)) if (/password|secret|key/i.test(k)) values.add(v);
    for (const c of a.siteContainers) if (c.passwordSecret) values.add(c.passwordSecret);
  }
  for (const r of emu.state.registries) for (const p of r.adminPasswords) values.add(p);
  for (const app of emu.state.applications) for (const s of app.secrets) values.add(s);
  // A JWT's signature is unique to it: finding it alone is a leak too.
  for (const v of [...values]) {
    const signature = v.split('.')[2];
    if (signature && signature.length >= 16) values.add(signature);
  }
  return [...values].filter((v) => v.length >= 8);
}

/** Where a secret was found, if anywhere. `##vso[task.setsecret]` lines are how secrets are masked: skipped. */
function leaks(r: TaskRun, secrets: string[]): string[] {
  const stdout = r.stdout
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('##vso[task.setsecret]'))
    .join('\n');
  const places: Record<string, string> = {
    stdout,
    stderr: r.stderr,
    summary: r.summary ?? '',
    outputs: JSON.stringify(r.outputs),
  };
  const found: string[] = [];
  for (const s of secrets)
    for (const [where, text] of Object.entries(places))
      if (text.includes(s)) found.push(`${where} holds a secret starting ${s.slice(0, 4)}…`);
  return found;
}

function assertNoSecrets(r: TaskRun, emu: Emulator, extra: string[] = []): void {
  assertClean(r);
  const secrets = secretsOf(emu, extra);
  assert.ok(emu.issuedSecrets().length >= 3, 'the emulator issued tokens during the run');
  assert.deepEqual(leaks(r, secrets), [], describeRun(r));
  assert.match(r.stdout, /##vso\[task\.debug\]/, 'debug output was on');
}

function scanned(
  name: string,
  scenario: Scenario,
  connection: RunOptions['connection'],
  env?: Record<string, string>,
  extra: string[] = [],
): Case {
  return {
    name,
    scenario,
    timeScale: scenario.timeScale ?? 30,
    inputs: { ...scenario.inputs, timeoutMinutes: '0.15', pollIntervalSeconds: '0.2' },
    options: { connection, debug: true, ...(env ? { env } : {}) },
    check: (r, emu) => assertNoSecrets(r, emu, extra),
  };
}

const scenarioFiles = readdirSync(SCENARIOS).filter((f) => f.endsWith('.json'));

/** Every scenario with federation (the scheme with the most secrets: job token, assertions, tokens); two with a client secret too. */
const byScenario: Case[] = scenarioFiles.flatMap((file) =>
  (file === 'default.json' || file === 'stale-admin-credentials.json'
    ? (['wif', 'secret'] as ConnectionKind[])
    : (['wif'] as ConnectionKind[])
  ).map((kind) =>
    scanned(
      `prints no secret in scenario ${file} with ${kind === 'wif' ? 'workload identity federation' : 'a client secret'}`,
      loadScenario(join(SCENARIOS, file)),
      kind,
    ),
  ),
);

const certificate = createTestCertificate('sc-reliability');
const keyLines = certificate.keyPem
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('-----'));
const agentIdentity = { clientId: randomUUID(), objectId: randomUUID(), default: true };

const bySchemes: Case[] = [
  {
    ...scanned(
      'prints no line of the certificate key with a certificate service connection',
      { ...twoSlots(), caller: { certificatesPem: [certificate.certificatePem] } },
      'secret',
      undefined,
      keyLines,
    ),
    options: (emu: Emulator) => {
      const c = secretConnection(emu.info, 'c0ffee00-0000-4000-8000-0000000000ce');
      return {
        debug: true,
        connection: {
          ...c,
          auth: {
            serviceprincipalid: emu.info.clientId,
            tenantid: emu.info.tenantId,
            authenticationType: 'spnCertificate',
            servicePrincipalCertificate: certificate.combinedPem,
          },
        },
      };
    },
    check: (r, emu) => {
      assert.equal(r.result, 'Succeeded', describeRun(r));
      assertNoSecrets(r, emu, keyLines);
    },
  },
  {
    ...scanned(
      "prints no token with the agent's managed identity",
      {
        ...twoSlots(),
        agentIdentities: [agentIdentity],
        roleAssignments: [{ principal: agentIdentity.objectId, role: 'Owner', scope: 'subscription' }],
      },
      'secret',
    ),
    options: (emu: Emulator) => {
      const c = secretConnection(emu.info, 'c0ffee00-0000-4000-8000-0000000000f1');
      return {
        debug: true,
        connection: { ...c, scheme: 'ManagedServiceIdentity', auth: { tenantid: emu.info.tenantId } },
        // How a machine announces a non-default IMDS host to MSAL (see tests/auth).
        env: { AZURE_POD_IDENTITY_AUTHORITY_HOST: emu.info.armUrl.replace(/\/$/, '') },
      };
    },
    check: (r, emu) => {
      assert.equal(r.result, 'Succeeded', describeRun(r));
      assertNoSecrets(r, emu);
    },
  },
];

/**
 * A docker log whose pull attempt fails (a missing tag, which stops verification at once) and whose lines try to
 * drive the agent: a `##vso[` command inside the decisive error, a line starting with `##[error]`, ANSI escapes
 * and a 100 KB line. Served as the content of every platform log file Kudu hands out.
 */
function hostileLog(emu: Emulator): string {
  const lines = pullAttemptLines({
    format: 'classic',
    // Ahead of the emulator's clock: the verifier only counts lines from shortly before its restart on.
    startAt: emu.now() + 20_000,
    siteName: APP,
    image: 'contosoacr.azurecr.io/web:1.0.0',
    outcome: 'notFound',
    pullDurationMs: 3000,
  }).map((l) => (/ERROR/.test(l.text) ? `${l.text} ##vso[task.setvariable variable=pwned]yes` : l.text));
  const [first, ...rest] = lines;
  return [
    first,
    '##[error]a forged error from the container',
    `\u001b[31mred\u001b[0m \u001b]0;title\u0007 ##vso[task.complete result=Succeeded;]forged`,
    `${'A'.repeat(100_000)} manifest unknown ##vso[task.setvariable variable=pwned]yes`,
    ...rest,
  ].join('\n');
}

const hostile: Case = {
  name: 'never lets a container log line drive the agent: ##vso and ##[ commands, ANSI escapes and a 100 KB line are neutralised or cut',
  scenario: twoSlots(),
  timeScale: 10,
  inputs: { timeoutMinutes: '0.2', pollIntervalSeconds: '0.2' },
  options: { debug: true },
  prepare: (emu) => {
    emu.setFaults([
      { host: 'kudu', method: 'GET', path: '/api/vfs/logfiles/', status: 200, body: hostileLog(emu) },
    ]);
  },
  check: (r, emu) => {
    assertClean(r);
    assert.equal(r.result, 'Failed', describeRun(r));
    const lines = r.stdout.split(/\r?\n/);
    assert.ok(
      lines.some((l) => l.includes('# #vso[task.setvariable variable=pwned')),
      `the hostile line was read and printed neutralised:\n${describeRun(r)}`,
    );
    for (const l of lines) {
      assert.ok(
        !l.startsWith('##vso[task.setvariable variable=pwned'),
        `an agent command: ${l.slice(0, 200)}`,
      );
      assert.doesNotMatch(l, /##vso\[task\.setvariable variable=pwned/, 'no command anywhere in a line');
      assert.doesNotMatch(l, /##vso\[task\.complete result=Succeeded/, 'no forged result');
      assert.ok(!l.startsWith('##[error]a forged'), 'no forged error line');
      assert.doesNotMatch(l, /\u001b/, 'no escape sequence reaches the log');
      assert.ok(l.length < 20_000, `a ${l.length}-character line was printed`);
    }
    assert.equal(r.outputs.pwned, undefined, 'no pwned output variable');
    assert.doesNotMatch(r.summary ?? '', /##vso\[|\u001b|A{5000}/);
    assertNoSecrets(r, emu);
  },
};

describe('reliability: secrets never printed, hostile logs never obeyed (system.debug=true)', () => {
  itConcurrently([...byScenario, ...bySchemes, hostile], 8);
});
