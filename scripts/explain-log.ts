/**
 * Explains a saved App Service container log: `npm run explain-log -- FILE [--image REF] [--since ISO]`,
 * or `-` to read stdin. Prints what the log shows and the fix, then, as the last stdout line, one JSON object
 * (`outcome`, `cause` for pull failures, `imagePulled`, `attempts`, `evidence`) for scripts.
 * Exit code 0 when the log was read, 2 for a usage error.
 */
import { readFileSync } from 'node:fs';
import { neutralise } from '../tasks/EnsureAcrManagedIdentityPullV1/src/log';
import { classifyLog, explain } from '../tasks/EnsureAcrManagedIdentityPullV1/src/verify/classify';

const USAGE = 'usage: explain-log FILE|- [--image REGISTRY/REPO:TAG] [--since 2026-01-01T10:00:00Z]';

function parseArgs(argv: string[]): { file: string; image?: string; since?: number } | string {
  let file: string | undefined;
  let image: string | undefined;
  let since: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--image' || arg === '--since') {
      const value = argv[++i];
      if (!value) return `${arg} needs a value`;
      if (arg === '--image') image = value;
      else {
        since = Date.parse(value);
        if (Number.isNaN(since))
          return `--since '${value}' is not a date (use ISO 8601, e.g. 2026-01-01T10:00:00Z)`;
      }
    } else if (arg === '-h' || arg === '--help') return USAGE;
    else if (file === undefined) file = arg;
    else return `unexpected argument '${arg}'`;
  }
  if (file === undefined) return 'name a log file, or - for stdin';
  return { file, ...(image ? { image } : {}), ...(since !== undefined ? { since } : {}) };
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n${args === USAGE ? '' : `${USAGE}\n`}`);
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(args.file === '-' ? 0 : args.file, 'utf8');
  } catch (e: unknown) {
    process.stderr.write(`cannot read ${args.file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const result = classifyLog(text, { image: args.image, since: args.since });
  const { headline, fix } = explain(result);
  const evidence = result.evidence.map((l) => neutralise(l.raw.split('\n').join(' | '), 400));
  const out = [headline];
  if (fix) out.push(`Fix: ${fix}`);
  if (evidence.length) out.push('Deciding lines:', ...evidence.map((l) => `  ${l}`));
  out.push(
    JSON.stringify({
      outcome: result.outcome,
      ...(result.cause ? { cause: result.cause } : {}),
      imagePulled: result.imagePulled,
      attempts: result.attempts,
      ...(result.otherImages.length ? { otherImages: result.otherImages } : {}),
      evidence,
    }),
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

process.exitCode = main();
