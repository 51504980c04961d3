/**
 * Resolver figures, each against a baseline measured in the same run:
 * - cache hit: µs per `resolveTxt` hit, against an empty awaited async call (the floor of any
 *   promise-returning API);
 * - cold lookup: our `resolveTxt` miss against `dns.promises.Resolver` (c-ares) on the same
 *   loopback test server, alternating one by one. Every name is unique and served with TTL 0, so
 *   neither our cache nor a c-ares query cache (Node ≥ 20.16 may enable one) can answer;
 * - concurrent cold lookups: a batch of 100 distinct names in parallel on each side (ours with
 *   `cache: false`, c-ares on one `Resolver`), batches alternating, time per batch. The names fall
 *   under a TTL-0 wildcard of a second test server, so that the server's cost per query does not
 *   grow with the number of names.
 *
 * Run through the bench runner: `npm run bench -- --only resolver`.
 */
import { Resolver as NodeResolver } from 'node:dns/promises';
import { createResolver } from '@nhi-dns/resolver';
import { startTestDnsServer } from '@nhi-dns/resolver/test-support';
import { type BenchContext, type BenchSuite, type Figure, figure, measurement } from './lib/figure.js';
import { interleave } from './lib/measure.js';
import { summarise } from './lib/stats.js';

const SIZES = {
  full: { hitRounds: 10, hitCalls: 10_000, coldLookups: 1000, batches: 100 },
  quick: { hitRounds: 2, hitCalls: 1000, coldLookups: 50, batches: 5 },
};
/** Distinct names per concurrent batch. */
const BATCH = 100;
/** Untimed batches per side before timing. */
const BATCH_WARMUP = 3;
/** Zone of the wildcard that answers the concurrent lookups. */
const BURST_ZONE = 'burst.nhi.test';
const RECORD =
  'v=NHI1; svc=billing; env=prod; kid=k2026-11; k=ed25519; p=MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=';
const CACHED_NAME = 'billing.prod.nhi.test';
/** Untimed lookups per side before timing (sockets, JIT). */
const COLD_WARMUP = 20;

const run = async (context: BenchContext): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  const lookups = size.coldLookups + COLD_WARMUP;
  const coldNames = Array.from({ length: 2 * lookups }, (_, i) => `cold${i}.nhi.test`);
  const server = await startTestDnsServer({
    records: [
      { name: CACHED_NAME, type: 'TXT', ttl: 300, data: RECORD },
      ...coldNames.map((name) => ({ name, type: 'TXT' as const, ttl: 0, data: RECORD })),
    ],
  });
  try {
    context.log('resolver: cache hit');
    const resolver = createResolver({ servers: [server.server] });
    await resolver.resolveTxt(CACHED_NAME);
    const noop = async (): Promise<number> => 1;
    const hit = await interleave(
      { hit: () => resolver.resolveTxt(CACHED_NAME), emptyAsync: () => noop() },
      { rounds: size.hitRounds, callsPerRound: size.hitCalls },
    );
    if (resolver.stats.queriesSent !== 1) throw new Error('cache hits reached the network');

    context.log(`resolver: ${size.coldLookups} cold lookups per side, alternating`);
    const ours = createResolver({ servers: [server.server], cache: false, timeout: 2000 });
    const node = new NodeResolver({ timeout: 2000, tries: 1 });
    node.setServers([server.server]);
    // Both sides take names from one pool in turn, so neither ever asks a name twice.
    let nextName = 0;
    const take = (): string => coldNames[nextName++]!;
    const check = (strings: readonly string[] | undefined) => {
      if (strings?.join('') !== RECORD) throw new Error('cold lookup returned a different answer');
    };
    const queriesBefore = server.queries.length;
    const cold = await interleave(
      {
        ours: async () => check((await ours.resolveTxt(take())).records[0]),
        node: async () => check((await node.resolveTxt(take()))[0]),
      },
      { rounds: size.coldLookups, callsPerRound: 1, warmupCalls: COLD_WARMUP },
    );
    const queries = server.queries.length - queriesBefore;
    if (queries !== 2 * lookups) throw new Error(`expected ${2 * lookups} queries, server saw ${queries}`);

    context.log(
      `resolver: ${size.batches} batches of ${BATCH} concurrent cold lookups per side, alternating`,
    );
    const burst = await startTestDnsServer({
      zone: BURST_ZONE,
      records: [{ name: `*.${BURST_ZONE}`, type: 'TXT', ttl: 0, data: RECORD }],
    });
    let batchQueries: number;
    let concurrent: Record<'ours' | 'node', number[]>;
    try {
      const oursBurst = createResolver({ servers: [burst.server], cache: false, timeout: 2000 });
      const nodeBurst = new NodeResolver({ timeout: 2000, tries: 1 });
      nodeBurst.setServers([burst.server]);
      // Every batch (of either side) asks names no batch asked before.
      let nextBatch = 0;
      const batchNames = (): string[] => {
        const batch = nextBatch++;
        return Array.from({ length: BATCH }, (_, i) => `b${batch}n${i}.${BURST_ZONE}`);
      };
      concurrent = await interleave(
        {
          ours: async () => {
            const results = await Promise.all(batchNames().map((name) => oursBurst.resolveTxt(name)));
            for (const result of results) check(result.records[0]);
          },
          node: async () => {
            const results = await Promise.all(batchNames().map((name) => nodeBurst.resolveTxt(name)));
            for (const result of results) check(result[0]);
          },
        },
        { rounds: size.batches, callsPerRound: 1, warmupCalls: BATCH_WARMUP },
      );
      // Each side's names reached the server exactly once each.
      const expected = 2 * BATCH * (size.batches + BATCH_WARMUP);
      const asked = new Set(burst.queries.map((query) => query.name));
      batchQueries = burst.queries.length;
      if (batchQueries !== expected || asked.size !== expected) {
        throw new Error(
          `expected ${expected} queries of distinct names, server saw ${batchQueries} (${asked.size} names)`,
        );
      }
    } finally {
      await burst.stop();
    }

    return [
      figure({
        id: 'cacheHit',
        title: 'Resolver cache hit',
        subject: measurement('resolveTxt, cache hit', 'µs', summarise(hit.hit)),
        baseline: measurement('empty awaited async call', 'µs', summarise(hit.emptyAsync)),
        ratioOf: 'subject/baseline',
        target: { comparison: '<=', value: 2, on: 'subject' },
        method:
          'Awaited resolveTxt of one cached name, timed call by call, interleaved with an empty async call.',
      }),
      figure({
        id: 'coldLookup',
        title: 'Cold lookup vs dns.promises (c-ares)',
        subject: measurement('our resolveTxt, miss', 'µs', summarise(cold.ours)),
        baseline: measurement('dns.promises.Resolver.resolveTxt', 'µs', summarise(cold.node)),
        ratioOf: 'subject/baseline',
        target: { comparison: '<=', value: 1 },
        details: { serverQueries: queries, namesUnique: true, recordTtl: 0 },
        method:
          'Same loopback test server, one lookup each in turn, every name unique with TTL 0 so no cache on either side can answer (the server counted one query per lookup). Ours: cache off, fresh UDP socket per query.',
      }),
      figure({
        id: 'concurrentColdLookups',
        title: `${BATCH} concurrent cold lookups vs dns.promises (c-ares)`,
        subject: measurement(`our resolveTxt × ${BATCH} in parallel`, 'µs', summarise(concurrent.ours)),
        baseline: measurement(
          `dns.promises.Resolver.resolveTxt × ${BATCH} in parallel`,
          'µs',
          summarise(concurrent.node),
        ),
        ratioOf: 'subject/baseline',
        target: { comparison: '<=', value: 1 },
        details: { namesPerBatch: BATCH, serverQueries: batchQueries, namesUnique: true, recordTtl: 0 },
        method: `Time per batch of ${BATCH} distinct names resolved in parallel (Promise.all), batches of the two sides alternating, on a loopback test server whose TTL-0 wildcard answers every name (each name reached it once). Ours: cache off, a fresh UDP socket per query; c-ares: one Resolver (it shares one socket among the queries in flight).`,
      }),
    ];
  } finally {
    await server.stop();
  }
};

/** Cache-hit, cold-lookup and concurrent cold-lookup figures of the resolver. */
export const resolverBench: BenchSuite = { name: 'resolver', run };
