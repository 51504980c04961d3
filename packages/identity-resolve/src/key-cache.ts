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
}

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
 * path only compares the answer with the one it parsed last. Bounded: the oldest name goes
 * first once `maxEntries` is reached; answers with no usable key are never kept.
 */
export class ParsedIdentityCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  /** @param maxEntries - names kept (default 10 000, as the resolver cache). */
  constructor(maxEntries = 10_000) {
    this.#maxEntries = maxEntries;
  }

  /** The parsed identity of `records` at `name`, parsing only when the answer changed. */
  get(name: string, records: readonly (readonly string[])[]): { parsed: ParsedIdentity; fresh: boolean } {
    const entry = this.#entries.get(name);
    if (entry !== undefined && sameRecords(entry.records, records))
      return { parsed: entry.parsed, fresh: false };
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
    this.#entries.delete(name);
    this.#entries.set(name, { records, parsed });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return { parsed, fresh: true };
  }
}
