/**
 * Turns a RunReport into what the pipeline shows: the result (Succeeded, SucceededWithIssues, Failed,
 * Cancelled) with one clear message, the output variables, and the markdown run summary. Pure: tested without
 * an agent.
 */
import { isCancelledError, isTaskError, type TaskError } from './errors';
import type { GrantFact } from './facts';
import { neutralise } from './log';
import { grantScopeOf, type RunReport, unexpected } from './run';
import { describePlannedRestart, describeRestart } from './verify/restart-policy';
import type { VerifyResult } from './verify/verify';

export type TaskOutcome = 'Succeeded' | 'SucceededWithIssues' | 'Failed' | 'Cancelled';

export interface Verdict {
  readonly outcome: TaskOutcome;
  readonly message: string;
  readonly outputs: Readonly<Record<string, string>>;
  readonly summary: string;
}

export type VerificationOutcome =
  | 'verified'
  | 'put_back'
  | 'put_back_failed'
  | 'not_switched'
  | 'not_proven'
  | 'unverified'
  | 'stopped'
  | 'pull_failed'
  | 'start_failed'
  | 'timed_out'
  | 'not_run'
  | 'skipped'
  | 'cancelled';

export function verdictOf(report: RunReport, appName: string): Verdict {
  const error = report.error;
  const verification = overallVerification(report);
  let outcome: TaskOutcome;
  let message: string;
  if (isCancelledError(error) || verification === 'cancelled') {
    outcome = 'Cancelled';
    message = 'Cancelled. Nothing was left half-written: a re-run finishes the job.';
  } else if (error !== undefined) {
    const e = isTaskError(error) ? error : unexpected(error, report.failedIn);
    outcome = 'Failed';
    message = failureMessage(e);
  } else {
    const fatal = report.verify.filter((r) => r.fatal && r.outcome !== 'verified' && r.outcome !== 'skipped');
    const tolerated = report.verify.filter(
      (r) => !r.fatal && r.outcome !== 'verified' && r.outcome !== 'skipped',
    );
    if (fatal.length > 0) {
      outcome = 'Failed';
      message = fatal
        .map((r) => (r.error ? failureMessage(r.error, r.target.label) : labelled(r.target.label, r.summary)))
        .join('\n');
    } else if (tolerated.length > 0) {
      outcome = 'SucceededWithIssues';
      message = `${doneSoFar(report)}; ${tolerated.map((r) => `[${r.target.label}] ${r.summary}`).join(' ')}`;
    } else {
      outcome = 'Succeeded';
      message = successMessage(report);
    }
  }
  return {
    outcome,
    message,
    outputs: outputsOf(report, verification),
    summary: summaryOf(report, appName, outcome, message),
  };
}

/**
 * The cause and the code on the first line (the summary's header and the pipeline's first error line show only
 * that line), any detail under it, then the fix.
 */
function failureMessage(e: TaskError, target = e.target): string {
  const [first = '', ...rest] = labelled(target, e.message).split('\n');
  return [`${first} (${e.code})`, ...rest, `Fix: ${e.remedy}`].join('\n');
}

/** How a run that ends SucceededWithIssues starts its message: what it did, never "Configured" when it wrote nothing. */
function doneSoFar(report: RunReport): string {
  const changes = report.applied?.changeCount ?? 0;
  return changes > 0 ? `Configured (${changes} change(s) applied)` : 'Nothing needed changing';
}

/** `[target] text`, naming the target once even when the text already starts with `target: `. */
export function labelled(target: string | undefined, text: string): string {
  return target ? `[${target}] ${withoutLabel(target, text)}` : text;
}

function withoutLabel(target: string, text: string): string {
  const own = `${target}: `;
  return text.startsWith(own) ? text.slice(own.length) : text;
}

function successMessage(report: RunReport): string {
  const targets = report.observed?.targets.length ?? 0;
  const changes = (report.applied?.changeCount ?? 0) + (report.cutoverWrites ?? 0);
  if (report.dryRun) {
    return `Dry run: ${report.plan?.steps.length ?? 0} change(s) planned for ${targets} target(s); nothing was changed.`;
  }
  const verified = report.verify.filter((r) => r.outcome === 'verified').length;
  const restarted = report.verify.reduce((n, r) => n + r.restarts, 0);
  const always = report.verify.some((r) => r.restartReason === 'always' && r.restarts > 0);
  const restartWords =
    restarted === 0
      ? report.verify.length > 0
        ? ', nothing restarted'
        : ''
      : `; ${restarted} restart(s) to see the pull${always ? ', as restart: always asks' : ''}`;
  const what =
    changes === 0
      ? `Everything was already in place (nothing written${restartWords})`
      : `${changes} change(s) applied`;
  return report.verify.length === 0
    ? `${what} on ${targets} target(s); verification is off.`
    : `${what}; the image pull was verified on ${verified} of ${targets} target(s).`;
}

function overallVerification(report: RunReport): VerificationOutcome {
  const outcomes = report.verify.map((r) => r.outcome);
  if (isCancelledError(report.error) || outcomes.includes('cancelled')) return 'cancelled';
  for (const worst of [
    'put_back_failed',
    'put_back',
    'pull_failed',
    'timed_out',
    'start_failed',
    'not_switched',
    'unverified',
    'not_proven',
    'stopped',
  ] as const)
    if (outcomes.includes(worst)) return worst;
  // The run failed before it could verify anything: not the same as verification turned off.
  if (report.error !== undefined && outcomes.length === 0 && !report.dryRun && report.verifyOn !== false)
    return 'not_run';
  if (outcomes.length > 0 && outcomes.every((o) => o === 'verified')) return 'verified';
  return 'skipped';
}

function principalsOf(report: RunReport): Record<string, string> {
  const out: Record<string, string> = {};
  const from = report.applied?.principals ?? report.plan?.principals ?? {};
  for (const [target, principal] of Object.entries(from)) if (principal) out[target] = principal;
  return out;
}

function outputsOf(report: RunReport, verification: VerificationOutcome): Record<string, string> {
  const verified = report.verify.filter((r) => r.outcome === 'verified');
  return {
    principalIds: JSON.stringify(principalsOf(report)),
    registryResourceId: report.observed?.registry.id ?? '',
    verificationOutcome: verification,
    pullSeconds: verified.length > 0 ? String(Math.max(...verified.map((r) => r.seconds))) : '',
    changeCount: String((report.applied?.changeCount ?? 0) + (report.cutoverWrites ?? 0)),
    targetResults: JSON.stringify(targetResultsOf(report, verification)),
    ...deployStepOutputs(report),
  };
}

/**
 * What the deploy step needs to keep the pull settings (microsoft/azure-pipelines-tasks#15554: the deploy may reset
 * the flag and the client ID): the user-assigned identity's client ID, and the exact `configurationStrings` line for
 * AzureWebAppContainer@1. Empty until the run has observed the app.
 */
export function deployStepOutputs(report: RunReport): {
  userAssignedClientId: string;
  configurationStrings: string;
} {
  if (!report.observed) return { userAssignedClientId: '', configurationStrings: '' };
  const clientId = report.observed.userIdentity?.clientId ?? '';
  return {
    userAssignedClientId: clientId,
    configurationStrings: `-acrUseManagedIdentityCreds true${clientId ? ` -acrUserManagedIdentityID ${clientId}` : ''}`,
  };
}

interface TargetResult {
  outcome: string;
  cause?: string;
  /** This run wrote the target's identity or pull settings. */
  configured: boolean;
  /** This run created the pull grant the target uses. */
  granted: boolean;
  /** Restarts the task made (a config write's own restart not counted). */
  restarts: number;
  /** Why it was (or would be) restarted or not. */
  restart: string;
}

/** One verdict per target: outcome, cause, what this run did, and the restart with its reason. */
function targetResultsOf(report: RunReport, verification: VerificationOutcome): Record<string, TargetResult> {
  const out: Record<string, TargetResult> = {};
  for (const t of report.observed?.targets ?? []) {
    const label = t.target.label;
    const steps = report.applied?.steps.map((s) => s.step) ?? [];
    const v = report.verify.find((r) => r.target.label === label);
    const preview = report.restartPreview?.find((p) => p.target === label);
    out[label] = {
      outcome: v?.outcome ?? (verification === 'not_run' ? 'not_run' : 'skipped'),
      ...(v?.cause ? { cause: v.cause } : {}),
      configured: steps.some((s) => s.kind !== 'assignRole' && s.target === label),
      granted:
        report.applied?.steps.some(
          (s) => s.step.kind === 'assignRole' && s.step.forTargets.includes(label) && s.changed !== false,
        ) === true,
      restarts: v?.restarts ?? 0,
      restart: v?.restartReason
        ? describeRestart(v.restartReason, v.restarts)
        : preview
          ? describePlannedRestart(preview.decision.reason)
          : 'not restarted: not verified',
    };
  }
  return out;
}

const ICON: Record<TaskOutcome, string> = {
  Succeeded: '✅',
  SucceededWithIssues: '⚠️',
  Failed: '❌',
  Cancelled: '⏹️',
};

/** Markdown for `task.uploadsummary`: per target table, actions taken, remedies. */
function summaryOf(report: RunReport, appName: string, outcome: TaskOutcome, message: string): string {
  const lines: string[] = [`## Ensure ACR managed identity pull: ${md(appName)}`, ''];
  lines.push(`**${ICON[outcome]} ${outcome}**: ${md(message.split('\n')[0] ?? '')}`, '');
  const o = report.observed;
  if (o) {
    const role = report.plan?.role.name ?? 'AcrPull';
    lines.push(
      `Registry ${code(o.registry.loginServer)} (${o.registry.abac ? 'ABAC repository permissions' : 'RBAC'}).`,
      '',
    );
    lines.push(
      '| Target | Pulls as (principal) | Role and scope | acrUseManagedIdentityCreds | Verification | Restart | Time |',
    );
    lines.push('|---|---|---|---|---|---|---|');
    const principals = principalsOf(report);
    for (const t of o.targets) {
      const label = t.target.label;
      const principal = principals[label];
      const scope = grantScopeOf(report, principal);
      const flagWritten = report.applied?.steps.some(
        (s) => s.step.target === label && s.step.kind === 'setAcrFlags',
      );
      const flagPlanned = report.plan?.steps.some((s) => s.target === label && s.kind === 'setAcrFlags');
      const cutover = report.plan?.cutover?.order.some((c) => c.target === label);
      const switched = report.verify.find((r) => r.target.label === label)?.outcome;
      const flag = t.sidecar
        ? 'per container (sidecar)'
        : cutover && !report.dryRun
          ? switched === 'verified' || switched === 'start_failed'
            ? 'true (switched after proof)'
            : switched === 'put_back'
              ? 'false (put back)'
              : switched === 'put_back_failed'
                ? 'true (put back failed: restore it)'
                : 'false (kept its password)'
          : flagWritten || t.pull.useManagedIdentity === true
            ? 'true'
            : report.dryRun && flagPlanned
              ? 'false (the plan sets it)'
              : 'false';
      const v = report.verify.find((r) => r.target.label === label);
      const preview = report.restartPreview?.find((p) => p.target === label);
      const restart = v?.restartReason
        ? describeRestart(v.restartReason, v.restarts)
        : preview
          ? describePlannedRestart(preview.decision.reason)
          : '';
      lines.push(
        `| ${md(label)} | ${principal ? code(principal) : '(not yet)'} | ${scope ? `${md(role)} at ${code(scopeLabel(scope, o.registry.id))}` : '(none)'} | ${flag} | ${verifyCell(v, report)} | ${md(restart)} | ${timeCell(v)} |`,
      );
    }
    lines.push('');
  }
  const applied = report.applied?.steps ?? [];
  const planned = report.dryRun ? (report.plan?.steps ?? []) : [];
  if (applied.length > 0 || planned.length > 0) {
    lines.push(report.dryRun ? '### Planned changes (dry run)' : '### Actions taken', '');
    for (const s of applied) lines.push(`- **${md(s.step.target)}**: ${md(s.step.what)} → ${md(s.result)}`);
    for (const s of planned) lines.push(`- **${md(s.target)}**: ${md(s.what)}`);
    lines.push('');
  } else if (report.plan && !report.error) {
    lines.push('Nothing to change: everything was already in place.', '');
  }
  const cut = report.plan?.cutover;
  if (cut) {
    const minutes = Math.round(cut.settleMs / 60_000);
    lines.push(
      '### Cutover (targets that served with a registry password)',
      '',
      `One target at a time, production last. A target was switched only once its grant was proven (a target with the same identity, or a grant made together, verified a fresh identity pull) or ${minutes} minutes old (Azure RBAC: a new role assignment can take up to ${minutes} minutes); its password settings stayed until its own fresh identity pull, and a failed switch was put back on them.`,
      '',
    );
    for (const c of cut.order) {
      const v = report.verify.find((r) => r.target.label === c.target);
      lines.push(`- **${md(c.target)}**: ${md(v ? `${v.outcome}: ${v.summary}` : 'not reached')}`);
    }
    lines.push('');
  }
  const remedies = remediesOf(report);
  if (remedies.length > 0) {
    lines.push('### What to do', '');
    for (const r of remedies) lines.push(`- ${r}`);
    lines.push('');
  }
  return lines.join('\n');
}

function remediesOf(report: RunReport): string[] {
  const out: string[] = [];
  const error = report.error;
  if (error !== undefined && !isCancelledError(error)) {
    const e = isTaskError(error) ? error : unexpected(error, report.failedIn);
    out.push(`${md(e.message)} (${code(e.code)})\n\n${remedyBlock(e.remedy, '  ')}`);
  }
  for (const r of report.verify)
    if (r.error)
      out.push(
        `**${md(r.target.label)}**: ${md(withoutLabel(r.target.label, r.error.message))} Fix: ${md(r.error.remedy)}`,
      );
  for (const w of report.plan?.warnings ?? [])
    out.push(`${w.target ? `**${md(w.target)}**: ` : ''}${md(w.message)} Fix: ${code(w.fix)}`);
  return out;
}

/** Seconds spent on a target's verification; blank when none was spent (stopped, unverified without a restart). */
function timeCell(v: VerifyResult | undefined): string {
  if (!v || v.outcome === 'skipped') return '';
  if (v.seconds === 0 && (v.outcome === 'stopped' || v.outcome === 'unverified')) return '';
  return `${v.seconds} s`;
}

/**
 * A remedy under a list item: commands as a code block (copied verbatim), prose as text. A line is a command when
 * it starts with a CLI the user runs (az, docker, kubectl, curl, npm) or is indented under one (`  az ...`).
 */
function remedyBlock(text: string, indent: string): string {
  const out: string[] = [];
  let commands: string[] = [];
  let prose: string[] = [];
  const flush = () => {
    if (commands.length > 0) out.push(codeBlock(commands.join('\n'), indent));
    // A sentence wrapped over several lines of the remedy is one paragraph.
    if (prose.length > 0) out.push(`${indent}${md(prose.join(' '))}`);
    commands = [];
    prose = [];
  };
  for (const line of neutralise(text, SUMMARY_TEXT_LIMIT).split(/\r?\n/)) {
    const command = isCommandLine(line);
    if ((command && prose.length > 0) || (!command && commands.length > 0)) flush();
    if (command) commands.push(line);
    else if (line.trim()) prose.push(line.trim());
  }
  flush();
  return out.join('\n\n');
}

const COMMAND_LINE = /^\s*(?:#|(?:az|docker|kubectl|curl|npm|npx|Set-AzWebApp|Get-Az\w+|New-Az\w+)\s)/;

export function isCommandLine(line: string): boolean {
  return COMMAND_LINE.test(line);
}

function verifyCell(v: VerifyResult | undefined, report: RunReport): string {
  if (!v) return report.error !== undefined && !report.dryRun ? 'not_run' : 'skipped';
  const icon = v.outcome === 'verified' ? '✅ ' : v.outcome === 'skipped' ? '' : v.fatal ? '❌ ' : '⚠️ ';
  return `${icon}${v.outcome}${v.cause ? ` (${md(v.cause)})` : ''}`;
}

function scopeLabel(grant: Pick<GrantFact, 'scope' | 'scopeKind'>, registryId: string): string {
  if (grant.scope.toLowerCase() === registryId.toLowerCase()) return 'registry';
  const last = grant.scope.split('/').filter(Boolean).at(-1) ?? '';
  switch (grant.scopeKind) {
    case 'subscription':
      return `subscription ${last}`;
    case 'resourceGroup':
      return `resource group ${last}`;
    case 'managementGroup':
      return `management group ${last}`;
    case 'root':
      return 'the whole tenant (root scope)';
    default:
      return grant.scope;
  }
}

/**
 * Remote or user text (ARM messages, names, images) as inert Markdown: one line, no agent command, HTML shown as
 * text (entities), the Markdown punctuation that makes links, images, emphasis, code or a table break escaped, and
 * no bare URL for the renderer to turn into a link (a zero-width space after the scheme or `www`).
 */
export function md(text: string): string {
  return neutralise(text, SUMMARY_TEXT_LIMIT)
    .replace(/\r?\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~]/g, '\\$&')
    .replace(/:\/\//g, ':\u200b//')
    .replace(/\b(www)\./gi, '$1\u200b.');
}

/** Text as an inline code span (shown verbatim, never rendered): the fence is longer than any backtick run inside. */
export function code(text: string): string {
  const inner = neutralise(text, SUMMARY_TEXT_LIMIT).replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
  const fence = '`'.repeat(longestBacktickRun(inner) + 1);
  return `${fence}${inner.startsWith('`') || inner.endsWith('`') ? ` ${inner} ` : inner}${fence}`;
}

/** Multi-line text as a fenced code block indented under a list item; the fence outruns any backticks inside. */
function codeBlock(text: string, indent: string): string {
  const inner = neutralise(text, SUMMARY_TEXT_LIMIT);
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(inner) + 1));
  return [fence, ...inner.split(/\r?\n/), fence].map((l) => `${indent}${l}`).join('\n');
}

function longestBacktickRun(text: string): number {
  return Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
}

/** Remote text is cut here in the summary (an ARM message is a few hundred characters). */
const SUMMARY_TEXT_LIMIT = 4000;
