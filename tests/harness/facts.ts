/**
 * Builds the task's facts (src/facts.ts) from ARM-shaped fixtures, through the same mappers observe uses, so a
 * planner or report test can write a site, a config or a container the way Azure sends it.
 */
import {
  type Site,
  type SiteConfig,
  type SiteContainer,
  sidecarContainer,
  siteConfigFacts,
  siteFacts,
  targetFacts,
} from '../../tasks/EnsureAcrManagedIdentityPullV1/src/arm/web-apps';
import type { TargetFacts } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/facts';
import type { Target } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/targets';

export interface TargetFixture {
  readonly target: Target;
  /** The site or slot resource as ARM returns it. */
  readonly site: Site;
  /** `config/web` as ARM returns it. */
  readonly config: SiteConfig;
  readonly containers?: readonly SiteContainer[];
  readonly appSettings?: Record<string, string>;
}

/** A target's facts from ARM-shaped parts; `overrides` replace derived facts (os, images...) where a test fixes them. */
export function targetFromArm(f: TargetFixture, overrides: Partial<TargetFacts> = {}): TargetFacts {
  return {
    ...targetFacts(
      f.target,
      siteFacts(f.site),
      siteConfigFacts(f.config),
      (f.containers ?? []).map(sidecarContainer),
      f.appSettings ?? {},
    ),
    ...overrides,
  };
}
