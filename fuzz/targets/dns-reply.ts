import { parseRecordSet } from '@nhi-dns/core';
import { DnsError } from '@nhi-dns/resolver';
import dnsPacket, { type Answer } from 'dns-packet';
import fc from 'fast-check';
// Internal to the resolver (not exported): the two functions every received datagram meets.
import { interpretAnswer } from '../../packages/resolver/src/answer.js';
import { checkReply, prepareQuery } from '../../packages/resolver/src/message.js';
import { mutatedFrom, randomBytes } from './mutate.js';
import { type FuzzTarget, invariant } from './target.js';

const NAME = 'billing.prod.auth.example.com';
const RECORD =
  'v=NHI1; svc=billing; env=prod; kid=k1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
const query = prepareQuery({ name: NAME, type: 'TXT', dnssec: true });

const txt = (name: string, text: string, ttl = 60): Answer => ({
  name,
  type: 'TXT',
  class: 'IN',
  ttl,
  data: [Buffer.from(text.slice(0, 200)), Buffer.from(text.slice(200))],
});
const soa: Answer = {
  name: 'auth.example.com',
  type: 'SOA',
  class: 'IN',
  ttl: 900,
  data: {
    mname: 'ns1.auth.example.com',
    rname: 'hostmaster.auth.example.com',
    serial: 1,
    refresh: 7200,
    retry: 900,
    expire: 1209600,
    minimum: 60,
  },
};
const opt: Answer = {
  type: 'OPT',
  name: '.',
  udpPayloadSize: 1232,
  extendedRcode: 0,
  ednsVersion: 0,
  flags: dnsPacket.DNSSEC_OK,
  flag_do: true,
  options: [],
};
const reply = (flags: number, answers: Answer[], authorities: Answer[] = []): Buffer =>
  dnsPacket.encode({
    type: 'response',
    id: query.id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | flags,
    questions: [{ name: NAME, type: 'TXT', class: 'IN' }],
    answers,
    authorities,
    additionals: [opt],
  });

/** Real replies as a server sends them: what the mutations start from. */
const REAL_REPLIES: Buffer[] = [
  reply(dnsPacket.AUTHENTIC_DATA, [txt(NAME, RECORD), txt(NAME, 'v=spf1 -all')]),
  reply(0, [
    { name: NAME, type: 'CNAME', class: 'IN', ttl: 30, data: 'alias.prod.auth.example.com' },
    txt('alias.prod.auth.example.com', RECORD, 0),
  ]),
  reply(3, [], [soa]), // NXDOMAIN with the SOA
  reply(0, [], [soa]), // NODATA
  reply(dnsPacket.TRUNCATED_RESPONSE, []),
  reply(0, [
    { name: NAME, type: 'CNAME', class: 'IN', ttl: 30, data: 'a.auth.example.com' },
    { name: 'a.auth.example.com', type: 'CNAME', class: 'IN', ttl: 30, data: NAME },
  ]),
];

const OUTCOMES = new Set(['answer', 'nxdomain', 'nodata']);

/**
 * DNS replies (random bytes, and real replies with seeded byte mutations) through the resolver's
 * reply check and answer interpretation, then the TXT data through the NHI1 parser, as the
 * resolver and identity-resolve do with every datagram. Invariants: nothing throws but a typed
 * `DnsError` from interpretation; an accepted reply carries our ID, the QR bit and our exact
 * question; an interpreted answer only holds TXT records on the CNAME chain, with a TTL ≥ 0.
 */
export const dnsReplyTarget: FuzzTarget<Buffer> = {
  name: 'dns-reply',
  description: 'random and mutated DNS replies → checkReply → interpretAnswer → parseRecordSet',
  arbitrary: () =>
    fc.oneof({ weight: 1, arbitrary: randomBytes(600) }, { weight: 4, arbitrary: mutatedFrom(REAL_REPLIES) }),
  check(message) {
    const check = checkReply(message, query);
    if (!check.ok) return;
    invariant(message.readUInt16BE(0) === query.id, 'accepted a reply with another ID');
    invariant(((message[2] ?? 0) & 0x80) !== 0, 'accepted a message without the QR bit');
    const question = check.packet.questions?.[0];
    invariant(
      question !== undefined &&
        question.name.toLowerCase().replace(/\.$/, '') === NAME &&
        question.type === 'TXT',
      'accepted a reply to another question',
    );
    let interpreted: ReturnType<typeof interpretAnswer>;
    try {
      interpreted = interpretAnswer(check.packet, query.name, query.type);
    } catch (error) {
      invariant(error instanceof DnsError, `interpretAnswer threw ${String(error)}`);
      return;
    }
    invariant(OUTCOMES.has(interpreted.kind), `unknown outcome ${interpreted.kind}`);
    const owners = new Set([NAME, ...interpreted.cnameChain]);
    for (const record of interpreted.answers) {
      invariant(record.type === 'TXT', 'a non-TXT record in a TXT answer');
      invariant(owners.has(record.name), 'an answer record off the CNAME chain');
    }
    invariant(
      interpreted.ttl === undefined || (Number.isFinite(interpreted.ttl) && interpreted.ttl >= 0),
      'negative or non-finite TTL',
    );
    const rrs = interpreted.answers.map((record) =>
      (Array.isArray(record.data) ? record.data : []).map((part: Buffer) => part.toString('utf8')),
    );
    parseRecordSet(NAME, rrs);
  },
};
