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

/** Types whose RDATA names are lower-cased in canonical form (RFC 4034 §6.2 as amended by RFC 6840 §5.1). */
const NAME_IN_RDATA = new Set(['CNAME', 'NS', 'PTR', 'DNAME']);

/**
 * RDATA of `record` in canonical form, without its length prefix.
 * @throws {Error} for a type this validator does not sign-check (callers only pass known types).
 */
export const canonicalRdata = (record: DnsRecord): Buffer => {
  const type = record.type;
  let data = record.data;
  if (NAME_IN_RDATA.has(type) && typeof data === 'string') data = foldCase(data);
  const encoder = dnsPacket[type.toLowerCase()] as RdataCodec | undefined;
  if (encoder === undefined) throw new Error(`no canonical RDATA for ${type}`);
  // dns-packet's RDATA encoders write the 2-byte RDLENGTH first.
  return encoder.encode(data).subarray(2);
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
