/**
 * Slow cases run a few at a time while each is checked in its own test: `sideBySide(keys, lanes, run)` returns, at
 * once, one promise per key, started as a lane frees up. A test awaits its key's promise: no polling for the run
 * to be registered, and no real wait.
 */
export function sideBySide<T>(
  keys: readonly string[],
  lanes: number,
  run: (key: string) => Promise<T>,
): Map<string, Promise<T>> {
  const starts = new Map<string, () => void>();
  const results = new Map<string, Promise<T>>();
  for (const key of keys) {
    const gate = new Promise<void>((resolve) => starts.set(key, resolve));
    const result = gate.then(() => run(key));
    // The test that awaits it reports a failure; a run nobody awaits (a skipped test) must not be "unhandled".
    result.catch(() => undefined);
    results.set(key, result);
  }
  const queue = [...keys];
  const lane = async () => {
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      starts.get(key)?.();
      await results.get(key)?.catch(() => undefined);
    }
  };
  for (let i = 0; i < lanes; i++) void lane();
  return results;
}
