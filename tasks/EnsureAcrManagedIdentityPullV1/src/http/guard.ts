/**
 * The outbound guard: the set of hosts the task may talk to, built only from trusted inputs (the service
 * connection's ARM and authority hosts, the agent's OIDC endpoint, the App Service hosts derived from a site's
 * `defaultHostName` and the cloud's suffix). Every request's final URL is checked against it before any credential
 * is attached (pipeline.ts runs it first), so a hostile `nextLink`, `Location` or host list cannot make the task
 * send a token, a password or even a request elsewhere.
 */
import { TaskError } from '../errors';

export interface OutboundGuard {
  /** Allows `host` (`name[:port]`, as `URL.host` prints it). `insecure` allows http: too (IMDS only). */
  trust(host: string, reason: string, options?: { insecure?: boolean }): void;
  /** The URL parsed, or a TaskError `OutboundHostRefused` naming the host and what the task trusts. */
  check(url: string): URL;
  /** Whether `url` would pass `check`. */
  allows(url: string): boolean;
  trusted(): readonly string[];
}

export function createOutboundGuard(): OutboundGuard {
  const hosts = new Map<string, { reason: string; insecure: boolean }>();
  function verdict(raw: string): { url?: URL; why?: string } {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return { why: 'it is not an absolute URL' };
    }
    if (url.username || url.password) return { url, why: 'it carries credentials in the URL' };
    const entry = hosts.get(url.host.toLowerCase());
    if (!entry) return { url, why: 'no trusted input names that host' };
    if (url.protocol === 'https:') return { url };
    if (url.protocol === 'http:' && entry.insecure) return { url };
    return { url, why: `the scheme ${url.protocol} is not allowed` };
  }
  return {
    trust(host, reason, options = {}) {
      const key = host.toLowerCase();
      const previous = hosts.get(key);
      hosts.set(key, { reason: previous?.reason ?? reason, insecure: Boolean(options.insecure) });
    },
    check(raw) {
      const { url, why } = verdict(raw);
      if (url && !why) return url;
      const host = url ? url.host : '(unparsable URL)';
      throw new TaskError(
        'OutboundHostRefused',
        `Refused to send a request to ${host.slice(0, 200)}: ${why}. The task only talks to ${[...hosts.keys()].join(', ') || 'no host yet'}.`,
        {
          remedy:
            'A response named a host outside the service connection and the target app (a link, a polling URL or a host name). Nothing was sent there. If the app runs in a cloud or App Service Environment the task does not know, open an issue with the host names involved.',
        },
      );
    },
    allows: (raw) => !verdict(raw).why,
    trusted: () => [...hosts.keys()],
  };
}

/**
 * App Service host suffixes per named cloud, keyed by the ARM host. Public sources: App Service default domains
 * (https://learn.microsoft.com/azure/app-service/overview-name-resolution), Azure Government
 * (https://learn.microsoft.com/azure/azure-government/compare-azure-government-global-azure), Azure China
 * (https://learn.microsoft.com/azure/china/resources-developer-guide), ASE v3 domains
 * (https://learn.microsoft.com/azure/app-service/environment/networking).
 */
const APP_SERVICE_SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  'management.azure.com': ['azurewebsites.net', 'appserviceenvironment.net'],
  'management.usgovcloudapi.net': ['azurewebsites.us', 'appserviceenvironment.us'],
  'management.chinacloudapi.cn': ['chinacloudsites.cn', 'appserviceenvironment.cn'],
};

export interface AppServiceHosts {
  /** `name[:port]` of the site. */
  readonly site: string;
  /** `name[:port]` of its SCM (Kudu) site. */
  readonly scm: string;
}

/**
 * The site and SCM hosts of an app, derived, never copied from the response's host lists. In a named cloud the
 * default host name must end with the cloud's App Service (or ASE) suffix and the SCM host is the same name with
 * `.scm` after its first label (`app.azurewebsites.net` → `app.scm.azurewebsites.net`, unique default host names
 * and ASEs alike). A cloud the task does not know (a private cloud, the project's emulator) has no published
 * suffix: there the site and SCM hosts must share the ARM endpoint's host name, and the SCM host is the
 * `Repository` entry ARM lists. Undefined when the host cannot be trusted.
 */
export function appServiceHosts(
  armUrl: string,
  defaultHostName: string | undefined,
  listedScmHost: string | undefined,
): AppServiceHosts | undefined {
  if (!defaultHostName) return undefined;
  const arm = new URL(armUrl);
  const site = hostOf(defaultHostName);
  if (!site) return undefined;
  const suffixes = APP_SERVICE_SUFFIXES[arm.hostname.toLowerCase()];
  if (suffixes) {
    if (site.port) return undefined;
    const name = site.hostname;
    if (!suffixes.some((s) => name.endsWith(`.${s}`))) return undefined;
    const [first, ...rest] = name.split('.');
    if (!first || rest.length < 2) return undefined;
    return { site: name, scm: [first, 'scm', ...rest].join('.') };
  }
  if (site.hostname !== arm.hostname.toLowerCase()) return undefined;
  const scm = listedScmHost ? hostOf(listedScmHost) : undefined;
  if (!scm || scm.hostname !== arm.hostname.toLowerCase()) return undefined;
  return { site: site.host, scm: scm.host };
}

function hostOf(name: string): URL | undefined {
  if (!/^[a-z0-9.[\]:-]+$/i.test(name)) return undefined;
  try {
    const url = new URL(`https://${name}/`);
    return url.host === name.toLowerCase() ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The ACR login-server suffix of each named cloud, keyed by the service connection's `environment` (lower case).
 * Public source: the clouds' `acr_login_server_endpoint` suffixes in the Azure CLI's cloud profiles
 * (azure-cli-core `cloud.py`) and "Azure Container Registry" in the Azure Government and Azure China developer
 * guides. A cloud not listed has no suffix the task knows: no registry token goes anywhere there.
 */
const ACR_SUFFIXES: Readonly<Record<string, string>> = {
  azurecloud: 'azurecr.io',
  azureusgovernment: 'azurecr.us',
  azurechinacloud: 'azurecr.cn',
};

/** The ACR login-server suffix of the connection's cloud (`azurecr.io`...), undefined when the task knows none. */
export function acrSuffixOf(environment: string): string | undefined {
  return ACR_SUFFIXES[environment.trim().toLowerCase()];
}

/**
 * Why `loginServer` may not receive the registry token exchange, or undefined when it may: it must be the
 * registry's own name, optionally with a domain-name-label hash (`<name>-<hash>`), under the cloud's ACR suffix,
 * anchored at both ends (`contosoacr.azurecr.io.evil.example` and `evilcontosoacr.azurecr.io` are refused).
 * `registryName` comes from the registry's resource ID, which observe checked against the input or the image.
 */
export function loginServerProblem(
  registryName: string,
  loginServer: string,
  acrSuffix: string | undefined,
): string | undefined {
  const shown = loginServer.slice(0, 200);
  if (!acrSuffix)
    return `the service connection's cloud has no Azure Container Registry suffix the task knows, so no token is sent to the login server '${shown}'`;
  const name = registryName.toLowerCase();
  const expected = `${name}.${acrSuffix}`;
  const label = /^([a-z0-9]{5,50})(?:-([a-z0-9]{1,32}))?$/;
  const [first, ...rest] = loginServer.toLowerCase().split('.');
  const m = label.exec(first ?? '');
  if (m?.[1] === name && rest.join('.') === acrSuffix) return undefined;
  return `the registry ${registryName} names the login server '${shown}', which is not ${expected} (or ${name}-<hash>.${acrSuffix}); no token was sent to it`;
}
