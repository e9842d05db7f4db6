import assert from 'node:assert/strict';
import { CancelledError, TaskError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
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
  fatal: outcome !== 'verified' && outcome !== 'skipped',
  seconds: 12,
  restarts: 1,
  evidence: [],
  summary: `${label} ${outcome}`,
  notes: [],
  ...extra,
});
const applied = { steps: [], principals: { production: 'p-1', staging: 'p-2' }, changeCount: 3 };

describe('verdictOf', () => {
  const cases: [string, RunReport, string, RegExp, Record<string, string>][] = [
    [
      'every target verified',
      { verify: [result('production', 'verified'), result('staging', 'verified')], dryRun: false, applied },
      'Succeeded',
      /3 change\(s\) applied; the image pull was verified on 2 of/,
      {
        verificationOutcome: 'verified',
        pullSeconds: '12',
        changeCount: '3',
        principalIds: '{"production":"p-1","staging":"p-2"}',
      },
    ],
    [
      'a slot stopped on purpose and one left unverified (restart: never): warnings, the worst named',
      {
        verify: [
          result('production', 'verified', { restarts: 0, restartReason: 'logEvidence' }),
          result('staging', 'stopped', { fatal: false, restarts: 0, restartReason: 'stopped' }),
          result('qa', 'unverified', { fatal: false, restarts: 0, restartReason: 'never' }),
        ],
        dryRun: false,
        applied: { ...applied, changeCount: 0 },
      },
      'SucceededWithIssues',
      /^Nothing needed changing; \[staging\] staging stopped \[qa\] qa unverified$/,
      { verificationOutcome: 'unverified', changeCount: '0' },
    ],
    [
      'a tolerated start failure',
      {
        verify: [result('production', 'verified'), result('staging', 'start_failed', { fatal: false })],
        dryRun: false,
        applied,
      },
      'SucceededWithIssues',
      /\[staging\] staging start_failed/,
      { verificationOutcome: 'start_failed' },
    ],
    [
      'a pull that failed on one slot',
      {
        verify: [
          result('production', 'verified'),
          result('staging', 'pull_failed', {
            cause: 'not_found',
            error: new TaskError('ImageNotFound', 'Tag 2.0 does not exist.', {
              remedy: 'Push web:2.0.',
              target: 'staging',
            }),
          }),
        ],
        dryRun: false,
        applied,
      },
      'Failed',
      /\[staging\] Tag 2\.0 does not exist\. \(ImageNotFound\)\nFix: Push web:2\.0\./,
      { verificationOutcome: 'pull_failed' },
    ],
    [
      'a TaskError before any write',
      {
        verify: [],
        dryRun: false,
        failedIn: 'plan',
        error: new TaskError('RoleAssignmentForbidden', 'Cannot grant AcrPull.', {
          remedy: 'az role assignment create ...',
        }),
      },
      'Failed',
      /Cannot grant AcrPull\. \(RoleAssignmentForbidden\)\nFix: az role assignment create/,
      // Not 'skipped': verification was never reached, which a later stage must not read as "turned off".
      { verificationOutcome: 'not_run', changeCount: '0', principalIds: '{}' },
    ],
    [
      'an unexpected error, which still names the phase and the next step',
      { verify: [], dryRun: false, failedIn: 'apply', error: new TypeError('x is undefined') },
      'Failed',
      /while it tried to apply: x is undefined \(Unexpected\)\nFix: Re-run the task with system\.debug=true/,
      { verificationOutcome: 'not_run' },
    ],
    [
      'a cancellation',
      { verify: [result('production', 'cancelled')], dryRun: false, error: new CancelledError() },
      'Cancelled',
      /re-run finishes the job/,
      { verificationOutcome: 'cancelled' },
    ],
    [
      'verification off',
      { verify: [], dryRun: false, applied: { ...applied, changeCount: 0 } },
      'Succeeded',
      /Everything was already in place \(nothing written\).*verification is off/,
      { verificationOutcome: 'skipped', pullSeconds: '', changeCount: '0' },
    ],
  ];
  for (const [what, report, outcome, message, outputs] of cases) {
    it(`reports ${outcome} for ${what}`, () => {
      const v = verdictOf(report, 'contoso-web');
      assert.equal(v.outcome, outcome);
      assert.match(v.message, message);
      for (const [name, value] of Object.entries(outputs)) assert.equal(v.outputs[name], value, name);
      assert.match(v.summary, /^## Ensure ACR managed identity pull: contoso-web/);
    });
  }

  it('keeps a hostile message from breaking the summary table', () => {
    const v = verdictOf(
      { verify: [], dryRun: false, error: new TaskError('Unexpected', 'a | b\nc', { remedy: 'r' }) },
      'contoso-web',
    );
    assert.match(v.summary, /a \\\| b c/);
  });
});

describe('messages name each target once', () => {
  it('in the result message and in the summary, even when the error text starts with the target', () => {
    const report: RunReport = {
      verify: [
        result('production', 'timed_out', {
          error: new TaskError(
            'VerifyTimedOut',
            'production: after 120 s the log last showed a refused pull.',
            {
              remedy: 'Run the task again.',
              target: 'production',
            },
          ),
        }),
      ],
      dryRun: false,
      applied,
    };
    const v = verdictOf(report, 'contoso-web');
    assert.match(v.message, /^\[production\] after 120 s/m);
    assert.doesNotMatch(v.message, /\[production\] production:/);
    assert.match(v.summary, /\*\*production\*\*: after 120 s/);
    assert.doesNotMatch(v.summary, /\*\*production\*\*: production:/);
  });
});
