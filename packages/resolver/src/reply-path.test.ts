import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import fc from 'fast-check';
import { interpretAnswer } from './answer.js';
import { DnsError } from './errors.js';
import { checkReply, prepareQuery } from './message.js';
import { createResolver } from './resolver.js';

const NAME = 'billing.prod.nhi.test';
const REAL: string[][] = [['v=NHI1; svc=billing; env=prod; kid=k1; p=REAL']];
const FORGED: string[][] = [['v=NHI1; svc=billing; env=prod; kid=k1; p=FORGED']];

/** A reply to `query` carrying `txt`, with overridable header and question fields. */
const reply = (
  query: DecodedPacket,
  txt: string[][],
  override: { id?: number; name?: string; type?: 'TXT' | 'A'; flags?: number; qr?: boolean } = {},
): Buffer => {
  const question = query.questions![0]!;
  const answers: Answer[] = txt.map((strings) => ({
    name: question.name,
    type: 'TXT',
    class: 'IN',
    ttl: 60,
    data: strings.map((s) => Buffer.from(s)),
  }));
  return dnsPacket.encode({
    type: override.qr === false ? 'query' : 'response',
    id: override.id ?? query.id!,
    flags: override.flags ?? dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name: override.name ?? question.name, type: override.type ?? question.type, class: 'IN' }],
    answers,
  });
};

/** What a scripted server does with each query: `real` sends from the server, `spoof` from another port. */
type Script = (query: DecodedPacket, send: { real: (b: Buffer) => void; spoof: (b: Buffer) => void }) => void;

interface Scripted {
  server: string;
  stop(): Promise<void>;
}

const bind = (socket: Socket): Promise<void> =>
  new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));

const startScripted = async (script: Script): Promise<Scripted> => {
  const socket = createSocket('udp4');
  const attacker = createSocket('udp4');
  await Promise.all([bind(socket), bind(attacker)]);
  let stopped = false;
  socket.on('message', (message: Buffer, from: RemoteInfo) => {
    const query = dnsPacket.decode(message);
    script(query, {
      real: (b) => stopped || socket.send(b, from.port, from.address),
      spoof: (b) => stopped || attacker.send(b, from.port, from.address),
    });
  });
  const close = (s: Socket) => new Promise<void>((resolve) => s.close(() => resolve()));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    stop: () => {
      stopped = true;
      return Promise.all([close(socket), close(attacker)]).then(() => undefined);
    },
  };
};

let running: Scripted[] = [];
const scripted = async (script: Script) => {
  const server = await startScripted(script);
  running.push(server);
  return createResolver({ servers: [server.server], timeout: 300, attempts: 1, cache: false });
};
afterEach(async () => {
  await Promise.all(running.map((s) => s.stop()));
  running = [];
});

const later = (ms: number, action: () => void) => setTimeout(action, ms);
const swapCase = (name: string) =>
  name.replace(/[a-z]/gi, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()));

describe('reply acceptance', () => {
  it('ignores wrong-ID, wrong-question, non-response and wrong-source replies, then accepts the real one', async () => {
    const resolver = await scripted((query, send) => {
      const id = query.id!;
      send.real(reply(query, FORGED, { id: (id + 1) & 0xffff }));
      send.real(reply(query, FORGED, { name: 'other.prod.nhi.test' }));
      send.real(reply(query, FORGED, { type: 'A' }));
      send.real(reply(query, FORGED, { qr: false }));
      send.real(Buffer.from([id >> 8, id & 0xff, 0x81])); // right ID, too short to decode
      send.spoof(reply(query, FORGED));
      later(20, () => send.real(reply(query, REAL)));
    });
    const result = await resolver.resolveTxt(NAME);
    expect(result.records).toEqual(REAL);
    expect(resolver.stats.repliesDropped).toBe(6);
  });

  it('never uses a UDP reply right in all but the letter case (DNS 0x20): asks again, never remembers it', async () => {
    // From the server's port with the right ID: a forger's best case (or a case-folding forwarder).
    // The scripted server has no TCP, so the retry goes over UDP in lower case.
    const forgeries = [
      (asked: string) => swapCase(asked), // every letter's case wrong
      (asked: string) => swapCase(asked[0]!) + asked.slice(1), // one letter wrong
      (asked: string) => (asked === NAME ? swapCase(asked) : NAME), // lower case, as the cache keys it
    ];
    const sent: string[] = [];
    const resolver = await scripted((query, send) => {
      const asked = query.questions![0]!.name;
      sent.push(asked);
      const forge = forgeries[(sent.length - 1) / 2];
      if (sent.length % 2 === 1 && forge !== undefined) {
        send.real(reply(query, FORGED, { name: forge(asked) }));
        later(10, () => send.real(reply(query, FORGED, { name: forge(asked) })));
      } else {
        send.real(reply(query, REAL));
      }
    });
    for (let i = 0; i < forgeries.length; i++) {
      const result = await resolver.resolveTxt(NAME);
      expect(result).toMatchObject({ records: REAL, attempts: 3, caseFallback: result.server });
    }
    expect(resolver.stats.caseMismatches).toBe(forgeries.length);
    // Each lookup began in random case, and only its retry went in lower case: never remembered.
    expect(sent.filter((_, at) => at % 2 === 1)).toEqual([NAME, NAME, NAME]);
    expect(sent.filter((_, at) => at % 2 === 0).every((name) => name.toLowerCase() === NAME)).toBe(true);
  });

  it('drops case-only mismatches with a wrong ID or from another port, and other questions in any case', async () => {
    const sent: string[] = [];
    const resolver = await scripted((query, send) => {
      const asked = query.questions![0]!.name;
      sent.push(asked);
      send.spoof(reply(query, FORGED, { name: swapCase(asked) })); // another port
      send.real(reply(query, FORGED, { name: swapCase(asked), id: (query.id! + 1) & 0xffff })); // another ID
      send.real(reply(query, FORGED, { name: swapCase('other.prod.nhi.test') })); // another name
      send.real(reply(query, FORGED, { name: swapCase(`x${asked}`) })); // another name, one letter longer
      send.real(reply(query, FORGED, { name: swapCase(asked), type: 'A' })); // another type
      later(10, () => send.real(reply(query, REAL)));
    });
    const result = await resolver.resolveTxt(NAME);
    expect(result).toMatchObject({ records: REAL, attempts: 1 });
    expect(result.caseFallback).toBeUndefined();
    expect(resolver.stats).toMatchObject({ repliesDropped: 5, caseMismatches: 0 });
    expect(sent).toHaveLength(1);
  });

  it('names the letter case in the error when the retry after a case mismatch fails too', async () => {
    let queries = 0;
    const resolver = await scripted((query, send) => {
      if (queries++ === 0) send.real(reply(query, FORGED, { name: swapCase(query.questions![0]!.name) }));
    });
    const error = await resolver.resolveTxt(NAME).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DnsError);
    expect(error).toMatchObject({ reason: 'timeout', attempts: 3 });
    expect((error as DnsError).message).toMatch(/other letter case: DNS 0x20/);
  });

  it('draws the case of every letter from fresh random bits, per query', async () => {
    const sent: string[] = [];
    const resolver = await scripted((query, send) => {
      sent.push(query.questions![0]!.name);
      send.real(reply(query, REAL));
    });
    for (let i = 0; i < 200; i++) await resolver.resolveTxt(NAME);
    expect(sent.every((name) => name.toLowerCase() === NAME)).toBe(true);
    expect(new Set(sent).size).toBeGreaterThan(195); // 2^18 case patterns
    // Each letter position is upper case in about half of the queries (binomial 200, 1/2: ±5 sd).
    for (let at = 0; at < NAME.length; at++) {
      if (!/[a-z]/.test(NAME[at]!)) continue;
      const upper = sent.filter((name) => name[at] !== NAME[at]).length;
      expect(upper).toBeGreaterThan(100 - 36);
      expect(upper).toBeLessThan(100 + 36);
    }
  });

  it('with caseRandomization: false, sends lower case and matches the name case-insensitively', async () => {
    const sent: string[] = [];
    const server = await startScripted((query, send) => {
      sent.push(query.questions![0]!.name);
      send.real(reply(query, REAL, { name: NAME.toUpperCase() }));
    });
    running.push(server);
    const resolver = createResolver({
      servers: [server.server],
      timeout: 300,
      attempts: 1,
      caseRandomization: false,
    });
    expect((await resolver.resolveTxt(NAME)).records).toEqual(REAL);
    expect(sent).toEqual([NAME]);
  });

  it('checkReply compares the question on the wire, byte for byte, when the case was randomised', () => {
    const spec = { name: NAME, type: 'TXT', dnssec: false };
    const query = prepareQuery(spec, true);
    expect(query.wireName.toLowerCase()).toBe(NAME);
    const answer = (name: string) =>
      dnsPacket.encode({
        type: 'response',
        id: query.id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ name, type: 'TXT', class: 'IN' }],
      });
    expect(checkReply(answer(query.wireName), query).ok).toBe(true);
    expect(checkReply(answer(`${query.wireName}.`), query).ok).toBe(true); // same wire bytes
    const flipped = query.wireName.replace(/[a-z]/i, (c) =>
      c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase(),
    );
    // Right in all but the case: told apart from another question, and never ok.
    expect(checkReply(answer(flipped), query)).toMatchObject({ ok: false, reason: 'case' });
    expect(checkReply(answer(`x${query.wireName}`), query)).toEqual({ ok: false, reason: 'question' });
    // Without randomisation (the default of prepareQuery), any case matches.
    const plain = prepareQuery(spec);
    expect(plain.wireName).toBe(NAME);
    expect(checkReply(answer(NAME.toUpperCase()), { ...plain, id: query.id }).ok).toBe(true);
  });

  it('never accepts a forged answer racing the real one from another port', async () => {
    const resolver = await scripted((query, send) => {
      for (let i = 0; i < 20; i++) send.spoof(reply(query, FORGED));
      later(10, () => send.real(reply(query, REAL)));
      later(15, () => send.spoof(reply(query, FORGED)));
    });
    for (let i = 0; i < 5; i++) expect((await resolver.resolveTxt(NAME)).records).toEqual(REAL);
  });

  it('fails with malformed when only undecodable replies came from the server', async () => {
    const resolver = await scripted((query, send) => send.real(reply(query, REAL).subarray(0, 30)));
    const error = await resolver.resolveTxt(NAME).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DnsError);
    expect((error as DnsError).reason).toBe('malformed');
  });
});

/** A forged or damaged datagram and where it comes from. */
const forgery = fc.oneof(
  fc.record({
    kind: fc.constant('random' as const),
    bytes: fc.uint8Array({ maxLength: 600 }),
    spoofed: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('mutated' as const),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    spoofed: fc.boolean(),
  }),
);

const damage = (real: Buffer, f: { flips: Array<[number, number]>; cut: number | undefined }): Buffer => {
  const copy = Buffer.from(real);
  for (const [at, xor] of f.flips) copy[at % copy.length] = copy[at % copy.length]! ^ xor;
  return f.cut === undefined ? copy : copy.subarray(0, f.cut % (copy.length + 1));
};

describe('reply path fuzzing', () => {
  it('accepts only what the real server sent, whatever arrives before it', async () => {
    let forgeries: Array<typeof forgery extends fc.Arbitrary<infer T> ? T : never> = [];
    const resolver = await scripted((query, send) => {
      const real = reply(query, REAL);
      const id = query.id!;
      for (const f of forgeries) {
        if (f.kind === 'random') {
          (f.spoofed ? send.spoof : send.real)(Buffer.from(f.bytes));
        } else if (f.spoofed) {
          // Right ID and question from the wrong port: must be dropped on source alone.
          send.spoof(damage(reply(query, FORGED), f));
        } else {
          // From the server's port, but never with the right ID (that would be the server itself).
          const damaged = damage(real, f);
          if (damaged.length >= 2) damaged.writeUInt16BE((id ^ 0x5a5a) & 0xffff, 0);
          send.real(damaged);
        }
      }
      later(5, () => send.real(real));
    });
    await fc.assert(
      fc.asyncProperty(fc.array(forgery, { maxLength: 6 }), async (batch) => {
        forgeries = batch;
        const result = await resolver.resolveTxt(NAME);
        expect(result.records).toEqual(REAL);
      }),
      { numRuns: 60 },
    );
  });

  it('never crashes on damaged replies from the server itself', async () => {
    let mutation: { flips: Array<[number, number]>; cut: number | undefined } = { flips: [], cut: undefined };
    const resolver = await scripted((query, send) => {
      const damaged = damage(reply(query, REAL), mutation);
      send.real(damaged);
      later(5, () => send.real(reply(query, REAL)));
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.option(fc.nat(), { nil: undefined }),
        async (flips, cut) => {
          mutation = { flips, cut };
          const outcome: unknown = await resolver.resolveTxt(NAME).then(
            (result) => result.records,
            (error: unknown) => error,
          );
          if (outcome instanceof Error) {
            expect(outcome).toBeInstanceOf(DnsError);
          } else {
            expect(Array.isArray(outcome)).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('checkReply and interpretAnswer never throw on arbitrary bytes with the right ID', () => {
    const query = prepareQuery({ name: NAME, type: 'TXT', dnssec: false });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 700 }), (bytes) => {
        const message = Buffer.from(bytes);
        message.writeUInt16BE(query.id, 0);
        message[2] = message[2]! | 0x80;
        const check = checkReply(message, query);
        if (!check.ok) return;
        expect(check.packet.questions?.[0]?.name.toLowerCase()).toBe(NAME);
        try {
          interpretAnswer(check.packet, NAME, 'TXT');
        } catch (error) {
          expect(error).toBeInstanceOf(DnsError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
