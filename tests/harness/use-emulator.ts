/**
 * The emulator for a test file, in one line: `const start = useEmulator();` then `const emu = await start(scenario)`
 * inside a test. Every emulator a test starts is closed after it (or after the suite, with `per: 'suite'`),
 * whatever the test did. Replaces the `let emu; afterEach(close); start()` preamble the files used to repeat.
 */
import { type Emulator, type Scenario, type StartOptions, startEmulator } from '../emulator/index';

export interface UseEmulatorOptions extends Omit<StartOptions, 'scenario'> {
  /** Close after each test (default) or after the whole suite. */
  per?: 'test' | 'suite';
}

export type StartFor = (
  scenario?: Scenario | string,
  options?: Omit<StartOptions, 'scenario'>,
) => Promise<Emulator>;

export function useEmulator(defaults: UseEmulatorOptions = {}): StartFor {
  const { per = 'test', ...startDefaults } = defaults;
  const running: Emulator[] = [];
  const closeAll = async () => {
    await Promise.all(running.splice(0).map((e) => e.close()));
  };
  if (per === 'suite') after(closeAll);
  else afterEach(closeAll);
  return async (scenario, options = {}) => {
    const emu = await startEmulator({ ...startDefaults, ...options, ...(scenario ? { scenario } : {}) });
    running.push(emu);
    return emu;
  };
}
