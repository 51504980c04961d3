import { NhiError } from './errors.js';
import { assertClaimArguments, type ClaimOptions, DEFAULT_REPLAY_GRACE, type ReplayStore } from './replay.js';

/** Options of {@link MemoryReplayStore}. */
export interface MemoryReplayStoreOptions {
  /**
   * Most live jtis kept. A full store refuses new proofs (`replay_store_full`) rather than forget
   * a live jti. Size it above the most proofs one instance accepts within `maxLifetime +
   * clockSkew` (SECURITY.md, sizing). Default 50 000 (about 8 MB).
   */
  maxEntries?: number;
  /** Most live jtis of one issuer, so that one allowed caller cannot fill the store for all. Default `maxEntries / 4`. */
  maxEntriesPerIssuer?: number;
  /** Clock in milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Seconds a jti is kept past `exp`: set it to the verifier's `clockSkew`. Default 60. */
  clockSkew?: number;
}

/** Default {@link MemoryReplayStoreOptions.maxEntries}. */
export const DEFAULT_REPLAY_MAX_ENTRIES = 50_000;

/** Least milliseconds between two full sweeps for expired entries, so a flood at capacity stays cheap. */
const FULL_SWEEP_INTERVAL_MS = 1000;

interface Entry {
  readonly issuer: string;
  /** Unix seconds. */
  readonly keptUntil: number;
  /** The message that first carried the jti (queues), so its redelivery is not a replay. */
  readonly deliveryId: string | undefined;
}

/**
 * Replay store of one Lambda instance (DESIGN §3): a bounded map of jtis, each kept until
 * `exp + clockSkew`. It never forgets a live jti to make room: a store full of live jtis (in all
 * or for one issuer) refuses the claim with `NhiError('replay_store_full')`, which the verifier
 * turns into a 503 denial, so a flood of proofs from one allowed caller can neither flush another
 * caller's captured jti nor crowd the others out. No timers (a frozen Lambda would fire them
 * late, and they would keep the event loop alive): expiry is decided by comparing the wall clock
 * on access. Other instances never saw a jti: use `DynamoDbReplayStore` for replay protection
 * across instances.
 */
export class MemoryReplayStore implements ReplayStore {
  /** One instance's own store: other instances never see its jtis. */
  readonly shared = false;
  readonly #maxEntries: number;
  readonly #maxPerIssuer: number;
  readonly #now: () => number;
  readonly #graceSeconds: number;
  /** Key → entry. A Map iterates in insertion order: first = least recently recorded. */
  readonly #entries = new Map<string, Entry>();
  readonly #perIssuer = new Map<string, number>();
  #lastFullSweep = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const {
      maxEntries = DEFAULT_REPLAY_MAX_ENTRIES,
      now = Date.now,
      clockSkew = DEFAULT_REPLAY_GRACE,
    } = options;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError('MemoryReplayStore: maxEntries must be a positive integer');
    }
    const maxPerIssuer = options.maxEntriesPerIssuer ?? Math.max(1, Math.floor(maxEntries / 4));
    if (!Number.isSafeInteger(maxPerIssuer) || maxPerIssuer < 1 || maxPerIssuer > maxEntries) {
      throw new TypeError('MemoryReplayStore: maxEntriesPerIssuer must be an integer in [1, maxEntries]');
    }
    if (!Number.isSafeInteger(clockSkew) || clockSkew < 0) {
      throw new TypeError('MemoryReplayStore: clockSkew must be a non-negative integer');
    }
    this.#maxEntries = maxEntries;
    this.#maxPerIssuer = maxPerIssuer;
    this.#now = now;
    this.#graceSeconds = clockSkew;
  }

  /** Number of jtis currently held (expired ones may linger until swept). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * {@inheritDoc ReplayStore.claim}
   * @throws {NhiError} `replay_store_full` when the store (or the issuer's share) is full of live jtis.
   */
  claim(jti: string, issuer: string, expiresAt: number, options: ClaimOptions = {}): boolean {
    assertClaimArguments(jti, issuer, expiresAt);
    const { deliveryId } = options;
    const nowMs = this.#now();
    const nowSeconds = nowMs / 1000;
    // Length-prefixed so that no (issuer, jti) pair can collide with another.
    const key = `${issuer.length}:${issuer}${jti}`;
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      if (existing.keptUntil > nowSeconds)
        return deliveryId !== undefined && existing.deliveryId === deliveryId;
      this.#delete(key, existing);
    }
    const keptUntil = expiresAt + this.#graceSeconds;
    // Already past exp + clockSkew: a verifier refuses that proof, so it need not be kept.
    if (keptUntil <= nowSeconds) return true;
    this.#sweepHead(nowSeconds);
    if (this.#isFull(issuer)) {
      if (nowMs - this.#lastFullSweep >= FULL_SWEEP_INTERVAL_MS) {
        this.#lastFullSweep = nowMs;
        this.#sweepAll(nowSeconds);
      }
      if (this.#isFull(issuer)) {
        throw new NhiError(
          'replay_store_full',
          this.#entries.size >= this.#maxEntries
            ? `replay store full: ${this.#entries.size} live jtis (maxEntries)`
            : `replay store full for this issuer: ${this.#maxPerIssuer} live jtis (maxEntriesPerIssuer)`,
        );
      }
    }
    this.#entries.set(key, { issuer, keptUntil, deliveryId });
    this.#perIssuer.set(issuer, (this.#perIssuer.get(issuer) ?? 0) + 1);
    return true;
  }

  #isFull(issuer: string): boolean {
    return this.#entries.size >= this.#maxEntries || (this.#perIssuer.get(issuer) ?? 0) >= this.#maxPerIssuer;
  }

  #delete(key: string, entry: Entry): void {
    this.#entries.delete(key);
    const left = (this.#perIssuer.get(entry.issuer) ?? 1) - 1;
    if (left > 0) this.#perIssuer.set(entry.issuer, left);
    else this.#perIssuer.delete(entry.issuer);
  }

  /** Drops expired entries from the old end (cheap, per claim). */
  #sweepHead(nowSeconds: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.keptUntil > nowSeconds) return;
      this.#delete(key, entry);
    }
  }

  /** Drops every expired entry (proof lifetimes differ, so expired ones can sit behind live ones). */
  #sweepAll(nowSeconds: number): void {
    for (const [key, entry] of this.#entries) if (entry.keptUntil <= nowSeconds) this.#delete(key, entry);
  }
}
