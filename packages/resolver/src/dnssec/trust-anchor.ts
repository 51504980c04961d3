/**
 * Trust anchors: the DS or DNSKEY records an operator trusts without proof, in presentation
 * format (what `dig DS`, `keymgr ds`, `ldns-key2ds` and IANA's root-anchors print).
 */
import { canonicalDnsName } from '../query-name.js';
import type { DnskeyData, DsData } from './wire.js';

/** The DS or DNSKEY records trusted for one zone. */
export interface TrustAnchor {
  /** Zone, canonical (lower case, no trailing dot; `''` for the root). */
  readonly zone: string;
  readonly ds: readonly DsData[];
  readonly dnskeys: readonly DnskeyData[];
}

/**
 * The IANA root zone's key-signing keys as DS records (https://data.iana.org/root-anchors/):
 * KSK-2017 (20326) and KSK-2024 (38696), both RSA/SHA-256.
 */
export const IANA_ROOT_ANCHORS: readonly string[] = Object.freeze([
  '. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D',
  '. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16',
]);

const anchorError = (line: string, why: string): TypeError =>
  new TypeError(`resolver option trustAnchors: "${line.trim().slice(0, 80)}": ${why}`);

const integer = (text: string | undefined, max: number, line: string, field: string): number => {
  const value = text !== undefined && /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(value) || value > max)
    throw anchorError(line, `${field} must be an integer 0..${max}`);
  return value;
};

/**
 * Parses trust anchor lines (`<zone> [<ttl>] [IN] DS <tag> <alg> <digest type> <hex>` or
 * `<zone> [<ttl>] [IN] DNSKEY <flags> 3 <alg> <base64>`), grouped by zone. Blank lines and
 * `;` comments are ignored.
 * @throws {TypeError} naming the line that is not a DS or DNSKEY record (as other resolver options).
 */
export const parseTrustAnchors = (lines: readonly string[]): TrustAnchor[] => {
  const byZone = new Map<string, { ds: DsData[]; dnskeys: DnskeyData[] }>();
  for (const raw of lines.flatMap((entry) => entry.split('\n'))) {
    const line = raw.replace(/;.*$/, '').trim();
    if (line === '') continue;
    const fields = line.split(/\s+/);
    const owner = fields.shift() ?? '';
    if (/^[0-9]+$/.test(fields[0] ?? '')) fields.shift(); // TTL
    if ((fields[0] ?? '').toUpperCase() === 'IN') fields.shift();
    const type = (fields.shift() ?? '').toUpperCase();
    const zone = canonicalDnsName(owner);
    if (!/^[a-z0-9_.-]*$/.test(zone) || zone.startsWith('.') || zone.includes('..')) {
      throw anchorError(raw, 'the owner is not a domain name');
    }
    const entry = byZone.get(zone) ?? { ds: [], dnskeys: [] };
    if (type === 'DS') {
      const [tag, algorithm, digestType, ...hex] = fields;
      const digest = hex.join('');
      if (!/^([0-9a-fA-F]{2})+$/.test(digest)) throw anchorError(raw, 'the digest must be hexadecimal');
      entry.ds.push({
        keyTag: integer(tag, 0xffff, raw, 'key tag'),
        algorithm: integer(algorithm, 255, raw, 'algorithm'),
        digestType: integer(digestType, 255, raw, 'digest type'),
        digest: Buffer.from(digest, 'hex'),
      });
    } else if (type === 'DNSKEY') {
      const [flags, protocol, algorithm, ...base64] = fields;
      if (protocol !== '3') throw anchorError(raw, 'the DNSKEY protocol must be 3');
      const key = Buffer.from(base64.join(''), 'base64');
      if (key.length === 0) throw anchorError(raw, 'the DNSKEY has no key');
      entry.dnskeys.push({
        flags: integer(flags, 0xffff, raw, 'flags'),
        algorithm: integer(algorithm, 255, raw, 'algorithm'),
        key,
      });
    } else {
      throw anchorError(raw, 'expected a DS or DNSKEY record');
    }
    byZone.set(zone, entry);
  }
  return [...byZone].map(([zone, { ds, dnskeys }]) => Object.freeze({ zone, ds, dnskeys }));
};
