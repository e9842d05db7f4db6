/**
 * The task's validated settings: what `inputs.ts` returns after reading and checking every task input.
 * Closed unions instead of strings, so the planner and the verifier switch over every case.
 */

/** Which of the app's deployment targets to configure. Production is the site itself; the rest are slots. */
export type TargetSelection =
  | { readonly kind: 'all' } // production and every slot (default)
  | { readonly kind: 'production' }
  | { readonly kind: 'slots'; readonly slots: readonly string[]; readonly includeProduction: boolean };

/** An ARM resource ID split into the parts the task needs. */
export interface ResourceRef {
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

export type IdentitySetting =
  | { readonly kind: 'system' }
  /** A user-assigned identity attached to every target; its client ID goes into acrUserManagedIdentityID. */
  | { readonly kind: 'user'; readonly identity: ResourceRef | IdentityName };

/**
 * A user-assigned identity given by its name only: observe looks it up in the connection's subscription and uses
 * it when exactly one identity has that name (any resource group).
 */
export interface IdentityName {
  readonly byName: string;
}

export type RegistrySetting =
  /** Derive the registry from the image each target runs (linuxFxVersion / windowsFxVersion / sidecars). */
  | { readonly kind: 'fromImage' }
  | { readonly kind: 'loginServer'; readonly loginServer: string }
  /** Given by resource ID: may sit in another subscription. */
  | { readonly kind: 'resourceId'; readonly registry: ResourceRef };

/** When verification counts as done. */
export type VerifyUntil = 'imagePulled' | 'containerStarted';

export type VerifySetting =
  | { readonly kind: 'off' }
  | {
      readonly kind: 'on';
      readonly timeoutInMs: number;
      readonly pollIntervalInMs: number;
      /**
       * `imagePulled`: success once the configured image was pulled; a container that then fails to start is a
       * warning (SucceededWithIssues). `containerStarted`: the container must also start, or the task fails.
       */
      readonly until: VerifyUntil;
    };

/**
 * When the verifier restarts a target. `whenNeeded`: a target this run wrote restarted by itself and is only
 * followed; an unchanged target is verified from its log when the newest start since its last configuration change
 * pulled the configured image, and restarted once only without that evidence. `always`: every target not just
 * restarted by a write is restarted. `never`: no restart; a target without evidence ends `unverified`.
 */
export type RestartPolicy = 'whenNeeded' | 'always' | 'never';

/**
 * Where the run stands relative to the deploy step of the same pipeline. The task cannot see the other steps of
 * its job (an agent hands a task only its own inputs), so the pipeline says it.
 * - `beforeDeploy`: a deploy step that sets a new image follows. A missing *current* tag is not this run's problem
 *   (the deploy replaces it): a warning naming the follow-up; the run writes only what does not depend on the tag
 *   (identity and grant) and leaves that target's pull settings and verification to the deploy and the run after it.
 * - `afterDeploy`: the deploy has set the image; the run verifies that image, and a missing tag is the deploy's.
 * - `standalone` (default): no deploy around it; a missing tag stops the run before any write.
 */
export type Placement = 'standalone' | 'beforeDeploy' | 'afterDeploy';

export interface Settings {
  /** The AzureRM service connection id (the GUID the agent puts in the input). */
  readonly connectedServiceId: string;
  readonly appName: string;
  /** Empty means: find it from the subscription's resources. */
  readonly resourceGroup: string | undefined;
  readonly targets: TargetSelection;
  readonly identity: IdentitySetting;
  readonly registry: RegistrySetting;
  /** Remove DOCKER_REGISTRY_SERVER_USERNAME / _PASSWORD app settings (they are always reported). */
  readonly removeRegistryCredentials: boolean;
  /**
   * When the service connection cannot write role assignments, still turn on the identities first, so the
   * `az role assignment create` commands printed for an admin carry real object IDs.
   */
  readonly enableIdentityWithoutRoleRights: boolean;
  /**
   * Before any write or restart, ask the registry's data plane whether every image exists (src/registry/). A
   * missing image stops the run; a check that cannot be made is skipped with one warning.
   */
  readonly checkImage: boolean;
  readonly verify: VerifySetting;
  /** Print the plan and change nothing. */
  readonly dryRun: boolean;
  readonly restart: RestartPolicy;
  /**
   * Configure even when the plan knows the image will not pull with the identity (a registry the grant does not
   * cover, ARM-audience tokens refused, the network closed to the app). Off: fail before any write.
   */
  readonly configureAnyway: boolean;
  /** Before or after the deploy step, or on its own. */
  readonly placement: Placement;
  /** Inputs that contradict each other (a value the classic editor keeps for a hidden input...), as warnings. */
  readonly inputWarnings: readonly string[];
}

/** The label of the production target in logs, summaries and the targets input. */
export const PRODUCTION = 'production';
