import type { MiddlewareObj, Request } from '@middy/core';
import {
  type AlbMutualTlsMode,
  aBoolean,
  aFunction,
  aNumber,
  anObject,
  aString,
  aStringList,
  attachLambdaContext,
  type ClaimOptions,
  canonicalName,
  carriedWorkloadPair,
  cleanupBeforeEarlyReturn,
  clientCertOf,
  compileAllowList,
  count,
  DEFAULT_CLOCK_SKEW,
  DEFAULT_MAX_LIFETIME,
  deny,
  either,
  flushOwnedMetrics,
  headerValues,
  httpEventKind,
  httpMethod,
  httpUrl,
  IdentityError,
  type IdentityMatcher,
  LOG_FIELD,
  lambdaDeadline,
  METRIC,
  MemoryReplayStore,
  NhiError,
  type NhiLogger,
  type NhiMetrics,
  type Observability,
  type OptionRules,
  oneOf,
  PROOF_PAYLOAD_FIELD,
  parseOrigin,
  parseZone,
  type ReplayStore,
  required,
  resolveObservability,
  rethrowDenial,
  signedBody,
  tryParseIdentityName,
  validateOptions,
  WIT_PAYLOAD_FIELD,
  WORKLOAD_IDENTITY_TOKEN_HEADER,
  WORKLOAD_PROOF_TOKEN_HEADER,
} from '@nhi-dns/core';
import type { IdentityResolveContext } from '@nhi-dns/identity-resolve';
import type { Context } from 'aws-lambda';
import {
  CallerVerifier,
  type DnssecRequirement,
  dnssecFailure,
  type VerifiedIdentity,
} from './caller-verifier.js';
import { PACKAGE_NAME } from './package-name.js';
import { type SelfExpectation, selfCheckFailure } from './self-check.js';
import { WorkloadIdentityCache } from './workload-identity-cache.js';

export type { CallerCredential, DnssecRequirement, VerifiedIdentity } from './caller-verifier.js';
export { PACKAGE_NAME } from './package-name.js';

/**
 * What this middleware adds to the Lambda context in caller mode (`allow` set). Middy's `use()`
 * merges it into the handler's context type, so a handler reads `context.caller` with no cast.
 * The member is not called `identity`, which Lambda's own `Context` declares (Cognito, mobile SDK).
 */
export interface IdentityVerifyContext extends IdentityResolveContext {
  /** The verified caller. Always set when the handler runs: a caller that fails is answered before it. */
  caller: VerifiedIdentity;
  /**
   * @deprecated Since 0.2: read {@link IdentityVerifyContext.caller}. Still set to the same
   * object for one minor version; removed in 0.3.
   */
  identity: VerifiedIdentity;
}

/**
 * The middleware {@link identityVerify} returns. With `allow` set (caller mode) it adds
 * {@link IdentityVerifyContext} to the handler's context type; a self check alone adds nothing.
 */
export type IdentityVerifyMiddleware<TMode extends 'caller' | 'self' = 'caller'> = MiddlewareObj<
  unknown,
  // biome-ignore lint/suspicious/noExplicitAny: Middy's own default; denials return the event's response shape.
  any,
  Error,
  Context & (TMode extends 'caller' ? IdentityVerifyContext : IdentityResolveContext)
>;

/** Options of {@link identityVerify}. */
export interface IdentityVerifyOptions {
  /** This function's identity name: the `aud` callers must name, and the name of the own record in self mode. */
  self: string;
  /** Zone of the identities; default: the zone of `self` (its name without the first two labels). */
  zone?: string;
  /**
   * Callers allowed to call this function: exact names, `*.prod.<zone>` (any service of an
   * environment), `billing.*.<zone>` (a service in any environment). Setting it turns on caller
   * verification (needs identity-resolve in caller mode before). An empty list allows nobody.
   */
  allow?: readonly string[];
  /** Self check of the own record (needs identity-resolve in self mode before). `true` expects the labels of `self`. */
  expect?: SelfExpectation | true;
  /**
   * Deny callers (`dnssec_required`) whose record is not DNSSEC-authenticated, and in self mode
   * refuse to serve (`self_mismatch`) while the own record is not. Default `false`.
   * - `true`: the resolver set the AD bit. Worth only as much as the resolver and the path to it
   *   (a validating resolver on loopback or in the VPC).
   * - `'validated'`: this process validated the record itself (identity-resolve with
   *   `validateDnssec: true`) and found it `secure`; the AD bit counts for nothing. A record that
   *   is provably unsigned (`insecure`), or one identity-resolve did not validate, is denied.
   */
  requireDnssec?: DnssecRequirement;
  /** Deny proofs without a `bh` body hash. Default `false`. */
  requireBodyHash?: boolean;
  /**
   * Bind proofs to API Gateway mutual TLS (caller mode): deny (`cert_mismatch`) unless the request
   * came with a client certificate (`clientCertPem` of the event) whose SHA-256 thumbprint is the
   * `x5t-s256` pin of the key that signed the proof; a key without a pin is denied too. Default
   * `false`: a pin is still enforced whenever a certificate is presented (a different or
   * unreadable one is `cert_mismatch`), but a request without one (an endpoint without mutual TLS)
   * is not refused for it.
   */
  requireClientCert?: boolean;
  /**
   * Behind an Application Load Balancer listener with mutual TLS, read the client certificate of
   * ALB events from the header the listener writes: `'verify'` (the listener checks the chain
   * against its trust store; `X-Amzn-Mtls-Clientcert-Leaf`) or `'passthrough'` (it checks
   * nothing but the client's key; the chain's first certificate in `X-Amzn-Mtls-Clientcert`).
   * Default: unset, ALB events present no certificate. Set it only for such a listener: without
   * mutual TLS a client's own header of that name reaches the function, and a certificate is
   * public, so the pin would bind nothing (SECURITY.md).
   */
  albMutualTls?: AlbMutualTlsMode;
  /**
   * Scheme and host callers address this function at (`https://api.example.com`), for proofs
   * bound to a URL (`htu`): the request's path is joined to it instead of to the event's own
   * scheme and host. Set it where the event does not name what the caller called: behind a
   * CloudFront distribution or a proxy that rewrites the host, or under a local emulator
   * (serverless-offline names every host `offlineContext_domainName`). Default: the
   * `NHI_ORIGIN` environment variable, else the event's (API Gateway's `domainName`, ALB's
   * `Host` and `X-Forwarded-Proto`).
   */
  origin?: string;
  /** Longest accepted proof lifetime `exp - iat`, seconds. Default 300. */
  maxLifetime?: number;
  /** Tolerated clock skew, seconds. Default 60. */
  clockSkew?: number;
  /**
   * Deny (`key_custody`, 403) callers whose proving record key (the key that signed the WIT of a
   * `Workload-Identity-Token` pair, or the NHI1 proof) does not state `kc=kms`: its private half
   * was made in AWS KMS and cannot be exported (DESIGN §2, §3a). Default: unset, any custody.
   */
  requireKeyCustody?: 'kms';
  /** Where used `jti`s are remembered. Default: an in-memory LRU per instance (10 000 entries). */
  replayStore?: ReplayStore;
  /**
   * Where verified workload identity tokens are remembered, so each distinct WIT costs one
   * signature check per instance. Default: one per middleware, 1 000 WITs, 250 per issuer,
   * each until its `exp`.
   */
  workloadIdentityCache?: WorkloadIdentityCache;
  /** `Retry-After` seconds on 503 denials. Default 5. */
  retryAfter?: number;
  /** Powertools Logger; default one shared logger. */
  logger?: NhiLogger;
  /** Powertools Metrics; default one shared instance in namespace `NHI`, flushed after each invocation. */
  metrics?: NhiMetrics;
  /** Clock, Unix seconds (tests). Default `Date.now() / 1000`. */
  now?: () => number;
}

/** What each option accepts (checked at creation). */
const OPTION_RULES: OptionRules = {
  self: required(aString),
  zone: aString,
  allow: aStringList,
  expect: either({ allowed: 'true', test: (value) => value === true }, anObject),
  requireDnssec: either(aBoolean, oneOf('validated')),
  requireBodyHash: aBoolean,
  requireClientCert: aBoolean,
  albMutualTls: oneOf('verify', 'passthrough'),
  origin: {
    allowed: 'an origin: http(s)://host[:port], no path',
    test: (value) => typeof value === 'string' && parseOrigin(value) !== undefined,
  },
  maxLifetime: aNumber(1, { integer: true }),
  clockSkew: aNumber(0, { integer: true }),
  replayStore: {
    allowed: 'a ReplayStore (an object with a claim(jti, issuer, expiresAt) method)',
    test: (value) => typeof (value as { claim?: unknown } | null)?.claim === 'function',
  },
  requireKeyCustody: oneOf('kms'),
  workloadIdentityCache: {
    allowed: 'a WorkloadIdentityCache',
    test: (value) => value instanceof WorkloadIdentityCache,
  },
  retryAfter: aNumber(0, { integer: true }),
  logger: anObject,
  metrics: anObject,
  now: aFunction,
};

const configError = (message: string) => new NhiError('invalid_config', `${PACKAGE_NAME}: ${message}`);

/** The `origin` option, else `NHI_ORIGIN` (checked as strictly: a bad value fails at init). */
const originOf = (option: string | undefined): string | undefined => {
  const value = option ?? process.env[ORIGIN_VARIABLE];
  if (value === undefined || value === '') return undefined;
  const origin = parseOrigin(value);
  if (origin === undefined) {
    throw configError(`${ORIGIN_VARIABLE} is not an origin (http(s)://host[:port], no path): ${value}`);
  }
  return origin;
};

/** Environment variable that sets {@link IdentityVerifyOptions.origin} when the option is not given. */
export const ORIGIN_VARIABLE = 'NHI_ORIGIN';

const zoneOf = (self: string): string => canonicalName(self).split('.').slice(2).join('.');

/**
 * Middy middleware that verifies identities (DESIGN §4.3).
 *
 * Self mode (`expect`): the function's own record (from identity-resolve in self mode) must
 * exist and match, else every request is refused with 503 `self_mismatch` (the kill switch).
 * Caller mode (`allow`): the caller's proof (from identity-resolve in caller mode) must be
 * signed by a current key of the caller's record, be meant for `self`, be fresh and unused,
 * match the request body and target when bound to them, and the caller must be allowed.
 * On success `request.context.caller` holds the verified caller. Denials answer 401, 403 or
 * 503 with `{"error":"<reason>"}` for HTTP events and throw `IdentityError` otherwise.
 *
 * @throws {NhiError} `invalid_config` at creation for a bad `self`, zone or pattern.
 */
export function identityVerify(
  options: IdentityVerifyOptions & { allow: readonly string[] },
): IdentityVerifyMiddleware<'caller'>;
export function identityVerify(options: IdentityVerifyOptions): IdentityVerifyMiddleware<'self'>;
// Overloads, not a generic over the options: object literals keep TypeScript's excess-property
// check (a misspelt `allowList` is a compile error, not only an init error).
export function identityVerify(options: IdentityVerifyOptions): IdentityVerifyMiddleware<'caller' | 'self'> {
  validateOptions(PACKAGE_NAME, options, OPTION_RULES);
  const zone = parseZone(options.zone ?? zoneOf(options.self));
  const self = tryParseIdentityName(options.self, zone);
  if (self === undefined) throw configError(`'self' must be <service>.<environment>.${zone}`);
  if (options.allow === undefined && options.expect === undefined) {
    throw configError("set 'allow' (verify callers), 'expect' (self check), or both");
  }
  const isAllowed: IdentityMatcher | undefined =
    options.allow === undefined ? undefined : compileAllowList(options.allow, zone);
  const expectation: SelfExpectation | undefined =
    options.expect === undefined
      ? undefined
      : {
          service: self.service,
          environment: self.environment,
          ...(options.expect === true ? {} : options.expect),
        };
  const maxLifetime = options.maxLifetime ?? DEFAULT_MAX_LIFETIME;
  const clockSkew = options.clockSkew ?? DEFAULT_CLOCK_SKEW;
  if (
    !Number.isSafeInteger(maxLifetime) ||
    maxLifetime <= 0 ||
    !Number.isSafeInteger(clockSkew) ||
    clockSkew < 0
  ) {
    throw configError('maxLifetime must be a positive and clockSkew a non-negative integer (seconds)');
  }
  // The verifier tells the store how long to keep a jti (exp + clockSkew), so no store setting
  // can disagree with the verifier's; the default store adds nothing of its own.
  const replayStore = options.replayStore ?? new MemoryReplayStore({ clockSkew: 0 });
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const origin = originOf(options.origin);
  const clientCertOptions = { albMutualTls: options.albMutualTls };
  const requireDnssec = options.requireDnssec ?? false;
  let observability: Observability | undefined;
  const telemetry = () => {
    observability ??= resolveObservability(options);
    return observability;
  };

  const checkSelf = (context: IdentityResolveContext, at: number) => {
    const own = context.nhiSelf;
    if (own === undefined)
      throw configError("'expect' needs identity-resolve in self mode before this middleware");
    const dnssec = dnssecFailure(requireDnssec, own);
    const failure =
      dnssec === undefined
        ? selfCheckFailure(own, expectation ?? {}, at)
        : `own record: ${dnssec} (requireDnssec)`;
    if (failure !== undefined) throw new IdentityError('self_mismatch', PACKAGE_NAME, failure);
  };

  const callerVerifier =
    isAllowed === undefined
      ? undefined
      : new CallerVerifier({
          audience: self.name,
          isAllowed,
          requireDnssec,
          requireBodyHash: options.requireBodyHash ?? false,
          requireClientCert: options.requireClientCert ?? false,
          maxLifetime,
          clockSkew,
          replayStore,
          ...(options.requireKeyCustody === undefined
            ? {}
            : { requireKeyCustody: options.requireKeyCustody }),
          ...(options.workloadIdentityCache === undefined
            ? {}
            : { workloadIdentityCache: options.workloadIdentityCache }),
        });

  const verifyCaller = async (
    verifier: CallerVerifier,
    event: unknown,
    context: IdentityResolveContext,
    at: number,
  ): Promise<VerifiedIdentity> => {
    const caller = context.nhi;
    if (caller?.proof === undefined) {
      throw configError("'allow' needs identity-resolve in caller mode before this middleware");
    }
    const method = httpMethod(event);
    const url = httpUrl(event, origin);
    const subject = {
      now: at,
      // Decoded only after the signature verified, and only when the proof binds the body.
      body: () => signedBody(event),
      clientCert: () => clientCertOf(event, clientCertOptions),
      ...(method === undefined ? {} : { method }),
      ...(url === undefined ? {} : { url }),
      claim: claimOptions(context),
    };
    const proofToken = workloadProofToken(event, caller.proof.token);
    return proofToken === undefined
      ? verifier.verify(caller, subject)
      : verifier.verifyWorkload(caller, proofToken, subject);
  };

  const before = async (request: Request<unknown, unknown, Error, Context>) => {
    const context = request.context as Context & Partial<IdentityVerifyContext>;
    attachLambdaContext(telemetry(), context);
    const at = now();
    try {
      if (expectation !== undefined) checkSelf(context, at);
      if (callerVerifier !== undefined) {
        const identity = await verifyCaller(callerVerifier, request.event, context, at);
        context.caller = identity;
        // Deprecated name, kept for one minor version (see IdentityVerifyContext.identity).
        (context as { identity?: VerifiedIdentity }).identity = identity;
        telemetry().logger.info('identity verified', {
          [LOG_FIELD.name]: identity.name,
          [LOG_FIELD.kid]: identity.kid,
          [LOG_FIELD.outcome]: 'verified',
          [LOG_FIELD.dnsAd]: context.nhi?.ad,
          [LOG_FIELD.dnsDnssec]: context.nhi?.dnssec,
        });
        count(telemetry().metrics, METRIC.authSuccess);
      }
      return undefined;
    } catch (error) {
      if (!(error instanceof IdentityError)) throw error;
      const record = error.reason === 'self_mismatch' ? context.nhiSelf : context.nhi;
      const response = deny(
        request.event,
        error,
        telemetry(),
        {
          name: record?.name,
          kid: context.nhi?.proof?.header.kid,
          // Both DNSSEC signals, side by side: what the resolver said and what this process found.
          fields: { [LOG_FIELD.dnsAd]: record?.ad, [LOG_FIELD.dnsDnssec]: record?.dnssec },
        },
        options.retryAfter,
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
}

/**
 * The proof token of a request that carries a WIMSE pair, `undefined` for one that carries no
 * WIT: the `Workload-Proof-Token` header of an HTTP event, the `nhiProof` beside `nhiWit` of a
 * direct invocation's envelope. identity-resolve's default proof source already refuses half a
 * pair or a pair beside an NHI proof; this reads the carrier again because it must also know that
 * the record it resolved is the one the request's WIT names, whatever `getProof` returned.
 * @throws {IdentityError} `malformed_proof` unless each header has one value (each envelope
 *   member is a string) and the resolved token is the WIT.
 */
const workloadProofToken = (event: unknown, resolvedToken: string): string | undefined => {
  if (httpEventKind(event) === undefined) {
    const envelope = typeof event === 'object' && event !== null ? (event as Record<string, unknown>) : {};
    const pair = carriedWorkloadPair(envelope[WIT_PAYLOAD_FIELD], envelope[PROOF_PAYLOAD_FIELD]);
    if (pair.kind === 'none') return undefined;
    if (pair.kind === 'pair' && pair.wit === resolvedToken) return pair.proof;
    throw new IdentityError(
      'malformed_proof',
      PACKAGE_NAME,
      pair.kind === 'malformed' ? pair.detail : `${WIT_PAYLOAD_FIELD} is not the token that was resolved`,
    );
  }
  const wits = headerValues(event, WORKLOAD_IDENTITY_TOKEN_HEADER);
  const wpts = headerValues(event, WORKLOAD_PROOF_TOKEN_HEADER);
  if (wits.length === 0 && wpts.length === 0) return undefined;
  const [wpt] = wpts;
  if (wits.length !== 1 || wpt === undefined || wpts.length !== 1 || wits[0] !== resolvedToken) {
    throw new IdentityError(
      'malformed_proof',
      PACKAGE_NAME,
      'Workload-Identity-Token and Workload-Proof-Token go together, one value each, as the only credential',
    );
  }
  return wpt;
};

/** Milliseconds kept back from the Lambda's remaining time when bounding a replay-store claim. */
const REPLAY_DEADLINE_MARGIN_MS = 500;

/** The replay store's deadline: the Lambda's remaining time less a margin, when the context tells it. */
const claimOptions = (context: object): ClaimOptions => {
  const deadline = lambdaDeadline(context, REPLAY_DEADLINE_MARGIN_MS);
  return deadline === undefined ? {} : { deadline };
};
