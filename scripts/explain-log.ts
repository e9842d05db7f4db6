/**
 * Explains a saved App Service container log: `npm run explain-log -- FILE [--image REF] [--since ISO]`,
 * or `-` to read stdin. Prints what the log shows and the fix, then, as the last stdout line, one JSON object
 * (`outcome`, `cause` for pull failures, `imagePulled`, `attempts`, `evidence`, `imageCheck` when run) for scripts.
 *
 * With `--image` on an Azure Container Registry and a credential at hand, it also asks the registry whether the
 * image exists (the task's own pre-flight check, src/registry/): a service principal from AZURE_TENANT_ID,
 * AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (AZURE_AUTHORITY_HOST for another cloud), or with `--az` the Azure
 * CLI's `az login`. Without either it asks nothing. HTTPS_PROXY is honoured. A log without a cause (2024+ ImagePullFailure)
 * then gets its likely causes ranked with that evidence.
 * Exit code 0 when the log was read, 2 for a usage error.
 */
import { readFileSync } from 'node:fs';
import { AzureCliCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { createTransport } from '../tasks/EnsureAcrManagedIdentityPullV1/src/http/pipeline';
import { neutralise } from '../tasks/EnsureAcrManagedIdentityPullV1/src/log';
import { registryHttpTransport } from '../tasks/EnsureAcrManagedIdentityPullV1/src/registry/http-send';
import {
  checkImages,
  type ImageCheckReport,
  splitImage,
} from '../tasks/EnsureAcrManagedIdentityPullV1/src/registry/image-check';
import {
  causeLessRemedy,
  imageCheckLines,
} from '../tasks/EnsureAcrManagedIdentityPullV1/src/registry/preflight';
import { classifyLog, explain } from '../tasks/EnsureAcrManagedIdentityPullV1/src/verify/classify';

const USAGE = 'usage: explain-log FILE|- [--image REGISTRY/REPO:TAG] [--since 2026-01-01T10:00:00Z] [--az]';

interface Args {
  file: string;
  image?: string;
  since?: number;
  /** Ask the registry with `az login` when no service principal is in the environment. */
  az: boolean;
}

function parseArgs(argv: string[]): Args | string {
  let file: string | undefined;
  let image: string | undefined;
  let since: number | undefined;
  let az = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--az') az = true;
    else if (arg === '--image' || arg === '--since') {
      const value = argv[++i];
      if (!value) return `${arg} needs a value`;
      if (arg === '--image') image = value;
      else {
        since = Date.parse(value);
        if (Number.isNaN(since))
          return `--since '${value}' is not a date (use ISO 8601, e.g. 2026-01-01T10:00:00Z)`;
      }
    } else if (arg === '-h' || arg === '--help') return USAGE;
    else if (file === undefined) file = arg;
    else return `unexpected argument '${arg}'`;
  }
  if (file === undefined) return 'name a log file, or - for stdin';
  return { file, az, ...(image ? { image } : {}), ...(since !== undefined ? { since } : {}) };
}

/** The credential to ask the registry with: a service principal from the environment, `az login`, or none. */
function credentialFor(az: boolean): TokenCredential | undefined {
  const { AZURE_TENANT_ID: tenant, AZURE_CLIENT_ID: client, AZURE_CLIENT_SECRET: secret } = process.env;
  const authorityHost = process.env.AZURE_AUTHORITY_HOST;
  if (tenant && client && secret) {
    const known =
      !authorityHost || /login\.(microsoftonline\.(com|us)|chinacloudapi\.cn)/i.test(authorityHost);
    return new ClientSecretCredential(tenant, client, secret, {
      ...(authorityHost ? { authorityHost } : {}),
      // A sovereign or private authority has no instance-discovery metadata.
      ...(known ? {} : { disableInstanceDiscovery: true }),
    });
  }
  return az ? new AzureCliCredential() : undefined;
}

/**
 * Why the registry is not asked about the image, or undefined when it can be: only an Azure Container Registry is
 * asked, and only with a credential at hand (the user says which, nothing is guessed).
 */
export function notAskedBecause(image: string, hasCredential: boolean): string | undefined {
  const parsed = splitImage(image).host;
  // A first path segment without a dot, a port or `localhost` is a Docker Hub namespace, not a host.
  const host = /[.:]|^localhost$/i.test(parsed) && image.includes('/') ? parsed : 'docker.io';
  if (!/\.azurecr\.(io|us|cn)$/i.test(host))
    return `${host} is not an Azure Container Registry; the image check asks ACR only.`;
  if (!hasCredential)
    return `no credential to ask ${host} with. To let it check whether the image exists, set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (a service principal that can read the registry), or add --az to use your az login.`;
  return undefined;
}

/** The task's pre-flight check for one image; undefined when the image is not on ACR. */
async function registryCheck(image: string, az: boolean): Promise<ImageCheckReport | undefined> {
  const { host } = splitImage(image);
  const credential = credentialFor(az);
  if (!credential || !/\.azurecr\.(io|us|cn)$/i.test(host)) return undefined;
  const proxy = process.env.HTTPS_PROXY ?? process.env.https_proxy;
  const transport = createTransport(proxy ? { proxy: { url: proxy } } : {});
  const registry = registryHttpTransport({ transport });
  registry.allow(host);
  const scope = process.env.AZURE_RESOURCE_MANAGER_SCOPE ?? 'https://management.azure.com/.default';
  return checkImages(
    {
      send: registry.send,
      getToken: async () => {
        const token = await credential.getToken(scope);
        if (!token) throw new Error('the credential returned no token');
        return token.token;
      },
    },
    { loginServer: host, armTokenAuthDisabled: false },
    [{ label: 'image', images: [image] }],
  );
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n${args === USAGE ? '' : `${USAGE}\n`}`);
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(args.file === '-' ? 0 : args.file, 'utf8');
  } catch (e: unknown) {
    process.stderr.write(`cannot read ${args.file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const result = classifyLog(text, { image: args.image, since: args.since });
  const { headline, fix: logFix } = explain(result);
  const evidence = result.evidence.map((l) => neutralise(l.raw.split('\n').join(' | '), 400));
  const out = [headline];
  let check: ImageCheckReport | undefined;
  let notAsked: string | undefined;
  if (args.image) notAsked = notAskedBecause(args.image, credentialFor(args.az) !== undefined);
  if (notAsked) out.push(`Registry not asked: ${neutralise(notAsked, 500)}`);
  else if (args.image) {
    try {
      check = await registryCheck(args.image, args.az);
    } catch (e: unknown) {
      out.push(`Registry check not run: ${neutralise(e instanceof Error ? e.message : String(e), 300)}`);
    }
  }
  let fix = logFix;
  if (check) {
    const lines = imageCheckLines(check, true);
    out.push(...lines.info.map((l) => neutralise(l)), ...(lines.warning ? [neutralise(lines.warning)] : []));
    const checked = check.images[0];
    if (result.outcome === 'pull_failed' && (result.cause ?? 'unknown') === 'unknown') {
      // What the log cannot say, the registry can: rank the causes with it (grant age and network unknown here).
      fix = causeLessRemedy({
        image: checked,
        skipped: checked?.state.kind === 'unchecked' ? checked.state.detail : undefined,
        grantIsFresh: true,
        registryNetworkRestricted: false,
        vnetImagePull: false,
        armTokenAuthDisabled: false,
      });
    }
  }
  if (fix) out.push(`Fix: ${fix}`);
  if (evidence.length) out.push('Deciding lines:', ...evidence.map((l) => `  ${l}`));
  out.push(
    JSON.stringify({
      outcome: result.outcome,
      ...(result.cause ? { cause: result.cause } : {}),
      imagePulled: result.imagePulled,
      attempts: result.attempts,
      ...(result.otherImages.length ? { otherImages: result.otherImages } : {}),
      evidence,
      ...(check?.images[0] ? { imageCheck: check.images[0].state } : {}),
      ...(notAsked ? { imageCheck: { kind: 'notAsked', reason: neutralise(notAsked, 500) } } : {}),
    }),
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
