import { type DnssecRecords, interpretAnswer } from './answer.js';
import { ExpiringLruCache } from './cache.js';
import { CaseMemory } from './case-memory.js';
import { DnssecValidator, type DnssecVerdict, type SignedAnswer } from './dnssec/validator.js';
import { DnsError } from './errors.js';
import type { QuerySpec } from './message.js';
import { DEFAULTS, type NormalisedOptions, normaliseOptions } from './options.js';
import { canonicalQueryName, queryType } from './query-name.js';
import { loadResolvConf } from './resolv-conf.js';
import { parseServer, type Server } from './servers.js';
import { estimateEntryBytes } from './size.js';
import { queryServers } from './transport.js';
import type {
  AnswerOutcome,
  DnsRecord,
  DnsResult,
  DnssecStatus,
  LookupEvent,
  LookupListener,
  LookupOutcome,
  LookupResultBase,
  ResolveOptions,
  Resolver,
  ResolverOptions,
  ResolverStats,
  TxtResolveOptions,
  TxtResult,
} from './types.js';

/** Servers and retry settings, known at the first query. */
interface TransportConfig {
  servers: Server[];
  timeoutMs: number;
  attempts: number;
}

/**
 * What the cache holds for one (name, type, DO) key. `unusable`: records that a caller's `accept`
 * predicate rejected, kept as a negative answer (no records).
 */
interface CachedAnswer {
  kind: 'answer' | 'nxdomain' | 'nodata' | 'unusable';
  rcode: string;
  ad: boolean;
  answers: readonly DnsRecord[];
  cnameChain: readonly string[];
  /** TXT answers decoded once, when the key is a TXT query (frozen). */
  txt: string[][];
  /** RRSIGs, CNAMEs and authority records, for lookups that validate (CD set). */
  readonly dnssec: DnssecRecords | undefined;
  /**
   * The validator's verdict on this answer, once judged (validating lookups): a cache hit reads
   * it here. Every answer has the field, so that they all share one shape.
   */
  verdict: DnssecVerdict | undefined;
}

/** An answer fetched from the network (shared by every caller of one single-flight query). */
interface FetchedAnswer {
  answer: CachedAnswer;
  ttl: number;
  /** TTL of the answer as cached when a predicate finds it unusable (clamped as negative answers are). */
  unusableTtl: number;
  server: string;
  attempts: number;
  /**
   * A server that did not echo the name's letter case (DNS 0x20) for this query. Reported once:
   * the first caller to read it takes it, so that callers sharing the query do not all log it.
   */
  caseFallback: string | undefined;
}

/** Internal result of one lookup, before it is shaped for `resolve` or `resolveTxt`. */
interface Lookup {
  name: string;
  answer: CachedAnswer;
  outcome: AnswerOutcome;
  fromCache: boolean;
  ttl: number;
  server?: string;
  attempts: number;
  caseFallback?: string | undefined;
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * A call's `accept` predicate, called at most once per answer: the first caller of a shared query
 * judges the answer for the cache write and again for its own result.
 * @throws what the predicate throws.
 */
type Judge = (answer: CachedAnswer) => boolean;

const judgeFor = (accept: TxtResolveOptions['accept']): Judge | undefined => {
  if (accept === undefined) return undefined;
  if (typeof accept !== 'function') throw new TypeError('resolveTxt option accept must be a function');
  // A call judges one answer (a hit, or the fetched answer twice: for the cache write and for its
  // own result; or a stale one): remembering the last suffices, and costs no per-call WeakMap.
  let judged: CachedAnswer | undefined;
  let verdict: { ok: boolean } | { error: unknown } = { ok: false };
  return (answer) => {
    if (answer !== judged) {
      try {
        verdict = { ok: accept(answer.txt) === true };
      } catch (error) {
        verdict = { error };
      }
      judged = answer;
    }
    if ('error' in verdict) throw verdict.error;
    return verdict.ok;
  };
};

/** The negative answer that stands for a positive one a predicate rejected. */
const unusable = (answer: CachedAnswer): CachedAnswer => ({
  kind: 'unusable',
  rcode: answer.rcode,
  ad: answer.ad,
  answers: EMPTY,
  cnameChain: answer.cnameChain,
  txt: EMPTY as never[],
  dnssec: undefined,
  verdict: undefined,
});

const decodeTxt = (answers: readonly DnsRecord[]): string[][] =>
  Object.freeze(
    answers.map((record) =>
      Object.freeze(
        Array.isArray(record.data) ? record.data.map((part: Buffer) => part.toString('utf8')) : [],
      ),
    ),
  ) as string[][];

/** The fields every result shares, taken from a lookup. */
const resultBase = (
  lookup: Lookup,
  latencyMs: number,
): LookupResultBase & { cnameChain: readonly string[] } => ({
  cnameChain: lookup.answer.cnameChain,
  ttl: lookup.ttl,
  ad: lookup.answer.ad,
  rcode: lookup.answer.rcode,
  outcome: lookup.outcome,
  fromCache: lookup.fromCache,
  latencyMs,
  ...(lookup.server === undefined ? {} : { server: lookup.server }),
  attempts: lookup.attempts,
  ...(lookup.caseFallback === undefined ? {} : { caseFallback: lookup.caseFallback }),
});

const clamp = (value: number, min: number, max: number): number => Math.min(Math.max(value, min), max);

/** The `outcome` of a failed lookup, as lookup events (and the `Outcome` metric) report it. */
export const failureOutcome = (error: unknown): LookupOutcome => {
  if (!(error instanceof DnsError)) return 'error';
  if (error.reason === 'timeout' || error.reason === 'deadline') return 'timeout';
  return error.reason === 'servfail' ? 'servfail' : 'error';
};

/** Races `promise` against the caller's own deadline (single-flight joiners). */
const withinDeadline = <T>(
  promise: Promise<T>,
  deadline: number | undefined,
  onExpiry: DnsError,
): Promise<T> => {
  if (deadline === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onExpiry), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
};

class CachingResolver implements Resolver {
  readonly stats: ResolverStats = {
    queriesSent: 0,
    repliesDropped: 0,
    tcpFallbacks: 0,
    cacheHits: 0,
    singleFlightJoins: 0,
    staleServed: 0,
    caseMismatches: 0,
  };
  readonly #options: NormalisedOptions;
  /** Positive answers. */
  readonly #cache: ExpiringLruCache<CachedAnswer> | undefined;
  /**
   * Negative answers, bounded apart: callers choose the names, so they can make negative answers
   * at will, and these must never push positive answers out of the cache. A key is in one at most.
   */
  readonly #negativeCache: ExpiringLruCache<CachedAnswer> | undefined;
  readonly #inflight = new Map<string, Promise<FetchedAnswer>>();
  readonly #listeners = new Set<LookupListener>();
  #config: Promise<TransportConfig> | undefined;
  /** In-process DNSSEC validation, with `trustAnchors`. */
  readonly #validator: DnssecValidator | undefined;
  /** Bumped by `clear()`, so that answers already in flight do not refill a cleared cache. */
  #generation = 0;
  /** Servers found not to preserve letter case, asked without DNS 0x20 for a while. */
  readonly #caseMemory: CaseMemory | undefined;

  constructor(options: NormalisedOptions) {
    this.#options = options;
    this.#cache = options.cache ? new ExpiringLruCache(options.maxEntries, options.maxBytes) : undefined;
    this.#negativeCache = options.cache
      ? new ExpiringLruCache(options.maxNegativeEntries, options.maxNegativeBytes)
      : undefined;
    this.#caseMemory = options.caseRandomization ? new CaseMemory(options.now) : undefined;
    this.#validator =
      options.trustAnchors.length === 0
        ? undefined
        : new DnssecValidator({
            anchors: options.trustAnchors,
            query: (name, type) => this.#chainQuery(name, type),
            now: options.now,
          });
  }

  async resolveTxt(name: string, options: TxtResolveOptions = {}): Promise<TxtResult> {
    const started = performance.now();
    const validating = options.validate === true;
    const dnssec = options.dnssec === true || validating;
    try {
      const validator = validating ? this.#requireValidator() : undefined;
      const lookup = await this.#lookup(name, 'TXT', dnssec, options, judgeFor(options.accept), validating);
      let verdict: DnssecVerdict | undefined;
      if (validator !== undefined && lookup.answer.kind === 'answer') {
        // Warm path: the verdict stored beside the cached answer, without another await.
        const known = lookup.answer.verdict;
        verdict =
          known !== undefined && this.#options.now() < known.validUntil
            ? known
            : await this.#verdict(validator, lookup);
      }
      const latencyMs = performance.now() - started;
      this.#emitSuccess(lookup, 'TXT', dnssec, latencyMs);
      // One literal, one shape for every result (hits, misses, validated or not): a result whose
      // fields vary by path makes every caller's property reads polymorphic.
      const answer = lookup.answer;
      return {
        records: answer.txt,
        cnameChain: answer.cnameChain,
        ttl: lookup.ttl,
        ad: answer.ad,
        rcode: answer.rcode,
        outcome: lookup.outcome,
        fromCache: lookup.fromCache,
        latencyMs,
        server: lookup.server,
        attempts: lookup.attempts,
        caseFallback: lookup.caseFallback,
        dnssec: verdict?.status,
        dnssecReason: verdict?.reason,
      };
    } catch (error) {
      throw this.#failed(error, name, 'TXT', dnssec, started);
    }
  }

  async prepareValidation(zone: string): Promise<DnssecStatus> {
    return this.#requireValidator().prepare(zone);
  }

  #requireValidator(): DnssecValidator {
    if (this.#validator === undefined) {
      throw new TypeError('resolver: validation needs the trustAnchors option');
    }
    return this.#validator;
  }

  /**
   * Validates a cached answer and stores the verdict on it (resolveTxt reads it there: a cache
   * hit costs a property read), until it runs out (a signature's or key's expiry).
   */
  async #verdict(validator: DnssecValidator, lookup: Lookup): Promise<DnssecVerdict> {
    const answer = lookup.answer;
    const records = answer.dnssec;
    const signed: SignedAnswer = {
      kind: 'answer',
      answers: answer.answers,
      aliases: records?.aliases ?? EMPTY,
      signatures: records?.signatures ?? EMPTY,
      authority: records?.authority ?? EMPTY,
      ttl: lookup.ttl,
    };
    const verdict = await validator.validate(lookup.name, signed);
    answer.verdict = verdict;
    return verdict;
  }

  /** Answers DNSKEY and DS lookups of the validator: cached and single flight like any other. */
  async #chainQuery(name: string, type: 'DNSKEY' | 'DS'): Promise<SignedAnswer> {
    const started = performance.now();
    let lookup: Lookup;
    try {
      lookup = await this.#lookup(name || '.', type, true, {}, undefined, true);
    } catch (error) {
      throw this.#failed(error, name, type, true, started);
    }
    this.#emitSuccess(lookup, type, true, performance.now() - started);
    const records = lookup.answer.dnssec;
    return {
      kind: lookup.answer.kind === 'unusable' ? 'nodata' : lookup.answer.kind,
      answers: lookup.answer.answers,
      aliases: records?.aliases ?? EMPTY,
      signatures: records?.signatures ?? EMPTY,
      authority: records?.authority ?? EMPTY,
      ttl: lookup.ttl,
    };
  }

  async resolve(name: string, type: string, options: ResolveOptions = {}): Promise<DnsResult> {
    const started = performance.now();
    const dnssec = options.dnssec === true;
    let upperType = String(type);
    try {
      upperType = queryType(type);
      const lookup = await this.#lookup(name, upperType, dnssec, options);
      const latencyMs = performance.now() - started;
      this.#emitSuccess(lookup, upperType, dnssec, latencyMs);
      return {
        name: lookup.name,
        type: upperType,
        answers: lookup.answer.answers,
        ...resultBase(lookup, latencyMs),
      };
    } catch (error) {
      throw this.#failed(error, name, upperType, dnssec, started);
    }
  }

  clear(): void {
    this.#generation++;
    this.#cache?.clear();
    this.#negativeCache?.clear();
  }

  on(event: 'lookup', listener: LookupListener): this {
    if (event === 'lookup' && typeof listener === 'function') this.#listeners.add(listener);
    return this;
  }

  off(event: 'lookup', listener: LookupListener): this {
    if (event === 'lookup') this.#listeners.delete(listener);
    return this;
  }

  async #lookup(
    name: string,
    type: string,
    dnssec: boolean,
    options: ResolveOptions,
    judge?: Judge,
    validating = false,
  ): Promise<Lookup> {
    const { deadline } = options;
    // Space cannot occur in a valid name, so the key is unambiguous. Validating lookups (CD set,
    // DNSSEC records kept) are cached apart: their answers may be what the upstream calls bogus.
    const prefix = `${type} ${validating ? 'V' : dnssec ? 'D' : '-'} `;
    const now = this.#options.now();
    // A refresh is for a caller that knows the cached answer is outdated: not even stale will do.
    const refresh = options.refresh === true;
    // Only checked, canonical names are ever cached: a name found as given is one, so a hit
    // (every warm request's case) skips the name's checks.
    const given = refresh || typeof name !== 'string' ? undefined : this.#cached(prefix + name, now);
    const qname = given === undefined ? canonicalQueryName(name) : name;
    const key = prefix + qname;
    const cached = given ?? (refresh ? undefined : this.#cached(key, now));
    if (cached !== undefined && now < cached.expiresAt) {
      this.stats.cacheHits++;
      const answer = this.#judged(cached.value, judge);
      return {
        name: qname,
        answer,
        outcome: answer.kind === 'answer' ? 'hit' : answer.kind,
        fromCache: true,
        ttl: Math.ceil((cached.expiresAt - now) / 1000),
        attempts: 0,
      };
    }
    try {
      const spec: QuerySpec = validating
        ? { name: qname, type, dnssec: true, checkingDisabled: true }
        : { name: qname, type, dnssec };
      const fetched = await this.#shared(key, spec, deadline, judge);
      const answer = this.#judged(fetched.answer, judge);
      const caseFallback = fetched.caseFallback;
      fetched.caseFallback = undefined;
      return {
        name: qname,
        answer,
        outcome: answer.kind === 'answer' ? 'miss' : answer.kind,
        fromCache: false,
        ttl: answer === fetched.answer ? fetched.ttl : fetched.unusableTtl,
        server: fetched.server,
        attempts: fetched.attempts,
        caseFallback,
      };
    } catch (error) {
      // RFC 8767: an expired answer may stand in for a failed refresh, for at most staleTtl.
      if (cached !== undefined && error instanceof DnsError && this.#options.now() < cached.staleUntil) {
        this.stats.staleServed++;
        const answer = this.#judged(cached.value, judge);
        return {
          name: qname,
          answer,
          outcome: 'stale', // records [] when this caller's predicate rejects them
          fromCache: true,
          ttl: 0,
          attempts: error.attempts,
        };
      }
      throw error;
    }
  }

  /** A positive answer as this caller sees it: unusable when its predicate rejects it. */
  #cached(key: string, now: number) {
    return this.#cache?.get(key, now) ?? this.#negativeCache?.get(key, now);
  }

  #judged(answer: CachedAnswer, judge: Judge | undefined): CachedAnswer {
    return answer.kind === 'answer' && judge !== undefined && !judge(answer) ? unusable(answer) : answer;
  }

  /**
   * Single flight: concurrent lookups of one key share one network query. The caller that starts
   * it lends its predicate to the cache write; every caller judges the shared answer itself.
   */
  async #shared(
    key: string,
    spec: QuerySpec,
    deadline: number | undefined,
    judge: Judge | undefined,
  ): Promise<FetchedAnswer> {
    for (;;) {
      const inflight = this.#inflight.get(key);
      if (inflight === undefined) {
        const query: Promise<FetchedAnswer> = this.#fetch(key, spec, deadline, judge).finally(() => {
          if (this.#inflight.get(key) === query) this.#inflight.delete(key);
        });
        this.#inflight.set(key, query);
        return await query;
      }
      this.stats.singleFlightJoins++;
      const ownExpiry = new DnsError('deadline', 'deadline passed while waiting for a shared query');
      try {
        return await withinDeadline(inflight, deadline, ownExpiry);
      } catch (error) {
        // The shared query ran on its first caller's deadline; a caller with time left asks again.
        const sharedDeadlinePassed =
          error instanceof DnsError && error !== ownExpiry && error.reason === 'deadline';
        if (sharedDeadlinePassed && (deadline === undefined || Date.now() < deadline)) continue;
        throw error;
      }
    }
  }

  async #fetch(
    key: string,
    spec: QuerySpec,
    deadline: number | undefined,
    judge: Judge | undefined,
  ): Promise<FetchedAnswer> {
    const generation = this.#generation;
    const config = await this.#transportConfig();
    const reply = await queryServers(
      spec,
      {
        servers: config.servers,
        timeoutMs: config.timeoutMs,
        attempts: config.attempts,
        deadline,
        caseRandomization: this.#options.caseRandomization,
        caseMemory: this.#caseMemory,
      },
      this.stats,
    );
    let interpreted: ReturnType<typeof interpretAnswer>;
    try {
      interpreted = interpretAnswer(reply.packet, spec.name, spec.type, spec.checkingDisabled === true);
    } catch (error) {
      if (!(error instanceof DnsError)) throw error;
      throw new DnsError(error.reason, error.message, { server: reply.server, attempts: reply.attempts });
    }
    const answer: CachedAnswer = {
      kind: interpreted.kind,
      rcode: interpreted.rcode,
      ad: reply.packet.flag_ad === true,
      answers: interpreted.answers,
      cnameChain: interpreted.cnameChain,
      txt: spec.type === 'TXT' ? decodeTxt(interpreted.answers) : (EMPTY as never[]),
      dnssec: interpreted.dnssec,
      verdict: undefined,
    };
    const ttl = this.#clampTtl(interpreted.kind, interpreted.ttl);
    const unusableTtl = this.#clampTtl('unusable', interpreted.ttl);
    // The predicate of the caller whose query this is decides what the cache keeps: records it
    // rejects are kept as a negative answer, so that they never take positive-cache space.
    let stored: CachedAnswer | undefined = answer;
    let storedTtl = ttl;
    if (answer.kind === 'answer' && judge !== undefined) {
      try {
        if (!judge(answer)) [stored, storedTtl] = [unusable(answer), unusableTtl];
      } catch {
        stored = undefined; // the predicate failed: its caller gets the error, the cache nothing
      }
    }
    const cacheable = interpreted.ttl !== undefined && (storedTtl > 0 || this.#options.staleTtl > 0);
    // After a clear(), an answer still in flight must not refill the cache.
    if (stored !== undefined && generation === this.#generation) {
      this.#store(key, stored, cacheable ? storedTtl : undefined);
    }
    return {
      answer,
      ttl,
      unusableTtl,
      server: reply.server,
      attempts: reply.attempts,
      caseFallback: reply.caseFallback,
    };
  }

  /**
   * Caches a fresh answer in the LRU of its kind, or only drops the old entry when the answer may
   * not be cached (`ttl` undefined): either way a fresh answer supersedes the cached one (refresh).
   */
  #store(key: string, answer: CachedAnswer, ttl: number | undefined): void {
    const [target, other] =
      answer.kind === 'answer' ? [this.#cache, this.#negativeCache] : [this.#negativeCache, this.#cache];
    // A name that changed between positive and negative must not keep its old answer in the other LRU.
    other?.delete(key);
    if (ttl === undefined) {
      target?.delete(key);
      return;
    }
    const expiresAt = this.#options.now() + ttl * 1000;
    // An answer larger than the LRU's whole byte budget is not cached (and the old one is gone).
    target?.set(
      key,
      { value: answer, expiresAt, staleUntil: expiresAt + this.#options.staleTtl * 1000 },
      estimateEntryBytes(key, answer),
    );
  }

  /** TTL clamp; negative answers are further capped by `maxNegativeTtl` (RFC 2308 §5 allows it). */
  #clampTtl(kind: CachedAnswer['kind'], ttl: number | undefined): number {
    const { minTtl, maxTtl, maxNegativeTtl } = this.#options;
    if (ttl === undefined) return 0;
    if (kind === 'answer') return clamp(ttl, minTtl, maxTtl);
    const max = Math.min(maxTtl, maxNegativeTtl);
    return clamp(ttl, Math.min(minTtl, max), max);
  }

  /** Servers and retry settings: from the options, else resolv.conf, read once at the first query. */
  #transportConfig(): Promise<TransportConfig> {
    this.#config ??= this.#loadTransportConfig();
    return this.#config;
  }

  async #loadTransportConfig(): Promise<TransportConfig> {
    const options = this.#options;
    if (options.servers !== undefined) {
      return {
        servers: options.servers,
        timeoutMs: options.timeout ?? DEFAULTS.timeout,
        attempts: options.attempts ?? DEFAULTS.attempts,
      };
    }
    const conf = await loadResolvConf(options.resolvConfPath);
    const servers: Server[] = [];
    for (const address of conf.nameservers) {
      try {
        servers.push(parseServer(address, options.port));
      } catch {
        // glibc skips nameserver lines it cannot use; so do we.
      }
    }
    return {
      // With no usable nameserver line, glibc asks the local host.
      servers: servers.length > 0 ? servers : [parseServer('127.0.0.1', options.port)],
      timeoutMs: options.timeout ?? conf.timeoutMs ?? DEFAULTS.timeout,
      attempts: options.attempts ?? conf.attempts ?? DEFAULTS.attempts,
    };
  }

  #emitSuccess(lookup: Lookup, type: string, dnssec: boolean, latencyMs: number): void {
    if (this.#listeners.size === 0) return;
    this.#emit({
      name: lookup.name,
      type,
      outcome: lookup.outcome,
      rcode: lookup.answer.rcode,
      latencyMs,
      ...(lookup.server === undefined ? {} : { server: lookup.server }),
      attempts: lookup.attempts,
      ad: lookup.answer.ad,
      dnssec,
      ...(lookup.caseFallback === undefined ? {} : { caseFallback: lookup.caseFallback }),
    });
  }

  /** Fills in the call's latency, emits the failure event, and returns the error to throw. */
  #failed(error: unknown, name: string, type: string, dnssec: boolean, started: number): unknown {
    const latencyMs = performance.now() - started;
    const failure =
      error instanceof DnsError ? error.withCallDetails({ attempts: error.attempts, latencyMs }) : error;
    if (this.#listeners.size > 0) {
      let eventName: string;
      try {
        eventName = canonicalQueryName(name);
      } catch {
        eventName = String(name).slice(0, 254);
      }
      this.#emit({
        name: eventName,
        type,
        outcome: failureOutcome(failure),
        ...(failure instanceof DnsError && failure.rcode !== undefined ? { rcode: failure.rcode } : {}),
        latencyMs,
        ...(failure instanceof DnsError && failure.server !== undefined ? { server: failure.server } : {}),
        attempts: failure instanceof DnsError ? failure.attempts : 0,
        ad: false,
        dnssec,
        ...(failure instanceof DnsError ? { error: failure } : {}),
      });
    }
    return failure;
  }

  #emit(event: LookupEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // Observability must never change the outcome of a lookup.
      }
    }
  }
}

/**
 * Creates a caching DNS stub resolver. Validates the options; does no I/O (resolv.conf is read at
 * the first query that needs it).
 * @throws {TypeError | RangeError} on an invalid option.
 * @example
 * const resolver = createResolver({ servers: ['127.0.0.1:5353'], maxTtl: 60 });
 * const { records, ad } = await resolver.resolveTxt('billing.prod.auth.example.com', { dnssec: true });
 */
export const createResolver = (options: ResolverOptions = {}): Resolver =>
  new CachingResolver(normaliseOptions(options));
