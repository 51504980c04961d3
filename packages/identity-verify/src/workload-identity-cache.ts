import { NhiError, type VerificationKey, type VerifiedWorkloadIdentity } from '@nhi-dns/core';
import { PACKAGE_NAME } from './package-name.js';

/** Default {@link WorkloadIdentityCacheOptions.maxEntries}: verified WITs kept per middleware. */
export const DEFAULT_WIT_CACHE_ENTRIES = 1000;

/** Options of {@link WorkloadIdentityCache}. */
export interface WorkloadIdentityCacheOptions {
  /** Most verified WITs held at once. Default {@link DEFAULT_WIT_CACHE_ENTRIES}. */
  maxEntries?: number;
  /**
   * Most verified WITs of one issuer. Default a quarter of `maxEntries`, as the replay store's
   * share: a caller minting WIT after WIT only ever pushes out its own.
   */
  maxEntriesPerIssuer?: number;
}

/** Hit and miss counts of a {@link WorkloadIdentityCache}, for tests and benchmarks. */
export interface WorkloadIdentityCacheStats {
  /** WITs found verified: no signature was checked for them. */
  readonly hits: number;
  /** WITs not found (or found expired, or signed by a key the record no longer holds): each cost a signature check. */
  readonly misses: number;
  /** Verified WITs held now. */
  readonly size: number;
}

/**
 * Verified workload identity tokens (DESIGN §3a), remembered by their hash per issuer, so each
 * distinct WIT costs one signature check per instance rather than one per request. Bounded twice:
 * `maxEntries` in all and `maxEntriesPerIssuer` for each issuer, so a flood of distinct valid WITs
 * from one caller evicts only that caller's entries. An entry is forgotten at the WIT's `exp`.
 *
 * Remembering a WIT never outlives its key: {@link recall} takes the key the record holds for the
 * WIT's `kid` now and misses when it is not the key that verified the WIT (a `kid` reused for
 * another key), and the verifier checks the record (kid present, not revoked, not expired) before
 * it asks, on every request.
 */
export class WorkloadIdentityCache {
  /** Most entries in all. */
  readonly maxEntries: number;
  /** Most entries of one issuer. */
  readonly maxEntriesPerIssuer: number;
  /** Entries per issuer, each map in least-recently-used order (oldest first). */
  readonly #byIssuer = new Map<string, Map<string, VerifiedWorkloadIdentity>>();
  #size = 0;
  #hits = 0;
  #misses = 0;

  /** @throws {NhiError} `invalid_config` for a bound that is not a positive integer. */
  constructor(options: WorkloadIdentityCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_WIT_CACHE_ENTRIES;
    const maxEntriesPerIssuer = options.maxEntriesPerIssuer ?? Math.max(1, Math.floor(maxEntries / 4));
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new NhiError('invalid_config', `${PACKAGE_NAME}: maxEntries must be a positive integer`);
    }
    if (!Number.isSafeInteger(maxEntriesPerIssuer) || maxEntriesPerIssuer < 1) {
      throw new NhiError('invalid_config', `${PACKAGE_NAME}: maxEntriesPerIssuer must be a positive integer`);
    }
    this.maxEntries = maxEntries;
    this.maxEntriesPerIssuer = Math.min(maxEntriesPerIssuer, maxEntries);
  }

  /** Verified WITs held now. */
  get size(): number {
    return this.#size;
  }

  /** Hits, misses and size so far. */
  get stats(): WorkloadIdentityCacheStats {
    return { hits: this.#hits, misses: this.#misses, size: this.#size };
  }

  /**
   * The verified WIT of `issuer` whose hash is `hash`, if it is held, unexpired at `now` (Unix
   * seconds) and was verified with `key` (the key the record holds for its `kid` now).
   */
  recall(
    issuer: string,
    hash: string,
    key: VerificationKey,
    now: number,
  ): VerifiedWorkloadIdentity | undefined {
    const entries = this.#byIssuer.get(issuer);
    const entry = entries?.get(hash);
    if (entries === undefined || entry === undefined) {
      this.#misses += 1;
      return undefined;
    }
    if (entry.expiresAt <= now || !sameKey(entry.issuerKey, key)) {
      this.#delete(issuer, entries, hash);
      this.#misses += 1;
      return undefined;
    }
    // Most recently used last: an issuer's WIT in use outlives the ones it no longer sends.
    entries.delete(hash);
    entries.set(hash, entry);
    this.#hits += 1;
    return entry;
  }

  /** Remembers a verified WIT of `issuer` until its `exp` (nothing when it is already past at `now`). */
  remember(issuer: string, identity: VerifiedWorkloadIdentity, now: number): void {
    if (identity.expiresAt <= now) return;
    let entries = this.#byIssuer.get(issuer);
    if (entries?.has(identity.hash) === true) return;
    if (entries !== undefined && entries.size >= this.maxEntriesPerIssuer) {
      this.#evictOldest(issuer, entries);
    } else if (this.#size >= this.maxEntries) {
      this.#evictFromLargest();
    }
    if (entries === undefined || entries.size === 0) {
      entries ??= new Map();
      this.#byIssuer.set(issuer, entries);
    }
    entries.set(identity.hash, identity);
    this.#size += 1;
  }

  /** Forgets every entry. */
  clear(): void {
    this.#byIssuer.clear();
    this.#size = 0;
  }

  #delete(issuer: string, entries: Map<string, VerifiedWorkloadIdentity>, hash: string): void {
    if (!entries.delete(hash)) return;
    this.#size -= 1;
    if (entries.size === 0) this.#byIssuer.delete(issuer);
  }

  #evictOldest(issuer: string, entries: Map<string, VerifiedWorkloadIdentity>): void {
    const oldest = entries.keys().next();
    if (oldest.done !== true) this.#delete(issuer, entries, oldest.value);
  }

  /** When full, the issuer holding the most gives up its oldest: the few WITs of quiet callers stay. */
  #evictFromLargest(): void {
    let largest: [string, Map<string, VerifiedWorkloadIdentity>] | undefined;
    for (const candidate of this.#byIssuer) {
      if (largest === undefined || candidate[1].size > largest[1].size) largest = candidate;
    }
    if (largest !== undefined) this.#evictOldest(largest[0], largest[1]);
  }
}

/** True when `a` and `b` hold the same public key (the record may be parsed again into new objects). */
const sameKey = (a: VerificationKey, b: VerificationKey): boolean =>
  a === b ||
  (a.keyType === b.keyType &&
    a.keyObject !== undefined &&
    b.keyObject !== undefined &&
    a.keyObject.equals(b.keyObject));
