/**
 * The last line of defence for secrets on stdout, installed before task-lib loads: task-lib's own start-up
 * (`_exposeProxySettings`) and `getHttpProxyConfiguration()` print `Agent.ProxyPassword=<value>` in debug lines
 * before any task code runs. The agent masks secret variables in its log, but raw stdout must not carry them
 * either, so every value the agent handed us as a secret (`SECRET_*`) and every value we register later is
 * replaced by `***` here. `##vso[task.setsecret]` lines pass untouched: the agent needs the exact value to mask.
 */
const secrets = new Set<string>();

/** Values shorter than this would mask ordinary words; the agent's own masker has a similar floor. */
const MIN_LENGTH = 4;

export function maskSecret(value: string): void {
  for (const line of value.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed.length >= MIN_LENGTH) secrets.add(trimmed);
  }
}

export function masked(text: string): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

for (const [name, value] of Object.entries(process.env))
  if (name.toUpperCase().startsWith('SECRET_') && value) maskSecret(value);

const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
  if (secrets.size === 0 || typeof chunk !== 'string') return write(chunk, ...rest);
  const lines = chunk.split('\n').map((l) => (l.startsWith('##vso[task.setsecret]') ? l : masked(l)));
  return write(lines.join('\n'), ...rest);
}) as typeof process.stdout.write;
