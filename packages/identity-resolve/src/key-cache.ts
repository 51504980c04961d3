import {
  type IdentityRecordSet,
  importRecordKeys,
  parseRecordSet,
  type RecordProblem,
  type VerificationKey,
} from '@nhi-dns/core';

/** An identity RRset parsed and its keys imported: done once per DNS answer, not per invocation. */
export interface ParsedIdentity {
  readonly set: IdentityRecordSet;
  readonly keys: ReadonlyMap<string, VerificationKey>;
  /** RR problems and keys Node could not import, reported once per DNS answer. */
  readonly problems: readonly RecordProblem[];
}

interface Entry {
  readonly records: readonly (readonly string[])[];
  readonly parsed: ParsedIdentity;
  /** What a warm lookup returns: allocated once per answer, not per request. */
  readonly hit: { readonly parsed: ParsedIdentity; readonly fresh: false };
  /** Estimated bytes held, see {@link estimateEntryBytes}. */
  readonly bytes: number;
}

/**
 * Bytes an entry holds, estimated: measured on Node 20 (bench `memory`: heap + array buffers per
 * cached record, 2.9 KB with 1 key, 7.5 KB with 5, 26.5 KB with 20) plus the native memory of each
 * `KeyObject`, which the heap does not show (the process RSS grew about twice the heap).
 */
const estimateEntryBytes = (name: string, records: readonly (readonly string[])[], keys: number): number => {
  let text = name.length;
  for (const rr of records) for (const part of rr) text += part.length;
  return 2048 + 2 * text + 2560 * keys;
};

/** Default byte budget of the parsed-identity cache, as the resolver's positive cache. */
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

const sameRecords = (a: readonly (readonly string[])[], b: readonly (readonly string[])[]): boolean =>
  a === b ||
  (a.length === b.length &&
    a.every((rr, i) => {
      const other = b[i];
      return other !== undefined && rr.length === other.length && rr.every((s, j) => s === other[j]);
    }));

/**
 * Parsed identities by name, reused while the DNS answer stays the same. Parsing the
 * RRset and creating `KeyObject`s costs far more than the verification itself, so the warm
 * path only compares the answer with the one it parsed last. Bounded by names and by estimated
 * bytes (the oldest name goes first); answers with no usable key are never kept. An evicted name
 * is parsed again on its next lookup.
 */
export class ParsedIdentityCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;

  /**
   * @param maxEntries - names kept (default 10 000, as the resolver cache).
   * @param maxBytes - estimated bytes kept, keys' native memory included (default 16 MiB, as the
   *   resolver's positive cache: 10 000 names of 5 keys would otherwise hold about 120 MB).
   */
  constructor(maxEntries = 10_000, maxBytes = DEFAULT_MAX_BYTES) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
  }

  /** Estimated bytes held (for tests and benchmarks). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Names held. */
  get size(): number {
    return this.#entries.size;
  }

  /** The parsed identity of `records` at `name`, parsing only when the answer changed. */
  get(name: string, records: readonly (readonly string[])[]): { parsed: ParsedIdentity; fresh: boolean } {
    const entry = this.#entries.get(name);
    if (entry !== undefined && sameRecords(entry.records, records)) return entry.hit;
    const set = parseRecordSet(name, records);
    const imported = importRecordKeys(set.keys);
    const problems: RecordProblem[] = [
      ...set.problems,
      ...imported.rejected.map((kid) => ({
        index: -1,
        kid,
        problem: 'bad_key' as const,
        detail: 'key not importable',
      })),
    ];
    const parsed: ParsedIdentity = { set, keys: imported.keys, problems };
    // An answer without a usable key is denied and not kept: else any made-up name answered by a
    // wildcard could fill this cache with junk (the resolver caches it as unusable instead).
    if (parsed.keys.size === 0) return { parsed, fresh: true };
    const bytes = estimateEntryBytes(name, records, parsed.keys.size);
    if (entry !== undefined) this.#remove(name, entry);
    // A record larger than the whole budget is served but not kept.
    if (bytes > this.#maxBytes) return { parsed, fresh: true };
    this.#entries.set(name, { records, parsed, hit: Object.freeze({ parsed, fresh: false }), bytes });
    this.#bytes += bytes;
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const [oldestName, oldest] = this.#entries.entries().next().value ?? [];
      if (oldestName === undefined || oldest === undefined) break;
      this.#remove(oldestName, oldest);
    }
    return { parsed, fresh: true };
  }

  #remove(name: string, entry: Entry): void {
    this.#entries.delete(name);
    this.#bytes -= entry.bytes;
  }
}
