import { randomFillSync } from 'node:crypto';
import dnsPacket, { type DecodedPacket, type Packet, type RecordType } from '#dns-packet';
import { foldCase } from './query-name.js';

/**
 * EDNS0 UDP payload size we advertise: the DNS Flag Day 2020 value, small enough to avoid IP
 * fragmentation (and the spoofing it allows) on every common path.
 */
export const EDNS_UDP_PAYLOAD_SIZE = 1232;

/** The question a query asks, and so the question a reply must carry. */
export interface QuerySpec {
  /** Canonical name. */
  name: string;
  /** Upper-case type. */
  type: string;
  /** Set the EDNS DO bit. */
  dnssec: boolean;
  /** Set the CD bit: the resolver passes on data that fails its own validation, for ours to judge. */
  checkingDisabled?: boolean;
}

/** A query ready to send: its packet and the random ID (and name case) the reply must echo. */
export interface PreparedQuery extends QuerySpec {
  id: number;
  packet: Packet;
  /** The name as sent: `name` with the letter case chosen for this query (DNS 0x20). */
  wireName: string;
  /**
   * The question name in wire form (labels, final 0) when the reply must echo it byte for byte
   * (case randomised); `undefined` when the name is compared case-insensitively.
   */
  exactName: Buffer | undefined;
}

/** Number of ASCII letters in `name`: the bits that DNS 0x20 adds to what a spoofer must guess. */
export const caseRandomizationBits = (name: string): number => name.match(/[a-z]/gi)?.length ?? 0;

/**
 * Crypto-random bytes for query IDs and DNS 0x20, handed out from a small buffer that
 * `randomFillSync` refills: one syscall per few dozen queries instead of two per query (the
 * profile of a cold lookup showed `randomBytes`, `randomInt` and the case regex at ~12 µs).
 */
const randomPool = Buffer.alloc(512);
let randomUsed = randomPool.length;
const randomByte = (): number => {
  if (randomUsed === randomPool.length) {
    randomFillSync(randomPool);
    randomUsed = 0;
  }
  return randomPool[randomUsed++]!;
};

/** A fresh crypto-random 16-bit query ID. */
const randomId = (): number => (randomByte() << 8) | randomByte();

/** A name in DNS 0x20 case, as text and in wire form (labels, final 0), made in one pass. */
interface CasedName {
  readonly text: string;
  readonly wire: Buffer;
}

/**
 * DNS 0x20 (draft-vixie-dnsext-dns0x20): each ASCII letter of `name` (labels of printable ASCII,
 * as canonicalQueryName leaves them; `''` is the root) in upper or lower case by one
 * crypto-random bit, with the wire form the reply must echo byte for byte.
 */
const caseRandomized = (name: string): CasedName => {
  const wire = Buffer.allocUnsafe(name.length + 2);
  let text = '';
  let bits = 0;
  let left = 0;
  let lengthAt = 0;
  let at = 1;
  for (let i = 0; i < name.length; i++) {
    let code = name.charCodeAt(i);
    if (code === 0x2e) {
      wire[lengthAt] = at - lengthAt - 1;
      lengthAt = at++;
      text += '.';
      continue;
    }
    if ((code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a)) {
      if (left === 0) {
        bits = randomByte();
        left = 8;
      }
      code = bits & 1 ? code & ~0x20 : code | 0x20;
      bits >>= 1;
      left--;
    }
    wire[at++] = code;
    text += String.fromCharCode(code);
  }
  if (name.length === 0) return { text, wire: Buffer.from([0]) };
  wire[lengthAt] = at - lengthAt - 1;
  wire[at++] = 0;
  return { text, wire: wire.subarray(0, at) };
};

/**
 * Builds a recursive query with a fresh crypto-random ID and an EDNS0 OPT record. With
 * `caseRandomization`, the name goes out in random letter case (DNS 0x20), and {@link checkReply}
 * then wants it echoed byte for byte.
 */
export const prepareQuery = (spec: QuerySpec, caseRandomization = false): PreparedQuery => {
  const id = randomId();
  const cased = caseRandomization ? caseRandomized(spec.name) : undefined;
  const wireName = cased?.text ?? spec.name;
  const packet: Packet = {
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED | (spec.checkingDisabled === true ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name: wireName, type: spec.type as RecordType, class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: EDNS_UDP_PAYLOAD_SIZE,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: spec.dnssec ? dnsPacket.DNSSEC_OK : 0,
        flag_do: spec.dnssec,
        options: [],
      },
    ],
  };
  // A literal, not `{ ...spec, id, ... }`: on V8 a spread followed by new keys takes a slow path
  // (about 4 µs here for four keys, against 30 ns), on every query.
  return {
    name: spec.name,
    type: spec.type,
    dnssec: spec.dnssec,
    checkingDisabled: spec.checkingDisabled === true,
    id,
    packet,
    wireName,
    exactName: cased?.wire,
  };
};

/** A decoded reply; dns-packet's decoder sets `rcode` and `opcode`, which its typings omit. */
export type Reply = DecodedPacket & { rcode: string; opcode: string };

/**
 * Why a datagram or TCP message was not accepted as the reply. `case`: everything matched but
 * the letter case of the question name, sent in DNS 0x20 case (see {@link ReplyCheck}).
 */
export type RejectReason = 'short' | 'id' | 'not_response' | 'undecodable' | 'opcode' | 'question' | 'case';

/**
 * Result of {@link checkReply}. A `case` rejection carries the decoded reply: over TCP, where an
 * off-path spoofer cannot inject, it is the server's own answer and proves that the path to the
 * server does not preserve letter case; over UDP it is never used (a spoofer could have sent it).
 */
export type ReplyCheck =
  | { ok: true; packet: Reply }
  | { ok: false; reason: Exclude<RejectReason, 'case'> }
  | { ok: false; reason: 'case'; packet: Reply };

/**
 * Decides whether `message` is the reply to `query`: same ID, a response, opcode QUERY, and
 * exactly our question (type, class IN, and the name byte for byte as sent when its case was
 * randomised, else case-insensitively). A reply right in all but the name's letter case is told
 * apart (`case`) from one with another question. Cheap header checks come before decoding, so
 * floods of wrong-ID packets cost little. Never throws.
 */
export const checkReply = (message: Buffer, query: PreparedQuery): ReplyCheck => {
  if (message.length < 12) return { ok: false, reason: 'short' };
  if (message.readUInt16BE(0) !== query.id) return { ok: false, reason: 'id' };
  if ((message[2]! & 0x80) === 0) return { ok: false, reason: 'not_response' };
  let packet: Reply;
  try {
    packet = dnsPacket.decode(message) as Reply;
  } catch {
    return { ok: false, reason: 'undecodable' };
  }
  if (packet.opcode !== 'QUERY') return { ok: false, reason: 'opcode' };
  const questions = packet.questions ?? [];
  const question = questions[0];
  if (
    questions.length !== 1 ||
    question === undefined ||
    typeof question.name !== 'string' ||
    foldCase(question.name.endsWith('.') ? question.name.slice(0, -1) : question.name) !== query.name ||
    question.type !== query.type ||
    question.class !== 'IN'
  ) {
    return { ok: false, reason: 'question' };
  }
  // The question is the message's first name, right after the header: compared on the wire.
  const exact = query.exactName;
  if (
    exact !== undefined &&
    (message.length < 12 + exact.length || !exact.equals(message.subarray(12, 12 + exact.length)))
  ) {
    return { ok: false, reason: 'case', packet };
  }
  return { ok: true, packet };
};
