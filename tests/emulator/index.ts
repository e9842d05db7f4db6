/**
 * The local Azure emulator's public API: start it, read its state and request log, inject faults, move its
 * clock. See docs/emulator.md.
 */
export type {
  App,
  EmulatorState,
  Fault,
  Registry,
  RoleAssignment,
  Scenario,
  UserAssignedIdentity,
} from './model';
export {
  type BaseScenarioOptions,
  baseScenario,
  buildState,
  DEFAULT_DELAYS,
  DEFAULT_PAGING,
  DEFAULT_SUBSCRIPTION_ID,
  DEFAULT_TENANT_ID,
  loadScenario,
} from './scenario';
export {
  type Emulator,
  type EmulatorInfo,
  emulatorServing,
  type RequestRecord,
  type StartOptions,
  startEmulator,
} from './server';
