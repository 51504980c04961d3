import type { MiddlewareObj, Request } from '@middy/core';
import {
  aBoolean,
  aFunction,
  aNumber,
  anObject,
  aString,
  aStringList,
  attachLambdaContext,
  cleanupBeforeEarlyReturn,
  DEFAULT_RETRY_AFTER_SECONDS,
  type DecodedProof,
  decodeProof,
  deny,
  flushOwnedMetrics,
  IdentityError,
  isDenialReason,
  NhiError,
  type NhiLogger,
  type NhiMetrics,
  type Observability,
  type OptionRules,
  oneOf,
  parseZone,
  type RecordProblem,
  required,
  resolveObservability,
  rethrowDenial,
  tryParseIdentityName,
  type VerificationKey,
  validateOptions,
} from '@nhi-dns/core';
import type { Resolver, ResolverOptions } from '@nhi-dns/resolver';
import type { Context } from 'aws-lambda';
import { IdentityDirectory, resolverFrom } from './directory.js';
import { defaultGetProof, type GetProof, PACKAGE_NAME } from './proof-source.js';

/** Where a resolved record came from. */
export type RecordSource = 'cache' | 'network' | 'stale';

/** An identity record resolved from DNS, put on `request.context.nhi` (or `nhiSelf`). */
export interface ResolvedIdentity {
  /** Canonical identity name, e.g. `billing.prod.auth.example.com`. */
  readonly name: string;
  readonly service: string;
  readonly environment: string;
  /** Valid keys by `kid` (revoked and expired keys included, for precise reasons). */
  readonly keys: ReadonlyMap<string, VerificationKey>;
  /** Attributes every key of the record agrees on. */
  readonly attributes: Readonly<Record<string, string>>;
  /** DNSSEC: the resolver set the AD bit on the answer. */
  readonly ad: boolean;
  /**
   * With `validateDnssec`: this process's own DNSSEC verdict on the record, `secure` (every RRSIG
   * verified up to a trust anchor) or `insecure` (provably unsigned, or only unsupported
   * algorithms). Never `bogus`: a bogus record is denied here (`dnssec_bogus`). Unset without
   * validation.
   */
  readonly dnssec?: 'secure' | 'insecure';
  /** Seconds the answer stays fresh in the cache. */
  readonly ttl: number;
  readonly source: RecordSource;
  /** RRs of the RRset that were rejected. */
  readonly problems: readonly RecordProblem[];
  /** The caller's proof, decoded but NOT verified (caller mode only). */
  readonly proof?: DecodedProof;
}

/** What this middleware adds to the Lambda context (Middy's `use()` merges it into the handler's context type). */
export interface IdentityResolveContext {
  /** The claimed caller's record (caller mode). */
  nhi?: ResolvedIdentity;
  /** The function's own record (self mode). */
  nhiSelf?: ResolvedIdentity;
}

/** Options of {@link identityResolve}. */
export interface IdentityResolveOptions {
  /** Zone identities live in, e.g. `auth.example.com`. Required. */
  zone: string;
  /** `caller` (default): resolve the record of the caller named by the proof's `iss`. `self`: resolve this function's own record (kill switch). */
  mode?: 'caller' | 'self';
  /** This function's identity name; required in self mode. */
  self?: string;
  /**
   * A resolver, or options to create one. Default: one resolver shared by every middleware in the
   * process, servers from the `NHI_DNS_SERVERS` environment variable (comma-separated
   * `address[:port]`), else `/etc/resolv.conf`; DNS 0x20 off when `NHI_DNS_0X20=off`.
   */
  resolver?: Resolver | ResolverOptions;
  /** Ask for DNSSEC (DO bit) so that the AD bit is reported. Default `true`. */
  dnssec?: boolean;
  /**
   * Validate DNSSEC here, in-process, instead of trusting the resolver's AD bit: every record's
   * RRSIG chain must verify up to `trustAnchors` (RFC 4033-4035; algorithms 8, 13 and 15). A
   * record whose signatures fail is denied (`dnssec_bogus`, 401); the verdict (`secure` or
   * `insecure`) is put on the resolved identity for identity-verify's `requireDnssec`. The zone's
   * keys are fetched at init and cached by their TTLs, so a warm request pays nothing. Default `false`.
   */
  validateDnssec?: boolean;
  /**
   * Trust anchors of `validateDnssec`: DS or DNSKEY records in presentation format, e.g. a private
   * zone's `'auth.example.com. IN DS 12345 13 2 <hex>'`. Given to the resolver this middleware
   * creates (a `Resolver` passed in `resolver` brings its own). Default: the IANA root KSKs
   * (`IANA_ROOT_ANCHORS` of `@nhi-dns/resolver`).
   */
  trustAnchors?: readonly string[];
  /** Finds the proof in an event. Default: `Authorization: NHI <jws>` for HTTP events, `event.nhiProof` otherwise. */
  getProof?: GetProof;
  /** Self mode: resolve the own record at cold start, overlapping the init phase. Default `true`. */
  prefetch?: boolean;
  /** Milliseconds kept back from the Lambda's remaining time when setting the DNS deadline. Default 500. */
  deadlineMargin?: number;
  /**
   * Seconds between two DNS refreshes of one caller's record triggered by a proof whose `kid`
   * the cached record lacks (a key published after the record was cached). Default 30; the
   * refresh bypasses the cache, so the interval bounds what unknown kids can cost.
   */
  unknownKidRefreshInterval?: number;
  /** `Retry-After` seconds on 503 denials. Default 5. */
  retryAfter?: number;
  /** Powertools Logger; default one shared logger (service from `POWERTOOLS_SERVICE_NAME`). */
  logger?: NhiLogger;
  /** Powertools Metrics; default one shared instance in namespace `NHI`, flushed after each invocation. */
  metrics?: NhiMetrics;
}

/** The middleware {@link identityResolve} returns. */
export type IdentityResolveMiddleware = MiddlewareObj<
  unknown,
  // biome-ignore lint/suspicious/noExplicitAny: Middy's own default; denials return the event's response shape.
  any,
  Error,
  Context & IdentityResolveContext
>;

/** What each option accepts (checked at creation). */
const OPTION_RULES: OptionRules = {
  zone: required(aString),
  mode: oneOf('caller', 'self'),
  self: aString,
  resolver: anObject,
  dnssec: aBoolean,
  validateDnssec: aBoolean,
  trustAnchors: aStringList,
  getProof: aFunction,
  prefetch: aBoolean,
  deadlineMargin: aNumber(0, { integer: true, unit: 'milliseconds' }),
  unknownKidRefreshInterval: aNumber(0),
  retryAfter: aNumber(0, { integer: true }),
  logger: anObject,
  metrics: anObject,
};

/**
 * Middy middleware that resolves an identity record over DNS (DESIGN §4.2).
 *
 * Caller mode decodes the proof without trusting it, only to learn `iss` and `kid`, checks
 * that `iss` is inside `zone`, resolves its TXT RRset and puts the parsed record on
 * `request.context.nhi` for `@nhi-dns/identity-verify`. Self mode resolves the function's
 * own record onto `request.context.nhiSelf`. CNAMEs are followed only within `zone`: an answer
 * reached through a name outside it is denied as `outside_zone`. Any failure ends the request as a denial:
 * a 401/503 response for HTTP events, an `IdentityError` otherwise; never a 500 with internals.
 *
 * @throws {NhiError} `invalid_config` at creation for a bad zone or a missing `self`.
 */
export const identityResolve = (options: IdentityResolveOptions): IdentityResolveMiddleware => {
  validateOptions(PACKAGE_NAME, options, OPTION_RULES);
  const zone = parseZone(options.zone);
  const mode = options.mode ?? 'caller';
  const selfIdentity = options.self === undefined ? undefined : tryParseIdentityName(options.self, zone);
  if (mode === 'self' && selfIdentity === undefined) {
    throw new NhiError(
      'invalid_config',
      `${PACKAGE_NAME}: self mode needs 'self', an identity name inside the zone`,
    );
  }
  const getProof = options.getProof ?? defaultGetProof;
  const deadlineMargin = options.deadlineMargin ?? 500;
  const retryAfter = options.retryAfter ?? DEFAULT_RETRY_AFTER_SECONDS;
  const refreshInterval = options.unknownKidRefreshInterval ?? 30;
  if (!Number.isFinite(refreshInterval) || refreshInterval < 0) {
    throw new NhiError('invalid_config', `${PACKAGE_NAME}: unknownKidRefreshInterval must be >= 0 seconds`);
  }
  let observability: Observability | undefined;
  const telemetry = () => {
    observability ??= resolveObservability(options);
    return observability;
  };

  const validate = options.validateDnssec === true;
  const directory = new IdentityDirectory({
    zone,
    resolver: resolverFrom(options.resolver, { validate, trustAnchors: options.trustAnchors }),
    dnssec: options.dnssec ?? true,
    validate,
    deadlineMargin,
    unknownKidRefreshInterval: refreshInterval,
    telemetry,
  });
  // Cold start: the zone's keys are fetched while the function initialises.
  directory.prepareValidation();

  if (mode === 'self' && selfIdentity !== undefined && options.prefetch !== false) {
    // Cold start: the lookup overlaps the init phase; the first `before` joins it (single flight
    // or cache hit). A failure here is reported by that `before`, not swallowed.
    directory.prefetch(selfIdentity.name);
  }

  const before = async (request: Request<unknown, unknown, Error, Context & IdentityResolveContext>) => {
    const context = request.context;
    attachLambdaContext(telemetry(), context);
    let claimed: string | undefined;
    let kid: string | undefined;
    try {
      if (mode === 'self' && selfIdentity !== undefined) {
        context.nhiSelf = await directory.resolveIdentity(selfIdentity, request.context, 'self_mismatch');
        return undefined;
      }
      const token = getProof(request.event);
      if (token === undefined) throw new IdentityError('missing_proof', PACKAGE_NAME);
      const proof = decodeProof(token);
      kid = proof.header.kid;
      const caller = tryParseIdentityName(proof.claims.iss, zone);
      claimed = caller?.name;
      context.nhi = await directory.resolveCaller(proof, request.context, caller);
      return undefined;
    } catch (error) {
      const denial = toIdentityError(error);
      const response = deny(
        request.event,
        denial,
        telemetry(),
        { name: claimed ?? selfIdentity?.name, kid },
        retryAfter,
      );
      await cleanupBeforeEarlyReturn(request, telemetry());
      return response;
    }
  };

  const flush = () => {
    if (observability !== undefined) flushOwnedMetrics(observability);
  };

  const onError = async (request: { readonly error?: unknown }) => {
    await rethrowDenial(request, telemetry());
    flush();
  };

  return { name: PACKAGE_NAME, before, after: flush, onError };
};

/** Any failure in this middleware becomes a denial; errors that are not ours are malformed input. */
const toIdentityError = (error: unknown): IdentityError => {
  if (error instanceof IdentityError) return error;
  if (error instanceof NhiError && typeof error.reason === 'string') {
    // ProofError from decodeProof carries a denial reason (proof_too_large, bad_typ, malformed_proof).
    const reason = isDenialReason(error.reason) ? error.reason : 'malformed_proof';
    return new IdentityError(reason, PACKAGE_NAME, error);
  }
  return new IdentityError('malformed_proof', PACKAGE_NAME, error);
};
