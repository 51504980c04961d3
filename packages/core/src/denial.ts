import { cleanupMiddlewares } from '@aws-lambda-powertools/commons';
import { type DenialReason, isDenialReason } from './errors.js';
import { type DenialResponse, denialResponse, httpEventKind } from './http-event.js';
import type { IdentityError } from './identity-error.js';
import {
  countWithDimension,
  flushOwnedMetrics,
  LOG_FIELD,
  METRIC,
  type Observability,
} from './observability.js';
import { KID_PATTERN } from './record.js';

/** Denials {@link deny} threw for non-HTTP events, for {@link rethrowDenial}. */
const thrownDenials = new WeakSet<IdentityError>();

/** Seconds a caller should wait before retrying a 503 denial. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** Context of a denial for the log line; never token, key or secret material. */
export interface DenialDetails {
  /** The claimed or own identity name, when known (logged, never a metric dimension). */
  readonly name?: string;
  readonly kid?: string;
  /** Extra log fields (e.g. DNS latency). */
  readonly fields?: Readonly<Record<string, unknown>>;
}

const describeCause = (data: unknown): string | undefined => {
  if (data instanceof Error) {
    const reason = (data as { reason?: unknown }).reason;
    return `${data.name}${typeof reason === 'string' ? `(${reason})` : ''}: ${data.message}`;
  }
  return typeof data === 'string' ? data : undefined;
};

/**
 * Ends a request as a denial, the one path shared by identity-resolve and identity-verify:
 * logs a warning with the reason, counts `AuthFailure` by `Reason`, then returns the HTTP
 * response for HTTP events or throws the {@link IdentityError} for other events.
 *
 * @throws {IdentityError} for events that are not HTTP events.
 */
export const deny = (
  event: unknown,
  error: IdentityError,
  observability: Observability,
  details: DenialDetails = {},
  retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS,
): DenialResponse => {
  const reason: DenialReason = isDenialReason(error.reason) ? error.reason : 'malformed_proof';
  observability.logger.warn('identity denied', {
    [LOG_FIELD.outcome]: 'denied',
    [LOG_FIELD.reason]: reason,
    [LOG_FIELD.name]: details.name,
    // The kid comes from an unverified token: log it only when it is a well-formed kid.
    [LOG_FIELD.kid]:
      details.kid === undefined || KID_PATTERN.test(details.kid) ? details.kid : '<invalid kid>',
    'nhi.package': error.cause.package,
    // Operators see what lay beneath (a DNS timeout, which check failed); callers never do.
    'nhi.detail': describeCause(error.cause.data),
    ...details.fields,
  });
  countWithDimension(observability.metrics, METRIC.authFailure, 'Reason', reason);
  const kind = httpEventKind(event);
  if (kind === undefined) {
    thrownDenials.add(error);
    throw error;
  }
  return denialResponse(kind, error.statusCode, reason, retryAfterSeconds);
};

/**
 * Before a middleware answers early (a denial response returned from `before`): Middy then
 * skips every `after` hook, so Powertools' own middlewares (`logMetrics`,
 * `injectLambdaContext`) would never flush or clean up. Powertools' `cleanupMiddlewares` runs
 * their cleanup now, and metrics nhi-dns owns are published too.
 *
 * @param request - the Middy request (only `internal` is read, by Powertools).
 */
export const cleanupBeforeEarlyReturn = async (
  request: object,
  observability: Observability,
): Promise<void> => {
  await cleanupMiddlewares(request as Parameters<typeof cleanupMiddlewares>[0]);
  flushOwnedMetrics(observability);
};

/**
 * `onError` step of the identity middlewares: a denial that {@link deny} threw for a non-HTTP
 * event (a direct invocation, a queue) is thrown on at once, past the `onError` hooks of the
 * middlewares used before this one. Else `@middy/http-error-handler`, first in most chains, would
 * log it with its stack and turn it into an HTTP-shaped response that no invoker reads. The
 * cleanup of Powertools' middlewares, which that skips, runs first (as for an early response).
 *
 * @throws {IdentityError} the denial, when the request failed with one.
 */
export const rethrowDenial = async (
  request: { readonly error?: unknown },
  observability: Observability,
): Promise<void> => {
  const { error } = request;
  if (!(error instanceof Error) || !thrownDenials.has(error as IdentityError)) return;
  await cleanupBeforeEarlyReturn(request, observability);
  throw error;
};
