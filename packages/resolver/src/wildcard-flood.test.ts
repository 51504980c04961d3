// Security finding (SECURITY.md): a wildcard TXT record `*.prod.<zone>` lets anyone make made-up
// names resolve to big junk answers. Before byte budgets and `accept`, 10 001 of them evicted the
// real cached records and took ~613 MiB at the 10 000-entry limit. With `accept` rejecting the
// junk, it lands in the negative LRU as small `unusable` entries, bounded by maxNegativeBytes.
import { DEFAULTS } from './options.js';
import { createResolver } from './resolver.js';
import { estimateEntryBytes } from './size.js';
import { forcedGc, startTestDnsServer, type TestDnsServer } from './test-support/index.js';

const ZONE = 'auth.example.com';
const NAME = `billing.prod.${ZONE}`;
const REAL =
  'v=NHI1; svc=billing; env=prod; kid=k1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
/** Eight TXT RRs of 3 KB each: 24 KB of junk per made-up name (over UDP: truncated, then TCP). */
const JUNK = Array.from({ length: 8 }, (_, i) => `v=NHI1; svc=junk${i}; env=prod; p=${'J'.repeat(3000)}`);
const MIB = 1024 * 1024;
/** What identity-resolve will pass: "has a usable NHI1 key for this name" (here: names billing). */
const accept = (records: string[][]) => records.some((rr) => rr.join('').includes('svc=billing;'));

const gc = forcedGc;

/** JS heap plus Buffer memory (TXT data lives in ArrayBuffers), after a full GC when we can. */
const used = (): number => {
  server.queries.length = 0;
  gc?.();
  gc?.();
  const memory = process.memoryUsage();
  return memory.heapUsed + memory.arrayBuffers;
};
const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

let server: TestDnsServer;
beforeAll(async () => {
  server = await startTestDnsServer({
    zone: ZONE,
    records: [
      { name: NAME, type: 'TXT', ttl: 300, data: REAL },
      ...JUNK.map((data) => ({ name: `*.prod.${ZONE}`, type: 'TXT' as const, ttl: 300, data })),
    ],
  });
});
afterAll(() => server.stop());

/** Looks up `count` made-up names under the wildcard, `concurrency` at a time. */
const flood = async (lookup: (name: string) => Promise<unknown>, count: number, concurrency = 16) => {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await lookup(`made-up-${i}-${(i * 7919) % 10_007}.prod.${ZONE}`);
      // The test server logs every query; that log is not the resolver's memory.
      if (server.queries.length > 1000) server.queries.length = 0;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
};

describe('wildcard flood (security finding: junk answers evicting real records)', () => {
  it('10 001 made-up names with a rejecting accept: the real record stays a hit, heap stays within the byte budgets', async () => {
    const resolver = createResolver({ servers: [server.server], timeout: 2000, attempts: 2 });
    expect(await resolver.resolveTxt(NAME, { accept })).toMatchObject({ outcome: 'miss', records: [[REAL]] });
    const before = used();
    let unusable = 0;
    await flood(async (name) => {
      const result = await resolver.resolveTxt(name, { accept });
      if (result.outcome === 'unusable' && result.records.length === 0) unusable++;
    }, 10_001);
    const after = used();
    const growth = after - before;
    console.log(
      `wildcard flood, 10 001 names × 8 × 3 KB TXT, accept rejecting: heap+buffers ${mib(before)} before, ` +
        `${mib(after)} after (growth ${mib(growth)}; gc ${gc === undefined ? 'unavailable' : 'forced'}); ` +
        `budgets ${mib(DEFAULTS.maxBytes)} positive + ${mib(DEFAULTS.maxNegativeBytes)} negative`,
    );
    expect(unusable).toBe(10_001);
    const hitsBefore = resolver.stats.cacheHits;
    expect(await resolver.resolveTxt(NAME, { accept })).toMatchObject({ outcome: 'hit', fromCache: true });
    expect(resolver.stats.cacheHits).toBe(hitsBefore + 1);
    // Bounded by the budgets (the junk is only in the negative LRU); generous without a real GC.
    const slack = gc === undefined ? 64 * MIB : 8 * MIB;
    expect(growth).toBeLessThan(DEFAULTS.maxBytes + DEFAULTS.maxNegativeBytes + slack);
  }, 180_000);

  it('without accept, the byte budget alone still bounds the junk (the estimate against measured memory)', async () => {
    const maxBytes = 4 * MIB;
    const resolver = createResolver({ servers: [server.server], timeout: 2000, attempts: 2, maxBytes });
    const probe = await resolver.resolve(`probe.prod.${ZONE}`, 'TXT');
    const perEntry = estimateEntryBytes(`TXT - probe.prod.${ZONE}`, {
      answers: probe.answers,
      cnameChain: [],
      txt: probe.answers.map((rr) => (rr.data as Buffer[]).map((part) => part.toString())),
    });
    resolver.clear();
    const fits = Math.floor(maxBytes / perEntry);
    const before = used();
    await flood((name) => resolver.resolveTxt(name), fits);
    const full = used();
    await flood((name) => resolver.resolveTxt(`more-${name}`), 2 * fits);
    const after = used();
    const measuredPerEntry = (full - before) / fits;
    console.log(
      `byte budget ${mib(maxBytes)} without accept: estimate ${perEntry} B per junk entry (${fits} fit), ` +
        `measured ${Math.round(measuredPerEntry)} B per entry; heap+buffers ${mib(before)} empty, ${mib(full)} full, ` +
        `${mib(after)} after ${2 * fits} more (gc ${gc === undefined ? 'unavailable' : 'forced'}); ` +
        `10 000 such entries (maxEntries alone, the old bound) would hold ${mib(10_000 * measuredPerEntry)}`,
    );
    // The cache stops at its budget: twice as many more names add (next to) nothing.
    const slack = gc === undefined ? 64 * MIB : 2 * MIB;
    expect(after - full).toBeLessThan(slack);
    if (gc !== undefined) {
      // The estimate is within a factor of 2 of what an entry really holds.
      expect(measuredPerEntry).toBeLessThan(2 * perEntry);
      expect(measuredPerEntry).toBeGreaterThan(perEntry / 2);
    }
  }, 180_000);
});
