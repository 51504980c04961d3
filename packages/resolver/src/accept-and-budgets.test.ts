import { createResolver } from './resolver.js';
import { estimateEntryBytes } from './size.js';
import {
  createTableResolver,
  startTestDnsServer,
  type TestDnsServer,
  type TestRecord,
} from './test-support/index.js';
import type { LookupEvent, ResolverOptions } from './types.js';

const ZONE = 'nhi.test';
const NAME = `billing.prod.${ZONE}`;
const RECORD = 'v=NHI1; svc=billing; env=prod; kid=k1; p=AAAA';
const JUNK = `v=NHI1; svc=junk; env=prod; kid=j; p=${'J'.repeat(3000)}`;
/** Stand-in for identity-resolve's predicate: a record that names this service. */
const namesBilling = (records: string[][]) => records.some((rr) => rr.join('').includes('svc=billing'));

let servers: TestDnsServer[] = [];
const start = async (records: TestRecord[] = []) => {
  const server = await startTestDnsServer({ zone: ZONE, records });
  servers.push(server);
  return server;
};
afterEach(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  servers = [];
});
const resolverFor = (server: TestDnsServer, options: ResolverOptions = {}) =>
  createResolver({ servers: [server.server], timeout: 500, attempts: 1, ...options });

describe('DNS 0x20 through the resolver', () => {
  it('sends random case, yet keys the cache, results and events in lower case', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }]);
    const resolver = resolverFor(server);
    const events: LookupEvent[] = [];
    resolver.on('lookup', (event) => events.push(event));
    const first = await resolver.resolve('Billing.PROD.nhi.test.', 'txt');
    // The test server echoes the question as received and owns the answer under that case too.
    expect(server.queries[0]!.wireName.toLowerCase()).toBe(NAME);
    expect(first).toMatchObject({ name: NAME, outcome: 'miss' });
    expect(first.answers.map((record) => record.name)).toEqual([NAME]);
    expect(await resolver.resolveTxt('BILLING.prod.NHI.test')).toMatchObject({
      outcome: 'hit',
      records: [[RECORD]],
    });
    expect(events.map((event) => [event.name, event.outcome])).toEqual([
      [NAME, 'miss'],
      [NAME, 'hit'],
    ]);
    // Over many queries the case pattern on the wire varies; the key never does.
    for (let i = 0; i < 20; i++) await resolver.resolveTxt(NAME, { refresh: true });
    expect(new Set(server.queries.map((q) => q.wireName)).size).toBeGreaterThan(15);
    expect(new Set(server.queries.map((q) => q.name))).toEqual(new Set([NAME]));
  });

  it('with caseRandomization: false, sends the name in lower case', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }]);
    await resolverFor(server, { caseRandomization: false }).resolveTxt('BILLING.prod.nhi.test');
    expect(server.queries.map((q) => q.wireName)).toEqual([NAME]);
  });
});

describe('byte budgets', () => {
  const big = (label: string): TestRecord => ({
    name: `${label}.${ZONE}`,
    type: 'TXT',
    data: `${label}:${'x'.repeat(3000)}`,
  });

  it('evicts the least recently used positive answers until maxBytes holds, below maxEntries', async () => {
    const server = await start(['a', 'b', 'c', 'd'].map(big));
    // An entry of a 3 KB TXT RR is about 8.6 KB by the estimate: three fit in 30 000 bytes, four do not.
    const resolver = resolverFor(server, { maxBytes: 30_000 });
    for (const label of ['a', 'b', 'c']) await resolver.resolveTxt(`${label}.${ZONE}`);
    expect((await resolver.resolveTxt(`a.${ZONE}`)).outcome).toBe('hit'); // b is now the oldest
    await resolver.resolveTxt(`d.${ZONE}`);
    expect((await resolver.resolveTxt(`a.${ZONE}`)).outcome).toBe('hit');
    expect((await resolver.resolveTxt(`c.${ZONE}`)).outcome).toBe('hit');
    expect((await resolver.resolveTxt(`d.${ZONE}`)).outcome).toBe('hit');
    expect((await resolver.resolveTxt(`b.${ZONE}`)).outcome).toBe('miss');
  });

  it('does not cache an answer larger than the whole budget, and keeps the others', async () => {
    const server = await start([big('a'), { name: `small.${ZONE}`, type: 'TXT', data: 'small' }]);
    const resolver = resolverFor(server, { maxBytes: 4_000 });
    await resolver.resolveTxt(`small.${ZONE}`);
    for (let i = 0; i < 2; i++) expect((await resolver.resolveTxt(`a.${ZONE}`)).outcome).toBe('miss');
    expect((await resolver.resolveTxt(`small.${ZONE}`)).outcome).toBe('hit');
  });

  it('bounds negative answers by maxNegativeBytes as well', async () => {
    const server = await start([]);
    // A cached NXDOMAIN is about 430 bytes by the estimate: two fit in 1 000 bytes.
    const resolver = resolverFor(server, { maxNegativeBytes: 1_000 });
    for (const label of ['n0', 'n1', 'n2']) await resolver.resolveTxt(`${label}.${ZONE}`);
    expect((await resolver.resolveTxt(`n2.${ZONE}`)).fromCache).toBe(true);
    expect((await resolver.resolveTxt(`n1.${ZONE}`)).fromCache).toBe(true);
    expect((await resolver.resolveTxt(`n0.${ZONE}`)).fromCache).toBe(false);
  });

  it('estimates an entry from its TXT bytes (twice: wire and decoded), names and fixed overheads', () => {
    const records = [['a'.repeat(255), 'b'.repeat(45)]];
    const answer = {
      answers: [{ name: NAME, type: 'TXT', ttl: 60, data: records[0]!.map((s) => Buffer.from(s)) }],
      cnameChain: [],
      txt: records,
    };
    const key = `TXT - ${NAME}`;
    // entry 400 + key; RR 120 + name; per string 160 + bytes (Buffer) and 16 + bytes (decoded).
    expect(estimateEntryBytes(key, answer)).toBe(400 + key.length + 120 + NAME.length + 2 * 176 + 2 * 300);
    expect(estimateEntryBytes(key, { answers: [], cnameChain: [], txt: [] })).toBe(400 + key.length);
  });
});

describe('accept predicate (resolveTxt)', () => {
  it('caches records it rejects as an unusable negative answer, for all later lookups of the key', async () => {
    const server = await start([{ name: NAME, type: 'TXT', ttl: 120, data: JUNK }]);
    const resolver = resolverFor(server);
    const events: LookupEvent[] = [];
    resolver.on('lookup', (event) => events.push(event));
    const seen: string[][][] = [];
    const rejected = await resolver.resolveTxt(NAME, {
      accept: (records) => {
        seen.push(records);
        return false;
      },
    });
    expect(rejected).toMatchObject({ records: [], outcome: 'unusable', rcode: 'NOERROR', fromCache: false });
    expect(rejected.ttl).toBe(30); // the answer's TTL, capped like negative answers (maxNegativeTtl)
    expect(seen).toHaveLength(1); // called once, with the frozen records
    expect(Object.isFrozen(seen[0])).toBe(true);
    expect(seen[0]![0]!.join('')).toBe(JUNK);
    // Cached as negative: any later lookup of the key gets it, with or without a predicate.
    expect(await resolver.resolveTxt(NAME)).toMatchObject({
      records: [],
      outcome: 'unusable',
      fromCache: true,
    });
    expect(await resolver.resolveTxt(NAME, { accept: () => true })).toMatchObject({ outcome: 'unusable' });
    expect((await resolver.resolve(NAME, 'TXT')).answers).toEqual([]);
    expect(server.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']); // one lookup (3 KB: TCP)
    expect(events.map((event) => event.outcome)).toEqual(['unusable', 'unusable', 'unusable', 'unusable']);
    expect(events[0]).toMatchObject({ rcode: 'NOERROR', name: NAME });
    // A refresh asks again; an accepted answer replaces the unusable one.
    const refreshed = await resolver.resolveTxt(NAME, { refresh: true, accept: () => true });
    expect(refreshed.outcome).toBe('miss');
    expect(refreshed.records.map((rr) => rr.join(''))).toEqual([JUNK]);
    expect((await resolver.resolveTxt(NAME)).outcome).toBe('hit');
  });

  it('caches accepted answers as usual; negative answers never meet the predicate', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }]);
    const resolver = resolverFor(server);
    let calls = 0;
    const accept = (records: string[][]) => {
      calls++;
      return namesBilling(records);
    };
    expect(await resolver.resolveTxt(NAME, { accept })).toMatchObject({
      outcome: 'miss',
      records: [[RECORD]],
    });
    expect(await resolver.resolveTxt(NAME, { accept })).toMatchObject({
      outcome: 'hit',
      records: [[RECORD]],
    });
    expect((await resolver.resolveTxt(`missing.${ZONE}`, { accept })).outcome).toBe('nxdomain');
    expect(calls).toBe(2); // the miss (once, for cache write and result alike) and the hit
  });

  it('judges cached positive answers per call without changing the cache', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }]);
    const resolver = resolverFor(server);
    await resolver.resolveTxt(NAME);
    expect(await resolver.resolveTxt(NAME, { accept: () => false })).toMatchObject({
      outcome: 'unusable',
      records: [],
      fromCache: true,
    });
    expect(await resolver.resolveTxt(NAME)).toMatchObject({ outcome: 'hit', records: [[RECORD]] });
    expect(server.queries).toHaveLength(1);
  });

  it("single flight: the first caller's predicate decides the cache write, each caller's its own result", async () => {
    const server = await start([
      { name: NAME, type: 'TXT', data: RECORD },
      { name: `other.${ZONE}`, type: 'TXT', data: RECORD },
    ]);
    server.setBehaviour({ delayMs: 30 });
    const resolver = resolverFor(server);
    // First caller rejects, a joiner without a predicate and one that accepts.
    const [first, plain, accepting] = await Promise.all([
      resolver.resolveTxt(NAME, { accept: () => false }),
      resolver.resolveTxt(NAME),
      resolver.resolveTxt(NAME, { accept: () => true }),
    ]);
    expect(first.outcome).toBe('unusable');
    expect(plain).toMatchObject({ outcome: 'miss', records: [[RECORD]] });
    expect(accepting).toMatchObject({ outcome: 'miss', records: [[RECORD]] });
    expect(resolver.stats.singleFlightJoins).toBe(2);
    expect(await resolver.resolveTxt(NAME)).toMatchObject({ outcome: 'unusable', fromCache: true });
    // First caller accepts, a joiner rejects: the joiner gets the negative result, the cache the records.
    const other = `other.${ZONE}`;
    const [kept, refused] = await Promise.all([
      resolver.resolveTxt(other, { accept: () => true }),
      resolver.resolveTxt(other, { accept: () => false }),
    ]);
    expect(kept.outcome).toBe('miss');
    expect(refused).toMatchObject({ outcome: 'unusable', records: [] });
    expect(await resolver.resolveTxt(other)).toMatchObject({ outcome: 'hit', records: [[RECORD]] });
    expect(server.queries).toHaveLength(2);
  });

  it('rejects the call of a predicate that throws, caches nothing, and spares the joiners', async () => {
    const server = await start([{ name: NAME, type: 'TXT', data: RECORD }]);
    server.setBehaviour({ delayMs: 30 });
    const resolver = resolverFor(server);
    const bug = new Error('predicate bug');
    const [thrown, joiner] = await Promise.allSettled([
      resolver.resolveTxt(NAME, {
        accept: () => {
          throw bug;
        },
      }),
      resolver.resolveTxt(NAME),
    ]);
    expect(thrown).toEqual({ status: 'rejected', reason: bug });
    expect(joiner).toMatchObject({ status: 'fulfilled', value: { outcome: 'miss' } });
    expect((await resolver.resolveTxt(NAME)).outcome).toBe('miss'); // nothing was cached
    await expect(resolver.resolveTxt(NAME, { accept: 'yes' as never })).rejects.toThrow(TypeError);
  });

  it('a flood of rejected wildcard names never evicts a positive answer', async () => {
    const server = await start([
      { name: NAME, type: 'TXT', data: RECORD },
      { name: `*.prod.${ZONE}`, type: 'TXT', data: JUNK },
    ]);
    const resolver = resolverFor(server, { maxEntries: 2, maxNegativeEntries: 10 });
    await resolver.resolveTxt(NAME, { accept: namesBilling });
    for (let i = 0; i < 50; i++) {
      const result = await resolver.resolveTxt(`made-up-${i}.prod.${ZONE}`, { accept: namesBilling });
      expect(result).toMatchObject({ outcome: 'unusable', records: [] });
    }
    expect(await resolver.resolveTxt(NAME, { accept: namesBilling })).toMatchObject({ outcome: 'hit' });
    // Without the predicate the same flood pushes it out of a 2-entry cache.
    for (let i = 0; i < 2; i++) await resolver.resolveTxt(`junk-${i}.prod.${ZONE}`);
    expect((await resolver.resolveTxt(NAME)).outcome).toBe('miss');
  });

  it('is honoured by the table resolver of test-support, as on a cache hit', async () => {
    const table = createTableResolver(new Map([[NAME, [[RECORD]]]]));
    expect(await table.resolveTxt(NAME, { accept: () => false })).toMatchObject({
      records: [],
      outcome: 'unusable',
    });
    expect(await table.resolveTxt(NAME, { accept: namesBilling })).toMatchObject({
      records: [[RECORD]],
      outcome: 'hit',
    });
    expect((await table.resolveTxt(`missing.${ZONE}`, { accept: () => false })).outcome).toBe('nxdomain');
  });
});
