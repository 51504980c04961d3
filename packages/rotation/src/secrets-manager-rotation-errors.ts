import { NhiError, type NhiErrorOptions } from '@nhi-dns/core';

/**
 * Why a step of the Secrets Manager rotation function failed. Stable codes: operators alarm and
 * search on them. A failed step leaves `AWSCURRENT` and the published record usable; Secrets
 * Manager calls the step again, and the step resumes.
 */
export const SECRETS_MANAGER_ROTATION_ERRORS = [
  /** The event is not Secrets Manager's rotation event (`SecretId`, `ClientRequestToken`, `Step`). */
  'bad_event',
  /** The secret is not an nhi-dns signing key: its name is not `/<env>/nhi/<service>/signing-key`. */
  'bad_secret_name',
  /** The configuration (`NHI_ZONE`, `NHI_HOSTED_ZONE_ID`, the number variables) is missing or invalid. */
  'bad_config',
  /** The secret has no version with the event's `ClientRequestToken`. */
  'unknown_version',
  /** The token's version holds no key this function staged and marked (`nhi:pending`). */
  'not_staged',
  /** Another rotation's staged key is published and not finished: two pending keys are never kept. */
  'rotation_pending',
  /** The token's version holds a value without the `nhi:pending` mark: nothing can vouch for it. */
  'unmarked_pending',
  /** The record has no usable key to rotate from (use `nhi-dns keygen`). */
  'nothing_to_rotate',
  /** The new key's kid is already published (with another key). */
  'kid_conflict',
  /** Route 53 does not hold the staged key (setSecret has not run, or someone removed it). */
  'not_published',
  /** DNS does not serve the staged key yet. */
  'not_visible',
  /** DNS serves another public key under the staged key's kid. */
  'wrong_key',
  /** A proof signed with the staged key is denied against the key DNS serves. */
  'proof_denied',
  /** The wait the step needs ends after this invocation's remaining time; the next attempt resumes it. */
  'out_of_time',
  /** finishSecret before testSecret has seen the key served for the record's TTL. */
  'not_tested',
] as const;

/** One of {@link SECRETS_MANAGER_ROTATION_ERRORS}. */
export type SecretsManagerRotationErrorReason = (typeof SECRETS_MANAGER_ROTATION_ERRORS)[number];

/** A rotation step refused or could not finish; `reason` says why. Never carries key material. */
export class SecretsManagerRotationError extends NhiError<SecretsManagerRotationErrorReason> {
  constructor(reason: SecretsManagerRotationErrorReason, message: string, options: NhiErrorOptions = {}) {
    super(reason, message, options);
    this.name = 'SecretsManagerRotationError';
  }
}
