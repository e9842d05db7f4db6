/**
 * The last line of defence for secrets on stdout, installed before task-lib loads: task-lib's own start-up
 * (`_exposeProxySettings`) and `getHttpProxyConfiguration()` print `Agent.ProxyPassword=<value>` in debug lines
 * before any task code runs. The agent masks secret variables in its log, but raw stdout must not carry them
 * either, so every value the agent handed us as a secret (`SECRET_*`) and every value we register later is
 * replaced by `***` here. `##vso[task.setsecret]` lines pass untouched: the agent needs the exact value to mask.
 */
import { createSecretValues, maskedOutput } from './secret-values';

const secrets = createSecretValues();

export function maskSecret(value: string): void {
  secrets.add(value);
}

export function masked(text: string): string {
  return secrets.masked(text);
}

for (const [name, value] of Object.entries(process.env))
  if (name.toUpperCase().startsWith('SECRET_') && value) maskSecret(value);

const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
  if (secrets.size === 0 || typeof chunk !== 'string') return write(chunk, ...rest);
  return write(maskedOutput(secrets, chunk), ...rest);
}) as typeof process.stdout.write;
