import type { DnssecStatus } from './dnssec/validator.js';
import type { DnsError } from './errors.js';

/** What happened to one lookup; the `Outcome` dimension of the `DnsLookup` metric. */
export type LookupOutcome =
  | 'hit'
  | 'miss'
  | 'stale'
  | 'nxdomain'
  | 'nodata'
  | 'unusable'
  | 'servfail'
  | 'timeout'
  | 'error';

/**
 * Outcome of a lookup that produced an answer (positive or negative). `unusable`: the name has
 * records, but the `accept` predicate of {@link TxtResolveOptions} rejected them (a negative answer).
 */
export type AnswerOutcome = 'hit' | 'miss' | 'stale' | 'nxdomain' | 'nodata' | 'unusable';

/** Per-call options of {@link Resolver.resolveTxt} and {@link Resolver.resolve}. */
export interface ResolveOptions {
  /** Ask for DNSSEC records (EDNS DO bit); the AD bit is reported either way. Default `false`. */
  dnssec?: boolean;
  /**
   * Absolute deadline, ms since epoch (`Date.now()` based), e.g. from the Lambda's remaining
   * time. No network attempt starts or lasts beyond it. Default: none (bounded by timeout × attempts).
   */
  deadline?: number;
  /**
   * Skip the cache read and ask the network; the answer then replaces the cached one as usual.
   * Concurrent lookups of the key still share one query (one in flight is as fresh). On failure
   * the cached entry stays, and the error is thrown: a refresh is never answered from the cache,
   * not even stale. For a caller that knows its cached answer is outdated, e.g. a proof naming a
   * `kid` the cached record lacks; rate-limit it per name, since it bypasses the cache. Default `false`.
   */
  refresh?: boolean;
}

/** Per-call options of {@link Resolver.resolveTxt}. */
export interface TxtResolveOptions extends ResolveOptions {
  /**
   * Says whether a positive TXT answer is of any use to the caller (identity-resolve: "holds a
   * usable NHI1 key for this name"). When it returns anything but `true`, this caller gets a
   * negative result (`records: []`, outcome `unusable`), and if this caller's query filled the
   * cache, the answer is cached as an `unusable` negative answer in the negative LRU (for its TTL,
   * capped by `maxNegativeTtl`) instead of in the positive cache; later lookups of the key, with
   * any predicate or none, get that negative answer until it expires (or `refresh`). So made-up
   * names answered by a wildcard never take positive-cache space or evict a positive answer.
   * Single flight: concurrent lookups of the key share one query; the cache write follows the
   * predicate of the caller whose query it was, and each caller's own predicate decides its own
   * result. It also applies to positive answers served from the cache (hits and stale), without
   * changing the cache. An exception from it rejects this call with that exception and caches nothing.
   * Called with the frozen records, at most once per answer and call. Default: every answer is usable.
   */
  accept?: (records: string[][]) => boolean;
  /**
   * Validate a positive answer here, in-process, against the resolver's `trustAnchors` (RFC
   * 4033-4035): the query goes out with DO and CD set (so that the upstream resolver passes on
   * what fails its own validation), every RRset of the answer must verify up to an anchor, and
   * the result's `dnssec` says `secure`, `insecure` or `bogus`. A chain that cannot be fetched
   * rejects with the lookup's `DnsError`. Negative answers are not validated (`dnssec` unset).
   * Needs `trustAnchors`. Default `false`.
   */
  validate?: boolean;
}

/** One resource record of an answer. */
export interface DnsRecord {
  /** Owner name in canonical form (lower case, no trailing dot). */
  name: string;
  /** Record type, e.g. `TXT`. */
  type: string;
  /** Time to live from the wire, seconds. */
  ttl: number;
  /**
   * RDATA as decoded by `dns-packet`: a string for A/AAAA/CNAME/NS/PTR, an array of
   * `Buffer`s (one per character-string) for TXT, an object for MX/SOA/SRV/...
   */
  data: unknown;
}

/** Fields shared by every successful lookup result. */
export interface LookupResultBase {
  /** Seconds the answer stays fresh (after clamping); the remaining freshness for a cache hit, 0 when stale. */
  ttl: number;
  /** AD bit of the answer that filled the cache. */
  ad: boolean;
  /** Response code: `NOERROR` or `NXDOMAIN`. */
  rcode: string;
  /**
   * `hit` = fresh cache hit of a positive answer; a cached negative answer keeps
   * `nxdomain`/`nodata`/`unusable` (see `fromCache`).
   */
  outcome: AnswerOutcome;
  /** True when the answer came from the cache (fresh or stale). */
  fromCache: boolean;
  /** Time spent in this call, milliseconds. */
  latencyMs: number;
  /** `address:port` that answered (network answers only). */
  server?: string;
  /** Network exchanges made for this answer (0 for cache hits; a UDP try retried over TCP counts 2). */
  attempts: number;
  /**
   * `address:port` of a server that, for this lookup's query, replied with the name in other
   * letter case than sent (DNS 0x20): see `caseRandomization` of {@link ResolverOptions}. Set on
   * the one result (and event) whose query made the finding, so that a caller can log it once.
   */
  caseFallback?: string;
}

/** Result of {@link Resolver.resolveTxt}. */
export interface TxtResult extends LookupResultBase {
  /**
   * One entry per TXT RR, its character-strings decoded as UTF-8; `[]` for NXDOMAIN/NODATA/unusable.
   * The arrays are frozen: they are shared with the cache.
   */
  records: string[][];
  /**
   * CNAME targets followed from the queried name, in order (empty without CNAMEs). Frozen.
   * Optional for resolvers written by hand; this package's resolver always sets it, so that a
   * caller can refuse answers that were found under another name (identity-resolve does).
   */
  cnameChain?: readonly string[];
  /** With `validate`: the in-process verdict on a positive answer (see {@link DnssecStatus}). */
  dnssec?: DnssecStatus;
  /** With `validate`: why (names and key tags, never record contents), for logs. */
  dnssecReason?: string;
}

/** Result of {@link Resolver.resolve}. */
export interface DnsResult extends LookupResultBase {
  /** The queried name, canonical. */
  name: string;
  /** The queried type, upper case. */
  type: string;
  /** Records of the queried type at the end of the CNAME chain; `[]` for NXDOMAIN/NODATA/unusable. Frozen. */
  answers: readonly DnsRecord[];
  /** CNAME targets followed from the queried name, in order (empty without CNAMEs). Frozen. */
  cnameChain: readonly string[];
}

export type { DnssecStatus };

/** The event emitted once per {@link Resolver.resolveTxt}/{@link Resolver.resolve} call. */
export interface LookupEvent {
  /** Queried name, canonical. Attacker-chosen in caller mode: never use it as a metric dimension. */
  name: string;
  /** Queried type, upper case. */
  type: string;
  /** What happened. */
  outcome: LookupOutcome;
  /** Response code, when a reply (or cached reply) was involved. */
  rcode?: string;
  /** Time spent in the call, milliseconds. */
  latencyMs: number;
  /** `address:port` involved, for network lookups. */
  server?: string;
  /** Network exchanges made. */
  attempts: number;
  /** AD bit of the answer (false for failures). */
  ad: boolean;
  /** Whether DNSSEC records were asked for. */
  dnssec: boolean;
  /** The error, for failed lookups. */
  error?: DnsError;
  /** As {@link LookupResultBase.caseFallback}: a server found not to echo the name's letter case. */
  caseFallback?: string;
}

/** Listener of `lookup` events. */
export type LookupListener = (event: LookupEvent) => void;

/** Counters kept by a resolver, for tests and benchmarks. Live object: read, do not write. */
export interface ResolverStats {
  /** Queries put on the wire (UDP datagrams and TCP messages). */
  queriesSent: number;
  /** Replies dropped because source, ID or question did not match, or they could not be decoded. */
  repliesDropped: number;
  /** Truncated UDP answers retried over TCP. */
  tcpFallbacks: number;
  /** Lookups answered from a fresh cache entry. */
  cacheHits: number;
  /** Lookups that joined a query already in flight for the same key. */
  singleFlightJoins: number;
  /** Lookups answered with a stale entry because upstream failed. */
  staleServed: number;
  /**
   * Replies right in all but the letter case of the name (DNS 0x20): over UDP not used and asked
   * again, over TCP accepted (the server does not preserve case).
   */
  caseMismatches: number;
}

/** A DNS server to query. */
export interface ServerAddress {
  /** IPv4 or IPv6 address (IPv6 without brackets). */
  address: string;
  /** UDP/TCP port; default the resolver's `port` option. */
  port?: number;
}

/** Options of {@link createResolver}. Every field is optional. */
export interface ResolverOptions {
  /**
   * Servers, tried in order and rotated on failure: `'127.0.0.1'`, `'127.0.0.1:5353'`, `'::1'`,
   * `'[::1]:5353'` or `{ address, port }`. Default: the `nameserver` lines of `/etc/resolv.conf`
   * (read lazily at the first query), else `127.0.0.1`.
   */
  servers?: Array<string | ServerAddress>;
  /** Port of servers that do not name one. Default `53`. */
  port?: number;
  /** Per-attempt timeout, ms. Default: resolv.conf `options timeout:` or `1000`. */
  timeout?: number;
  /** Rounds over all servers. Default: resolv.conf `options attempts:` or `2`. */
  attempts?: number;
  /** Lower clamp of cached TTLs, seconds. Default `0`. */
  minTtl?: number;
  /** Upper clamp of cached TTLs, seconds. Default `300`. */
  maxTtl?: number;
  /** Upper clamp of negative (NXDOMAIN/NODATA) TTLs, seconds. Default `30`. */
  maxNegativeTtl?: number;
  /**
   * Most positive answers cached (least recently used evicted first). Default `10000`.
   * Negative answers are bounded apart, by `maxNegativeEntries`.
   */
  maxEntries?: number;
  /**
   * Most negative (NXDOMAIN/NODATA) answers cached, in an LRU of their own. Default `1000`.
   * Names are chosen by callers, so negative answers can be made at will (random names under
   * the zone); kept apart, they evict only each other and never a positive answer.
   */
  maxNegativeEntries?: number;
  /**
   * Byte budget of the positive cache, by estimate (see the README): the least recently used
   * answers are evicted until both `maxEntries` and `maxBytes` hold; an answer larger than the
   * whole budget is not cached. Default `16777216` (16 MiB).
   */
  maxBytes?: number;
  /** Byte budget of the negative LRU, as `maxBytes`. Default `1048576` (1 MiB). */
  maxNegativeBytes?: number;
  /**
   * DNS 0x20 (as unbound's `use-caps-for-id`): each query's name goes out in crypto-random letter
   * case, and a UDP reply must echo it byte for byte. An off-path spoofer must then guess one more
   * bit per letter of the name. Cache keys, results and events stay lower case. A UDP reply right
   * in all but the case is not used (a spoofer who guessed port and ID could have sent it): the
   * query goes at once to the same server over TCP (and, if TCP fails, over UDP in lower case).
   * When the TCP reply too has the name in other case, the server does not preserve case: for 10
   * minutes its queries go in lower case, compared case-insensitively (ID and port alone against
   * a spoofer), then it is probed again; the lookup's result and event name it (`caseFallback`).
   * `false`: names always in lower case, compared case-insensitively. Default `true`.
   */
  caseRandomization?: boolean;
  /** Serve an expired entry for at most this many seconds when upstream fails (RFC 8767). Default `0` (off). */
  staleTtl?: number;
  /** Cache answers at all. Default `true`. Single flight works either way. */
  cache?: boolean;
  /**
   * Wall clock for cache expiry and for how long a server that does not preserve letter case is
   * remembered, ms since epoch. Default `Date.now`. Deadlines always use `Date.now`.
   */
  now?: () => number;
  /** Path of the resolv.conf read when `servers` (or `timeout`/`attempts`) are not given. Default `/etc/resolv.conf`. */
  resolvConfPath?: string;
  /**
   * Trust anchors for in-process DNSSEC validation (`resolveTxt(name, { validate: true })`): DS
   * or DNSKEY records in presentation format, e.g. `IANA_ROOT_ANCHORS` (the root's KSKs) or a
   * private zone's `'auth.example.com. IN DS 12345 13 2 <hex>'`. Checked at creation. Default:
   * none (validation unavailable).
   */
  trustAnchors?: readonly string[];
}

/** A caching DNS stub resolver. Create one per process (outside the handler) and share it. */
export interface Resolver {
  /** Resolves the TXT RRset at `name`, following CNAMEs. Rejects with {@link DnsError}. */
  resolveTxt(name: string, options?: TxtResolveOptions): Promise<TxtResult>;
  /** Resolves records of any common `type` (A, AAAA, TXT, MX, SOA, ...). Rejects with {@link DnsError}. */
  resolve(name: string, type: string, options?: ResolveOptions): Promise<DnsResult>;
  /** Drops every cache entry (queries in flight are not affected). */
  clear(): void;
  /** Adds a listener called once per lookup call. Listener errors are swallowed. */
  on(event: 'lookup', listener: LookupListener): this;
  /** Removes a listener added with {@link Resolver.on}. */
  off(event: 'lookup', listener: LookupListener): this;
  /** Counters, for tests and benchmarks. */
  readonly stats: Readonly<ResolverStats>;
  /**
   * Fetches and validates the DNSKEY/DS chain of `zone` ahead of need (at init), so that the first
   * validated lookup of a name in it pays one query. Needs `trustAnchors`. Optional for
   * resolvers written by hand.
   * @throws {DnsError} when the chain cannot be fetched.
   */
  prepareValidation?(zone: string): Promise<DnssecStatus>;
}
