import type { ArmClient } from './arm/client';
import type { Clock } from './clock';
import type { Logger } from './log';
import type { RegistryTransport } from './registry/http-send';
import type { Settings } from './settings';

/** What every phase (observe, plan, apply, verify) gets: settings, the ARM client, a logger, time, cancellation. */
export interface RunContext {
  readonly settings: Settings;
  readonly arm: ArmClient;
  readonly log: Logger;
  /** Aborted when the agent cancels the job; pass it to every request and sleep. */
  readonly signal: AbortSignal;
  /** Injected so tests of pure loops can run without real time. */
  readonly clock: Clock;
  /** The registry data plane transport (the agent's proxy and CA); without it the image check is skipped. */
  readonly registry?: RegistryTransport;
}

export { type Clock, systemClock } from './clock';
