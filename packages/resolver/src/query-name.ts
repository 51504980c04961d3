import { DnsError } from './errors.js';

/** Longest name in presentation form without the trailing dot (255 wire bytes, RFC 1035 §3.1). */
const MAX_NAME_LENGTH = 253;
/**
 * A label as the resolver will put it on the wire: 1..63 printable ASCII characters other
 * than `.` and `\`. dns-packet writes labels verbatim, so anything else would go out corrupt.
 */
const LABEL = /^[\x21-\x2d\x2f-\x5b\x5d-\x7e]{1,63}$/;

/** Types the resolver can ask for: the data types dns-packet decodes (no OPT, zone transfers or meta types). */
export const QUERY_TYPES: ReadonlySet<string> = new Set([
  'A',
  'AAAA',
  'CAA',
  'CNAME',
  'DNSKEY',
  'DS',
  'HINFO',
  'MX',
  'NAPTR',
  'NS',
  'NSEC',
  'NSEC3',
  'PTR',
  'RRSIG',
  'SOA',
  'SRV',
  'SSHFP',
  'TLSA',
  'TXT',
]);

const NON_ASCII = /[\u0080-\uffff]/;

/** Lower-cases ASCII letters only, as DNS compares names (RFC 4343). */
export const foldCase = (name: string): string =>
  // ASCII-only (every valid name, every 0x20 reply): the native lower-casing is the same fold and
  // ten times faster; anything else only has its ASCII letters folded (toLowerCase would fold more).
  NON_ASCII.test(name) ? name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase()) : name.toLowerCase();

/**
 * A name as received (from a reply, a record, a trust anchor) in canonical form: ASCII letters
 * folded, trailing dot dropped, the root `''`. Unlike {@link canonicalQueryName} it checks nothing.
 */
export const canonicalDnsName = (name: string): string => {
  const folded = foldCase(name);
  return folded.endsWith('.') ? folded.slice(0, -1) : folded;
};

const validated = (canonical: string): boolean =>
  canonical.length > 0 &&
  canonical.length <= MAX_NAME_LENGTH &&
  canonical.split('.').every((l) => LABEL.test(l));

/**
 * Canonical form of a query name (lower case, no trailing dot; the root `.` is `''`).
 * @throws {DnsError} `invalid_name` when it cannot be put on the wire.
 */
export const canonicalQueryName = (name: unknown): string => {
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH + 1) {
    throw new DnsError('invalid_name', 'name must be a DNS name of 1..253 characters');
  }
  const folded = foldCase(name);
  // The root, '.', whose keys a validating lookup asks for; canonically the empty name.
  if (folded === '.') return '';
  const canonical = folded.endsWith('.') ? folded.slice(0, -1) : folded;
  if (!validated(canonical)) {
    throw new DnsError('invalid_name', 'name must be labels of 1..63 printable ASCII characters');
  }
  return canonical;
};

/**
 * Upper-case record type.
 * @throws {TypeError} when the resolver cannot query that type.
 */
export const queryType = (type: unknown): string => {
  const upper = typeof type === 'string' ? type.toUpperCase() : '';
  if (!QUERY_TYPES.has(upper)) {
    throw new TypeError(`unsupported DNS record type ${JSON.stringify(String(type)).slice(0, 20)}`);
  }
  return upper;
};
