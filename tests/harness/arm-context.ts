/**
 * In-process task context against the emulator, for tests that call observe/plan/apply directly: the task's own
 * ARM client on the task's pipeline (trusting the emulator's CA), a clock whose waits move the emulator's clock
 * (back-off and operation polls cost no real time, and long-running operations still complete).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createArmClient } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/request';
import type { RunContext } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/context';
import { isTaskError, type TaskError } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/errors';
import { createTransport } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import { silentLogger } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/log';
import type { Settings } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/settings';
import type { Emulator } from '../emulator/index';
import { emulatorCredential } from '../emulator/sdk-client';
import { emulatedClock } from './emulated-clock';

/** A wait that passes no time at all (transport retry back-off). */
export const instantSleep = (_ms: number, signal?: AbortSignal): Promise<void> =>
  signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve();

export { emulatedClock } from './emulated-clock';

export function emulatorArmClient(
  emu: Emulator,
  retry: { maxAttempts?: number; sleep?: (ms: number, signal?: AbortSignal) => Promise<void> } = {},
) {
  return createArmClient({
    armUrl: emu.info.armUrl,
    subscriptionId: emu.info.subscriptionId,
    credential: emulatorCredential(emu.info),
    scope: 'https://management.azure.com/.default',
    transport: createTransport({ tls: { ca: [readFileSync(emu.info.caCertPath, 'utf8')] } }),
    retry: { sleep: instantSleep, baseDelayInMs: 1, ...retry },
  });
}

export function emulatorRunContext(emu: Emulator, settings: Settings): RunContext {
  return {
    settings,
    arm: emulatorArmClient(emu),
    log: silentLogger,
    signal: new AbortController().signal,
    clock: emulatedClock(emu),
  };
}

/** The TaskError a promise rejects with (any other rejection, or none, fails the test). */
export async function taskErrorOf(promise: Promise<unknown>): Promise<TaskError> {
  try {
    await promise;
  } catch (e: unknown) {
    if (isTaskError(e)) return e;
    throw e;
  }
  assert.fail('expected a TaskError');
}
