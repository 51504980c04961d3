/** One cache entry: its value and when it stops being fresh, and usable at all. */
export interface CacheEntry<V> {
  readonly value: V;
  /** Wall-clock ms after which the entry is no longer fresh. */
  readonly expiresAt: number;
  /** Wall-clock ms after which the entry may not even be served stale (≥ `expiresAt`). */
  readonly staleUntil: number;
}

/**
 * A bounded LRU map whose entries expire by wall-clock time compared at lookup. No timers: a
 * Lambda process is frozen between invocations, and a timer would neither fire on time nor keep
 * the entry consistent with the clock after a thaw.
 */
export class ExpiringLruCache<V> {
  readonly #entries = new Map<string, CacheEntry<V>>();
  readonly #maxEntries: number;

  /** @param maxEntries - most entries kept; the least recently used is evicted first. */
  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** Number of entries held (expired ones included until they are looked up or evicted). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The entry for `key` if it may still be served (fresh or within its stale window) at `now`.
   * A fresh hit becomes the most recently used; an entry past its stale window is dropped.
   */
  get(key: string, now: number): CacheEntry<V> | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.staleUntil) {
      this.#entries.delete(key);
      return undefined;
    }
    if (now < entry.expiresAt) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** Stores an entry as the most recently used, evicting the least recently used beyond the bound. */
  set(key: string, entry: CacheEntry<V>): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  /** Drops the entry for `key`, if any. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
  }
}
