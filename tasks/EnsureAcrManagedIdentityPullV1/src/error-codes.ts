/**
 * The catalogue of every code the task reports: TaskError codes (the run failed, or a target's verification did),
 * and plan warning codes (a finding the run reports and goes on). Tests, docs (docs/errors.md) and users' pipelines
 * key on these strings, so they are closed unions: the compiler rejects a code that is not listed here, and a test
 * checks that every code is used in the source and documented.
 */

/** Where a failure can come from, in the order a run goes through them. */
export type TaskPhase = 'inputs' | 'connect' | 'observe' | 'plan' | 'apply' | 'verify';

interface CodeEntry {
  /** One line: what happened. The remedy, fitted to the case, travels with each error. */
  readonly meaning: string;
  readonly phases: readonly TaskPhase[];
}

/** Every phase that sends requests: transport refusals and Azure's answers can come from any of them. */
const AZURE_PHASES = ['connect', 'observe', 'plan', 'apply', 'verify'] as const;

export const TASK_ERROR_CODES = {
  // Inputs and the agent.
  InvalidInput: {
    meaning: 'A task input is missing, malformed, or contradicts another input.',
    phases: ['inputs'],
  },
  AgentCertificateUnreadable: {
    meaning: "A certificate file named by the agent's settings (CA file, client certificate) cannot be read.",
    phases: ['connect'],
  },

  // The service connection and sign-in (src/auth/).
  AUTH_CONNECTION_NOT_FOUND: {
    meaning: 'No service connection with the given name or id is available to the job.',
    phases: ['connect'],
  },
  AUTH_SCHEME_NOT_SUPPORTED: {
    meaning: 'The service connection uses an authentication scheme the task does not support.',
    phases: ['connect'],
  },
  AUTH_CONNECTION_INCOMPLETE: {
    meaning: 'The service connection lacks a field the task needs (tenant, client ID, key, ARM URL).',
    phases: ['connect'],
  },
  AUTH_CERTIFICATE_INVALID: {
    meaning: "The service connection's certificate is empty or not a PEM with the certificate and its key.",
    phases: ['connect'],
  },
  AzureStackNotSupported: {
    meaning:
      'The service connection targets Azure Stack Hub, whose API profile has no managed-identity image pull.',
    phases: ['connect'],
  },
  AUTH_OIDC_UNAVAILABLE: {
    meaning: 'Workload identity federation, but the job has no OIDC endpoint to ask for an assertion.',
    phases: ['connect', 'observe'],
  },
  AUTH_JOB_TOKEN_MISSING: {
    meaning: 'Workload identity federation, but the job access token is not available to the task.',
    phases: ['connect', 'observe'],
  },
  AUTH_OIDC_FAILED: {
    meaning: 'Azure DevOps could not be reached for, or did not return, the OIDC token.',
    phases: AZURE_PHASES,
  },
  AUTH_OIDC_UNAUTHORIZED: {
    meaning: 'Azure DevOps refused the job access token when asked for the OIDC token.',
    phases: AZURE_PHASES,
  },
  AUTH_OIDC_CONNECTION_REJECTED: {
    meaning: 'Azure DevOps would not issue an OIDC token for this service connection.',
    phases: AZURE_PHASES,
  },
  AUTH_SECRET_EXPIRED: {
    meaning: 'The client secret of the service connection has expired.',
    phases: AZURE_PHASES,
  },
  AUTH_SECRET_INVALID: { meaning: 'Microsoft Entra ID rejected the client secret.', phases: AZURE_PHASES },
  AUTH_APP_NOT_FOUND: {
    meaning: "The connection's application does not exist in its tenant.",
    phases: AZURE_PHASES,
  },
  AUTH_TENANT_NOT_FOUND: {
    meaning: "The connection's tenant was not found in its cloud.",
    phases: AZURE_PHASES,
  },
  AUTH_FEDERATION_MISMATCH: {
    meaning: "No federated credential of the connection's app matches the token Azure DevOps issued.",
    phases: AZURE_PHASES,
  },
  AUTH_ASSERTION_EXPIRED: {
    meaning: 'Microsoft Entra ID found the client assertion outside its valid time (agent clock).',
    phases: AZURE_PHASES,
  },
  AUTH_CERTIFICATE_REJECTED: {
    meaning: "Microsoft Entra ID rejected the certificate signature of the connection's app.",
    phases: AZURE_PHASES,
  },
  AUTH_MANAGED_IDENTITY_UNAVAILABLE: {
    meaning: "No token for the agent's managed identity (no IMDS, or the identity is not on the VM).",
    phases: AZURE_PHASES,
  },
  AUTH_FAILED: { meaning: 'Sign-in to Microsoft Entra ID failed for another reason.', phases: AZURE_PHASES },
  AUTH_SUBSCRIPTION_NOT_VISIBLE: {
    meaning: "The connection signed in, but its subscription is not visible to the connection's principal.",
    phases: AZURE_PHASES,
  },

  // Transport guards (src/http/): any phase that sends.
  OutboundHostRefused: {
    meaning: 'A request (or a token) would have gone to a host the trusted inputs did not name.',
    phases: AZURE_PHASES,
  },
  ResponseTooLarge: {
    meaning: 'A response was larger than the task reads for that kind of request.',
    phases: AZURE_PHASES,
  },

  // Azure errors nobody anticipated (src/phase-errors.ts).
  ApiVersionNotOffered: {
    meaning: "The service connection's cloud does not offer an api-version the task needs.",
    phases: AZURE_PHASES,
  },
  AzureRequestFailed: {
    meaning: 'Azure refused a request in a way no specific code covers (after the retries).',
    phases: AZURE_PHASES,
  },
  Unexpected: {
    meaning: 'A failure the task did not anticipate (a network error, a bug).',
    phases: AZURE_PHASES,
  },

  // Observe: the app, its targets, the registry and the identity.
  AppNotFound: {
    meaning: 'The web app does not exist where the inputs say, or cannot be read.',
    phases: ['observe'],
  },
  AppAmbiguous: {
    meaning: 'Several web apps with that name exist in the subscription and no resource group was given.',
    phases: ['observe'],
  },
  SlotNotFound: { meaning: 'A slot named in the inputs does not exist on the app.', phases: ['observe'] },
  RegistryNotFound: {
    meaning: 'The container registry cannot be found or read with the service connection.',
    phases: ['observe'],
  },
  ImageNotOnAcr: {
    meaning: 'A target runs an image that is not on Azure Container Registry.',
    phases: ['observe'],
  },
  NoContainerImage: {
    meaning: 'No selected target runs a container image, so the registry cannot be derived.',
    phases: ['observe'],
  },
  SeveralRegistries: { meaning: 'The selected targets pull from several registries.', phases: ['observe'] },
  IdentityNotFound: { meaning: 'The user-assigned identity cannot be found or read.', phases: ['observe'] },
  IdentityIncomplete: {
    meaning: 'The user-assigned identity has no client ID or principal ID yet (still provisioning).',
    phases: ['observe'],
  },
  IdentityInOtherTenant: {
    meaning: 'The user-assigned identity belongs to another tenant than the service connection.',
    phases: ['observe'],
  },
  ListUnbounded: {
    meaning:
      "A list Azure returned did not end within the task's bounds (pages, items, bytes, the run's deadline) or linked back to a page already read.",
    phases: ['observe', 'apply', 'verify'],
  },
  HostingNotSupported: {
    meaning:
      'The app is hosted where the managed-identity pull settings do not apply (Functions on Azure Container Apps, an app that runs no container).',
    phases: ['observe'],
  },
  UntrustedResponse: {
    meaning:
      'A response named something the task does not trust for a write (an ID of the wrong type or name).',
    phases: ['observe', 'apply'],
  },

  // Plan: the pre-flight image check and the blocking warnings (a warning that stops the run keeps its code).
  ImageNotFound: {
    meaning: 'The configured image (tag) does not exist in the registry.',
    phases: ['plan', 'verify'],
  },
  ArmTokenAuthDisabled: {
    meaning: 'The registry refuses ARM-audience tokens, which App Service pulls with.',
    phases: ['plan', 'verify'],
  },
  RegistryNetworkRestricted: {
    meaning: "The registry's network rules refuse the app, which does not pull over its virtual network.",
    phases: ['plan', 'verify'],
  },
  ImageOnOtherRegistry: {
    meaning: 'A target runs an image from another registry than the one the task grants.',
    phases: ['plan', 'verify'],
  },

  // Apply.
  RoleAssignmentForbidden: {
    meaning: 'The service connection may not create the missing pull grants on the registry.',
    phases: ['plan', 'apply'],
  },
  IdentityWriteForbidden: {
    meaning: 'The service connection may not change the identity of a target.',
    phases: ['apply'],
  },
  IdentityNotCreated: {
    meaning: 'Turning on the system identity returned no principal ID.',
    phases: ['apply'],
  },
  AcrFlagNotApplied: {
    meaning:
      'The site config did not keep the pull settings the task wrote (as the config/web PATCH answered, or one read when the answer had none).',
    phases: ['apply'],
  },

  // Verify: per target.
  AppStopped: { meaning: 'The app is stopped, so its pull cannot be verified.', phases: ['verify'] },
  PullNotVerified: {
    meaning: 'restart is never and the log shows no pull since the last change.',
    phases: ['verify'],
  },
  ContainerStartFailed: {
    meaning: 'The image was pulled, but the container failed to start.',
    phases: ['verify'],
  },
  PullUnauthorized: { meaning: 'The registry refused the pull as unauthorized.', phases: ['verify'] },
  RegistryNetworkDenied: { meaning: "The registry refused the app's network.", phases: ['verify'] },
  RegistryThrottled: { meaning: 'The registry throttled the pull.', phases: ['verify'] },
  PullInterrupted: {
    meaning: 'The pull was interrupted (a restart or a timeout on the platform).',
    phases: ['verify'],
  },
  PullFailed: { meaning: 'The pull failed and the log gives no cause.', phases: ['verify'] },
  PullSettingsChangedDuringRun: {
    meaning: 'Something else rewrote the pull settings (config/web) while the task ran.',
    phases: ['verify'],
  },
  IdentityChangedDuringRun: {
    meaning: 'The identity the task set up was removed from the app while the task ran.',
    phases: ['verify'],
  },
  PullGrantRemovedDuringRun: {
    meaning: 'The pull grant was removed while the task ran.',
    phases: ['verify'],
  },
  VerifyLogUnreadable: {
    meaning: 'The container log could not be read until the timeout.',
    phases: ['verify'],
  },
  VerifyTimedOut: {
    meaning: 'No verdict (pulled or failed) appeared in the log before the timeout.',
    phases: ['verify'],
  },

  // Cutover of a target that serves today with a registry password (src/cutover/).
  SwitchPutBack: {
    meaning:
      "A live target's pull with the managed identity failed after its switch; it was put back on its previous pull settings and registry password.",
    phases: ['verify'],
  },
  SwitchNotReached: {
    meaning:
      'A live target kept its registry password: its grant was not proven or old enough before the timeout, or an earlier target was put back.',
    phases: ['verify'],
  },
  PutBackFailed: {
    meaning:
      "A live target's identity pull failed after its switch, and writing its previous pull settings back failed too: it may be down until they are restored.",
    phases: ['verify'],
  },
  AnonymousPullProvesNothing: {
    meaning:
      'The image is not on the registry the task granted (a placeholder or public image): its pull proves nothing about the identity.',
    phases: ['verify'],
  },
} as const satisfies Readonly<Record<string, CodeEntry>>;

/** The code of every TaskError. */
export type TaskErrorCode = keyof typeof TASK_ERROR_CODES;

interface WarningEntry {
  readonly meaning: string;
  /** The plan may mark it blocking: the run then stops before any write, as a TaskError with this code. */
  readonly blocks: boolean;
}

/** Findings of the planner: reported as pipeline warnings (and in the summary) while the run goes on. */
export const PLAN_WARNING_CODES = {
  ArmTokenAuthDisabled: {
    meaning: 'The registry refuses ARM-audience tokens: pulls will fail.',
    blocks: true,
  },
  RegistryNetworkRestricted: {
    meaning: "The registry's network rules may refuse the app, which does not pull over its virtual network.",
    blocks: true,
  },
  ImageOnOtherRegistry: {
    meaning:
      "A target runs an image from another registry than the one the task grants (with `targets: all` and slots on two ACRs, only when the task cannot grant that target on its own image's registry).",
    blocks: true,
  },
  AdminUserEnabled: {
    meaning: "The registry's admin user is still enabled (an unused shared password).",
    blocks: false,
  },
  ServingSwitchHeld: {
    meaning:
      'A target serves today with a registry password and `verifyPull` is false: it got its identity and grant, but its pull settings and password settings stay as they were (no switch without proof).',
    blocks: false,
  },
  SidecarSwitchHeld: {
    meaning:
      "A sidecar app serves today with `UserCredentials`: it got its identity and grant, but its containers were not switched, because ARM never returns a container's password and the task could not put it back.",
    blocks: false,
  },
  StaleRegistryCredentials: {
    meaning: 'A target keeps a registry password in its app settings next to the identity.',
    blocks: false,
  },
  WiderScopeGrant: {
    meaning: 'The identity already pulls through a grant wider than the registry.',
    blocks: false,
  },
  AbacIgnoresLegacyRole: {
    meaning: 'The identity holds AcrPull on an ABAC registry, which ignores it.',
    blocks: false,
  },
  ConditionalPullGrant: {
    meaning: 'A pull grant has an ABAC condition, so it is not counted and an unconditioned one is added.',
    blocks: false,
  },
  NoContainerImage: { meaning: 'A target runs no container image: nothing is pulled.', blocks: false },
  CurrentImageMissingBeforeDeploy: {
    meaning:
      'Before the deploy, the image a target runs today no longer exists: only the identity and grant are written for it.',
    blocks: false,
  },
  OverPrivilegedGrant: {
    meaning: "The app's identity holds more than a pull role on the registry (or above it).",
    blocks: false,
  },
  SlotIdentityMissing: {
    meaning: 'A target is set to pull with a managed identity it does not have (a slot cloned from another).',
    blocks: false,
  },
  SwapPullGap: {
    meaning:
      "A target's identity cannot pull an image a slot swap can bring it, and the task cannot grant it (no rights or no access to that registry).",
    blocks: false,
  },
  SwapCredentialsMove: {
    meaning:
      "A registry password in app settings is not a slot setting (read from the app's `config/slotConfigNames`), so a swap moves it to the other slot; the finding names only the settings that move.",
    blocks: false,
  },
} as const satisfies Readonly<Record<string, WarningEntry>>;

export type PlanWarningCode = keyof typeof PLAN_WARNING_CODES;

/** The warnings the plan may mark blocking; each is a TaskError code too. */
export type BlockingWarningCode = {
  [K in PlanWarningCode]: (typeof PLAN_WARNING_CODES)[K]['blocks'] extends true ? K : never;
}[PlanWarningCode];

/** The codes verification reports when something else changed the pull settings while the task ran. */
export type DriftCode = Extract<
  TaskErrorCode,
  'PullSettingsChangedDuringRun' | 'IdentityChangedDuringRun' | 'PullGrantRemovedDuringRun'
>;
