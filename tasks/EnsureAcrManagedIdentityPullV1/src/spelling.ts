/**
 * "Did you mean": the closest candidate by edit distance, when it is close enough to be a typo. Host names that
 * share everything after the first dot (`*.azurecr.io`) are compared by their first label only, so the common
 * suffix does not make two different registries look alike.
 */
export function closestSpelling(wanted: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number; length: number } | undefined;
  for (const name of candidates) {
    const [a, b] = comparable(wanted.toLowerCase(), name.toLowerCase());
    const distance = editDistance(a, b);
    if (distance > 0 && (!best || distance < best.distance)) best = { name, distance, length: a.length };
  }
  // A typo changes a character or two; beyond a quarter of the name it is another name, not a misspelling.
  return best && best.distance <= Math.max(1, Math.floor(best.length / 4)) ? best.name : undefined;
}

function comparable(a: string, b: string): [string, string] {
  const [aHead, ...aRest] = a.split('.');
  const [bHead, ...bRest] = b.split('.');
  return aRest.length > 0 && aRest.join('.') === bRest.join('.')
    ? [aHead as string, bHead as string]
    : [a, b];
}

/** Levenshtein distance (insertions, deletions, substitutions), two rows at a time. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
