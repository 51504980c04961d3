import { assertClaimArguments, DEFAULT_REPLAY_GRACE, type ReplayStore } from './replay.js';

/** Options of {@link MemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /** Most jtis kept; past it the least recently recorded one is forgotten. Default 10 000. */
  maxEntries?: number;
  /** Clock in milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Seconds a jti is kept past `exp`: set it to the verifier's `clockSkew`. Default 60. */
  clockSkew?: number;
}

/**
 * Replay store of one Lambda instance (DESIGN §3): a bounded map of jtis (oldest recorded
 * forgotten first), each kept until
 * `exp + clockSkew`. No timers (a frozen Lambda would fire them late, and they would keep
 * the event loop alive): expiry is decided by comparing the wall clock on access.
 *
 * Size `maxEntries` above the most proofs one instance accepts within `maxLifetime +
 * clockSkew`: past the bound the oldest live jti is forgotten and could be replayed against
 * this instance. Other instances never saw it: use `DynamoDbReplayStore` for replay
 * protection across instances.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #graceSeconds: number;
  /** Key → expiry (Unix seconds). A Map iterates in insertion order: first = least recent. */
  readonly #entries = new Map<string, number>();

  constructor(options: MemoryReplayStoreOptions = {}) {
    const { maxEntries = 10_000, now = Date.now, clockSkew = DEFAULT_REPLAY_GRACE } = options;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError('MemoryReplayStore: maxEntries must be a positive integer');
    }
    if (!Number.isSafeInteger(clockSkew) || clockSkew < 0) {
      throw new TypeError('MemoryReplayStore: clockSkew must be a non-negative integer');
    }
    this.#maxEntries = maxEntries;
    this.#now = now;
    this.#graceSeconds = clockSkew;
  }

  /** Number of jtis currently held (expired ones may linger until touched or evicted). */
  get size(): number {
    return this.#entries.size;
  }

  /** {@inheritDoc ReplayStore.claim} */
  claim(jti: string, issuer: string, expiresAt: number): boolean {
    assertClaimArguments(jti, issuer, expiresAt);
    const nowSeconds = this.#now() / 1000;
    // Length-prefixed so that no (issuer, jti) pair can collide with another.
    const key = `${issuer.length}:${issuer}${jti}`;
    const keptUntil = this.#entries.get(key);
    if (keptUntil !== undefined) {
      if (keptUntil > nowSeconds) return false;
      this.#entries.delete(key);
    }
    this.#entries.set(key, expiresAt + this.#graceSeconds);
    this.#evict(nowSeconds);
    return true;
  }

  /** Drops expired entries from the old end, then the oldest live ones while over the bound. */
  #evict(nowSeconds: number): void {
    for (const [key, keptUntil] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && keptUntil > nowSeconds) return;
      this.#entries.delete(key);
    }
  }
}
