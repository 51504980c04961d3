/**
 * Reason codes of an identity denial (DESIGN §4.3). They are stable, closed and safe to show
 * to a caller: they are also the value of the `Reason` metric dimension.
 */
export const DENIAL_REASONS = [
  'missing_proof',
  'malformed_proof',
  'proof_too_large',
  'outside_zone',
  'no_record',
  'unknown_kid',
  'revoked_key',
  'expired_key',
  'bad_signature',
  'bad_alg',
  'bad_typ',
  'wrong_audience',
  'expired',
  'not_yet_valid',
  'lifetime_too_long',
  'replayed',
  'replay_store_full',
  'body_mismatch',
  'not_allowed',
  'dnssec_required',
  'dnssec_bogus',
  'cert_mismatch',
  'dns_failure',
  'self_mismatch',
  'wrong_token',
  'key_custody',
] as const;

/** One of {@link DENIAL_REASONS}. */
export type DenialReason = (typeof DENIAL_REASONS)[number];

const denialReasons: ReadonlySet<string> = new Set(DENIAL_REASONS);

/** True when `value` is one of the closed set of {@link DENIAL_REASONS}. */
export const isDenialReason = (value: unknown): value is DenialReason =>
  typeof value === 'string' && denialReasons.has(value);

/** Options of {@link NhiError}. */
export interface NhiErrorOptions {
  /** The underlying error, kept for operators (never sent to callers). */
  cause?: unknown;
}

/**
 * Base class of every error nhi-dns throws. `reason` is a stable, machine-readable code;
 * `message` is for humans and never carries secrets, key material or tokens.
 */
export class NhiError<TReason extends string = string> extends Error {
  /** Stable reason code, e.g. `invalid_record` or one of {@link DENIAL_REASONS}. */
  readonly reason: TReason;

  constructor(reason: TReason, message: string, options: NhiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NhiError';
    this.reason = reason;
  }
}
