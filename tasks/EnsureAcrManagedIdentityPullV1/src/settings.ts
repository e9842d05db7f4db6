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
  /** Inputs that contradict each other (a value the classic editor keeps for a hidden input...), as warnings. */
  readonly inputWarnings: readonly string[];
}

/** The label of the production target in logs, summaries and the targets input. */
export const PRODUCTION = 'production';
