/**
 * DNSSEC wire forms (RFC 4034): canonical names and RDATA, the data an RRSIG signs, key tags and
 * DS digests. Encoding is dns-packet's; this file only adds the canonical rules on top.
 */
import { createHash } from 'node:crypto';
import dnsPacketModule from '#dns-packet';
import { canonicalDnsName, foldCase } from '../query-name.js';
import type { DnsRecord } from '../types.js';

/** RRSIG RDATA as dns-packet decodes it. */
export interface RrsigData {
  typeCovered: string;
  algorithm: number;
  labels: number;
  originalTTL: number;
  expiration: number;
  inception: number;
  keyTag: number;
  signersName: string;
  signature: Buffer;
}

/** DNSKEY RDATA as dns-packet decodes it. */
export interface DnskeyData {
  flags: number;
  algorithm: number;
  key: Buffer;
}

/** DS RDATA as dns-packet decodes it. */
export interface DsData {
  keyTag: number;
  algorithm: number;
  digestType: number;
  digest: Buffer;
}

/** DNSKEY flags (RFC 4034 §2.1.1): the Zone Key bit must be set for a key that signs a zone. */
export const ZONE_KEY_FLAG = 0x0100;
/** The REVOKE bit (RFC 5011): a revoked key signs nothing. */
export const REVOKE_FLAG = 0x0080;

const CLASS_IN = 1;

/** dns-packet's per-type RDATA codecs, which its typings do not declare. */
interface RdataCodec {
  encode(data: unknown): Buffer;
}
const dnsPacket = dnsPacketModule as unknown as Record<string, RdataCodec> & {
  name: RdataCodec;
  rrsig: RdataCodec;
  dnskey: RdataCodec;
};

/** A name in canonical wire form (RFC 4034 §6.2): lower case, uncompressed, root label last. */
export const canonicalNameWire = (name: string): Buffer =>
  dnsPacket.name.encode(canonicalDnsName(name) || '.');

/** Number of labels of a name, the root not counted (`*` counted: RFC 4034 §3.1.3 excludes it from RRSIG labels). */
export const labelCount = (name: string): number => {
  const trimmed = name.replace(/\.$/, '');
  return trimmed === '' ? 0 : trimmed.split('.').length;
};

/** True when `name` is `ancestor` or below it (canonical names, no trailing dot; '' is the root). */
export const isAtOrBelow = (name: string, ancestor: string): boolean =>
  ancestor === '' || name === ancestor || name.endsWith(`.${ancestor}`);

/**
 * One field of RDATA on the way to its last domain name: that many octets of fixed size, a domain
 * name, a <character-string> (RFC 1035 §3.3: a length octet, then that many octets), or A6's
 * prefix length, address suffix and prefix name (RFC 2874 §3.1.1: the name only for a prefix
 * length above 0, after the 128 bits minus the prefix, rounded up to octets).
 */
type RdataField = number | 'name' | 'string' | 'a6';

/**
 * The types whose RDATA names RFC 4034 §6.2 item 3 lower-cases, as RFC 6840 §5.1 amends it: NSEC
 * is off the list (its next name keeps its case), and HINFO, listed twice, holds no name. Each
 * has its fields up to its last name; what follows (SOA's counters, a signature, NXT's bitmap) is
 * copied as it is. Keyed by type as dns-packet spells it: its mnemonic, or `UNKNOWN_<code>` for
 * the types it has none for, whose RDATA it hands out as the octets received.
 */
const NAME_LAYOUTS: ReadonlyMap<string, readonly RdataField[]> = new Map<string, readonly RdataField[]>([
  ['NS', ['name']],
  ['UNKNOWN_3', ['name']], // MD (RFC 1035 §3.3.4)
  ['UNKNOWN_4', ['name']], // MF (RFC 1035 §3.3.5)
  ['CNAME', ['name']],
  ['SOA', ['name', 'name']], // MNAME, RNAME, then five 32-bit fields (RFC 1035 §3.3.13)
  ['UNKNOWN_7', ['name']], // MB (RFC 1035 §3.3.3)
  ['UNKNOWN_8', ['name']], // MG (RFC 1035 §3.3.6)
  ['UNKNOWN_9', ['name']], // MR (RFC 1035 §3.3.8)
  ['PTR', ['name']],
  ['UNKNOWN_14', ['name', 'name']], // MINFO: RMAILBX, EMAILBX (RFC 1035 §3.3.7)
  ['MX', [2, 'name']], // preference, exchange (RFC 1035 §3.3.9)
  ['RP', ['name', 'name']], // mbox, txt (RFC 1183 §2.2)
  ['AFSDB', [2, 'name']], // subtype, hostname (RFC 1183 §1)
  ['UNKNOWN_21', [2, 'name']], // RT: preference, intermediate host (RFC 1183 §3.3)
  ['SIG', [18, 'name']], // signer's name after 18 fixed octets (RFC 2535 §4.1)
  ['UNKNOWN_26', [2, 'name', 'name']], // PX: preference, MAP822, MAPX400 (RFC 2163 §4)
  ['UNKNOWN_30', ['name']], // NXT: next name, then its type bitmap (RFC 2535 §5.2)
  ['SRV', [6, 'name']], // priority, weight, port, target (RFC 2782)
  // NAPTR: order, preference, flags, services, regexp, replacement (RFC 3403 §4.1)
  ['NAPTR', [4, 'string', 'string', 'string', 'name']],
  ['KX', [2, 'name']], // preference, exchanger (RFC 2230 §3.1)
  ['UNKNOWN_38', ['a6']], // A6 (RFC 2874 §3.1.1)
  ['DNAME', ['name']],
  ['RRSIG', [18, 'name']], // signer's name after 18 fixed octets (RFC 4034 §3.1)
]);

/** Highest A6 prefix length (RFC 2874 §3.1.1): the bits of an IPv6 address. */
const A6_MAX_PREFIX = 128;

/**
 * `rdata` with the ASCII letters of the names at `fields` lower-cased (a copy).
 * @throws {Error} for RDATA that ends before its fields do, or a name that is not a plain
 * sequence of labels: a compression pointer (RFC 1035 §4.1.4), which RFC 3597 §4 lets a server
 * use in RDATA of the RFC 1035 types and which could only be followed in the whole message, or an
 * extended label type. Canonical names are uncompressed (RFC 4034 §6.2 item 2).
 */
const lowerCaseNames = (type: string, rdata: Buffer, fields: readonly RdataField[]): Buffer => {
  const out = Buffer.from(rdata);
  let offset = 0;
  const take = (octets: number): void => {
    if (offset + octets > out.length) throw new Error(`${type} RDATA ends inside a field`);
    offset += octets;
  };
  const name = (): void => {
    for (;;) {
      const length = out[offset];
      take(1);
      if (length === 0) return;
      // Above 63, the top two bits are set: a pointer (0b11) or an extended label type (0b01, 0b10).
      if (length! > 63) throw new Error(`${type} RDATA holds a compression pointer or an extended label`);
      const label = offset;
      take(length!);
      for (let i = label; i < offset; i++) {
        const octet = out[i]!;
        if (octet >= 0x41 && octet <= 0x5a) out[i] = octet | 0x20;
      }
    }
  };
  for (const field of fields) {
    if (typeof field === 'number') take(field);
    else if (field === 'name') name();
    else if (field === 'string') take(1 + (out[offset] ?? 0));
    else {
      const prefix = out[offset] ?? 0;
      if (prefix > A6_MAX_PREFIX) throw new Error(`${type} RDATA has a prefix length above 128`);
      take(1 + Math.ceil((A6_MAX_PREFIX - prefix) / 8));
      if (prefix > 0) name();
    }
  }
  return out;
};

/** RDATA of `record` on the wire (uncompressed, case as received), without its length prefix. */
const rdataWire = (record: DnsRecord): Buffer => {
  const encoder = dnsPacket[record.type.toLowerCase()] as RdataCodec | undefined;
  // dns-packet's RDATA encoders write the 2-byte RDLENGTH first.
  if (encoder !== undefined) return encoder.encode(record.data).subarray(2);
  // A type dns-packet has no codec for: it decodes to the RDATA octets as received.
  if (Buffer.isBuffer(record.data)) return record.data;
  throw new Error(`no canonical RDATA for ${record.type}`);
};

/**
 * RDATA of `record` in canonical form (RFC 4034 §6.2), without its length prefix: on the wire,
 * names uncompressed, and the ASCII letters of the names inside lower-cased for the types listed
 * there as amended by RFC 6840 §5.1. Any other type's RDATA is taken as it is (RFC 3597 §7).
 * @throws {Error} for a type with neither a dns-packet codec nor raw RDATA, or RDATA whose names
 * cannot be put in canonical form (cut short, or compressed).
 */
export const canonicalRdata = (record: DnsRecord): Buffer => {
  const wire = rdataWire(record);
  const fields = NAME_LAYOUTS.get(record.type);
  return fields === undefined ? wire : lowerCaseNames(record.type, wire, fields);
};

const u16 = (value: number): Buffer => {
  const buffer = Buffer.allocUnsafe(2);
  buffer.writeUInt16BE(value);
  return buffer;
};

const u32 = (value: number): Buffer => {
  const buffer = Buffer.allocUnsafe(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
};

/**
 * The bytes an RRSIG signs (RFC 4034 §3.1.8.1): its RDATA up to the signature (signer name
 * canonical), then every RR of the RRset in canonical form and order (§6.3: sorted by canonical
 * RDATA, duplicates removed), each with the RRSIG's original TTL. `owner` is the RRset's owner
 * name; wildcard-expanded RRsets are refused before this is called.
 */
export const signedData = (rrsig: RrsigData, owner: string, rrset: readonly DnsRecord[]): Buffer => {
  // RRSIG RDATA without the signature, signer name lower-cased: dns-packet's encoding of it.
  const header = dnsPacket.rrsig
    .encode({ ...rrsig, signersName: foldCase(rrsig.signersName) || '.', signature: Buffer.alloc(0) })
    .subarray(2);
  const ownerWire = canonicalNameWire(owner);
  // TYPE is the covered type's code, the first two bytes of the header.
  const fixed = Buffer.concat([ownerWire, header.subarray(0, 2), u16(CLASS_IN), u32(rrsig.originalTTL)]);
  const rdatas = rrset.map(canonicalRdata).sort(Buffer.compare);
  const parts: Buffer[] = [header];
  let previous: Buffer | undefined;
  for (const rdata of rdatas) {
    if (previous?.equals(rdata)) continue;
    parts.push(fixed, u16(rdata.length), rdata);
    previous = rdata;
  }
  return Buffer.concat(parts);
};

/** DNSKEY RDATA in wire form (flags, protocol 3, algorithm, key). */
export const dnskeyRdata = (key: DnskeyData): Buffer => dnsPacket.dnskey.encode(key).subarray(2);

/** Key tag of a DNSKEY (RFC 4034 Appendix B; algorithm 1 does not occur: it is unsupported). */
export const keyTag = (key: DnskeyData): number => {
  const rdata = dnskeyRdata(key);
  let sum = 0;
  for (let i = 0; i < rdata.length; i++) sum += i & 1 ? rdata[i]! : rdata[i]! << 8;
  sum += (sum >> 16) & 0xffff;
  return sum & 0xffff;
};

/** Digest types this validator computes (RFC 4509 SHA-256, RFC 6605 SHA-384); SHA-1 is not accepted. */
export const DIGEST_ALGORITHMS: ReadonlyMap<number, string> = new Map([
  [2, 'sha256'],
  [4, 'sha384'],
]);

/** Whether `ds` is the digest of `key` at `owner` (RFC 4034 §5.1.4); false for an unsupported digest type. */
export const dsMatches = (ds: DsData, owner: string, key: DnskeyData): boolean => {
  const algorithm = DIGEST_ALGORITHMS.get(ds.digestType);
  if (algorithm === undefined || ds.algorithm !== key.algorithm || ds.keyTag !== keyTag(key)) return false;
  const digest = createHash(algorithm).update(canonicalNameWire(owner)).update(dnskeyRdata(key)).digest();
  return digest.length === ds.digest.length && digest.equals(ds.digest);
};
