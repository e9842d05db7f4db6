/**
 * The pure rules behind "do no harm": when to restart, when an unauthorized pull may still be propagation,
 * which inputs a visibleRule hides, and which restart answers may be retried.
 */
import assert from 'node:assert/strict';
import { hiddenInputWarnings } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/inputs';
import type { Classification } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/classify';
import { decide, initialFollowState } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/follow';
import { decideRestart } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/restart-policy';
import { remedyFor } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/verify/verify';

describe('decideRestart', () => {
  const cases: [string, Parameters<typeof decideRestart>[0], boolean, string][] = [
    [
      'stopped wins',
      { policy: 'always', restartedByWrite: true, stopped: true, evidence: false },
      false,
      'stopped',
    ],
    [
      'a config write restarted it',
      { policy: 'always', restartedByWrite: true, stopped: false, evidence: false },
      false,
      'configWrite',
    ],
    [
      'always ignores evidence',
      { policy: 'always', restartedByWrite: false, stopped: false, evidence: true },
      true,
      'always',
    ],
    [
      'whenNeeded with evidence',
      { policy: 'whenNeeded', restartedByWrite: false, stopped: false, evidence: true },
      false,
      'logEvidence',
    ],
    [
      'whenNeeded without evidence',
      { policy: 'whenNeeded', restartedByWrite: false, stopped: false, evidence: false },
      true,
      'noEvidence',
    ],
    [
      'never with evidence',
      { policy: 'never', restartedByWrite: false, stopped: false, evidence: true },
      false,
      'logEvidence',
    ],
    [
      'whenNeeded with a start under way',
      { policy: 'whenNeeded', restartedByWrite: false, stopped: false, evidence: false, underWay: true },
      false,
      'startUnderWay',
    ],
    [
      'never without evidence',
      { policy: 'never', restartedByWrite: false, stopped: false, evidence: false },
      false,
      'never',
    ],
  ];
  for (const [what, facts, restart, reason] of cases) {
    it(what, () => assert.deepEqual(decideRestart(facts), { restart, reason }));
  }
});

describe('decide: unauthorized pulls and role propagation', () => {
  const failed = (cause: Classification['cause']): Classification => ({
    outcome: 'pull_failed',
    cause,
    imagePulled: false,
    evidence: [],
    attempts: 1,
    otherImages: [],
    summary: 'failed',
  });
  it('waits while propagation can explain it', () => {
    assert.equal(decide(failed('unauthorized'), 'imagePulled', initialFollowState, true).kind, 'wait');
  });
  it('is the verdict at once when no young grant can explain it', () => {
    assert.deepEqual(decide(failed('unauthorized'), 'imagePulled', initialFollowState, false), {
      kind: 'done',
      outcome: 'pull_failed',
    });
    assert.equal(decide(failed('unknown'), 'imagePulled', initialFollowState, false).kind, 'done');
  });
  it('still restarts once more after an interrupted pull', () => {
    assert.equal(decide(failed('interrupted'), 'imagePulled', initialFollowState, false).kind, 'restart');
  });
});

describe('remedyFor: the fix fits what the run did', () => {
  const none = undefined;
  it('blames propagation only when this run granted or the grant is young', () => {
    assert.match(
      remedyFor('unauthorized', { grantedThisRun: true, propagationPossible: true, knownBlocker: none }),
      /^This run granted the pull role/,
    );
    assert.match(
      remedyFor('unauthorized', { grantedThisRun: false, propagationPossible: true, knownBlocker: none }),
      /granted recently/,
    );
    const old = remedyFor('unauthorized', {
      grantedThisRun: false,
      propagationPossible: false,
      knownBlocker: none,
    });
    assert.match(old, /older than the propagation window, so waiting will not help/);
    assert.doesNotMatch(old, /granted recently|This run granted/);
  });
  it('a known blocker is the fix', () => {
    const knownBlocker = {
      code: 'ArmTokenAuthDisabled' as const,
      message: 'm',
      fix: 'az acr config authentication-as-arm update -r x --status enabled',
    };
    assert.equal(
      remedyFor('unauthorized', { grantedThisRun: true, propagationPossible: false, knownBlocker }),
      knownBlocker.fix,
    );
  });
});

describe('hiddenInputWarnings (from task.json visibleRules)', () => {
  const raw = (values: Record<string, string>) => (name: string) => values[name] ?? '';
  it('names both inputs when slotNames is set and targets is not slots', () => {
    const w = hiddenInputWarnings(raw({ targets: 'all', slotNames: 'staging' }));
    assert.equal(w.length, 1);
    assert.match(
      w[0] ?? '',
      /^Input 'slotNames' is set to 'staging' but is ignored, because 'targets' is 'all'/,
    );
  });
  it('is silent when the rule holds, or the hidden input keeps its default', () => {
    assert.deepEqual(hiddenInputWarnings(raw({ targets: 'slots', slotNames: 'staging' })), []);
    assert.deepEqual(
      hiddenInputWarnings(raw({ verifyPull: 'false', timeoutMinutes: '15', verifyUntil: 'imagePulled' })),
      [],
    );
  });
  it('covers every input with a visibleRule: verification inputs while verifyPull is false, the identity ID while it is system', () => {
    const w = hiddenInputWarnings(
      raw({
        verifyPull: 'false',
        timeoutMinutes: '5',
        restart: 'never',
        identityType: 'system',
        userAssignedIdentityId: '/x',
      }),
    );
    assert.deepEqual(w.map((m) => /^Input '(\w+)'/.exec(m)?.[1]).sort(), [
      'restart',
      'timeoutMinutes',
      'userAssignedIdentityId',
    ]);
  });
  it('reads && and || rules', () => {
    const inputs = [
      { name: 'a', defaultValue: 'x' },
      { name: 'b', defaultValue: 'y' },
      { name: 'both', visibleRule: 'a = 1 && b = 2' },
      { name: 'either', visibleRule: 'a = 1 || b = 2' },
    ];
    const w = hiddenInputWarnings(raw({ a: '1', both: 'v', either: 'v' }), inputs);
    assert.deepEqual(
      w.map((m) => /^Input '(\w+)'/.exec(m)?.[1]),
      ['both'],
    );
    assert.match(w[0] ?? '', /because 'b' is 'y'/);
  });
});
