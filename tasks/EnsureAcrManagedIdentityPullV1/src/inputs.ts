/**
 * Turns the task's raw inputs into validated `Settings`. The only module that knows input names (besides
 * task.json, whose names are a public contract). Every problem names the input, echoes the value and states
 * the expected form; all problems are reported together, before anything is read from or written to Azure.
 */
import taskJson from '../task.json';
import { TaskError } from './errors';
import { GUID, parseResourceId, RESOURCE_GROUP, resourceIdProblem, SLOT_NAME } from './resource-id';
import {
  type IdentitySetting,
  type Placement,
  PRODUCTION,
  type RegistrySetting,
  type RestartPolicy,
  type Settings,
  type TargetSelection,
  type VerifySetting,
} from './settings';

/** Reads one raw input; undefined or '' when the input is not set. */
export type InputGetter = (name: string) => string | undefined;

/** The input names of task.json, in one place. */
export const INPUT = {
  connection: 'azureSubscription',
  appName: 'appName',
  resourceGroup: 'resourceGroupName',
  targets: 'targets',
  slots: 'slotNames',
  identityType: 'identityType',
  userAssignedIdentity: 'userAssignedIdentityId',
  registry: 'registry',
  removeRegistryCredentials: 'removeRegistryCredentials',
  enableIdentityWithoutRoleRights: 'enableIdentityWithoutRoleRights',
  checkImage: 'checkImage',
  verify: 'verifyPull',
  verifyUntil: 'verifyUntil',
  timeoutMinutes: 'timeoutMinutes',
  pollIntervalSeconds: 'pollIntervalSeconds',
  dryRun: 'dryRun',
  restart: 'restart',
  configureAnyway: 'configureAnyway',
  placement: 'placement',
} as const;

export const DEFAULT_TIMEOUT_MINUTES = 15;
export const DEFAULT_POLL_INTERVAL_SECONDS = 10;

// App Service: 2-60 characters, letters, digits and hyphens, no hyphen at either end.
const APP_NAME = /^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])$/i;
// A user-assigned identity's name (Microsoft.ManagedIdentity naming rules), given where its resource ID belongs.
const BARE_NAME = /^[a-z0-9][a-z0-9_-]{2,127}$/i;
// ACR login servers: <name>.azurecr.io (or .us / .cn), optionally <name>-<hash> with a domain-name-label scope.
const LOGIN_SERVER = /^[a-z0-9]{5,50}(?:-[a-z0-9]+)?\.azurecr\.(?:io|us|cn)$/;

interface Problem {
  input: string;
  message: string;
  /** A fix that is more than "set it right": a command that finds the value (the message says the expected form). */
  fix?: string;
}

export function readSettings(get: InputGetter): Settings {
  const problems: Problem[] = [];
  const raw = (name: string) => (get(name) ?? '').trim();
  const fail: Fail = (input, value, expected, fix): undefined => {
    problems.push({ input, message: `Input '${input}' is '${value}'. ${expected}`, ...(fix ? { fix } : {}) });
    return undefined;
  };

  const connectedServiceId = raw(INPUT.connection);
  if (!connectedServiceId)
    fail(INPUT.connection, '', 'Expected the Azure Resource Manager service connection.');

  const appName = raw(INPUT.appName);
  if (!APP_NAME.test(appName)) {
    fail(
      INPUT.appName,
      appName,
      'Expected an App Service name: 2 to 60 letters, digits or hyphens, not starting or ending with a hyphen.',
    );
  }

  const resourceGroupRaw = raw(INPUT.resourceGroup);
  if (resourceGroupRaw && !RESOURCE_GROUP.test(resourceGroupRaw)) {
    fail(
      INPUT.resourceGroup,
      resourceGroupRaw,
      'Expected a resource group name (1 to 90 letters, digits, underscores, hyphens, periods or parentheses, not ending with a period), or leave it empty to look it up from the app name.',
    );
  }

  const targets = readTargets(raw(INPUT.targets) || 'all', raw(INPUT.slots), fail);
  const identity = readIdentity(
    raw(INPUT.identityType) || 'system',
    raw(INPUT.userAssignedIdentity),
    fail,
    resourceGroupRaw,
  );
  const registry = readRegistry(raw(INPUT.registry), fail);
  const removeRegistryCredentials = readBoolean(INPUT.removeRegistryCredentials, raw, false, fail);
  const enableIdentityWithoutRoleRights = readBoolean(
    INPUT.enableIdentityWithoutRoleRights,
    raw,
    false,
    fail,
  );
  const dryRun = readBoolean(INPUT.dryRun, raw, false, fail);
  const checkImage = readBoolean(INPUT.checkImage, raw, true, fail);
  const verify = readVerify(raw, fail);
  const restart = readRestart(raw(INPUT.restart) || 'whenNeeded', fail);
  const configureAnyway = readBoolean(INPUT.configureAnyway, raw, false, fail);
  const placement = readPlacement(raw(INPUT.placement) || 'standalone', fail);

  if (problems.length > 0) {
    const list = problems.map((p) => p.message);
    // Numbered, not bulleted: the run summary lists errors as bullets already ("- - Input ..." read badly).
    const names = [...new Set(problems.map((p) => p.input))];
    const message =
      list.length === 1
        ? list[0]!
        : [
            `${list.length} task inputs need fixing (${names.join(', ')}):`,
            ...list.map((m, i) => `${i + 1}. ${m}`),
          ].join('\n');
    throw new TaskError('InvalidInput', message, { remedy: inputRemedy(problems) });
  }

  return {
    connectedServiceId,
    appName,
    resourceGroup: resourceGroupRaw || undefined,
    targets: targets!,
    identity: identity!,
    registry: registry!,
    removeRegistryCredentials: removeRegistryCredentials!,
    enableIdentityWithoutRoleRights: enableIdentityWithoutRoleRights!,
    checkImage: checkImage!,
    verify: verify!,
    dryRun: dryRun!,
    restart: restart!,
    configureAnyway: configureAnyway!,
    placement: placement!,
    inputWarnings: hiddenInputWarnings(raw),
  };
}

function readRestart(value: string, fail: Fail): RestartPolicy | undefined {
  const policies: readonly RestartPolicy[] = ['whenNeeded', 'always', 'never'];
  const policy = policies.find((p) => p.toLowerCase() === value.toLowerCase());
  return (
    policy ??
    fail(
      INPUT.restart,
      value,
      "Expected 'whenNeeded' (restart only a target whose log has no pull since its last change), 'always', or 'never'.",
    )
  );
}

function readPlacement(value: string, fail: Fail): Placement | undefined {
  const placements: readonly Placement[] = ['standalone', 'beforeDeploy', 'afterDeploy'];
  const placement = placements.find((p) => p.toLowerCase() === value.toLowerCase());
  return (
    placement ??
    fail(
      INPUT.placement,
      value,
      "Expected 'beforeDeploy' (a deploy step that sets a new image follows), 'afterDeploy' (it ran before this step), or 'standalone' (no deploy step around it).",
    )
  );
}

interface TaskInput {
  readonly name: string;
  readonly defaultValue?: string;
  readonly visibleRule?: string;
}

/**
 * A value set for an input that its `visibleRule` hides is ignored by the task: the classic editor keeps hidden
 * values, and YAML can set anything. Say so, naming both inputs, instead of ignoring it silently. The rules come
 * from task.json itself, so a new rule is covered without code.
 */
export function hiddenInputWarnings(
  raw: (name: string) => string,
  inputs: readonly TaskInput[] = taskJson.inputs,
): string[] {
  const byName = new Map(inputs.map((i) => [i.name.toLowerCase(), i]));
  const effective = (name: string) => raw(name) || byName.get(name.toLowerCase())?.defaultValue || '';
  const warnings: string[] = [];
  for (const input of inputs) {
    if (!input.visibleRule) continue;
    const value = raw(input.name);
    if (!value || value.toLowerCase() === (input.defaultValue ?? '').toLowerCase()) continue;
    const failed = failingClauses(input.visibleRule, effective);
    if (failed.length === 0) continue;
    const why = failed.map((c) => `'${c.input}' is '${effective(c.input)}'`).join(' and ');
    warnings.push(
      `Input '${input.name}' is set to '${value}' but is ignored, because ${why} (it applies only when ${input.visibleRule}). Remove '${input.name}', or change ${failed.map((c) => `'${c.input}'`).join(' and ')}.`,
    );
  }
  return warnings;
}

interface Clause {
  readonly input: string;
  readonly op: '=' | '!=';
  readonly value: string;
}

/**
 * The clauses that make a visibleRule false (empty when it holds). The rule language of task.json: clauses
 * `name = value` / `name != value` joined by `&&` or by `||` (not mixed). Unknown shapes count as visible.
 */
function failingClauses(rule: string, value: (name: string) => string): Clause[] {
  const any = rule.includes('||');
  const clauses: Clause[] = [];
  for (const part of rule.split(any ? '||' : '&&')) {
    const m = /^\s*([\w.]+)\s*(!=|=)\s*(.*?)\s*$/.exec(part);
    if (!m) return [];
    clauses.push({ input: m[1] as string, op: m[2] as Clause['op'], value: m[3] as string });
  }
  const holds = (c: Clause) => (value(c.input).toLowerCase() === c.value.toLowerCase()) === (c.op === '=');
  const failing = clauses.filter((c) => !holds(c));
  return any ? (failing.length === clauses.length ? failing : []) : failing;
}

type Fail = (input: string, value: string, expected: string, fix?: string) => undefined;

/**
 * The remedy of an InvalidInput: each problem's own fix (a command that finds the value), else where the input is
 * set: its YAML name and its classic-editor field and group (the message already says the expected form).
 */
function inputRemedy(problems: readonly Problem[]): string {
  const fixes = problems.map((p) => p.fix ?? whereToSet(p.input));
  const distinct = [...new Set(fixes)];
  return distinct.length === 1 ? distinct[0]! : distinct.map((f, i) => `${i + 1}. ${f}`).join('\n');
}

function whereToSet(name: string): string {
  const input = taskJson.inputs.find((i) => i.name === name);
  if (!input) return `Set the input ${name}.`;
  const group = taskJson.groups.find((g) => g.name === (input as { groupName?: string }).groupName);
  return `Set '${name}' under the task's inputs in YAML, or the '${input.label}' field${group ? ` (group '${group.displayName}')` : ''} in the classic editor.`;
}

/** `az` commands that print a user-assigned identity's resource ID, from its name (or client ID) and group. */
export function identityIdCommands(value: string, resourceGroup: string): string {
  const guid = GUID.test(value);
  const list = guid
    ? `az identity list --query "[?clientId=='${value}'].id" --output tsv`
    : `az identity list --query "[?name=='${value}'].id" --output tsv`;
  const show = guid
    ? undefined
    : `az identity show --name ${value} --resource-group ${resourceGroup || '<group>'} --query id --output tsv`;
  return `Put the identity's resource ID in userAssignedIdentityId; ${show ? `this prints it: ${show}\nor, when you do not know its resource group: ${list}` : `this prints it: ${list}`}`;
}

function readTargets(kind: string, slotList: string, fail: Fail): TargetSelection | undefined {
  switch (kind.toLowerCase()) {
    case 'all':
      return { kind: 'all' };
    case 'production':
      return { kind: 'production' };
    case 'slots': {
      const names = slotList
        .split(/[\s,;]+/)
        .map((s) => s.trim())
        .filter(Boolean);
      if (names.length === 0) {
        return fail(
          INPUT.slots,
          slotList,
          "Expected one or more slot names separated by commas or new lines (add 'production' to include the production site).",
        );
      }
      const bad = names.filter((n) => n.toLowerCase() !== PRODUCTION && !SLOT_NAME.test(n));
      if (bad.length > 0) {
        return fail(
          INPUT.slots,
          slotList,
          `'${bad.join("', '")}' ${bad.length === 1 ? 'is not a slot name' : 'are not slot names'}. Expected letters, digits and hyphens (up to 40), separated by commas or new lines.`,
        );
      }
      const slots = [
        ...new Set(names.filter((n) => n.toLowerCase() !== PRODUCTION).map((n) => n.toLowerCase())),
      ];
      return {
        kind: 'slots',
        slots,
        includeProduction: names.some((n) => n.toLowerCase() === PRODUCTION),
      };
    }
    default:
      return fail(
        INPUT.targets,
        kind,
        "Expected 'all' (production and every slot), 'production', or 'slots' (the slots named in 'slotNames').",
      );
  }
}

function readIdentity(
  kind: string,
  resourceId: string,
  fail: Fail,
  resourceGroup = '',
): IdentitySetting | undefined {
  switch (kind.toLowerCase()) {
    case 'system':
      return { kind: 'system' };
    case 'user': {
      if (!resourceId) {
        return fail(
          INPUT.userAssignedIdentity,
          '',
          "Expected the resource ID of the user-assigned identity (identityType is 'user'), like /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>.",
        );
      }
      // A bare name is looked up in the subscription by observe (used when exactly one identity has it).
      if (BARE_NAME.test(resourceId) && !GUID.test(resourceId))
        return { kind: 'user', identity: { byName: resourceId } };
      const ref = parseResourceId(resourceId, 'Microsoft.ManagedIdentity/userAssignedIdentities');
      if (!ref) {
        return fail(
          INPUT.userAssignedIdentity,
          resourceId,
          GUID.test(resourceId)
            ? "That looks like a client ID. Expected the identity's resource ID, like /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name> (the task looks up the client ID itself)."
            : `${resourceIdProblem(resourceId, 'Microsoft.ManagedIdentity/userAssignedIdentities') ?? ''} Expected a resource ID like /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>, or the identity's name alone.`.trim(),
          // A client ID: the command that turns it into the resource ID.
          GUID.test(resourceId) ? identityIdCommands(resourceId, resourceGroup) : undefined,
        );
      }
      return { kind: 'user', identity: ref };
    }
    default:
      return fail(
        INPUT.identityType,
        kind,
        "Expected 'system' (each target's system-assigned identity) or 'user' (one user-assigned identity).",
      );
  }
}

function readRegistry(value: string, fail: Fail): RegistrySetting | undefined {
  if (!value) return { kind: 'fromImage' };
  if (value.startsWith('/')) {
    const ref = parseResourceId(value, 'Microsoft.ContainerRegistry/registries');
    if (ref) return { kind: 'resourceId', registry: ref };
    return fail(
      INPUT.registry,
      value,
      `${resourceIdProblem(value, 'Microsoft.ContainerRegistry/registries')} Expected a registry resource ID like /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>, a login server like myregistry.azurecr.io, or empty to use the registry of the image the app runs.`,
    );
  }
  const loginServer = value
    .replace(/^https?:\/\//i, '')
    .replace(/\/+$/, '')
    .toLowerCase();
  if (LOGIN_SERVER.test(loginServer)) return { kind: 'loginServer', loginServer };
  return fail(
    INPUT.registry,
    value,
    'Expected an Azure Container Registry login server like myregistry.azurecr.io, a registry resource ID, or empty to use the registry of the image the app runs. Other registries (Docker Hub, GHCR) cannot be pulled with a managed identity.',
  );
}

function readVerify(raw: (name: string) => string, fail: Fail): VerifySetting | undefined {
  const on = readBoolean(INPUT.verify, raw, true, fail);
  if (on === false) return { kind: 'off' };
  const timeoutText = raw(INPUT.timeoutMinutes) || String(DEFAULT_TIMEOUT_MINUTES);
  const intervalText = raw(INPUT.pollIntervalSeconds) || String(DEFAULT_POLL_INTERVAL_SECONDS);
  const timeoutMinutes = readNumber(timeoutText, 0.05, 120);
  const intervalSeconds = readNumber(intervalText, 0.1, 300);
  const untilText = raw(INPUT.verifyUntil) || 'imagePulled';
  const until =
    untilText.toLowerCase() === 'imagepulled'
      ? 'imagePulled'
      : untilText.toLowerCase() === 'containerstarted'
        ? 'containerStarted'
        : undefined;
  if (timeoutMinutes === undefined) {
    fail(INPUT.timeoutMinutes, timeoutText, 'Expected a number of minutes from 0.05 to 120 (default 15).');
  }
  if (intervalSeconds === undefined) {
    fail(
      INPUT.pollIntervalSeconds,
      intervalText,
      'Expected a number of seconds from 0.1 to 300 (default 10).',
    );
  }
  if (
    timeoutMinutes !== undefined &&
    intervalSeconds !== undefined &&
    intervalSeconds >= timeoutMinutes * 60
  ) {
    fail(
      INPUT.pollIntervalSeconds,
      intervalText,
      `Expected an interval shorter than the timeout (${timeoutMinutes} minutes = ${timeoutMinutes * 60} seconds).`,
    );
  }
  if (!until) {
    fail(
      INPUT.verifyUntil,
      untilText,
      "Expected 'imagePulled' (the configured image was pulled) or 'containerStarted' (it was pulled and the container started).",
    );
  }
  if (on === undefined || timeoutMinutes === undefined || intervalSeconds === undefined || !until)
    return undefined;
  return {
    kind: 'on',
    timeoutInMs: Math.round(timeoutMinutes * 60_000),
    pollIntervalInMs: Math.round(intervalSeconds * 1000),
    until,
  };
}

function readBoolean(
  name: string,
  raw: (name: string) => string,
  defaultValue: boolean,
  fail: Fail,
): boolean | undefined {
  const value = raw(name);
  if (!value) return defaultValue;
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  return fail(name, value, "Expected 'true' or 'false'.");
}

function readNumber(text: string, min: number, max: number): number | undefined {
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}
