/**
 * A set of secret values and the text with each of them replaced by `***`: what secret-mask.ts applies to raw
 * stdout, kept free of side effects so an in-memory agent (tests/harness/memory-agent.ts) masks the same way.
 */
export interface SecretValues {
  /** Registers a value (each meaningful line of a multi-line one). */
  add(value: string): void;
  masked(text: string): string;
  readonly size: number;
}

/** Values shorter than this would mask ordinary words; the agent's own masker has a similar floor. */
const MIN_LENGTH = 4;

export function createSecretValues(): SecretValues {
  const secrets = new Set<string>();
  return {
    add(value) {
      for (const line of value.split(/\r?\n/)) {
        const trimmed = line.trim();
        if (trimmed.length >= MIN_LENGTH) secrets.add(trimmed);
      }
    },
    masked(text) {
      let out = text;
      for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('***');
      return out;
    },
    get size() {
      return secrets.size;
    },
  };
}

/** Output as the agent may see it: every line masked, except the `##vso[task.setsecret]` registrations. */
export function maskedOutput(values: SecretValues, chunk: string): string {
  if (values.size === 0) return chunk;
  return chunk
    .split('\n')
    .map((l) => (l.startsWith('##vso[task.setsecret]') ? l : values.masked(l)))
    .join('\n');
}
