/**
 * The api-versions each resource provider answers, per cloud, and Azure's 400 for any other: ARM's own types
 * (Microsoft.Resources: subscriptions, resource groups, the resource list) answer `InvalidApiVersionParameter`,
 * a resource provider's types answer `NoRegisteredProviderFound` (bodies as ARM sends them; e.g.
 * Azure/azure-cli#28038 and ansible-collections/azure#1739 for the first, Azure/azure-cli#28496 and
 * pulumi/pulumi-azure-nextgen#170 for the second).
 *
 * The lists are the stable (and a few preview) versions published in Azure/azure-rest-api-specs
 * (specification/web, authorization, containerregistry, msi, resources). Every version the task and the SDK
 * clients it uses send must be here (tests/emulator/strict.test.ts checks the SDKs' constants). Sovereign clouds
 * get new versions later (Azure/azure-cli#23985 "Latest API version not available in sovereign clouds"); the
 * emulator has no public per-cloud list, so a scenario models a lagging cloud (or an Azure Stack Hub profile) by
 * overriding a provider's list with `apiVersions`.
 */
import type { CloudName } from './clouds';
import { armError, type HttpReply } from './router';

export type ProviderNamespace =
  | 'Microsoft.Resources'
  | 'Microsoft.Web'
  | 'Microsoft.Authorization'
  | 'Microsoft.ContainerRegistry'
  | 'Microsoft.ManagedIdentity';

const PUBLIC: Readonly<Record<ProviderNamespace, readonly string[]>> = {
  'Microsoft.Resources': [
    '2024-11-01',
    '2024-07-01',
    '2024-03-01',
    '2023-07-01',
    '2022-12-01',
    '2022-09-01',
    '2022-01-01',
    '2021-04-01',
    '2021-01-01',
    '2020-10-01',
    '2020-06-01',
    '2020-01-01',
    '2019-11-01',
    '2019-10-01',
    '2019-06-01',
    '2019-05-01',
    '2018-05-01',
    '2018-02-01',
    '2017-05-10',
    '2016-09-01',
    '2016-06-01',
    '2016-02-01',
    '2015-11-01',
  ],
  'Microsoft.Web': [
    // Tags package-2026-09, package-2026-07, package-2026-03 (stable/2026-09-01, 2026-07-15, 2026-03-15) and
    // package-2026-03-01-preview in specification/web/resource-manager/Microsoft.Web/AppService/readme.md
    // (Azure/azure-rest-api-specs, commit 009752b2628cd283791aadb0ca6f08409fe8a75a).
    '2026-09-01',
    '2026-07-15',
    '2026-03-15',
    '2026-03-01-preview',
    '2025-05-01',
    '2025-03-01',
    '2024-11-01',
    '2024-04-01',
    '2023-12-01',
    '2023-01-01',
    '2022-09-01',
    '2022-03-01',
    '2021-03-01',
    '2021-02-01',
    '2021-01-15',
    '2021-01-01',
    '2020-12-01',
    '2020-10-01',
    '2020-09-01',
    '2020-06-01',
    '2019-08-01',
    '2018-11-01',
    '2018-02-01',
    '2016-09-01',
    '2016-08-01',
    '2016-03-01',
    '2015-08-01',
  ],
  'Microsoft.Authorization': [
    '2022-05-01-preview',
    '2022-04-01',
    '2022-01-01-preview',
    '2021-03-01-preview',
    '2020-10-01-preview',
    '2020-10-01',
    '2020-08-01-preview',
    '2020-04-01-preview',
    '2018-09-01-preview',
    '2018-07-01',
    '2018-01-01-preview',
    '2017-05-01',
    '2016-07-01',
    '2015-07-01',
    '2015-06-01',
    '2015-01-01',
  ],
  'Microsoft.ContainerRegistry': [
    '2025-11-01',
    '2025-04-01',
    '2023-11-01-preview',
    '2023-07-01',
    '2023-01-01-preview',
    '2022-12-01',
    '2021-09-01',
    '2019-05-01',
    '2017-10-01',
  ],
  'Microsoft.ManagedIdentity': [
    // Tags package-2026-05-31 (stable), package-2025-05-31-preview, package-2025-01-31-preview and
    // package-2023-07-31-preview in specification/msi/resource-manager/Microsoft.ManagedIdentity/ManagedIdentity/
    // readme.md (commit 6192b16c3fe54a97adbda3daed439d347b36cc4a). That readme names no 2026-04-30.
    '2026-05-31',
    '2025-05-31-preview',
    '2025-01-31-preview',
    '2024-11-30',
    '2023-07-31-preview',
    '2023-01-31',
    '2022-01-31-preview',
    '2021-09-30-preview',
    '2018-11-30',
    '2015-08-31-preview',
  ],
};

/**
 * Scenario `apiVersions` for an Azure Stack Hub on the 2020-09-01-hybrid profile: Microsoft.Web 2018-02-01 (no
 * `acrUseManagedIdentityCreds` yet), Microsoft.Resources 2016-06-01, Microsoft.Authorization 2015-07-01 for role
 * assignments and 2016-09-01 for policy (MicrosoftDocs/azure-stack-docs,
 * azure-stack/user/azure-stack-profiles-azure-resource-manager-versions.md; role assignments at 2015-07-01 in
 * the hybrid profile definitions of Azure/azure-rest-api-specs, profiles/). No ACR or user-assigned identities.
 */
export const AZURE_STACK_HUB_2020_09_01_HYBRID: Readonly<Record<ProviderNamespace, string[]>> = {
  'Microsoft.Resources': ['2016-06-01'],
  'Microsoft.Web': ['2018-02-01'],
  'Microsoft.Authorization': ['2015-07-01', '2016-09-01'],
  'Microsoft.ContainerRegistry': [],
  'Microsoft.ManagedIdentity': [],
};

/** The versions a provider answers in a cloud (a scenario's override wins). */
export function apiVersionsFor(
  _cloud: CloudName,
  provider: ProviderNamespace,
  overrides: Partial<Record<string, string[]>> | undefined,
): readonly string[] {
  const override = overrides?.[provider];
  if (override) return override;
  // No public per-cloud lists: sovereign clouds default to the public ones (see the file comment).
  return PUBLIC[provider];
}

const NAMESPACES = Object.keys(PUBLIC) as ProviderNamespace[];

/**
 * The provider and resource type a request path belongs to: the last `/providers/{namespace}` decides (an
 * extension resource such as a role assignment on a registry belongs to Microsoft.Authorization); a path without
 * one is Microsoft.Resources (subscriptions, resource groups).
 */
export function providerOf(path: string): { provider: ProviderNamespace; type: string } | undefined {
  const parts = path.split('/').filter(Boolean);
  const at = parts.map((p) => p.toLowerCase()).lastIndexOf('providers');
  if (at < 0) {
    const type = parts.length > 2 ? 'resourceGroups' : 'subscriptions';
    return { provider: 'Microsoft.Resources', type };
  }
  const ns = NAMESPACES.find((n) => n.toLowerCase() === (parts[at + 1] ?? '').toLowerCase());
  if (!ns) return undefined;
  const rest = parts.slice(at + 2);
  const type = rest.filter((_, i) => i % 2 === 0).join('/');
  return { provider: ns, type: type || 'operations' };
}

/**
 * Azure's 400 when the api-version is not one the provider answers; undefined when it is (or the path belongs
 * to no modelled provider).
 */
export function checkApiVersion(
  cloud: CloudName,
  overrides: Partial<Record<string, string[]>> | undefined,
  path: string,
  apiVersion: string,
  location: string,
): HttpReply | undefined {
  const owner = providerOf(path);
  if (!owner) return undefined;
  const supported = apiVersionsFor(cloud, owner.provider, overrides);
  if (supported.some((v) => v.toLowerCase() === apiVersion.toLowerCase())) return undefined;
  if (owner.provider === 'Microsoft.Resources') {
    return armError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${apiVersion}' is invalid. The supported versions are '${supported.join(',')}'.`,
    );
  }
  return armError(
    400,
    'NoRegisteredProviderFound',
    `No registered resource provider found for location '${location}' and API version '${apiVersion}' for type '${owner.type}'. The supported api-versions are '${supported.join(', ')}'. The supported locations are '${location}'.`,
  );
}
