/**
 * The clouds the emulator can play, and what differs between them for the task: the token audiences ARM and
 * Kudu accept, and (api-versions.ts) the api-versions each resource provider knows.
 *
 * App Service (Kudu/SCM) audiences per cloud: microsoft/vscode-azuretools appservice/src/utils/appServiceEnvironment.ts
 * (PR #2258, "use App Service audience for all Kudu/SCM endpoint calls") and the per-cloud `appservice` scopes of
 * microsoft/azure-pipelines-tasks-common-packages azure-arm-rest (PR #642, "Kudu-scoped tokens").
 * Kudu in sovereign clouds answered 403 to tokens for the Resource Manager audience (microsoft/vscode-azuretools
 * PR #1670); the public cloud still accepts them while the ARM-audience path is being retired (PR #2258: "ARM
 * tokens are deprecated for App Service (Kudu) endpoint calls and will break").
 */
export type CloudName = 'AzureCloud' | 'AzureUSGovernment' | 'AzureChinaCloud';

export interface CloudProfile {
  /** The App Service resource Kudu accepts tokens for (no trailing slash). */
  appServiceAudience: string;
  /** Resource Manager audiences of this cloud (ARM accepts them; Kudu maybe, see `kuduAcceptsArmAudience`). */
  armAudiences: readonly string[];
  /** Whether Kudu still takes an ARM-audience token by default in this cloud. */
  kuduAcceptsArmAudience: boolean;
}

export const CLOUDS: Readonly<Record<CloudName, CloudProfile>> = {
  AzureCloud: {
    appServiceAudience: 'https://appservice.azure.com',
    armAudiences: ['https://management.azure.com', 'https://management.core.windows.net'],
    kuduAcceptsArmAudience: true,
  },
  AzureUSGovernment: {
    appServiceAudience: 'https://appservice.azure.us',
    armAudiences: ['https://management.usgovcloudapi.net', 'https://management.core.usgovcloudapi.net'],
    kuduAcceptsArmAudience: false,
  },
  AzureChinaCloud: {
    appServiceAudience: 'https://appservice.azure.cn',
    armAudiences: ['https://management.chinacloudapi.cn', 'https://management.core.chinacloudapi.cn'],
    kuduAcceptsArmAudience: false,
  },
};

/** An audience as compared: lower case, no trailing slash. */
export function audienceKey(audience: string): string {
  return audience.trim().replace(/\/+$/, '').toLowerCase();
}

/**
 * Whether a token audience is an ARM audience of `cloud`, or the emulator's own URL (the service connection's
 * ARM URL, which is the audience the task asks for against a custom cloud).
 */
export function isArmAudience(cloud: CloudName, audience: string, emulatorUrl: string): boolean {
  const key = audienceKey(audience);
  if (key === audienceKey(emulatorUrl) || /^https:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(key))
    return true;
  return CLOUDS[cloud].armAudiences.some((a) => audienceKey(a) === key);
}

/** What Kudu does with a bearer token of this audience: accept it, 403 (ARM audience refused), or 401. */
export function kuduAudienceVerdict(
  cloud: CloudName,
  acceptsArmAudience: boolean,
  audience: string,
  emulatorUrl: string,
): 'accept' | 'forbidden' | 'unauthorized' {
  if (audienceKey(audience) === audienceKey(CLOUDS[cloud].appServiceAudience)) return 'accept';
  if (isArmAudience(cloud, audience, emulatorUrl)) return acceptsArmAudience ? 'accept' : 'forbidden';
  return 'unauthorized';
}
