import { randomInt } from 'node:crypto';
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
}

/** A query ready to send: its packet and the random ID the reply must echo. */
export interface PreparedQuery extends QuerySpec {
  id: number;
  packet: Packet;
}

/** Builds a recursive query with a fresh crypto-random ID and an EDNS0 OPT record. */
export const prepareQuery = (spec: QuerySpec): PreparedQuery => {
  const id = randomInt(0, 0x10000);
  const packet: Packet = {
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name: spec.name, type: spec.type as RecordType, class: 'IN' }],
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
  return { ...spec, id, packet };
};

/** A decoded reply; dns-packet's decoder sets `rcode` and `opcode`, which its typings omit. */
export type Reply = DecodedPacket & { rcode: string; opcode: string };

/** Why a datagram or TCP message was not accepted as the reply. */
export type RejectReason = 'short' | 'id' | 'not_response' | 'undecodable' | 'opcode' | 'question';

/** Result of {@link checkReply}. */
export type ReplyCheck = { ok: true; packet: Reply } | { ok: false; reason: RejectReason };

/**
 * Decides whether `message` is the reply to `query`: same ID, a response, opcode QUERY, and
 * exactly our question (name compared case-insensitively, type, class IN). Cheap header checks
 * come before decoding, so floods of wrong-ID packets cost little. Never throws.
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
  return { ok: true, packet };
};
