/**
 * Container image references as App Service stores them, and which registry they come from. Pure.
 */

/** The image in `DOCKER|<image>` (prefix case-insensitive); undefined for code apps, `sitecontainers`, empty. */
export function imageFromFxVersion(fxVersion: string | null | undefined): string | undefined {
  if (!fxVersion) return undefined;
  const match = /^docker\|(.+)$/i.exec(fxVersion.trim());
  if (match?.[1]) return match[1].trim();
  // Legacy multi-container apps: COMPOSE|<base64 YAML>; take the first `image:` line.
  const compose = /^compose\|(.+)$/i.exec(fxVersion.trim());
  if (compose?.[1]) {
    const yaml = Buffer.from(compose[1], 'base64').toString('utf8');
    const image = /^\s*image:\s*["']?([^"'\s]+)/m.exec(yaml);
    return image?.[1];
  }
  return undefined;
}

export function isSidecarFxVersion(fxVersion: string | null | undefined): boolean {
  return fxVersion?.trim().toLowerCase() === 'sitecontainers';
}

/**
 * The registry host of an image reference, lower-cased. Docker's rule: the first path segment is a host when it
 * has a dot or a port or is `localhost`; otherwise the image is on Docker Hub.
 */
export function registryHostOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = image.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first.toLowerCase() === 'localhost')
    return first.toLowerCase();
  return 'docker.io';
}

/**
 * Azure Container Registry login servers, in every cloud: `<name>.azurecr.io` (or `.us`, `.cn`), optionally
 * `<name>-<hash>` with a domain-name-label scope, anchored at both ends (a lookalike such as
 * `contosoacr.azurecr.io.evil.example` is not one). Any length of letters and digits passes here (names are 5 to
 * 50); the token's host is held to the registry's own name (http/guard.ts `loginServerProblem`).
 */
export function isAcrHost(host: string): boolean {
  return /^[a-z0-9]{1,50}(?:-[a-z0-9]{1,32})?\.azurecr\.(?:io|us|cn)$/i.test(host);
}
