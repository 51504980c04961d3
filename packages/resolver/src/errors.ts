/**
 * Why a lookup failed. Closed set: middlewares map it to denial reasons and metric dimensions.
 *
 * - `timeout`: no acceptable reply within the per-attempt timeout, on every attempt.
 * - `servfail`: the server answered SERVFAIL (or another server-side failure code such as
 *   FORMERR or NOTIMP; `rcode` tells which).
 * - `refused`: the server answered REFUSED.
 * - `malformed`: the only replies that came from the server could not be decoded.
 * - `network`: a socket error (unreachable server, connection reset, ...).
 * - `deadline`: the caller's overall deadline passed before an answer was had.
 * - `cname_loop`: the answer's CNAME chain loops or is longer than the hop limit.
 * - `invalid_name`: the name cannot be put into a query (empty label, label over 63 bytes, ...).
 */
export type DnsErrorReason =
  | 'timeout'
  | 'servfail'
  | 'refused'
  | 'malformed'
  | 'network'
  | 'deadline'
  | 'cname_loop'
  | 'invalid_name';

/** Details carried by a {@link DnsError}. */
export interface DnsErrorDetails {
  /** Response code of the last reply, when a reply was had (e.g. `SERVFAIL`). */
  rcode?: string;
  /** `address:port` of the server that produced the last failure. */
  server?: string;
  /** Network exchanges made before giving up. */
  attempts?: number;
  /** Time spent in the failed call, in milliseconds. */
  latencyMs?: number;
  /** The underlying error (a socket error), for operators. */
  cause?: unknown;
}

/**
 * The one error type the resolver rejects with. `reason` is stable and machine readable;
 * `message` is for humans and never carries packet contents.
 */
export class DnsError extends Error {
  /** Why the lookup failed, see {@link DnsErrorReason}. */
  readonly reason: DnsErrorReason;
  /** Response code of the last reply, when there was one. */
  readonly rcode?: string;
  /** `address:port` of the server involved in the last failure. */
  readonly server?: string;
  /** Network exchanges made. */
  readonly attempts: number;
  /** Time spent in the failed call, in milliseconds. */
  readonly latencyMs: number;

  constructor(reason: DnsErrorReason, message: string, details: DnsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DnsError';
    this.reason = reason;
    if (details.rcode !== undefined) this.rcode = details.rcode;
    if (details.server !== undefined) this.server = details.server;
    this.attempts = details.attempts ?? 0;
    this.latencyMs = details.latencyMs ?? 0;
  }

  /** A copy of this error with the call-level figures (attempts, latency) filled in. */
  withCallDetails(details: { attempts: number; latencyMs: number }): DnsError {
    const copy = new DnsError(this.reason, this.message, {
      ...(this.rcode === undefined ? {} : { rcode: this.rcode }),
      ...(this.server === undefined ? {} : { server: this.server }),
      attempts: details.attempts,
      latencyMs: details.latencyMs,
      cause: this.cause,
    });
    return copy;
  }
}

/** True when `error` is a {@link DnsError}. */
export const isDnsError = (error: unknown): error is DnsError => error instanceof DnsError;
