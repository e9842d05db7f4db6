/**
 * Carries out the cutover plan (./plan.ts) for targets that serve today with a registry password: one target at a
 * time, production last. Before a target's switch its grant must be proven (a target with the same principal, or
 * one whose grant was made together with it, verified a fresh identity pull) or older than the settle bound,
 * measured on ARM's clock. The switch is one config/web write (it restarts the target); its pull is followed with
 * the first failure as the verdict; on failure the previous pull settings are written back at once (the password
 * was never removed), that pull is followed too, and nothing more is switched. The password settings are removed
 * only after the target's own fresh identity pull (a start from a local copy is no pull, so it never counts).
 */
import {
  getSiteState,
  listAppSettings,
  pullSettingsCliBody,
  replaceAppSettings,
  setPullSettings,
} from '../arm/web-apps';
import type { RunContext } from '../context';
import { isCancelledError, TaskError } from '../errors';
import { neutralise } from '../log';
import { type VerifyOptions, type VerifyResult, type VerifyTarget, verifyTargets } from '../verify/verify';
import type { CutoverPlan, CutoverTarget } from './plan';

/** Grants made within this of each other count as "made together": one's proof carries over to the other. */
const TOGETHER_MS = 2 * 60_000;

export interface Proven {
  readonly target: string;
  /** The principal that proved the pull (a shared user-assigned identity's carries over by itself). */
  readonly principalId: string | undefined;
  /** Server ms when its grant was made (undefined: unknown). */
  readonly grantAt: number | undefined;
  /** Its grant was made by this run (made together with this run's other grants). */
  readonly grantedThisRun?: boolean;
}

export interface CutoverInput {
  readonly plan: CutoverPlan;
  /** The verification target of each cutover target (its image, hosts, expected pull...). */
  readonly verifyTarget: (label: string) => VerifyTarget;
  /** Server ms when the target's grant was made: existing grants' createdOn; this run's are filled in here. */
  readonly grantAt: Readonly<Record<string, number | undefined>>;
  /** Targets this run granted (their grant time is the start of the cutover, on ARM's clock). */
  readonly grantedThisRun: ReadonlySet<string>;
  /** Principal each target pulls with. */
  readonly principals: Readonly<Record<string, string | undefined>>;
  /** Fast-path targets already verified in this run. */
  readonly proven: readonly Proven[];
}

export async function runCutover(
  ctx: RunContext,
  input: CutoverInput,
  options: VerifyOptions,
  /** Counts the writes the cutover makes (switch, put-back, password removal): the run's changeCount. */
  counter: { writes: number } = { writes: 0 },
): Promise<VerifyResult[]> {
  const { log, settings } = ctx;
  const v = settings.verify;
  const timeoutInMs = v.kind === 'on' ? v.timeoutInMs : 15 * 60_000;
  const pollInMs = v.kind === 'on' ? v.pollIntervalInMs : 10_000;
  const deadline = ctx.clock.now() + timeoutInMs;
  const proven: Proven[] = [...input.proven];
  const results: VerifyResult[] = [];
  let stop: string | undefined;
  let startServer: number | undefined;
  const grantAt = (label: string, serverNow: number) => {
    startServer ??= serverNow;
    return input.grantedThisRun.has(label) ? startServer : (input.grantAt[label] ?? startServer);
  };

  for (const c of input.plan.order) {
    const vt = input.verifyTarget(c.target);
    if (stop) {
      results.push(notSwitched(vt, c, stop));
      continue;
    }
    // 1. The gate: proven, or old enough.
    let cleared: string | undefined;
    let lastSaid = Number.NEGATIVE_INFINITY;
    for (;;) {
      const serverNow = await serverTime(ctx, c);
      const at = grantAt(c.target, serverNow);
      const principal = input.principals[c.target];
      const by = proven.find((p) => {
        if (p.principalId !== undefined && principal !== undefined && p.principalId === principal)
          return true;
        const pAt = p.grantedThisRun ? startServer : p.grantAt;
        return (
          !c.sharedPrincipal &&
          pAt !== undefined &&
          input.grantedThisRun.has(c.target) &&
          Math.abs(at - pAt) <= TOGETHER_MS
        );
      });
      if (by) {
        cleared = `${by.target} proved a fresh identity pull ${by.principalId === principal ? 'with the same identity' : 'with a grant made together with this one'}`;
        break;
      }
      const age = serverNow - at;
      if (age >= input.plan.settleMs) {
        cleared = `its grant is ${Math.round(age / 60_000)} minutes old (the bound: ${Math.round(input.plan.settleMs / 60_000)} minutes)`;
        break;
      }
      if (ctx.clock.now() + pollInMs > deadline) break;
      if (ctx.clock.now() - lastSaid >= 60_000) {
        lastSaid = ctx.clock.now();
        log.info(
          `[${c.target}] Waiting before the switch: its grant is ${Math.round(age / 1000)} s old; it switches at ${Math.round(input.plan.settleMs / 60_000)} minutes, or as soon as a target it shares proof with verifies. It keeps pulling with its registry password meanwhile.`,
        );
      }
      await ctx.clock.sleep(pollInMs, ctx.signal);
    }
    if (!cleared) {
      stop = `the timeout came before ${c.target}'s grant was proven or ${Math.round(input.plan.settleMs / 60_000)} minutes old`;
      results.push(notSwitched(vt, c, stop));
      continue;
    }

    // 2. The switch: one config/web write, which restarts the target; follow it, first failure decides.
    log.info(`[${c.target}] Switching to the managed identity: ${cleared}. ${c.flags.what}`);
    await setPullSettings(ctx.arm, { path: c.path }, c.flags.pull, ctx.signal);
    counter.writes += 1;
    const [switched] = await verifyTargets(ctx, [{ ...vt, restartedByWrite: true, failFast: true }], options);
    if (!switched) throw new Error('cutover: no verification result');
    const why = `Switched once ${cleared}.`;
    if (switched.outcome === 'verified' || switched.outcome === 'start_failed') {
      proven.push({
        target: c.target,
        principalId: input.principals[c.target],
        grantAt: grantAt(c.target, startServer ?? 0),
        grantedThisRun: input.grantedThisRun.has(c.target),
      });
      if (c.removeCredentials && switched.outcome === 'verified') {
        const note = await removeCredentials(ctx, c, counter);
        log.info(`[${c.target}] ${c.removeCredentials.what} → ${note}`);
        results.push({
          ...switched,
          summary: `${switched.summary} ${why}`,
          notes: [...switched.notes, `Registry password settings: ${note}.`],
        });
      } else results.push({ ...switched, summary: `${switched.summary} ${why}` });
      continue;
    }
    if (switched.outcome === 'cancelled') {
      results.push(switched);
      stop = 'the run was cancelled';
      continue;
    }

    // 3. The way back: the previous pull settings (the password is still there), one restart, followed.
    const cause = switched.cause ?? switched.outcome;
    log.info(
      `[${c.target}] The identity pull failed (${cause}): putting back acrUseManagedIdentityCreds=${String(c.previous.useManagedIdentity ?? false)}; its registry password pulls again.`,
    );
    try {
      await setPullSettings(
        ctx.arm,
        { path: c.path },
        { useManagedIdentity: c.previous.useManagedIdentity ?? false, clientId: c.previous.clientId ?? '' },
        ctx.signal,
      );
    } catch (e: unknown) {
      if (isCancelledError(e)) throw e;
      // The way back itself failed (after the ARM retries): say so as its own outcome, with the exact command.
      stop = `${c.target}'s switch failed and putting it back failed too`;
      results.push(putBackFailed(vt, c, switched, e, restoreCommand(c)));
      continue;
    }
    counter.writes += 1;
    const back = (
      await verifyTargets(
        ctx,
        [{ ...vt, restartedByWrite: true, failFast: true, expected: undefined, grantedThisRun: false }],
        options,
      )
    )[0];
    const servesAgain = back?.outcome === 'verified' || back?.outcome === 'start_failed';
    stop = `${c.target}'s switch failed and was put back`;
    results.push(putBack(vt, c, switched, servesAgain, back));
  }
  return results;
}

async function serverTime(ctx: RunContext, c: CutoverTarget): Promise<number> {
  try {
    const date = Date.parse((await getSiteState(ctx.arm, { path: c.path }, ctx.signal)).serverDate ?? '');
    return Number.isNaN(date) ? ctx.clock.now() : date;
  } catch (e: unknown) {
    if (isCancelledError(e) || ctx.signal.aborted) throw e;
    return ctx.clock.now();
  }
}

async function removeCredentials(
  ctx: RunContext,
  c: CutoverTarget,
  counter: { writes: number },
): Promise<string> {
  const step = c.removeCredentials;
  if (!step) return 'nothing to remove';
  // The PUT replaces every setting: re-read right before it, so a setting added meanwhile is sent back too.
  const current = await listAppSettings(ctx.arm, { path: c.path }, ctx.signal);
  const removed = new Set(step.keys.map((k) => k.toUpperCase()));
  const keep = Object.fromEntries(Object.entries(current).filter(([k]) => !removed.has(k.toUpperCase())));
  if (Object.keys(keep).length === Object.keys(current).length) return 'already removed (nothing written)';
  await replaceAppSettings(ctx.arm, { path: c.path }, keep, ctx.signal);
  counter.writes += 1;
  return `removed ${step.keys.join(', ')} after its fresh identity pull; kept ${Object.keys(keep).length} other setting(s)`;
}

function notSwitched(vt: VerifyTarget, c: CutoverTarget, why: string): VerifyResult {
  return {
    target: vt.target,
    outcome: 'not_switched',
    fatal: false,
    seconds: 0,
    restarts: 0,
    evidence: [],
    summary: `Still serving with its registry password: not switched, because ${why}.`,
    notes: [],
    error: new TaskError(
      'SwitchNotReached',
      `${c.target}: not switched to the managed identity (it keeps its registry password and serves as before), because ${why}.`,
      {
        remedy:
          'Run the task again later: the grant ages meanwhile, and a switch is made once it is proven or 10 minutes old. Or raise timeoutMinutes above 10. If an earlier target was put back, fix its cause first.',
        target: c.target,
      },
    ),
  };
}

/** The command that writes a target's previous pull settings back by hand (named by its resource path). */
export function restoreCommand(c: Pick<CutoverTarget, 'path' | 'previous'>): string {
  const m = /\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Web\/sites\/([^/]+)(?:\/slots\/([^/]+))?/i.exec(
    c.path,
  );
  const where = m
    ? `--name ${m[2]} --resource-group ${m[1]}${m[3] ? ` --slot ${m[3]}` : ''}`
    : `--ids ${c.path}`;
  return `az webapp config set ${where} --generic-configurations '${JSON.stringify(pullSettingsCliBody(c.previous))}'`;
}

function putBackFailed(
  vt: VerifyTarget,
  c: CutoverTarget,
  switched: VerifyResult,
  e: unknown,
  command: string,
): VerifyResult {
  const cause = switched.cause ?? switched.outcome;
  const why = neutralise(e instanceof Error ? e.message : String(e), 300).replace(/[.\s]+$/, '');
  return {
    target: vt.target,
    outcome: 'put_back_failed',
    ...(switched.cause ? { cause: switched.cause } : {}),
    fatal: true,
    seconds: switched.seconds,
    restarts: switched.restarts,
    evidence: switched.evidence,
    summary: `The identity pull failed (${cause}), and writing its previous pull settings back failed too (${why}): it may be down until they are restored.`,
    notes: switched.notes,
    error: new TaskError(
      'PutBackFailed',
      `${c.target}: after the switch to the managed identity its pull failed (${cause}), and writing back its previous pull settings (acrUseManagedIdentityCreds=${String(c.previous.useManagedIdentity ?? false)}) failed: ${why}. Its registry password settings were never removed; no other target was switched.`,
      {
        remedy: `Restore its previous pull settings now (one restart; the registry password pulls again):\n  ${command}\nThen fix the cause (${cause}) and run the task again.`,
        target: c.target,
      },
    ),
  };
}

function putBack(
  vt: VerifyTarget,
  c: CutoverTarget,
  switched: VerifyResult,
  servesAgain: boolean,
  back: VerifyResult | undefined,
): VerifyResult {
  const cause = switched.cause ?? switched.outcome;
  const failure = switched.error ? neutralise(switched.error.message, 400) : switched.summary;
  return {
    target: vt.target,
    outcome: 'put_back',
    ...(switched.cause ? { cause: switched.cause } : {}),
    fatal: true,
    seconds: switched.seconds + (back?.seconds ?? 0),
    restarts: switched.restarts + (back?.restarts ?? 0),
    evidence: [...switched.evidence, ...(back?.evidence ?? [])].slice(-12),
    summary: servesAgain
      ? `The identity pull failed (${cause}); put back on the registry password, which pulled again.`
      : `The identity pull failed (${cause}); put back on the registry password, whose pull was not seen before the timeout.`,
    notes: [...switched.notes, ...(back?.notes ?? [])],
    error: new TaskError(
      'SwitchPutBack',
      `${c.target}: after the switch to the managed identity, ${failure.replace(/^[^:]*: /, '')} It was put back on its previous pull settings and registry password${servesAgain ? ', and pulls with it again' : ' (that pull was not seen yet: check the site)'}; no other target was switched.`,
      {
        remedy: `${switched.error?.remedy ?? 'Check the grant and the pull settings.'} The registry password stays until a switch is proven; run the task again once the cause is fixed.`,
        target: c.target,
      },
    ),
  };
}
