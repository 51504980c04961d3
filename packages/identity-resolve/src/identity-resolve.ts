import type { MiddlewareObj, Request } from '@middy/core';
import {
  aBoolean,
  aFunction,
  aNumber,
  anObject,
  aString,
  attachLambdaContext,
  canonicalName,
  cleanupBeforeEarlyReturn,
  DEFAULT_RETRY_AFTER_SECONDS,
  type DecodedProof,
  decodeProof,
  deny,
  flushOwnedMetrics,
  IdentityError,
  isDenialReason,
  lambdaDeadline,
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
import { createResolver, type Resolver, type ResolverOptions, type TxtResult } from '@nhi-dns/resolver';
import type { Context } from 'aws-lambda';
import { ParsedIdentityCache } from './key-cache.js';
import { reportLookup } from './lookup-telemetry.js';
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
   * `address[:port]`), else `/etc/resolv.conf`.
   */
  resolver?: Resolver | ResolverOptions;
  /** Ask for DNSSEC (DO bit) so that the AD bit is reported. Default `true`. */
  dnssec?: boolean;
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
  getProof: aFunction,
  prefetch: aBoolean,
  deadlineMargin: aNumber(0, { integer: true, unit: 'milliseconds' }),
  unknownKidRefreshInterval: aNumber(0),
  retryAfter: aNumber(0, { integer: true }),
  logger: anObject,
  metrics: anObject,
};

let sharedResolver: Resolver | undefined;

/** Remembers when each name was last refreshed; bounded, oldest names forgotten first. */
class RefreshCooldown {
  readonly #last = new Map<string, number>();
  readonly #intervalMs: number;

  constructor(
    intervalMs: number,
    readonly maxNames = 10_000,
  ) {
    this.#intervalMs = intervalMs;
  }

  /** True (and the time noted) when `name` was not refreshed within the interval. */
  allow(name: string): boolean {
    const now = Date.now();
    const last = this.#last.get(name);
    if (last !== undefined && now - last < this.#intervalMs) return false;
    this.#last.delete(name);
    this.#last.set(name, now);
    if (this.#last.size > this.maxNames) {
      const oldest = this.#last.keys().next().value;
      if (oldest !== undefined) this.#last.delete(oldest);
    }
    return true;
  }
}

/** Environment variable naming the DNS servers of the default resolver, e.g. `10.0.0.2,127.0.0.1:5353`. */
export const DNS_SERVERS_VARIABLE = 'NHI_DNS_SERVERS';

/** Options of the shared default resolver: servers from `NHI_DNS_SERVERS` when set, else `/etc/resolv.conf`. */
const defaultResolverOptions = (): ResolverOptions => {
  const servers = (process.env[DNS_SERVERS_VARIABLE] ?? '')
    .split(',')
    .map((server) => server.trim())
    .filter(Boolean);
  return servers.length > 0 ? { servers } : {};
};

const resolverFrom = (option: IdentityResolveOptions['resolver']): Resolver => {
  if (option !== undefined && typeof (option as Resolver).resolveTxt === 'function')
    return option as Resolver;
  if (option !== undefined) return createResolver(option as ResolverOptions);
  sharedResolver ??= createResolver(defaultResolverOptions());
  return sharedResolver;
};

const sourceOf = (result: TxtResult): RecordSource =>
  result.outcome === 'stale' ? 'stale' : result.fromCache ? 'cache' : 'network';

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
  const resolver = resolverFrom(options.resolver);
  const dnssec = options.dnssec ?? true;
  const getProof = options.getProof ?? defaultGetProof;
  const deadlineMargin = options.deadlineMargin ?? 500;
  const retryAfter = options.retryAfter ?? DEFAULT_RETRY_AFTER_SECONDS;
  const cache = new ParsedIdentityCache();
  const refreshInterval = options.unknownKidRefreshInterval ?? 30;
  if (!Number.isFinite(refreshInterval) || refreshInterval < 0) {
    throw new NhiError('invalid_config', `${PACKAGE_NAME}: unknownKidRefreshInterval must be >= 0 seconds`);
  }
  const refreshes = new RefreshCooldown(refreshInterval * 1000);
  let observability: Observability | undefined;
  const telemetry = () => {
    observability ??= resolveObservability(options);
    return observability;
  };

  if (mode === 'self' && selfIdentity !== undefined && options.prefetch !== false) {
    // Cold start: the lookup overlaps the init phase; the first `before` joins it (single flight
    // or cache hit). A failure here is reported by that `before`, not swallowed.
    resolver.resolveTxt(selfIdentity.name, { dnssec }).catch(() => undefined);
  }

  /** Warns once per DNS answer (when it was parsed) about the RRs it rejected. */
  const reportProblems = (name: string, { parsed, fresh }: ReturnType<ParsedIdentityCache['get']>) => {
    if (fresh && parsed.problems.length > 0) {
      telemetry().logger.warn('identity record has invalid RRs', {
        'nhi.name': name,
        'nhi.problems': parsed.problems,
      });
    }
  };

  /** Resolves and parses `name`; throws the IdentityError to deny with. */
  const resolveIdentity = async (
    name: string,
    context: unknown,
    notFound: 'no_record' | 'self_mismatch',
    refresh = false,
  ): Promise<Omit<ResolvedIdentity, 'service' | 'environment' | 'proof'>> => {
    let result: TxtResult;
    let parsedByAccept: ReturnType<ParsedIdentityCache['get']> | undefined;
    try {
      const deadline = lambdaDeadline(context, deadlineMargin);
      result = await resolver.resolveTxt(name, {
        dnssec,
        ...(deadline === undefined ? {} : { deadline }),
        ...(refresh ? { refresh } : {}),
        // An answer with no usable key for this name (junk under a wildcard, say) is cached by the
        // resolver as unusable, never as a positive record that a flood could use to evict real ones.
        accept: (records) => {
          parsedByAccept = cache.get(name, records);
          return parsedByAccept.parsed.keys.size > 0;
        },
      });
    } catch (error) {
      reportLookup(telemetry(), name, undefined, error);
      throw new IdentityError('dns_failure', PACKAGE_NAME, error);
    }
    reportLookup(telemetry(), name, result);
    // A CNAME hop outside the zone would let whoever controls that other zone publish this
    // identity's keys: the zone's owner vouches only for data inside the zone (fail closed).
    const escapedTo = result.cnameChain?.find((target) => !isInsideZone(canonicalName(target), zone));
    if (escapedTo !== undefined) {
      throw new IdentityError(
        'outside_zone',
        PACKAGE_NAME,
        'record reached through a CNAME outside the zone',
      );
    }
    if (result.outcome === 'unusable' && parsedByAccept !== undefined) reportProblems(name, parsedByAccept);
    if (result.records.length === 0)
      throw new IdentityError(notFound, PACKAGE_NAME, `no TXT record (${result.outcome})`);
    const { parsed, fresh } = parsedByAccept ?? cache.get(name, result.records);
    reportProblems(name, { parsed, fresh });
    if (parsed.keys.size === 0) throw new IdentityError(notFound, PACKAGE_NAME, 'no valid NHI1 RR');
    return {
      name,
      keys: parsed.keys,
      attributes: parsed.set.attributes,
      ad: result.ad,
      ttl: result.ttl,
      source: sourceOf(result),
      problems: parsed.problems,
    };
  };

  const before = async (request: Request<unknown, unknown, Error, Context & IdentityResolveContext>) => {
    const context = request.context;
    attachLambdaContext(telemetry(), context);
    let claimed: string | undefined;
    let kid: string | undefined;
    try {
      if (mode === 'self' && selfIdentity !== undefined) {
        const resolved = await resolveIdentity(selfIdentity.name, request.context, 'self_mismatch');
        context.nhiSelf = {
          ...resolved,
          service: selfIdentity.service,
          environment: selfIdentity.environment,
        };
        return undefined;
      }
      const token = getProof(request.event);
      if (token === undefined) throw new IdentityError('missing_proof', PACKAGE_NAME);
      const proof = decodeProof(token);
      kid = proof.header.kid;
      const caller = tryParseIdentityName(proof.claims.iss, zone);
      if (caller === undefined) throw new IdentityError('outside_zone', PACKAGE_NAME);
      claimed = caller.name;
      let resolved = await resolveIdentity(caller.name, request.context, 'no_record');
      if (
        !resolved.keys.has(proof.header.kid) &&
        resolved.source !== 'network' &&
        refreshes.allow(caller.name)
      ) {
        // A key published after the record was cached (a rotation that just began): look again,
        // once per name per cooldown, as jose's remote JWK sets do on an unknown kid.
        resolved = await resolveIdentity(caller.name, request.context, 'no_record', true);
      }
      context.nhi = { ...resolved, service: caller.service, environment: caller.environment, proof };
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

/** True when canonical `name` is `zone` or below it. */
const isInsideZone = (name: string, zone: string): boolean => name === zone || name.endsWith(`.${zone}`);

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
