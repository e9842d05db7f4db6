/**
 * What users read in the result line and the run summary (issue #29): the cause and code lead, a run that wrote
 * nothing never says "Configured", restarts are counted where they happened, prose fixes are text and commands
 * are code, and no time is shown for a target nobody waited on.
 */
import assert from 'node:assert/strict';
import { pullCannotWork } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/configure/plan';
import { PLAN_WARNING_CODES } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/error-codes';
import { TaskError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
import { identityIdCommands, readSettings } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/inputs';
import type { CheckedImage } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/registry/image-check';
import { missingImageVerdict } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/registry/preflight';
import { verdictOf } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/report';
import type { RunReport } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/run';
import type { VerifyResult } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/verify';

const target = (label: string) => ({
  label,
  slot: label === 'production' ? undefined : label,
  path: `/x/${label}`,
});
const result = (
  label: string,
  outcome: VerifyResult['outcome'],
  extra: Partial<VerifyResult> = {},
): VerifyResult => ({
  target: target(label),
  outcome,
  fatal: false,
  seconds: 12,
  restarts: 0,
  evidence: [],
  summary: `${label} ${outcome}`,
  notes: [],
  ...extra,
});
const applied = (changeCount: number) => ({ steps: [], principals: {}, changeCount });

describe('the result message says what the run did', () => {
  it('SucceededWithIssues after a run that wrote nothing does not start with "Configured"', () => {
    const v = verdictOf(
      {
        verify: [result('production', 'unverified', { restartReason: 'never' })],
        dryRun: false,
        applied: applied(0),
      },
      'contoso-web',
    );
    assert.equal(v.outcome, 'SucceededWithIssues');
    assert.match(v.message, /^Nothing needed changing; \[production\] production unverified$/);
  });

  it('SucceededWithIssues after writes says how many', () => {
    const v = verdictOf(
      { verify: [result('production', 'start_failed')], dryRun: false, applied: applied(3) },
      'contoso-web',
    );
    assert.match(v.message, /^Configured \(3 change\(s\) applied\); \[production\]/);
  });

  it('restart: always with nothing to write counts the restarts it made', () => {
    const v = verdictOf(
      {
        verify: ['production', 'staging', 'qa'].map((t) =>
          result(t, 'verified', { restarts: 1, restartReason: 'always' }),
        ),
        dryRun: false,
        applied: applied(0),
      },
      'contoso-web',
    );
    assert.equal(v.outcome, 'Succeeded');
    assert.match(v.message, /nothing written; 3 restart\(s\) to see the pull, as restart: always asks/);
    assert.doesNotMatch(v.message, /nothing restarted/);
  });
});

describe('the run summary', () => {
  it('shows no time for a target nobody waited on (stopped, unverified without a restart)', () => {
    const report = {
      verify: [
        result('production', 'verified', { seconds: 14 }),
        result('staging', 'stopped', { seconds: 0 }),
        result('qa', 'unverified', { seconds: 0 }),
      ],
      dryRun: false,
      applied: applied(0),
      observed: {
        registry: { loginServer: 'contosoacr.azurecr.io', abac: false, id: '/r' },
        targets: ['production', 'staging', 'qa'].map((label) => ({
          target: target(label),
          sidecar: false,
          pull: { useManagedIdentity: true },
        })),
      },
    } as unknown as RunReport;
    const rows = verdictOf(report, 'contoso-web').summary.split('\n');
    const row = (label: string) => rows.find((l) => l.startsWith(`| ${label} |`)) ?? '';
    assert.match(row('production'), /\| 14 s \|$/);
    assert.match(row('staging'), /\| {2}\|$/);
    assert.match(row('qa'), /\| {2}\|$/);
  });

  it('puts commands of a fix in a code block and its prose in text', () => {
    const error = new TaskError('RoleAssignmentForbidden', 'The connection may not grant AcrPull.', {
      remedy: [
        'Ask an administrator of registry contosoacr to run:',
        '  az role assignment create --assignee-object-id 1 --role AcrPull --scope /r',
        'then run the task again.',
      ].join('\n'),
    });
    const summary = verdictOf({ verify: [], dryRun: false, failedIn: 'plan', error }, 'contoso-web').summary;
    const fenced = /```\n([\s\S]*?)\n\s*```/.exec(summary)?.[1] ?? '';
    assert.match(fenced, /az role assignment create/);
    assert.doesNotMatch(fenced, /Ask an administrator|then run the task again/);
    assert.match(summary, /^ {2}Ask an administrator of registry contosoacr to run:$/m);
  });
});

describe('blocking messages lead with the cause and the code (the summary header and the first error line)', () => {
  const blocking = (Object.keys(PLAN_WARNING_CODES) as (keyof typeof PLAN_WARNING_CODES)[]).filter(
    (c) => PLAN_WARNING_CODES[c].blocks,
  );
  for (const code of blocking)
    for (const wouldWrite of [true, false])
      it(`${code}${wouldWrite ? '' : ' (nothing to write)'}`, () => {
        const e = pullCannotWork(
          [
            {
              code: code as 'ArmTokenAuthDisabled',
              target: 'staging',
              message: `The cause of ${code}.`,
              fix: `fix-command ${code}`,
              blocking: true,
            },
            {
              code: 'ImageOnOtherRegistry',
              target: 'qa',
              message: 'A second cause.',
              fix: 'second-fix',
              blocking: true,
            },
          ],
          wouldWrite,
        );
        const v = verdictOf({ verify: [], dryRun: false, failedIn: 'plan', error: e }, 'contoso-web');
        const first = v.message.split('\n')[0];
        assert.match(
          first ?? '',
          new RegExp(
            `^\\[staging\\] The cause of ${code}\\. \\(and 1 more finding\\(s\\) below\\) Nothing .* \\(${code}\\)$`,
          ),
        );
        assert.match(
          v.summary,
          new RegExp(`\\*\\*❌ Failed\\*\\*: \\\\\\[staging\\\\\\] The cause of ${code}\\.`),
        );
        assert.match(v.message, /\n\[qa\] A second cause\.\n/);
        assert.doesNotMatch(e.remedy, /The cause of|A second cause/, 'the fix does not repeat the message');
      });

  it('a missing untagged image suggests the nearest tag, not the same image again', () => {
    const image: CheckedImage = {
      image: 'contosoacr.azurecr.io/web',
      repository: 'web',
      reference: 'latest',
      byDigest: false,
      targets: ['production'],
      state: { kind: 'missing', what: 'tag', nearestTags: ['1.0.0'], tagCount: 1 },
    };
    const v = missingImageVerdict(
      {
        loginServer: 'contosoacr.azurecr.io',
        images: [image],
        otherRegistryImages: [],
        skipped: undefined,
        requests: 2,
        ms: 3,
      },
      [],
      { verify: true, dryRun: false },
    );
    assert.match(v.error?.remedy ?? '', /docker push contosoacr\.azurecr\.io\/web:latest\)/);
    assert.match(v.error?.remedy ?? '', /\(e\.g\. contosoacr\.azurecr\.io\/web:1\.0\.0\)/);
  });

  it('InvalidInput fixes say where the input is set, or the command that finds the value; never a generic tail', () => {
    const read = (inputs: Record<string, string>) => {
      try {
        readSettings((n) => ({ azureSubscription: 'c', appName: 'contoso-web', ...inputs })[n]);
      } catch (e) {
        return e as TaskError;
      }
      assert.fail('expected InvalidInput');
    };
    const single = read({ timeoutMinutes: '15m' });
    assert.equal(single.code, 'InvalidInput');
    assert.equal(
      single.remedy,
      "Set 'timeoutMinutes' under the task's inputs in YAML, or the 'Timeout (minutes)' field (group 'Verify the pull') in the classic editor.",
    );
    // A bare name is looked up by observe (tests/configure/identity-by-name.e2e.test.ts); a name with a slash is not one.
    const named = read({ identityType: 'user', userAssignedIdentityId: 'rg-web/web-id' });
    assert.match(named.message, /path segments/);
    assert.equal(
      identityIdCommands('web-id', 'rg-web'),
      `Put the identity's resource ID in userAssignedIdentityId; this prints it: az identity show --name web-id --resource-group rg-web --query id --output tsv\nor, when you do not know its resource group: az identity list --query "[?name=='web-id'].id" --output tsv`,
    );
    const client = read({
      identityType: 'user',
      userAssignedIdentityId: '11111111-2222-3333-4444-555555555555',
    });
    assert.match(client.remedy, /\[\?clientId=='11111111-2222-3333-4444-555555555555'\]/);
    for (const e of [single, named, client]) assert.doesNotMatch(e.remedy, /named above/);
  });
});
