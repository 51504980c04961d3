import { NhiError, type NhiErrorOptions } from '@nhi-dns/core';

/** Why identity-sign refused to sign or send (stable codes, safe to log). */
export const SIGNING_ERROR_REASONS = [
  /** A bad option, found at creation. */
  'invalid_config',
  /**
   * The signing key could not be read from its store (Secrets Manager failed or denied), or KMS
   * could not sign a workload identity token (throttled, denied, disabled, no answer in time)
   * while no earlier one was still valid.
   */
  'signing_key_unavailable',
  /** The stored key is not a usable private key, or its halves disagree; or the KMS key is not an Ed25519 or P-256 signing key. */
  'invalid_signing_key',
  /** No audience is configured for the target the call goes to. */
  'no_audience',
  /** The request cannot be bound as the verifier will check it (stream body, dot segments, ...). */
  'unbindable_request',
  /** The request already carries what the proof would set (an `Authorization` header, an `nhiProof` attribute). */
  'carrier_conflict',
  /** A proof option was refused (audience name, lifetime, method, URL). */
  'invalid_proof_options',
] as const;

/** One of {@link SIGNING_ERROR_REASONS}. */
export type SigningErrorReason = (typeof SIGNING_ERROR_REASONS)[number];

/**
 * Error of identity-sign. Thrown before anything is sent, so a refused call never leaves the
 * function unsigned. The message names the rule and the target, never key material or tokens.
 */
export class SigningError extends NhiError<SigningErrorReason> {
  constructor(reason: SigningErrorReason, message: string, options?: NhiErrorOptions) {
    super(reason, message, options);
    this.name = 'SigningError';
  }
}
