/**
 * A secret value that cannot leak by accident: JSON.stringify, string interpolation and util.inspect all show
 * `***`; only `reveal()` hands out the value, at the one place that sends it.
 */
export interface Secret {
  reveal(): string;
  toString(): string;
  toJSON(): string;
}

const MASK = '***';

export function secret(value: string): Secret {
  const s: Secret = {
    reveal: () => value,
    toString: () => MASK,
    toJSON: () => MASK,
  };
  // util.inspect (console.log of the object, assertion diffs) prints this instead of the closure.
  Object.defineProperty(s, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => MASK,
    enumerable: false,
  });
  return s;
}

/** Replaces every occurrence of the given secret values in `text` with `***` (a last line of defence). */
export function redact(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of values) {
    if (v.length >= 4) out = out.split(v).join(MASK);
  }
  return out;
}
