import type { DnsRecord } from './types.js';

/**
 * What the cache's byte budgets (`maxBytes`, `maxNegativeBytes`) count for one entry: an
 * estimate of the memory it holds, from its content alone (cheap, deterministic). Calibrated
 * against V8 heap and ArrayBuffer use on Node 22 (see `cache-budget.test.ts`).
 */
export const SIZE_ESTIMATE = Object.freeze({
  /** Per entry: map slot, key string header, entry and answer objects, frozen arrays. */
  entry: 400,
  /** Per RR: the record object and its owner name's string header. */
  record: 120,
  /** Per TXT character-string (and other RDATA field): a Buffer view and a decoded string's header. */
  part: 160,
});

/** Estimated bytes of RDATA as the resolver keeps it. */
const dataBytes = (data: unknown, depth = 0): number => {
  if (Buffer.isBuffer(data)) return SIZE_ESTIMATE.part + data.length;
  if (typeof data === 'string') return 16 + data.length;
  if (typeof data !== 'object' || data === null || depth > 2) return 8;
  let bytes = 0;
  for (const value of Array.isArray(data) ? data : Object.values(data)) bytes += dataBytes(value, depth + 1);
  return bytes;
};

/** What {@link estimateEntryBytes} reads of a cached answer. */
export interface SizedAnswer {
  answers: readonly DnsRecord[];
  cnameChain: readonly string[];
  /** Decoded TXT strings (a second copy of the TXT bytes), `[]` for other types. */
  txt: readonly (readonly string[])[];
}

/**
 * Estimated bytes of one cache entry: its key, the names and RDATA bytes of its records (TXT
 * bytes count twice: the wire bytes and the decoded strings), its CNAME chain, and the fixed
 * overheads of {@link SIZE_ESTIMATE}.
 */
export const estimateEntryBytes = (key: string, answer: SizedAnswer): number => {
  let bytes = SIZE_ESTIMATE.entry + key.length;
  for (const record of answer.answers) {
    bytes += SIZE_ESTIMATE.record + record.name.length + dataBytes(record.data);
  }
  for (const target of answer.cnameChain) bytes += 16 + target.length;
  for (const strings of answer.txt) for (const text of strings) bytes += 16 + Buffer.byteLength(text);
  return bytes;
};
