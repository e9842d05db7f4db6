/**
 * What a user reads first when a run stops: the summary header and the pipeline's first error line. For every
 * blocking failure a scenario can produce, both carry the cause and the code (never a generic "Nothing was
 * changed" sentence), and the fix adds something the message does not already say. Table-driven over the
 * emulator's scenarios; each run stops before any write, so the table is quick.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadScenario, startEmulator } from '../emulator/index';
import type { TaskRun } from '../harness/run-task';
import { runScenario } from '../harness/scenario-runs';

const SCENARIOS = join(__dirname, '..', 'emulator', 'scenarios');

interface Case {
  readonly what: string;
  readonly scenario: string;
  readonly overrides?: Record<string, string>;
  readonly env?: Record<string, string>;
  readonly code: string;
  /** What the first line must name (the cause). */
  readonly cause: RegExp;
  /** Something the fix must say (its own content). */
  readonly fix?: RegExp;
}

const CASES: readonly Case[] = [
  {
    what: 'the registry refuses ARM-audience tokens',
    scenario: 'arm-token-disabled',
    code: 'ArmTokenAuthDisabled',
    cause: /^Registry contosoacr refuses ARM-audience/,
    fix: /az acr config authentication-as-arm update/,
  },
  {
    what: "the registry's firewall shuts the app out",
    scenario: 'firewall-deny',
    code: 'RegistryNetworkRestricted',
    cause: /contosoacr blocks public network access/,
  },
  {
    what: 'the image tag is missing',
    scenario: 'missing-tag',
    code: 'ImageNotFound',
    cause: /does not exist/,
    fix: /e\.g\. contosoacr\.azurecr\.io\/web:1\.0\.0/,
  },
  {
    what: 'the image tag is missing, in a dry run (one rule: a dry run fails where a real run would)',
    scenario: 'missing-tag',
    overrides: { dryRun: 'true' },
    code: 'ImageNotFound',
    cause: /dry run stops where a real run would/,
  },
  {
    what: 'the connection may not grant the role',
    scenario: 'no-role-rights',
    code: 'RoleAssignmentForbidden',
    cause: /may not create role assignments on registry contosoacr/,
    fix: /az role assignment create/,
  },
  {
    what: 'the connection may not grant the role, in a dry run',
    scenario: 'no-role-rights',
    overrides: { dryRun: 'true' },
    code: 'RoleAssignmentForbidden',
    cause: /may not create role assignments/,
  },
  {
    what: 'a mistyped app name (the group looked up)',
    scenario: 'default',
    overrides: { appName: 'contoso-wbe', resourceGroupName: '' },
    code: 'AppNotFound',
    cause: /No web app named 'contoso-wbe'.*Did you mean 'contoso-web'\?/,
    fix: /set the appName input to contoso-web/,
  },
  {
    what: 'a mistyped app name (the group given)',
    scenario: 'default',
    overrides: { appName: 'contoso-wb' },
    code: 'AppNotFound',
    cause: /'contoso-wb' was not found.*Did you mean 'contoso-web'\?/,
    fix: /set the appName input to contoso-web/,
  },
  {
    what: 'a timeout with a unit',
    scenario: 'default',
    overrides: { timeoutMinutes: '15m' },
    code: 'InvalidInput',
    cause: /^Input 'timeoutMinutes' is '15m'/,
    fix: /'Timeout \(minutes\)' field/,
  },
  {
    what: 'a user-assigned identity given by a name no identity has',
    scenario: 'default',
    overrides: { identityType: 'user', userAssignedIdentityId: 'web-id' },
    code: 'IdentityNotFound',
    cause: /^No user-assigned identity named 'web-id' is visible/,
    fix: /az identity show --name web-id --resource-group rg-web --query id --output tsv/,
  },
  {
    what: 'several bad inputs at once',
    scenario: 'default',
    overrides: { timeoutMinutes: '15m', restart: 'sometimes' },
    code: 'InvalidInput',
    cause: /^2 task inputs need fixing \(timeoutMinutes, restart\)/,
  },
  {
    what: "the agent's proxy refuses the connection",
    scenario: 'default',
    env: { AGENT_PROXYURL: 'http://127.0.0.1:9' },
    code: 'AUTH_OIDC_FAILED',
    cause:
      /127\.0\.0\.1:9 is the agent's proxy http:\/\/127\.0\.0\.1:9 .*: the connection to the proxy failed/,
    fix: /Start \(or fix\) the agent's proxy/,
  },
  {
    what: "the agent's proxy is down, signing in with a secret (Entra's library hides the address)",
    scenario: 'service-principal-secret',
    env: { AGENT_PROXYURL: 'http://127.0.0.1:9' },
    code: 'AUTH_FAILED',
    cause:
      /^Could not reach Microsoft Entra ID .* through the agent's proxy http:\/\/127\.0\.0\.1:9 .*could not be reached/,
    fix: /Start \(or fix\) the agent's proxy/,
  },
];

/** The fix the message ends with (`Fix: ...` to the end). */
function fixOf(message: string): string {
  const at = message.indexOf('\nFix: ');
  return at < 0 ? '' : message.slice(at + '\nFix: '.length);
}

function assertLeadsWithCause(r: TaskRun, c: Case): void {
  const shown = `${r.message}\n---\n${r.summary ?? ''}`;
  assert.equal(r.result, 'Failed', shown);
  const first = r.message.split('\n')[0] ?? '';
  assert.ok(first.endsWith(`(${c.code})`), `first line carries the code: ${first}`);
  assert.doesNotMatch(first, /^Nothing was changed/, 'the cause leads, not the generic sentence');
  assert.match(first.replace(/^\[[^\]]+\] /, ''), c.cause, first);
  // The pipeline's first error line is the same line.
  assert.equal((r.errors[0] ?? '').split('\n')[0], first, 'first error line');
  // The summary's header is the same line, code included.
  const header = (r.summary ?? '').split('\n').find((l) => l.startsWith('**❌ Failed**')) ?? '';
  // (Markdown-escaped there: AUTH\_OIDC\_FAILED.)
  assert.ok(
    header.replace(/\\_/g, '_').includes(`(${c.code})`),
    `summary header carries the code: ${header}`,
  );
  // The fix says something of its own: none of its lines repeats the message above it, nor is it generic.
  const fix = fixOf(r.message);
  const above = r.message.slice(0, r.message.length - fix.length).toLowerCase();
  assert.ok(fix.length > 0, shown);
  for (const line of fix.split('\n').filter((l) => l.trim().length > 20))
    assert.ok(!above.includes(line.trim().toLowerCase()), `fix line repeats the message: ${line}`);
  assert.doesNotMatch(fix, /Fix the task input/);
  if (c.fix) assert.match(fix, c.fix);
}

describe('blocking failures lead with the cause and the code; the fix adds something', function () {
  this.timeout(180_000);
  for (const c of CASES) {
    it(`${c.what}: ${c.code}`, async () => {
      const scenario = loadScenario(join(SCENARIOS, `${c.scenario}.json`));
      const emulator = await startEmulator({ scenario, timeScale: 30 });
      try {
        const [r] = await runScenario(emulator, scenario, {
          overrides: { pollIntervalSeconds: '1', timeoutMinutes: '2', ...c.overrides },
          ...(c.env ? { env: c.env } : {}),
        });
        assert.ok(r);
        assertLeadsWithCause(r.task, c);
        assert.equal(r.writes, 0, 'stopped before any write');
      } finally {
        await emulator.close();
      }
    });
  }
});
