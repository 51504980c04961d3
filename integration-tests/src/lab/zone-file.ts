/** One TXT resource record; several with one owner form an RRset. */
export interface TxtRecord {
  /** Absolute owner name, without the trailing dot, e.g. `billing.prod.auth.nhi.test`. */
  name: string;
  /** Character-strings of the RR, each at most 255 bytes (use an identity's `.strings`). */
  strings: readonly string[];
  /** TTL in seconds. Default: the zone's {@link ZoneContent.recordTtl}. */
  ttl?: number;
}

/** What goes into one zone file. */
export interface ZoneContent {
  /** Zone apex, e.g. `auth.nhi.test`. */
  origin: string;
  /** SOA serial; bump it for every change so that secondaries and signers notice. */
  serial: number;
  /** TXT records, all inside the zone. */
  records: readonly TxtRecord[];
  /** Default TTL of the TXT records, seconds. Default 1, so that TTL-expiry tests stay fast. */
  recordTtl?: number;
}

/** TTL of SOA and NS, and the negative-caching TTL (SOA minimum), seconds. */
const INFRASTRUCTURE_TTL = 60;
const NEGATIVE_TTL = 1;

/**
 * A TXT character-string in zone-file presentation form: quoted, `"` and `\` escaped, bytes
 * outside printable ASCII as `\DDD` (RFC 1035 §5.1), so any UTF-8 value round-trips.
 */
export const presentTxtString = (value: string): string => {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > 255) throw new RangeError(`TXT character-string of ${bytes.length} bytes (max 255)`);
  let text = '';
  for (const byte of bytes) {
    if (byte === 0x22 || byte === 0x5c) text += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\${byte.toString().padStart(3, '0')}`;
  }
  return `"${text}"`;
};

/** Owner of a record in canonical form: lower case, no trailing dot. */
export const ownerOf = (record: TxtRecord): string => record.name.toLowerCase().replace(/\.$/, '');

/** One TXT record as a zone-file line with an absolute owner name. */
export const renderTxtRecord = (record: TxtRecord, defaultTtl: number): string =>
  `${ownerOf(record)}. ${record.ttl ?? defaultTtl} IN TXT ${record.strings.map(presentTxtString).join(' ')}`;

const isInside = (name: string, origin: string): boolean => name === origin || name.endsWith(`.${origin}`);

/**
 * Renders a zone file: SOA, one in-zone name server with glue on loopback, and the TXT records.
 * @throws {RangeError} for a record outside the zone or an over-long string.
 */
export const renderZoneFile = (zone: ZoneContent): string => {
  const origin = zone.origin.toLowerCase();
  const recordTtl = zone.recordTtl ?? 1;
  const lines = [
    `$ORIGIN ${origin}.`,
    `@ ${INFRASTRUCTURE_TTL} IN SOA ns1.${origin}. hostmaster.${origin}. ${zone.serial} 3600 600 86400 ${NEGATIVE_TTL}`,
    `@ ${INFRASTRUCTURE_TTL} IN NS ns1.${origin}.`,
    `ns1 ${INFRASTRUCTURE_TTL} IN A 127.0.0.1`,
  ];
  for (const record of zone.records) {
    if (!isInside(ownerOf(record), origin)) throw new RangeError(`${record.name} is outside zone ${origin}`);
    lines.push(renderTxtRecord(record, recordTtl));
  }
  return `${lines.join('\n')}\n`;
};
