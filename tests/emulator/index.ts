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
export { type BaseScenarioOptions, baseScenario, buildState, loadScenario } from './scenario';
export {
  type Emulator,
  type EmulatorInfo,
  type RequestRecord,
  type StartOptions,
  startEmulator,
} from './server';
