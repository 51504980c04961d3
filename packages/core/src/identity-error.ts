import { type DenialReason, NhiError } from './errors.js';

/** HTTP status of each denial: 403 only for a proven caller the policy refuses, 503 for retryable or kill-switch states. */
const STATUS_BY_REASON: Partial<Record<DenialReason, number>> = {
  not_allowed: 403,
  // Proven, but its key's custody is not what this callee requires: policy, like not_allowed.
  key_custody: 403,
  dns_failure: 503,
  self_mismatch: 503,
  // The in-memory replay store is full of live jtis: capacity, not a verdict on the caller.
  replay_store_full: 503,
};

/** HTTP status code for a denial reason: 401 unless listed otherwise (DESIGN §4.3). */
export const statusForReason = (reason: DenialReason): number => STATUS_BY_REASON[reason] ?? 401;

/**
 * `cause` of an {@link IdentityError}, shaped like Middy's own errors' causes so that a user
 * who meets one knows which package raised it and why.
 */
export interface IdentityErrorCause {
  /** The package that denied, e.g. `@nhi-dns/identity-verify`. */
  readonly package: string;
  readonly reason: DenialReason;
  /** The underlying error (a DNS or AWS failure), for operators; never sent to callers. */
  readonly data?: unknown;
}

/**
 * A denial. `reason` is one of the closed {@link DenialReason} codes, safe to show to a caller;
 * `statusCode` follows DESIGN §4.3; `expose` tells `@middy/http-error-handler` that the
 * message may be sent. The message never carries token, key or secret material.
 */
export class IdentityError extends NhiError<DenialReason> {
  /** HTTP status: 401, 403 or 503. */
  readonly statusCode: number;
  /** Read by `@middy/http-error-handler`: the message is safe to return. */
  readonly expose = true;
  declare readonly cause: IdentityErrorCause;

  constructor(reason: DenialReason, packageName: string, data?: unknown) {
    super(reason, `identity denied: ${reason}`, { cause: { package: packageName, reason, data } });
    this.name = 'IdentityError';
    this.statusCode = statusForReason(reason);
  }
}
