/**
 * The one place where Azure's errors become the task's. `arm/` throws ArmError (and lets network errors and
 * cancellations through); the phases either pass an error to `operationError` with what they were doing (which app,
 * registry, identity or target: the mappings that need local context), or let it reach `toTaskError`, which run.ts
 * and main.ts call once per phase. Every code comes from the catalogue (`error-codes.ts`). Sign-in failures are
 * mapped where the token is asked for (`auth/auth-errors.ts` `authFailure`): only there are the secrets known that
 * must be scrubbed from Entra's text; they reach this module as TaskErrors and pass.
 */
import { type ArmError, isArmError } from './arm/client';
import type { AppGroupLookup } from './arm/resources';
import { subscriptionNotVisible } from './auth/auth-errors';
import type { EndpointSource } from './auth/endpoint-source';
import type { AzureConnection } from './auth/service-connection';
import type { TaskPhase } from './error-codes';
import { isCancelledError, isTaskError, TaskError } from './errors';
import { helpReference, QUESTIONS_URL } from './help';
import { neutralise } from './log';

/** What a phase was doing when Azure refused, for the mappings that name the resource and the fix. */
export type ArmOperation =
  | {
      readonly kind: 'readApp';
      readonly appName: string;
      readonly resourceGroup: string;
      readonly subscriptionId: string;
    }
  | { readonly kind: 'readRegistry'; readonly registryId: string }
  | { readonly kind: 'readUserIdentity'; readonly identityId: string }
  | {
      readonly kind: 'writeIdentity';
      /** The target label (production or a slot). */
      readonly target: string;
      readonly appName: string;
      /** A user-assigned identity is being attached (that needs Managed Identity Operator on it too). */
      readonly userAssigned: boolean;
    };

export interface PhaseErrorContext {
  /** The service connection: names the cloud (ApiVersionNotOffered) and the principal (SubscriptionNotFound). */
  readonly connection?: AzureConnection;
  /** Where the connection was read from (for the "open the service connection's settings" hint). */
  readonly source?: EndpointSource;
  /** The call that failed, when the caller knows it. */
  readonly operation?: ArmOperation;
}

/**
 * The TaskError for an error that reached the end of `phase`. TaskErrors and cancellations pass unchanged; an
 * ArmError gets its specific code when one fits (the operation, SubscriptionNotFound, a refused api-version),
 * else AzureRequestFailed with a remedy by status; anything else (a network error after the retries, a bug) is
 * Unexpected, naming the phase.
 */
export function toTaskError(phase: TaskPhase, e: unknown, context: PhaseErrorContext = {}): unknown {
  if (isTaskError(e) || isCancelledError(e)) return e;
  if (!isArmError(e)) return unexpected(e, phase);
  const specific = context.operation ? operationError(e, context.operation) : e;
  if (isTaskError(specific)) return specific;
  const { connection, source } = context;
  if (connection && source && SUBSCRIPTION_NOT_FOUND.test(e.code))
    return subscriptionNotVisible(connection, source, { cause: e });
  if (connection && API_VERSION_REFUSED.test(e.code)) return apiVersionNotOffered(e, connection);
  return new TaskError(
    'AzureRequestFailed',
    `Azure refused ${e.method} ${e.path}: ${e.status} ${e.code}: ${neutralise(e.message, 500)}`,
    { remedy: armRemedy(e), cause: e },
  );
}

/**
 * The TaskError an ArmError means for one operation (a 404 on the app is AppNotFound...), or the error unchanged
 * when the operation gives it no specific meaning: then the phase's `toTaskError` decides.
 */
export function operationError(e: unknown, op: ArmOperation): unknown {
  // A subscription the connection cannot see is about the connection, not the resource: the phase says so.
  if (!isArmError(e) || SUBSCRIPTION_NOT_FOUND.test(e.code)) return e;
  switch (op.kind) {
    case 'readApp':
      if (e.status !== 404) return e;
      return new TaskError(
        'AppNotFound',
        `The web app '${op.appName}' was not found in resource group '${op.resourceGroup}' of subscription ${op.subscriptionId}.`,
        {
          remedy:
            'Check the appName and resourceGroupName inputs, and that the service connection can read the app ' +
            '(Reader or Website Contributor on it).',
          cause: e,
        },
      );
    case 'readRegistry':
      if (e.status !== 404 && e.status !== 403) return e;
      return new TaskError(
        'RegistryNotFound',
        `The container registry ${op.registryId} could not be read (${e.code}).`,
        {
          remedy:
            'Check the registry input, and give the service connection at least Reader on the registry (its ' +
            'subscription must be visible to the connection).',
          cause: e,
        },
      );
    case 'readUserIdentity':
      if (e.status !== 404 && e.status !== 403) return e;
      return new TaskError(
        'IdentityNotFound',
        `The user-assigned identity ${op.identityId} could not be read (${e.code}).`,
        {
          remedy:
            'Check the userAssignedIdentityId input (the full resource ID), and give the service connection Reader and ' +
            'Managed Identity Operator on the identity (assigning it to an app needs Managed Identity Operator).',
          cause: e,
        },
      );
    case 'writeIdentity':
      if (e.status !== 403) return e;
      return new TaskError(
        'IdentityWriteForbidden',
        `The service connection may not change the identity of ${op.target} (${e.code}).`,
        {
          remedy:
            `Give the service connection Website Contributor (or Contributor) on the app ${op.appName}` +
            (op.userAssigned
              ? ', and Managed Identity Operator on the user-assigned identity (assigning it needs that role)'
              : '') +
            '.',
          cause: e,
          target: op.target,
        },
      );
  }
}

/** The app's resource group from the lookup, or the TaskError that says which input to set. */
export function appLookupError(
  lookup: Exclude<AppGroupLookup, { kind: 'found' }>,
  appName: string,
  subscriptionId: string,
  guess?: string,
): TaskError {
  if (lookup.kind === 'none') {
    return new TaskError(
      'AppNotFound',
      `No web app named '${appName}' was found in subscription ${subscriptionId}.${guess ? ` Did you mean '${guess}'?` : ''}`,
      {
        remedy:
          (guess
            ? `If you meant ${guess}, set the appName input to ${guess}. Otherwise check`
            : 'Check the app name, and') +
          ` that the service connection's subscription (${subscriptionId}) is the app's ` +
          'subscription and that the connection can read it (Reader or Website Contributor on the app); ' +
          'or set the resourceGroupName input.',
      },
    );
  }
  const list = lookup.resourceGroups;
  return new TaskError(
    'AppAmbiguous',
    `Several web apps named '${appName}' exist in subscription ${subscriptionId}, in resource groups: ${list.join(', ')}.`,
    { remedy: `Set the resourceGroupName input to the one to configure (one of: ${list.join(', ')}).` },
  );
}

/** A user-assigned identity given by name that no identity, or several, in the subscription have. */
export function identityNameError(
  name: string,
  subscriptionId: string,
  found: readonly { readonly id: string; readonly resourceGroup: string }[],
  commands: string,
): TaskError {
  return new TaskError(
    'IdentityNotFound',
    found.length === 0
      ? `No user-assigned identity named '${name}' is visible to the service connection in subscription ${subscriptionId}.`
      : `${found.length} user-assigned identities are named '${name}' in subscription ${subscriptionId} (resource groups ${found.map((r) => r.resourceGroup).join(', ')}); the task will not guess which.`,
    {
      remedy:
        found.length === 0
          ? `If the identity is in another subscription, or the connection cannot read it, put its resource ID in userAssignedIdentityId. ${commands}`
          : `Put the resource ID of the one to use in userAssignedIdentityId, one of: ${found.map((r) => r.id).join(', ')}.`,
    },
  );
}

/** Wraps an unexpected non-TaskError so the caller still reports one clear message. */
export function unexpected(e: unknown, phase: TaskPhase | undefined): TaskError {
  return new TaskError(
    'Unexpected',
    `The task failed unexpectedly${phase ? ` while it tried to ${PHASE_IN_WORDS[phase]}` : ''}: ${neutralise(e instanceof Error ? e.message : String(e), 500)}`,
    {
      remedy: `Re-run the task with system.debug=true and report it with the debug log (it contains no secrets) at ${QUESTIONS_URL}`,
      cause: e,
    },
  );
}

const PHASE_IN_WORDS: Readonly<Record<TaskPhase, string>> = {
  inputs: 'read its inputs',
  connect: 'connect',
  observe: 'observe',
  plan: 'plan',
  apply: 'apply',
  verify: 'verify',
};

/** ARM's 404 for a subscription the caller cannot see (or that does not exist). */
const SUBSCRIPTION_NOT_FOUND = /^SubscriptionNotFound$/i;

/**
 * ARM's answers to an api-version the cloud does not offer: `InvalidApiVersionParameter` (ARM's own types) and
 * `NoRegisteredProviderFound` (a provider's types), e.g. a sovereign cloud that lags behind
 * (Azure/azure-cli#23985) or an Azure Stack Hub profile.
 */
const API_VERSION_REFUSED = /^(InvalidApiVersionParameter|NoRegisteredProviderFound)$/i;

/** The part of the service connection that names the cloud. */
interface CloudOfConnection {
  readonly environment: string;
  readonly armUrl: string;
}

/** Names the api-version, the resource type and the cloud, instead of a generic Azure failure. */
function apiVersionNotOffered(e: ArmError, connection: CloudOfConnection): TaskError {
  const version = /api[- ]version '([^']+)'/i.exec(e.message)?.[1] ?? 'the api-version it uses';
  const type = /for type '([^']+)'/i.exec(e.message)?.[1];
  const supported = /supported (?:api-)?versions are '([^']*)'/i.exec(e.message)?.[1];
  return new TaskError(
    'ApiVersionNotOffered',
    `The ${neutralise(connection.environment, 80)} cloud (${connection.armUrl}) does not offer api-version ${neutralise(version, 40)}${type ? ` for ${neutralise(type, 80)}` : ''}, which the task needs (${e.method} ${e.path}).${supported ? ` It offers: ${neutralise(supported, 300)}.` : ''}`,
    {
      remedy:
        'This cloud has not rolled out the api-version yet (sovereign clouds and Azure Stack Hub lag behind the public cloud). ' +
        'Run the task against a cloud that offers it, or configure the app in the portal or with the Azure CLI of that cloud.',
      cause: e,
    },
  );
}

/** What to do about an ARM answer nobody anticipated, by its status. */
function armRemedy(e: ArmError): string {
  if (e.status === 403)
    return `Grant the service connection the rights it needs on that resource: see ${helpReference('permissions-the-service-connection-needs')}.`;
  if (e.status === 404)
    return 'The resource was not found: it was deleted or renamed while the task ran, or the inputs name another one. Check the inputs and run the task again: it picks up what exists now and finishes the job.';
  if (e.status === 429)
    return 'Azure throttled the service connection on every attempt. Wait a few minutes and run the task again; run fewer pipelines against this subscription at the same time.';
  if (e.status >= 500)
    return `Azure kept failing on every attempt. Run the task again later (it finishes what this run started); if it persists, check https://azure.status.microsoft and open an Azure support case with correlation id ${e.correlationId ?? '(none)'}.`;
  return `Run the task again; if it persists, open an Azure support case with correlation id ${e.correlationId ?? '(none)'}.`;
}
