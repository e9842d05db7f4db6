/**
 * The domain model: what the task knows about a target, its identity, a grant, the registry and a user-assigned
 * identity, in the task's own words. The mappers in `src/arm/*` build these from Azure's answers; observe, the
 * planner, apply, verify, the report and the run read only these, never an ARM wire shape (a contract test,
 * tests/contract/layers.test.ts, holds every file outside `src/arm/` to that).
 */
import type { Target } from './targets';

export type TargetOs = 'linux' | 'windows';

/** A user-assigned identity attached to a site or slot. */
export interface AttachedUserIdentity {
  /** The identity's resource ID, in whatever case App Service stored it (compare with `sameResourceId`). */
  readonly resourceId: string;
  readonly principalId: string | undefined;
  readonly clientId: string | undefined;
}

/** The managed identities of a site or slot. */
export interface TargetIdentity {
  /** The identity type as App Service reports it (`None` when it reports none): for log lines only. */
  readonly reportedType: string;
  /** The system-assigned identity is on. */
  readonly system: boolean;
  /** The system-assigned identity's principal (object) ID, once it exists. */
  readonly systemPrincipalId: string | undefined;
  readonly userAssigned: readonly AttachedUserIdentity[];
}

/**
 * The site-wide pull settings (config/web): whether App Service pulls with a managed identity, and which one.
 * `clientId`: the user-assigned identity's client ID; `null` when unset, `""` when set empty (both mean the system
 * identity; they differ only in how messages print them).
 */
export interface PullSettings {
  /** Undefined when App Service did not report the flag. */
  readonly useManagedIdentity: boolean | undefined;
  readonly clientId: string | null;
}

/** How a sidecar container authenticates to its registry (`authType`); other values pass through as reported. */
export type SidecarAuthType = 'Anonymous' | 'UserCredentials' | 'SystemIdentity' | 'UserAssigned';

/**
 * The container's definition as App Service returned it (less its registry credentials), kept so a write of its
 * auth sends every other setting back unchanged. Only `src/arm/` reads it.
 */
export interface ContainerDefinition {
  readonly __definition: 'opaque outside src/arm';
}

/** One container of a sidecar app. */
export interface SidecarContainer {
  /** The container's own name (without the `app/` prefix ARM puts in front). */
  readonly name: string;
  readonly image: string | undefined;
  readonly isMain: boolean;
  /** As reported; undefined when unset. */
  readonly authType: SidecarAuthType | (string & {}) | undefined;
  /** The client ID the container pulls with when `authType` is `UserAssigned`. */
  readonly clientId: string | null | undefined;
  readonly definition: ContainerDefinition;
}

/** What a sidecar container should pull with. */
export type SidecarAuth =
  | { readonly kind: 'SystemIdentity' }
  | { readonly kind: 'UserAssigned'; readonly clientId: string };

/** What the site or slot resource itself says (the rest of a target comes from its config and sidecars). */
export interface SiteFacts {
  /** ARM's name: `app` for a site, `app/slot` for a slot. */
  readonly name: string;
  /** The site's kind names Windows, or it runs Hyper-V (Windows) containers. */
  readonly windowsKind: boolean;
  /** `Running`, `Stopped`... as App Service reports it. */
  readonly state: string | undefined;
  readonly enabled: boolean | undefined;
  /** When the app's configuration last changed (ISO 8601, UTC); undefined when not reported. */
  readonly lastModifiedAt: string | undefined;
  /** The app's default host name (`''` when not reported): the warm-up request goes there. */
  readonly defaultHostName: string;
  /** The SCM (Kudu) host as App Service lists it; undefined when it lists none. */
  readonly scmHostName: string | undefined;
  readonly identity: TargetIdentity;
  /** Image pull over VNet integration is on. */
  readonly vnetImagePull: boolean;
  /**
   * What the site hosts: a web app, a function app (on an App Service plan: the same pull settings), or Functions
   * on Azure Container Apps (which refuse them).
   */
  readonly hosting: 'webApp' | 'functionApp' | 'functionsOnContainerApps';
  /** The site's `kind` as ARM reports it (for messages). */
  readonly kind: string | undefined;
}

/** What `config/web` says: the pull settings, and the images the runtime settings name. */
export interface SiteConfigFacts {
  readonly pull: PullSettings;
  /** The app runs sidecar containers (the Linux runtime is `sitecontainers`). */
  readonly sidecar: boolean;
  /** The image of a Linux (or legacy multi-container) app; undefined for code apps and sidecar apps. */
  readonly linuxImage: string | undefined;
  /** The image of a Windows container app. */
  readonly windowsImage: string | undefined;
  /** A Linux runtime is set (container or not). */
  readonly linuxRuntimeSet: boolean;
  /** A Windows runtime is set (container or not). */
  readonly windowsRuntimeSet: boolean;
}

/** One site or slot, as the planner and the verifier see it: what its resource, `config/web` and sidecars say. */
export interface TargetFacts
  extends Pick<
    SiteFacts,
    'state' | 'enabled' | 'lastModifiedAt' | 'defaultHostName' | 'scmHostName' | 'identity' | 'vnetImagePull'
  > {
  readonly target: Target;
  readonly os: TargetOs;
  /** The site-wide pull settings (unused by sidecar apps, which authenticate per container). */
  readonly pull: PullSettings;
  /** The app runs sidecar containers: per-container auth instead of the site-wide settings. */
  readonly sidecar: boolean;
  /** The sidecar containers (empty unless `sidecar`). */
  readonly containers: readonly SidecarContainer[];
  /** Every image this target runs (main image, or each sidecar's). */
  readonly images: readonly string[];
  /** App settings (values are secrets to the log: never print them). */
  readonly appSettings: Readonly<Record<string, string>>;
}

/**
 * Where a role assignment sits: the resource it names, a resource group, a subscription, a management group, the
 * tenant root (`/`), or somewhere else (another resource's child, unparsable).
 */
export type ScopeKind = 'resource' | 'resourceGroup' | 'subscription' | 'managementGroup' | 'root' | 'other';

/** A role assignment, as the planner and the verifier see it. */
export interface GrantFact {
  /** The assignment's resource ID (remedies name it). */
  readonly id: string;
  readonly principalId: string;
  /** The role definition's GUID, lower-cased (whether ARM sent the subscription or the tenant form of its ID). */
  readonly roleGuid: string;
  readonly scope: string;
  readonly scopeKind: ScopeKind;
  /** The assignment carries an ABAC condition (which may limit it to some repositories). */
  readonly conditional: boolean;
  /** ISO 8601; how old the grant is decides whether an unauthorized pull can still be propagation. */
  readonly createdOn: string | undefined;
  readonly updatedOn: string | undefined;
}

/** A container registry's network settings. */
export interface RegistryNetwork {
  readonly publicAccess: 'enabled' | 'disabled' | undefined;
  /** The firewall's default action. */
  readonly defaultAction: 'allow' | 'deny' | undefined;
  /** How many IP rules the firewall has. */
  readonly ipRuleCount: number;
}

/** A container registry, as ARM describes it. */
export interface RegistryFacts {
  readonly id: string;
  readonly name: string;
  /** As ARM returned it (callers lower-case it to compare). */
  readonly loginServer: string;
  /** `AbacRepositoryPermissions`: only repository roles grant pulls. */
  readonly abac: boolean;
  /** The registry refuses ARM-audience Entra tokens (`azureADAuthenticationAsArmPolicy` disabled). */
  readonly armTokenAuthDisabled: boolean;
  readonly network: RegistryNetwork;
  readonly adminUserEnabled: boolean;
}

/** A user-assigned managed identity. */
export interface UserIdentityFacts {
  readonly id: string;
  readonly name: string;
  /** Goes into the pull settings' client ID and a sidecar's client ID. */
  readonly clientId: string;
  /** The object ID role assignments name. */
  readonly principalId: string;
  readonly tenantId: string;
}
