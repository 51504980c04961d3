/** One cache entry: its value and when it stops being fresh, and usable at all. */
export interface CacheEntry<V> {
  readonly value: V;
  /** Wall-clock ms after which the entry is no longer fresh. */
  readonly expiresAt: number;
  /** Wall-clock ms after which the entry may not even be served stale (≥ `expiresAt`). */
  readonly staleUntil: number;
}

interface Slot<V> {
  entry: CacheEntry<V>;
  bytes: number;
}

/**
 * A bounded LRU map whose entries expire by wall-clock time compared at lookup. No timers: a
 * Lambda process is frozen between invocations, and a timer would neither fire on time nor keep
 * the entry consistent with the clock after a thaw. Bounded in entries and in bytes (each entry's
 * size is given by the caller, an estimate): the least recently used go first until both hold.
 */
export class ExpiringLruCache<V> {
  readonly #slots = new Map<string, Slot<V>>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;

  /**
   * @param maxEntries - most entries kept; the least recently used is evicted first.
   * @param maxBytes - most bytes kept (sum of the sizes given to {@link set}). Default: unbounded.
   */
  constructor(maxEntries: number, maxBytes = Number.POSITIVE_INFINITY) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
  }

  /** Number of entries held (expired ones included until they are looked up or evicted). */
  get size(): number {
    return this.#slots.size;
  }

  /** Sum of the sizes of the entries held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The entry for `key` if it may still be served (fresh or within its stale window) at `now`.
   * A fresh hit becomes the most recently used; an entry past its stale window is dropped.
   */
  get(key: string, now: number): CacheEntry<V> | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    if (now >= slot.entry.staleUntil) {
      this.delete(key);
      return undefined;
    }
    if (now < slot.entry.expiresAt) {
      this.#slots.delete(key);
      this.#slots.set(key, slot);
    }
    return slot.entry;
  }

  /**
   * Stores an entry of `bytes` as the most recently used, evicting the least recently used until
   * both bounds hold. An entry larger than the byte budget is not stored (and the old entry of
   * `key` is dropped all the same).
   * @returns whether the entry was stored.
   */
  set(key: string, entry: CacheEntry<V>, bytes = 0): boolean {
    this.delete(key);
    if (bytes > this.#maxBytes) return false;
    this.#slots.set(key, { entry, bytes });
    this.#bytes += bytes;
    while (this.#slots.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#slots.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
    return true;
  }

  /** Drops the entry for `key`, if any. */
  delete(key: string): void {
    const slot = this.#slots.get(key);
    if (slot === undefined) return;
    this.#slots.delete(key);
    this.#bytes -= slot.bytes;
  }

  /** Drops every entry. */
  clear(): void {
    this.#slots.clear();
    this.#bytes = 0;
  }
}
