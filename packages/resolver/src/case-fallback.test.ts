import { createResolver } from './resolver.js';
import { startTestDnsServer, type TestDnsServer } from './test-support/index.js';
import type { LookupEvent, ResolverOptions } from './types.js';

const ZONE = 'nhi.test';
// 24 letters: the random case of a query is all lower case (and so survives a lower-casing
// forwarder) with probability 2^-24.
const NAME = `billing.production.${ZONE}`;
const OTHER = `ledger.production.${ZONE}`;
const RECORD = 'v=NHI1; svc=billing; env=production; kid=k1; p=AAAA';
const LEDGER = 'v=NHI1; svc=ledger; env=production; kid=k1; p=BBBB';
/** The per-attempt timeout of these resolvers: a lookup that waited for it is far slower than its bound. */
const TIMEOUT_MS = 1000;
const REPROBE_MS = 10 * 60 * 1000;

let servers: TestDnsServer[] = [];
const start = async (behaviour: Parameters<TestDnsServer['setBehaviour']>[0]) => {
  const server = await startTestDnsServer({
    zone: ZONE,
    records: [
      { name: NAME, type: 'TXT', data: RECORD },
      { name: OTHER, type: 'TXT', data: LEDGER },
    ],
  });
  server.setBehaviour(behaviour);
  servers.push(server);
  return server;
};
afterEach(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
});

const resolverFor = (server: TestDnsServer, options: ResolverOptions = {}) =>
  createResolver({ servers: [server.server], timeout: TIMEOUT_MS, attempts: 2, cache: false, ...options });

/** What the server received, as `transport name-as-sent`. */
const received = (server: TestDnsServer, from = 0) =>
  server.queries.slice(from).map((query) => `${query.transport} ${query.wireName}`);
const mixedCase = (name: string) => name !== name.toLowerCase();

describe('a server that does not echo the letter case of the question (DNS 0x20)', () => {
  it('answers behind a lower-casing forwarder within one extra exchange, far under the timeout', async () => {
    const server = await start({ lowerCaseQuestion: true });
    const resolver = resolverFor(server);
    const started = performance.now();
    const result = await resolver.resolveTxt(NAME);
    const elapsed = performance.now() - started;
    expect(result.records).toEqual([[RECORD]]);
    // The UDP reply in lower case ended the attempt at once; the TCP retry answered.
    expect(elapsed).toBeLessThan(TIMEOUT_MS / 4);
    expect(result).toMatchObject({ outcome: 'miss', attempts: 2, caseFallback: server.server });
    const [udp, tcp] = server.queries;
    expect([udp?.transport, tcp?.transport, server.queries.length]).toEqual(['udp', 'tcp', 2]);
    expect(mixedCase(udp!.wireName) && mixedCase(tcp!.wireName)).toBe(true);
    expect(resolver.stats).toMatchObject({ caseMismatches: 2, repliesDropped: 1, tcpFallbacks: 0 });
  });

  it('remembers the server: its next queries go in lower case over UDP alone, until a re-probe', async () => {
    const server = await start({ lowerCaseQuestion: true });
    let now = 1_000_000;
    const resolver = resolverFor(server, { now: () => now });
    await resolver.resolveTxt(NAME);
    const afterFirst = server.queries.length;
    const second = await resolver.resolveTxt(OTHER);
    expect(second).toMatchObject({ records: [[LEDGER]], attempts: 1 });
    expect(second.caseFallback).toBeUndefined();
    expect(received(server, afterFirst)).toEqual([`udp ${OTHER}`]);
    now += REPROBE_MS - 1;
    await resolver.resolveTxt(NAME);
    expect(received(server, afterFirst + 1)).toEqual([`udp ${NAME}`]);
    // Ten minutes on, the server is asked with 0x20 again: still lower-casing, so found again.
    now += 1;
    const probe = await resolver.resolveTxt(NAME);
    expect(probe).toMatchObject({ records: [[RECORD]], attempts: 2, caseFallback: server.server });
    const reprobed = server.queries.slice(afterFirst + 2);
    expect(reprobed.map((query) => query.transport)).toEqual(['udp', 'tcp']);
    expect(reprobed.every((query) => mixedCase(query.wireName))).toBe(true);
  });

  it('reports the finding once: on the result and event of the lookup that made it', async () => {
    const server = await start({ lowerCaseQuestion: true, delayMs: 20 });
    const resolver = resolverFor(server);
    const events: LookupEvent[] = [];
    resolver.on('lookup', (event) => events.push(event));
    // Three callers share one query (single flight): the finding is reported to one of them.
    const results = await Promise.all([1, 2, 3].map(() => resolver.resolveTxt(NAME)));
    expect(results.map((result) => result.records)).toEqual([[[RECORD]], [[RECORD]], [[RECORD]]]);
    expect(results.filter((result) => result.caseFallback !== undefined)).toHaveLength(1);
    await resolver.resolveTxt(OTHER);
    await resolver.resolve(NAME, 'TXT');
    expect(events.map((event) => event.caseFallback)).toEqual([
      server.server,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('does not remember a server whose TCP reply echoes the case (only its UDP path folds it)', async () => {
    // The same evidence as a spoofer with the right port and ID would leave: it costs a TCP
    // exchange per query, never the 0x20 bits of later queries.
    const server = await start({ lowerCaseQuestion: 'udp' });
    const resolver = resolverFor(server);
    const first = await resolver.resolveTxt(NAME);
    expect(first).toMatchObject({ records: [[RECORD]], attempts: 2 });
    expect(first.caseFallback).toBeUndefined();
    await resolver.resolveTxt(OTHER);
    expect(server.queries.map((query) => query.transport)).toEqual(['udp', 'tcp', 'udp', 'tcp']);
    expect(server.queries.every((query) => mixedCase(query.wireName))).toBe(true);
    expect(resolver.stats.caseMismatches).toBe(2);
  });

  it('without TCP, asks once more over UDP in lower case, and does not remember the server', async () => {
    const server = await start({ lowerCaseQuestion: true, refuseTcp: true });
    const resolver = resolverFor(server);
    const started = performance.now();
    const result = await resolver.resolveTxt(NAME);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS / 4);
    expect(result).toMatchObject({ records: [[RECORD]], attempts: 3, caseFallback: server.server });
    // Unproven over UDP alone: the next lookup starts with 0x20 again.
    await resolver.resolveTxt(OTHER);
    const sent = received(server);
    expect(sent).toHaveLength(4);
    expect(sent[1]).toBe(`udp ${NAME}`);
    expect(mixedCase(sent[0]!) && mixedCase(sent[2]!)).toBe(true);
    expect(sent[3]).toBe(`udp ${OTHER}`);
  });

  it('retries a truncated answer over TCP in lower case once the server is known', async () => {
    const server = await start({ lowerCaseQuestion: true });
    const resolver = resolverFor(server);
    await resolver.resolveTxt(NAME);
    server.setBehaviour({ truncateUdpAbove: 20 });
    const from = server.queries.length;
    const result = await resolver.resolveTxt(OTHER);
    expect(result).toMatchObject({ records: [[LEDGER]], attempts: 2 });
    expect(received(server, from)).toEqual([`udp ${OTHER}`, `tcp ${OTHER}`]);
  });

  it('with caseRandomization: false, sends lower case, and nothing to fall back from', async () => {
    const server = await start({ lowerCaseQuestion: true });
    const resolver = resolverFor(server, { caseRandomization: false });
    const result = await resolver.resolveTxt(NAME);
    expect(result).toMatchObject({ records: [[RECORD]], attempts: 1 });
    expect(result.caseFallback).toBeUndefined();
    expect(received(server)).toEqual([`udp ${NAME}`]);
    expect(resolver.stats.caseMismatches).toBe(0);
  });
});
