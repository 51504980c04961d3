/**
 * Example: a function that checks its OWN identity record before serving (the kill switch).
 * Revoke its record (`nhi-dns revoke`) or delete it and every invocation answers 503
 * `self_mismatch` within one record TTL, with no redeploy. The lookup starts at cold start,
 * overlapping the init phase.
 *
 * Environment: `NHI_ZONE`, `NHI_SELF`, optional `NHI_REQUIRE_TIER` (an `x-tier` the record must
 * carry) and `NHI_DNS_SERVERS`.
 */
import middy from '@middy/core';
import identityResolve from '@nhi-dns/identity-resolve';
import identityVerify from '@nhi-dns/identity-verify';
import type { Resolver, ResolverOptions } from '@nhi-dns/resolver';

/** Configuration of the self-checking function. */
export interface SelfCheckConfig {
  zone: string;
  self: string;
  requireTier?: string;
  resolver?: Resolver | ResolverOptions;
}

/** Builds the self-checking handler. */
export const createSelfCheckHandler = (config: SelfCheckConfig) =>
  middy()
    .use(
      identityResolve({
        zone: config.zone,
        mode: 'self',
        self: config.self,
        ...(config.resolver === undefined ? {} : { resolver: config.resolver }),
      }),
    )
    .use(
      identityVerify({
        self: config.self,
        expect: config.requireTier === undefined ? true : { attributes: { tier: config.requireTier } },
      }),
    )
    .handler(async () => ({ statusCode: 200, body: JSON.stringify({ message: 'serving' }) }));
