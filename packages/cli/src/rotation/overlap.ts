import { DEFAULT_CLOCK_SKEW } from '@nhi-dns/core';

/** Default longest lifetime of a proof, in seconds (DESIGN §3 `maxLifetime`). */
export const DEFAULT_MAX_PROOF_LIFETIME = 300;
/**
 * Default longest `keyMaxAge` of an identity's signers: identity-sign's default, how long a warm
 * signer keeps using the key it loaded.
 */
export const DEFAULT_SIGNER_KEY_MAX_AGE = 60;

/** What the overlap of a rotation has to outlast, in seconds. */
export interface OverlapLimits {
  /** TTL of the identity RRset: how long resolvers and verifiers cache it. */
  readonly ttl: number;
  /** Longest proof lifetime verifiers accept. */
  readonly maxProofLifetime: number;
  /** Longest `keyMaxAge` of the identity's signers. */
  readonly signerKeyMaxAge: number;
  /** Largest `clockSkew` of the identity's verifiers. */
  readonly clockSkew: number;
}

/**
 * Shortest time an old key must stay valid once signers were switched to the new one. Warm
 * signers keep the old key up to their `keyMaxAge`, a proof they sign then lives up to the max
 * proof lifetime, and verifiers accept it up to their clock skew past its `exp`: the old key must
 * outlive all three, or the last of those proofs is denied `expired_key`. Verifiers that cached
 * the RRset before the switch hold it for its TTL, so the TTL bounds the overlap from below too.
 */
export const minimumOverlap = (limits: OverlapLimits): number =>
  Math.max(limits.ttl, limits.signerKeyMaxAge + limits.clockSkew) + limits.maxProofLifetime;

/** The limits of {@link minimumOverlap} from optional settings, with the defaults filled in. */
export const overlapLimitsOf = (
  ttl: number,
  settings: {
    readonly maxProofLifetimeSeconds?: number | undefined;
    readonly signerKeyMaxAgeSeconds?: number | undefined;
    readonly clockSkewSeconds?: number | undefined;
  },
): OverlapLimits => ({
  ttl,
  maxProofLifetime: settings.maxProofLifetimeSeconds ?? DEFAULT_MAX_PROOF_LIFETIME,
  signerKeyMaxAge: settings.signerKeyMaxAgeSeconds ?? DEFAULT_SIGNER_KEY_MAX_AGE,
  clockSkew: settings.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW,
});
