import type { Answer } from '#dns-packet';
import { DnsError } from './errors.js';
import type { Reply } from './message.js';
import { canonicalDnsName } from './query-name.js';
import type { DnsRecord } from './types.js';

/** Most CNAMEs followed from the queried name (RFC 1034 only asks for "bounded"; BIND uses 16, we need few). */
export const MAX_CNAME_HOPS = 8;

/** A NOERROR or NXDOMAIN reply, reduced to what the resolver caches. */
export interface InterpretedAnswer {
  /** `answer` when records of the queried type were found at the end of the chain. */
  kind: 'answer' | 'nxdomain' | 'nodata';
  rcode: string;
  /** Records of the queried type at the end of the chain (frozen). */
  answers: readonly DnsRecord[];
  /** CNAME targets followed (frozen). */
  cnameChain: readonly string[];
  /**
   * Unclamped TTL, seconds: the smallest TTL of the answer and chain records, or for a negative
   * answer min(SOA TTL, SOA MINIMUM) per RFC 2308 §5 (capped by the chain's TTLs);
   * `undefined` for a negative answer without SOA, which must not be cached.
   */
  ttl: number | undefined;
  /** With `withDnssec`: the records DNSSEC validation needs (frozen). */
  dnssec?: DnssecRecords;
}

/** The DNSSEC records of a reply, kept for in-process validation. */
export interface DnssecRecords {
  /** The CNAME RRs of the chain, in order. */
  readonly aliases: readonly DnsRecord[];
  /** RRSIG RRs of the answer section whose owner is on the chain. */
  readonly signatures: readonly DnsRecord[];
  /** NSEC, SOA and RRSIG RRs of the authority section. */
  readonly authority: readonly DnsRecord[];
}

const AUTHORITY_TYPES = new Set(['NSEC', 'SOA', 'RRSIG']);

const canonical = (name: unknown): string => canonicalDnsName(typeof name === 'string' ? name : '');

const isIn = (record: Answer): boolean => record.type !== 'OPT' && record.class === 'IN';

/**
 * RDATA with its Buffers copied out of the reply: dns-packet decodes them as views of the whole
 * message, which a cached answer would otherwise keep alive (up to 64 KiB over TCP) beyond what
 * the cache's byte estimate counts. The character-strings of a TXT RR share one exact-size copy.
 */
const detached = (data: unknown): unknown => {
  if (Buffer.isBuffer(data)) return Buffer.from(data);
  if (Array.isArray(data) && data.every((part) => Buffer.isBuffer(part))) {
    const parts = data as Buffer[];
    const copy = Buffer.allocUnsafeSlow(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    return parts.map((part) => {
      part.copy(copy, offset);
      offset += part.length;
      return copy.subarray(offset - part.length, offset);
    });
  }
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    return Object.fromEntries(Object.entries(data).map(([field, value]) => [field, detached(value)]));
  }
  return data;
};

const toRecord = (record: Answer): DnsRecord =>
  Object.freeze({
    name: canonical(record.name),
    type: record.type,
    ttl: record.type === 'OPT' ? 0 : (record.ttl ?? 0),
    data: record.type === 'OPT' ? undefined : detached(record.data),
  });

/**
 * Reads a NOERROR/NXDOMAIN reply for `name`/`type`: follows the CNAME chain found in the answer
 * section (records for names off the chain are ignored) and derives the TTL.
 * @throws {DnsError} `cname_loop` when the chain loops or is longer than {@link MAX_CNAME_HOPS}.
 */
export const interpretAnswer = (
  packet: Reply,
  name: string,
  type: string,
  withDnssec = false,
): InterpretedAnswer => {
  const answers = (packet.answers ?? []).filter(isIn);
  const aliases: Answer[] = [];
  const dnssecOf = (): { dnssec?: DnssecRecords } => {
    if (!withDnssec) return {};
    const owners = new Set([name, ...chain]);
    return {
      dnssec: Object.freeze({
        aliases: Object.freeze(aliases.map(toRecord)),
        signatures: Object.freeze(
          answers
            .filter((record) => record.type === 'RRSIG' && owners.has(canonical(record.name)))
            .map(toRecord),
        ),
        authority: Object.freeze(
          (packet.authorities ?? [])
            .filter((record) => isIn(record) && AUTHORITY_TYPES.has(record.type))
            .map(toRecord),
        ),
      }),
    };
  };
  const rcode = packet.rcode ?? 'NOERROR';
  const chain: string[] = [];
  const seen = new Set([name]);
  let current = name;
  let chainTtl = Number.POSITIVE_INFINITY;
  for (;;) {
    const found = answers.filter((record) => record.type === type && canonical(record.name) === current);
    if (found.length > 0) {
      const records = found.map(toRecord);
      const ttl = Math.min(chainTtl, ...records.map((record) => record.ttl));
      return {
        kind: 'answer',
        rcode: 'NOERROR',
        answers: Object.freeze(records),
        cnameChain: Object.freeze(chain),
        ttl,
        ...dnssecOf(),
      };
    }
    if (type === 'CNAME') break;
    const alias = answers.find((record) => record.type === 'CNAME' && canonical(record.name) === current);
    if (alias === undefined || alias.type !== 'CNAME') break;
    const target = canonical(alias.data);
    if (seen.has(target) || chain.length >= MAX_CNAME_HOPS) {
      throw new DnsError('cname_loop', `CNAME chain loops or exceeds ${MAX_CNAME_HOPS} hops`);
    }
    chain.push(target);
    aliases.push(alias);
    seen.add(target);
    chainTtl = Math.min(chainTtl, alias.ttl ?? 0);
    current = target;
  }
  const soa = (packet.authorities ?? []).find((record) => record.type === 'SOA' && record.class === 'IN');
  const soaTtl = soa?.type === 'SOA' ? Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0, chainTtl) : undefined;
  return {
    kind: rcode === 'NXDOMAIN' ? 'nxdomain' : 'nodata',
    rcode,
    answers: Object.freeze([]),
    cnameChain: Object.freeze(chain),
    ttl: soaTtl,
    ...dnssecOf(),
  };
};
