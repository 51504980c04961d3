import { createSocket, type Socket } from 'node:dgram';
import { createResolver } from '@nhi-dns/resolver';
import { type ReceivedQuery, startTestDnsServer } from '@nhi-dns/resolver/test-support';
import dnsPacket, { type Answer } from 'dns-packet';

const ZONE = 'auth.example.com';
const NAME = `billing.prod.${ZONE}`;
const REAL = 'v=NHI1; svc=billing; env=prod; kid=k1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
/** Any answer carrying this marker came from the forger. */
const FORGED_MARKER = 'FORGED';
const FORGED = `v=NHI1; svc=billing; env=prod; kid=k1; p=${FORGED_MARKER}`;

/** Options of {@link runSpoofingSoak}. */
export interface SpoofingSoakOptions {
  /** How long real lookups run, ms. Default 3000. */
  durationMs?: number;
  /** Lookups in flight at once. Default 8. */
  concurrency?: number;
  /** Forged packets sent per real query seen, of each kind. Default 10. */
  burst?: number;
  /** Delay of the real server's answers, ms: the forger's head start. Default 3. */
  serverDelayMs?: number;
}

/** What the soak saw. */
export interface SpoofingSoakReport {
  /** Real lookups that completed (concurrent ones share a query: single flight). */
  lookups: number;
  /** Queries the server received, each answered by the forger first. */
  queries: number;
  /** Lookups that failed (timeouts under load are allowed; forged answers are not). */
  failures: number;
  /** Forged datagrams sent, by kind. */
  forgedSent: { randomId: number; wrongQuestion: number; wrongPort: number; total: number };
  /** Lookups whose answer carried forged data: must be 0. */
  forgedAccepted: number;
  /** Replies the resolver dropped (source, ID or question mismatch). */
  repliesDropped: number;
}

const txt = (name: string, text: string): Answer => ({
  name,
  type: 'TXT',
  class: 'IN',
  ttl: 60,
  data: [Buffer.from(text)],
});

/** A forged reply: our forged record, with any header or question the forger likes. */
const forgedReply = (id: number, name: string, type: 'TXT' | 'A'): Buffer =>
  dnsPacket.encode({
    type: 'response',
    id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHENTIC_DATA,
    questions: [{ name, type, class: 'IN' }],
    answers: [txt(NAME, FORGED)],
  });

/**
 * Spoofing soak on loopback (SECURITY.md): real lookups of one name run against the test DNS
 * server while a forger, told the ID and source port of every query the moment the server logs it
 * (more than an off-path attacker ever knows), floods the resolver's port with forged replies
 * (random IDs; the right ID with a wrong question; the right ID and question from a wrong port).
 * Counts every forged datagram and every lookup that returned forged data.
 */
export const runSpoofingSoak = async (options: SpoofingSoakOptions = {}): Promise<SpoofingSoakReport> => {
  const { durationMs = 3000, concurrency = 8, burst = 10, serverDelayMs = 3 } = options;
  const dns = await startTestDnsServer({
    zone: ZONE,
    delayMs: serverDelayMs,
    records: [{ name: NAME, type: 'TXT', data: REAL }],
  });
  const forger: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => forger.bind(0, '127.0.0.1', resolve));
  const forgedSent = { randomId: 0, wrongQuestion: 0, wrongPort: 0, total: 0 };
  const send = (packet: Buffer, port: number, kind: keyof typeof forgedSent) => {
    forgedSent[kind]++;
    forgedSent.total++;
    forger.send(packet, port, '127.0.0.1');
  };
  const forge = (query: ReceivedQuery) => {
    if (query.transport !== 'udp') return;
    for (let i = 0; i < burst; i++) {
      send(forgedReply((query.id + 1 + i * 6553) & 0xffff, NAME, 'TXT'), query.port, 'randomId');
    }
    const wrongQuestions: Array<[string, 'TXT' | 'A']> = [
      [`evil.prod.${ZONE}`, 'TXT'],
      [NAME, 'A'],
      [`x.${NAME}`, 'TXT'],
      [NAME.replace('billing', 'bi11ing'), 'TXT'],
    ];
    for (let i = 0; i < burst; i++) {
      const [name, type] = wrongQuestions[i % wrongQuestions.length]!;
      send(forgedReply(query.id, name, type), query.port, 'wrongQuestion');
    }
    // Right ID, right question, even 0x20 case variation: only the source port is wrong.
    for (let i = 0; i < burst; i++) {
      send(forgedReply(query.id, i % 2 === 0 ? NAME : NAME.toUpperCase(), 'TXT'), query.port, 'wrongPort');
    }
  };
  // The server logs each query as it arrives: the forger reads that log at once.
  const log = dns.queries;
  const push = log.push.bind(log);
  log.push = (...items: ReceivedQuery[]) => {
    for (const item of items) forge(item);
    return push(...items);
  };

  const resolver = createResolver({ servers: [dns.server], cache: false, timeout: 500, attempts: 2 });
  let lookups = 0;
  let failures = 0;
  let forgedAccepted = 0;
  const until = Date.now() + durationMs;
  const worker = async () => {
    while (Date.now() < until) {
      try {
        const result = await resolver.resolveTxt(NAME);
        lookups++;
        if (result.records.some((rr) => rr.join('').includes(FORGED_MARKER))) forgedAccepted++;
      } catch {
        failures++;
      }
    }
  };
  let queries = 0;
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
    queries = log.length;
  } finally {
    log.push = push;
    await new Promise<void>((resolve) => forger.close(() => resolve()));
    await dns.stop();
  }
  return {
    lookups,
    queries,
    failures,
    forgedSent,
    forgedAccepted,
    repliesDropped: resolver.stats.repliesDropped,
  };
};
