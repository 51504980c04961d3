import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { DnsError } from './errors.js';
import { createResolver } from './resolver.js';
import { startTestDnsServer, type TestDnsServer, type TestRecord } from './test-support/index.js';
import type { LookupEvent, ResolverOptions } from './types.js';

const NAME = 'billing.prod.nhi.test';
const RECORD = 'v=NHI1; svc=billing; env=prod; kid=k1; p=AAAA';

let servers: TestDnsServer[] = [];
const start = async (records: TestRecord[] = [], options: Parameters<typeof startTestDnsServer>[0] = {}) => {
  const server = await startTestDnsServer({ records, ...options });
  servers.push(server);
  return server;
};
afterEach(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
});

const resolverFor = (server: TestDnsServer, options: ResolverOptions = {}) =>
  createResolver({ servers: [server.server], timeout: 300, attempts: 1, ...options });

const rejection = async (promise: Promise<unknown>): Promise<DnsError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DnsError) return error;
    throw error;
  }
  throw new Error('expected a DnsError');
};

describe('resolveTxt', () => {
  it('returns each TXT RR as its character-strings, decoded as UTF-8', async () => {
    const server = await start([
      { name: NAME, type: 'TXT', ttl: 120, data: ['v=NHI1; svc=billing; ', 'env=prod; x-owner=Zoë'] },
      { name: NAME, type: 'TXT', ttl: 60, data: 'v=spf1 -all' },
    ]);
    const result = await resolverFor(server).resolveTxt(NAME);
    expect(result.records).toEqual([['v=NHI1; svc=billing; ', 'env=prod; x-owner=Zoë'], ['v=spf1 -all']]);
    expect(result).toMatchObject({
      ttl: 60,
      ad: false,
      rcode: 'NOERROR',
      outcome: 'miss',
      fromCache: false,
      server: server.server,
      attempts: 1,
    });
    expect(result.latencyMs).toBeGreaterThan(0);
  });

  it('keeps a long record split into 255-byte strings that concatenate to the original', async () => {
    const long = `${RECORD}; x-notes=${'é'.repeat(400)}`;
    const server = await start([{ name: NAME, type: 'TXT', data: long }]);
    const { records } = await resolverFor(server).resolveTxt(NAME);
    expect(records).toHaveLength(1);
    expect(records[0]!.length).toBeGreaterThan(3);
    for (const part of records[0]!) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(255);
    expect(records[0]!.join('')).toBe(long);
  });

  it('serves a repeated lookup from the cache, case-insensitively, with frozen records', async () => {
    const server = await start([{ name: NAME, type: 'TXT', ttl: 60, data: RECORD }]);
    const resolver = resolverFor(server);
    await resolver.resolveTxt(NAME);
    const hit = await resolver.resolveTxt('BILLING.Prod.nhi.test.');
    expect(hit).toMatchObject({ outcome: 'hit', fromCache: true, attempts: 0, records: [[RECORD]] });
    expect(hit.server).toBeUndefined();
    expect(Object.isFrozen(hit.records)).toBe(true);
    expect(Object.isFrozen(hit.records[0])).toBe(true);
    expect(server.queries).toHaveLength(1);
    expect(resolver.stats.cacheHits).toBe(1);
  });

  it('retries a truncated UDP answer over TCP on the same server', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `${RECORD}${i}; x-pad=${'x'.repeat(150)}`);
    const server = await start(keys.map((data) => ({ name: NAME, type: 'TXT' as const, data })));
    const resolver = resolverFor(server);
    const result = await resolver.resolveTxt(NAME);
    expect(result.records.map((strings) => strings.join(''))).toEqual(keys);
    expect(server.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
    expect(resolver.stats.tcpFallbacks).toBe(1);
    expect(result.attempts).toBe(2);
  });

  it('honours a server that truncates below the EDNS size', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }]);
    server.setBehaviour({ truncateUdpAbove: 60 });
    const result = await resolverFor(server).resolveTxt(NAME);
    expect(result.records).toEqual([[RECORD]]);
    expect(server.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('sets the DO bit only when asked and reports the AD bit', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }], { ad: true });
    const resolver = resolverFor(server);
    const signed = await resolver.resolveTxt(NAME, { dnssec: true });
    expect(signed.ad).toBe(true);
    server.setBehaviour({ ad: false });
    const plain = await resolver.resolveTxt(NAME);
    expect(plain).toMatchObject({ ad: false, fromCache: false });
    expect(server.queries.map((q) => q.dnssec)).toEqual([true, false]);
    // The DO bit is part of the cache key: both answers are now cached separately.
    expect((await resolver.resolveTxt(NAME, { dnssec: true })).ad).toBe(true);
    expect(server.queries).toHaveLength(2);
  });

  it('works over IPv6 and with a custom port given as an object', async () => {
    let server: TestDnsServer;
    try {
      server = await start([{ name: NAME, type: 'TXT', data: RECORD }], { address: '::1' });
    } catch {
      return; // no IPv6 loopback on this machine
    }
    const byString = await createResolver({ servers: [server.server] }).resolveTxt(NAME);
    expect(byString).toMatchObject({ records: [[RECORD]], server: `[::1]:${server.port}` });
    const byObject = await createResolver({ servers: [{ address: '0:0::1', port: server.port }] }).resolveTxt(
      NAME,
    );
    expect(byObject.records).toEqual([[RECORD]]);
  });
});

describe('CNAME chains', () => {
  it('follows a chain in the answer and caps the TTL by the chain', async () => {
    const server = await start([
      { name: 'alias.nhi.test', type: 'CNAME', ttl: 20, data: 'middle.nhi.test' },
      { name: 'middle.nhi.test', type: 'CNAME', ttl: 300, data: NAME },
      { name: NAME, type: 'TXT', ttl: 300, data: RECORD },
    ]);
    const resolver = resolverFor(server);
    const txt = await resolver.resolveTxt('alias.nhi.test');
    expect(txt).toMatchObject({ records: [[RECORD]], ttl: 20, cnameChain: ['middle.nhi.test', NAME] });
    expect((await resolver.resolveTxt('alias.nhi.test')).cnameChain).toEqual(['middle.nhi.test', NAME]);
    expect((await resolver.resolveTxt(NAME)).cnameChain).toEqual([]);
    const generic = await resolver.resolve('alias.nhi.test', 'txt');
    expect(generic.cnameChain).toEqual(['middle.nhi.test', NAME]);
    expect(generic.answers[0]).toMatchObject({ name: NAME, type: 'TXT', ttl: 300 });
  });

  it('accepts 8 hops and rejects 9, and rejects loops', async () => {
    const chain = (length: number, prefix: string): TestRecord[] =>
      Array.from({ length }, (_, i) => ({
        name: `${prefix}${i}.nhi.test`,
        type: 'CNAME' as const,
        data: i === length - 1 ? NAME : `${prefix}${i + 1}.nhi.test`,
      }));
    const server = await start([
      ...chain(8, 'ok'),
      ...chain(9, 'long'),
      { name: 'a.nhi.test', type: 'CNAME', data: 'b.nhi.test' },
      { name: 'b.nhi.test', type: 'CNAME', data: 'a.nhi.test' },
      { name: NAME, type: 'TXT', data: RECORD },
    ]);
    const resolver = resolverFor(server);
    expect((await resolver.resolveTxt('ok0.nhi.test')).records).toEqual([[RECORD]]);
    expect((await rejection(resolver.resolveTxt('long0.nhi.test'))).reason).toBe('cname_loop');
    const loop = await rejection(resolver.resolveTxt('a.nhi.test'));
    expect(loop).toMatchObject({ reason: 'cname_loop', server: server.server, attempts: 1 });
  });

  it('reports NXDOMAIN at the end of a dangling chain', async () => {
    const server = await start([{ name: 'alias.nhi.test', type: 'CNAME', data: 'gone.nhi.test' }]);
    const result = await resolverFor(server).resolve('alias.nhi.test', 'TXT');
    expect(result).toMatchObject({
      outcome: 'nxdomain',
      rcode: 'NXDOMAIN',
      answers: [],
      cnameChain: ['gone.nhi.test'],
    });
  });
});

describe('negative answers', () => {
  it('caches NXDOMAIN by the SOA, clamped by maxNegativeTtl (Route 53 SOA: 900 s)', async () => {
    const server = await start([]);
    const resolver = resolverFor(server);
    const first = await resolver.resolveTxt('nobody.nhi.test');
    expect(first).toMatchObject({
      records: [],
      rcode: 'NXDOMAIN',
      outcome: 'nxdomain',
      ttl: 30,
      fromCache: false,
    });
    const second = await resolver.resolveTxt('nobody.nhi.test');
    expect(second).toMatchObject({ outcome: 'nxdomain', fromCache: true, attempts: 0 });
    expect(server.queries).toHaveLength(1);
  });

  it('uses min(SOA TTL, SOA minimum) and caches NODATA', async () => {
    const server = await start([{ name: NAME, type: 'A', data: '192.0.2.1' }], { soaMinimum: 5 });
    const resolver = resolverFor(server, { maxNegativeTtl: 60 });
    const nodata = await resolver.resolveTxt(NAME);
    expect(nodata).toMatchObject({ records: [], rcode: 'NOERROR', outcome: 'nodata', ttl: 5 });
    expect((await resolver.resolveTxt(NAME)).outcome).toBe('nodata');
    expect(server.queries).toHaveLength(1);
    const a = await resolver.resolve(NAME, 'A');
    expect(a.answers.map((record) => record.data)).toEqual(['192.0.2.1']);
  });

  it('does not cache SERVFAIL or REFUSED', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }]);
    const resolver = resolverFor(server);
    server.setBehaviour({ rcode: 'SERVFAIL' });
    expect(await rejection(resolver.resolveTxt(NAME))).toMatchObject({
      reason: 'servfail',
      rcode: 'SERVFAIL',
      server: server.server,
    });
    server.setBehaviour({ rcode: 'REFUSED' });
    expect((await rejection(resolver.resolveTxt(NAME))).reason).toBe('refused');
    server.setBehaviour({ rcode: undefined });
    expect((await resolver.resolveTxt(NAME)).outcome).toBe('miss');
    expect(server.queries).toHaveLength(3);
  });
});

describe('cache', () => {
  it('expires by the wall clock at lookup, with the remaining TTL on hits', async () => {
    let now = 1_700_000_000_000;
    const server = await start([{ name: NAME, type: 'TXT', ttl: 60, data: RECORD }]);
    const resolver = resolverFor(server, { now: () => now });
    expect((await resolver.resolveTxt(NAME)).ttl).toBe(60);
    now += 59_500;
    expect(await resolver.resolveTxt(NAME)).toMatchObject({ outcome: 'hit', ttl: 1 });
    now += 500;
    expect(await resolver.resolveTxt(NAME)).toMatchObject({ outcome: 'miss', ttl: 60 });
    expect(server.queries).toHaveLength(2);
  });

  it('clamps TTLs to [minTtl, maxTtl]', async () => {
    const server = await start([
      { name: 'short.nhi.test', type: 'TXT', ttl: 1, data: 'a' },
      { name: 'long.nhi.test', type: 'TXT', ttl: 86_400, data: 'b' },
    ]);
    const resolver = resolverFor(server, { minTtl: 10, maxTtl: 120 });
    expect((await resolver.resolveTxt('short.nhi.test')).ttl).toBe(10);
    expect((await resolver.resolveTxt('long.nhi.test')).ttl).toBe(120);
    const defaults = resolverFor(server);
    expect((await defaults.resolveTxt('long.nhi.test')).ttl).toBe(300);
  });

  it('never caches with cache: false or TTL 0, and clear() empties the cache', async () => {
    const server = await start([
      { name: NAME, type: 'TXT', data: RECORD },
      { name: 'zero.nhi.test', type: 'TXT', ttl: 0, data: RECORD },
    ]);
    const uncached = resolverFor(server, { cache: false });
    await uncached.resolveTxt(NAME);
    await uncached.resolveTxt(NAME);
    expect(server.queries).toHaveLength(2);
    const resolver = resolverFor(server);
    await resolver.resolveTxt('zero.nhi.test');
    expect((await resolver.resolveTxt('zero.nhi.test')).outcome).toBe('miss');
    await resolver.resolveTxt(NAME);
    resolver.clear();
    expect((await resolver.resolveTxt(NAME)).outcome).toBe('miss');
    expect(server.queries).toHaveLength(6);
  });

  it('sends one query for 1000 concurrent lookups of one key (single flight)', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }], { delayMs: 50 });
    const resolver = resolverFor(server);
    const results = await Promise.all(Array.from({ length: 1000 }, () => resolver.resolveTxt(NAME)));
    expect(new Set(results.map((result) => result.records[0]![0]))).toEqual(new Set([RECORD]));
    expect(server.queries).toHaveLength(1);
    expect(resolver.stats.queriesSent).toBe(1);
    expect(resolver.stats.singleFlightJoins).toBe(999);
  });

  it('shares one failure too, and a failed query is not cached', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }], { delayMs: 20 });
    server.setBehaviour({ rcode: 'SERVFAIL' });
    const resolver = resolverFor(server);
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, () => resolver.resolveTxt(NAME)));
    expect(
      outcomes.every((o) => o.status === 'rejected' && (o.reason as DnsError).reason === 'servfail'),
    ).toBe(true);
    expect(server.queries).toHaveLength(1);
  });

  it('evicts the least recently used entry beyond maxEntries', async () => {
    const names = ['a', 'b', 'c', 'd'].map((label) => `${label}.nhi.test`);
    const server = await start(names.map((name) => ({ name, type: 'TXT' as const, data: name })));
    const resolver = resolverFor(server, { maxEntries: 3 });
    for (const name of names.slice(0, 3)) await resolver.resolveTxt(name);
    await resolver.resolveTxt(names[0]!); // a becomes most recently used; b is now the oldest
    await resolver.resolveTxt(names[3]!); // evicts b
    expect(server.queries).toHaveLength(4);
    expect((await resolver.resolveTxt(names[0]!)).outcome).toBe('hit');
    expect((await resolver.resolveTxt(names[2]!)).outcome).toBe('hit');
    expect((await resolver.resolveTxt(names[3]!)).outcome).toBe('hit');
    expect((await resolver.resolveTxt(names[1]!)).outcome).toBe('miss');
  });

  it('keeps at most maxEntries under a stream of distinct names', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `n${i}.nhi.test`);
    const server = await start(names.map((name) => ({ name, type: 'TXT' as const, data: name })));
    const resolver = resolverFor(server, { maxEntries: 5 });
    for (let i = 0; i < 12; i++) await resolver.resolveTxt(`n${i}.nhi.test`);
    const before = server.queries.length;
    for (let i = 0; i < 12; i++) await resolver.resolveTxt(`n${i}.nhi.test`);
    // Scanning 12 names in order through a 5-entry LRU misses every time: nothing grew past the bound.
    expect(server.queries.length - before).toBe(12);
  });
});

describe('negative answers beside positive ones', () => {
  it('keeps negative answers in their own LRU: a flood of NXDOMAINs never evicts a positive answer', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }]);
    // maxEntries below the flood: with one shared LRU, the positive answer would be evicted.
    const resolver = resolverFor(server, { maxEntries: 2_000 });
    await resolver.resolveTxt(NAME);
    const flood = Array.from({ length: 5_000 }, (_, i) => `r${i}-${i * 7919}.prod.nhi.test`);
    for (const name of flood) expect((await resolver.resolveTxt(name)).outcome).toBe('nxdomain');
    const sent = server.queries.length;
    expect(sent).toBe(5_001);
    expect(await resolver.resolveTxt(NAME)).toMatchObject({ outcome: 'hit', fromCache: true });
    expect(server.queries).toHaveLength(sent);
    // The newest maxNegativeEntries (default 1000) negative answers are cached, and no more.
    for (const name of flood.slice(-1_000)) expect((await resolver.resolveTxt(name)).fromCache).toBe(true);
    expect(server.queries).toHaveLength(sent);
    expect((await resolver.resolveTxt(flood.at(-1_001)!)).fromCache).toBe(false);
    expect((await resolver.resolveTxt(flood[0]!)).fromCache).toBe(false);
    expect(server.queries).toHaveLength(sent + 2);
  });

  it('bounds negative answers by maxNegativeEntries, whatever maxEntries is', async () => {
    const server = await start([]);
    const resolver = resolverFor(server, { maxNegativeEntries: 3 });
    for (let i = 0; i < 4; i++) await resolver.resolveTxt(`n${i}.nhi.test`);
    expect((await resolver.resolveTxt('n3.nhi.test')).fromCache).toBe(true);
    expect((await resolver.resolveTxt('n1.nhi.test')).fromCache).toBe(true);
    expect((await resolver.resolveTxt('n0.nhi.test')).fromCache).toBe(false);
  });

  it('drops the positive answer of a name that became NXDOMAIN, even from the stale window', async () => {
    let now = 1_700_000_000_000;
    const server = await start([{ name: NAME, type: 'TXT', ttl: 10, data: RECORD }]);
    const resolver = resolverFor(server, { now: () => now, staleTtl: 60, timeout: 100 });
    await resolver.resolveTxt(NAME);
    server.setRecords([]);
    now += 11_000;
    expect(await resolver.resolveTxt(NAME)).toMatchObject({ outcome: 'nxdomain', fromCache: false });
    // Both entries would still be in their stale windows; only the newer, negative one may be served.
    now += 31_000;
    server.setBehaviour({ drop: true });
    expect(await resolver.resolveTxt(NAME)).toMatchObject({
      outcome: 'stale',
      rcode: 'NXDOMAIN',
      records: [],
    });
  });
});

describe('refresh', () => {
  it('skips the cache read, and the fresh answer replaces the cached one', async () => {
    const server = await start([{ name: NAME, type: 'TXT', ttl: 60, data: RECORD }]);
    const resolver = resolverFor(server);
    await resolver.resolveTxt(NAME);
    const rotated = `${RECORD}; kid=k2; p=BBBB`;
    server.setRecords([{ name: NAME, type: 'TXT', ttl: 60, data: rotated }]);
    expect(await resolver.resolveTxt(NAME)).toMatchObject({ records: [[RECORD]], outcome: 'hit' });
    expect(await resolver.resolveTxt(NAME, { refresh: true })).toMatchObject({
      records: [[rotated]],
      outcome: 'miss',
      fromCache: false,
      attempts: 1,
    });
    expect(await resolver.resolveTxt(NAME)).toMatchObject({ records: [[rotated]], outcome: 'hit' });
    expect(server.queries).toHaveLength(2);
  });

  it('keeps the cached entry when the refresh fails, and throws', async () => {
    const server = await start([{ name: NAME, type: 'TXT', ttl: 60, data: RECORD }]);
    const resolver = resolverFor(server, { timeout: 100 });
    await resolver.resolveTxt(NAME);
    server.setBehaviour({ drop: true });
    expect(await rejection(resolver.resolveTxt(NAME, { refresh: true }))).toMatchObject({
      reason: 'timeout',
      attempts: 1,
    });
    expect(await resolver.resolveTxt(NAME)).toMatchObject({ records: [[RECORD]], outcome: 'hit' });
  });

  it('is never answered from the cache, not even stale', async () => {
    let now = 1_700_000_000_000;
    const server = await start([{ name: NAME, type: 'TXT', ttl: 10, data: RECORD }]);
    const resolver = resolverFor(server, { now: () => now, staleTtl: 60, timeout: 100 });
    await resolver.resolveTxt(NAME);
    now += 11_000;
    server.setBehaviour({ drop: true });
    expect((await rejection(resolver.resolveTxt(NAME, { refresh: true }))).reason).toBe('timeout');
    expect((await resolver.resolveTxt(NAME)).outcome).toBe('stale');
  });

  it('shares one query among concurrent refreshes and plain lookups of the key', async () => {
    const server = await start([{ name: NAME, type: 'TXT', ttl: 60, data: RECORD }], { delayMs: 30 });
    const resolver = resolverFor(server);
    await resolver.resolveTxt(NAME);
    server.setRecords([{ name: NAME, type: 'TXT', ttl: 60, data: 'new' }]);
    const refreshes = Array.from({ length: 10 }, () => resolver.resolveTxt(NAME, { refresh: true }));
    const results = await Promise.all(refreshes);
    expect(results.every((result) => result.records[0]![0] === 'new' && !result.fromCache)).toBe(true);
    expect(server.queries).toHaveLength(2);
    expect(resolver.stats.singleFlightJoins).toBe(9);
  });

  it('replaces a positive answer by the NXDOMAIN of a removed name, and one that may not be cached drops it', async () => {
    const server = await start([
      { name: NAME, type: 'TXT', ttl: 60, data: RECORD },
      { name: 'other.nhi.test', type: 'TXT', ttl: 60, data: RECORD },
    ]);
    const resolver = resolverFor(server);
    await resolver.resolveTxt(NAME);
    await resolver.resolveTxt('other.nhi.test');
    server.setRecords([{ name: 'other.nhi.test', type: 'TXT', ttl: 0, data: 'new' }]);
    expect((await resolver.resolveTxt(NAME, { refresh: true })).outcome).toBe('nxdomain');
    expect(await resolver.resolveTxt(NAME)).toMatchObject({ outcome: 'nxdomain', fromCache: true });
    // TTL 0: not cached, yet the old answer it supersedes is no longer served.
    expect((await resolver.resolveTxt('other.nhi.test', { refresh: true })).records).toEqual([['new']]);
    expect(await resolver.resolveTxt('other.nhi.test')).toMatchObject({
      records: [['new']],
      fromCache: false,
    });
  });

  it('does not refill a cache cleared while the refresh was in flight', async () => {
    const server = await start([{ name: NAME, type: 'TXT', ttl: 60, data: RECORD }], { delayMs: 30 });
    const resolver = resolverFor(server);
    const refresh = resolver.resolveTxt(NAME, { refresh: true });
    resolver.clear();
    expect((await refresh).outcome).toBe('miss');
    expect((await resolver.resolveTxt(NAME)).outcome).toBe('miss');
  });
});

describe('serve-stale (RFC 8767)', () => {
  it('serves an expired answer when upstream fails, for at most staleTtl', async () => {
    let now = 1_700_000_000_000;
    const server = await start([{ name: NAME, type: 'TXT', ttl: 10, data: RECORD }]);
    const resolver = resolverFor(server, { now: () => now, staleTtl: 60, timeout: 100 });
    await resolver.resolveTxt(NAME);
    now += 11_000;
    server.setBehaviour({ drop: true });
    expect(await resolver.resolveTxt(NAME)).toMatchObject({
      records: [[RECORD]],
      outcome: 'stale',
      fromCache: true,
      ttl: 0,
      attempts: 1,
    });
    server.setBehaviour({ drop: false, rcode: 'SERVFAIL' });
    expect((await resolver.resolveTxt(NAME)).outcome).toBe('stale');
    expect(resolver.stats.staleServed).toBe(2);
    now += 60_000;
    expect((await rejection(resolver.resolveTxt(NAME))).reason).toBe('servfail');
  });

  it('is off by default: an expired answer is never served', async () => {
    let now = 1_700_000_000_000;
    const server = await start([{ name: NAME, type: 'TXT', ttl: 10, data: RECORD }]);
    const resolver = resolverFor(server, { now: () => now, timeout: 100 });
    await resolver.resolveTxt(NAME);
    now += 10_000;
    server.setBehaviour({ drop: true });
    expect((await rejection(resolver.resolveTxt(NAME))).reason).toBe('timeout');
  });

  it('refreshes a stale entry when upstream answers', async () => {
    let now = 1_700_000_000_000;
    const server = await start([{ name: NAME, type: 'TXT', ttl: 10, data: 'old' }]);
    const resolver = resolverFor(server, { now: () => now, staleTtl: 60 });
    await resolver.resolveTxt(NAME);
    server.setRecords([{ name: NAME, type: 'TXT', ttl: 10, data: 'new' }]);
    now += 11_000;
    expect(await resolver.resolveTxt(NAME)).toMatchObject({ records: [['new']], outcome: 'miss' });
  });
});

describe('timeouts, retries and deadlines', () => {
  it('moves on to the second server after a timeout', async () => {
    const dead = await start([{ name: NAME, type: 'TXT', data: 'wrong' }]);
    dead.setBehaviour({ drop: true });
    const live = await start([{ name: NAME, type: 'TXT', data: RECORD }]);
    const resolver = createResolver({ servers: [dead.server, live.server], timeout: 150 });
    const started = Date.now();
    const result = await resolver.resolveTxt(NAME);
    expect(result).toMatchObject({ records: [[RECORD]], server: live.server, attempts: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(dead.queries).toHaveLength(1);
  });

  it('makes attempts × servers exchanges, then fails with timeout', async () => {
    const a = await start([]);
    const b = await start([]);
    a.setBehaviour({ drop: true });
    b.setBehaviour({ drop: true });
    const resolver = createResolver({ servers: [a.server, b.server], timeout: 50, attempts: 2 });
    const error = await rejection(resolver.resolveTxt(NAME));
    expect(error).toMatchObject({ reason: 'timeout', attempts: 4, server: b.server });
    expect(error.latencyMs).toBeGreaterThanOrEqual(190);
    expect(a.queries).toHaveLength(2);
    expect(b.queries).toHaveLength(2);
    // Each exchange used a fresh socket and a fresh ID.
    const all = [...a.queries, ...b.queries];
    expect(new Set(all.map((q) => q.port)).size).toBe(4);
  });

  it('stops at the deadline, well before timeout × attempts', async () => {
    const server = await start([]);
    server.setBehaviour({ drop: true });
    const resolver = createResolver({ servers: [server.server], timeout: 1000, attempts: 2 });
    const started = Date.now();
    const error = await rejection(resolver.resolveTxt(NAME, { deadline: started + 120 }));
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ reason: 'deadline', attempts: 1 });
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(elapsed).toBeLessThan(600);
  });

  it('sends nothing when the deadline has passed, yet answers from the cache', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }]);
    const resolver = resolverFor(server);
    expect(await rejection(resolver.resolveTxt(NAME, { deadline: Date.now() - 1 }))).toMatchObject({
      reason: 'deadline',
      attempts: 0,
    });
    expect(server.queries).toHaveLength(0);
    await resolver.resolveTxt(NAME);
    expect((await resolver.resolveTxt(NAME, { deadline: Date.now() - 1 })).outcome).toBe('hit');
  });

  it("lets a single-flight joiner with more time retry after the first caller's deadline", async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }], { delayMs: 150 });
    const resolver = resolverFor(server, { timeout: 1000 });
    const hurried = resolver.resolveTxt(NAME, { deadline: Date.now() + 50 });
    const patient = resolver.resolveTxt(NAME);
    expect((await rejection(hurried)).reason).toBe('deadline');
    expect((await patient).records).toEqual([[RECORD]]);
  });

  it('gives a joiner its own deadline', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }], { delayMs: 200 });
    const resolver = resolverFor(server, { timeout: 1000 });
    const patient = resolver.resolveTxt(NAME);
    const hurried = resolver.resolveTxt(NAME, { deadline: Date.now() + 50 });
    expect((await rejection(hurried)).reason).toBe('deadline');
    expect((await patient).outcome).toBe('miss');
  });
});

describe('events', () => {
  it('emits one event per call, hits and failures included; listener errors are contained', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }], { ad: true });
    const resolver = resolverFor(server);
    const events: LookupEvent[] = [];
    const listener = (event: LookupEvent) => events.push(event);
    resolver.on('lookup', listener);
    resolver.on('lookup', () => {
      throw new Error('listener bug');
    });
    await resolver.resolveTxt(NAME, { dnssec: true });
    await resolver.resolveTxt(NAME, { dnssec: true });
    await resolver.resolveTxt('missing.nhi.test');
    server.setBehaviour({ rcode: 'SERVFAIL' });
    await rejection(resolver.resolveTxt('other.nhi.test'));
    await rejection(resolver.resolveTxt('bad..name'));
    expect(events.map((e) => e.outcome)).toEqual(['miss', 'hit', 'nxdomain', 'servfail', 'error']);
    expect(events[0]).toMatchObject({
      name: NAME,
      type: 'TXT',
      rcode: 'NOERROR',
      server: server.server,
      attempts: 1,
      ad: true,
      dnssec: true,
    });
    expect(events[3]).toMatchObject({ rcode: 'SERVFAIL', ad: false, dnssec: false });
    expect(events[4]!.error?.reason).toBe('invalid_name');
    resolver.off('lookup', listener);
    await resolver.resolveTxt(NAME, { dnssec: true });
    expect(events).toHaveLength(5);
  });

  it('reports timeouts as the timeout outcome', async () => {
    const server = await start([]);
    server.setBehaviour({ drop: true });
    const resolver = resolverFor(server, { timeout: 50 });
    const listener = jest.fn<(event: LookupEvent) => void>();
    resolver.on('lookup', listener);
    await rejection(resolver.resolveTxt(NAME));
    expect(listener).toHaveBeenCalledWith(expect.objectContaining({ outcome: 'timeout', attempts: 1 }));
  });
});

describe('configuration', () => {
  it('reads resolv.conf lazily, at the first query', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }]);
    const dir = await mkdtemp(join(tmpdir(), 'resolver-'));
    try {
      const path = join(dir, 'resolv.conf');
      const resolver = createResolver({ resolvConfPath: path, port: server.port });
      // Written after creation: only a lazy read can see it.
      await writeFile(path, `# test\nnameserver 127.0.0.1\noptions timeout:1 attempts:1 rotate\n`);
      expect(await resolver.resolveTxt(NAME)).toMatchObject({ records: [[RECORD]], server: server.server });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects invalid names with invalid_name and unsupported types with TypeError, sending nothing', async () => {
    const server = await start([]);
    const resolver = resolverFor(server);
    for (const name of [
      '',
      'a..b',
      `${'a'.repeat(64)}.test`,
      'sp ace.test',
      'ünï.test',
      `${'a.'.repeat(127)}b`,
    ]) {
      expect(await rejection(resolver.resolveTxt(name))).toMatchObject({ reason: 'invalid_name' });
    }
    await expect(resolver.resolve(NAME, 'AXFR')).rejects.toThrow(TypeError);
    await expect(resolver.resolveTxt(42 as unknown as string)).rejects.toMatchObject({
      reason: 'invalid_name',
    });
    expect(server.queries).toHaveLength(0);
    // The root is a name (its keys anchor DNSSEC): '.' goes out as the root.
    await resolver.resolve('.', 'DNSKEY');
    expect(server.queries.map((query) => [query.name, query.type])).toEqual([['', 'DNSKEY']]);
  });

  it('validates options at creation', () => {
    expect(() => createResolver({ servers: ['example.com'] })).toThrow(TypeError);
    expect(() => createResolver({ servers: ['127.0.0.1:99999'] })).toThrow(RangeError);
    expect(() => createResolver({ servers: [] })).toThrow(TypeError);
    expect(() => createResolver({ timeout: 0 })).toThrow(RangeError);
    expect(() => createResolver({ attempts: 1.5 })).toThrow(RangeError);
    expect(() => createResolver({ minTtl: 10, maxTtl: 5 })).toThrow(RangeError);
    expect(() => createResolver({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => createResolver({ maxNegativeEntries: 0 })).toThrow(RangeError);
    expect(() => createResolver({ maxNegativeEntries: 2.5 })).toThrow(RangeError);
    expect(() => createResolver({ staleTtl: -1 })).toThrow(RangeError);
    expect(() => createResolver({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => createResolver({ maxNegativeBytes: 1.5 })).toThrow(RangeError);
    expect(() => createResolver({ caseRandomization: 'no' as never })).toThrow(TypeError);
    expect(() =>
      createResolver({ caseRandomization: false, maxBytes: 1, maxNegativeBytes: 1 }),
    ).not.toThrow();
    expect(() => createResolver()).not.toThrow();
  });
});
