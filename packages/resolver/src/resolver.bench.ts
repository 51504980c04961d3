/**
 * Resolver figures, each against a baseline measured in the same run:
 * - cache-hit cost of `resolveTxt` (median per call over 100k calls, and mean per call in batches);
 * - cold lookup latency against the loopback test server, ours vs `dns.promises.Resolver`
 *   (c-ares) on the same server, interleaved, TTL 0 and unique names so neither side caches.
 *
 * Run: `node scripts/run-ts.mjs packages/resolver/src/resolver.bench.ts [--json]`
 */
import { Resolver as NodeResolver } from 'node:dns/promises';
import { createResolver } from './resolver.js';
import { startTestDnsServer } from './test-support/index.js';

const HIT_CALLS = 100_000;
const COLD_LOOKUPS = 300;
const RECORD =
  'v=NHI1; svc=billing; env=prod; kid=k2026-11; k=ed25519; p=MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=';

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

const coldNames = Array.from({ length: COLD_LOOKUPS * 2 }, (_, i) => `cold${i}.nhi.test`);
const server = await startTestDnsServer({
  records: [
    { name: 'billing.prod.nhi.test', type: 'TXT', ttl: 300, data: RECORD },
    ...coldNames.map((name) => ({ name, type: 'TXT' as const, ttl: 0, data: RECORD })),
  ],
});

try {
  // Cache hit.
  const resolver = createResolver({ servers: [server.server] });
  await resolver.resolveTxt('billing.prod.nhi.test');
  for (let i = 0; i < 10_000; i++) await resolver.resolveTxt('billing.prod.nhi.test'); // JIT warm-up
  const perCall: number[] = [];
  for (let i = 0; i < HIT_CALLS; i++) {
    const started = process.hrtime.bigint();
    await resolver.resolveTxt('billing.prod.nhi.test');
    perCall.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  const batchMeans: number[] = [];
  for (let batch = 0; batch < 100; batch++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) await resolver.resolveTxt('billing.prod.nhi.test');
    batchMeans.push(Number(process.hrtime.bigint() - started) / 1000 / 1000);
  }
  // Baseline for the hit: an empty awaited async call, the floor of any promise-returning API.
  const noop = async (): Promise<number> => 1;
  const floor: number[] = [];
  for (let i = 0; i < HIT_CALLS; i++) {
    const started = process.hrtime.bigint();
    await noop();
    floor.push(Number(process.hrtime.bigint() - started) / 1000);
  }

  // Cold lookups, interleaved so both sides see the same machine load.
  const ours = createResolver({ servers: [server.server], cache: false, timeout: 2000 });
  const node = new NodeResolver({ timeout: 2000, tries: 1 });
  node.setServers([server.server]);
  for (let i = 0; i < 20; i++) {
    await ours.resolveTxt(coldNames[i]!);
    await node.resolveTxt(coldNames[i]!);
  }
  const oursMs: number[] = [];
  const nodeMs: number[] = [];
  for (let i = 0; i < COLD_LOOKUPS; i++) {
    const a = coldNames[2 * i]!;
    const b = coldNames[2 * i + 1]!;
    let started = performance.now();
    const mine = await ours.resolveTxt(i % 2 === 0 ? a : b);
    oursMs.push(performance.now() - started);
    started = performance.now();
    const theirs = await node.resolveTxt(i % 2 === 0 ? b : a);
    nodeMs.push(performance.now() - started);
    if (mine.records[0]?.join('') !== RECORD || theirs[0]?.join('') !== RECORD)
      throw new Error('answers differ');
  }

  const results = {
    node: process.version,
    cacheHit: {
      calls: HIT_CALLS,
      medianUs: round(median(perCall), 3),
      p99Us: round(percentile(perCall, 99), 3),
      batchMeanMedianUs: round(median(batchMeans), 3),
      emptyAsyncCallMedianUs: round(median(floor), 3),
    },
    coldLookup: {
      lookups: COLD_LOOKUPS,
      oursMedianMs: round(median(oursMs), 3),
      oursP95Ms: round(percentile(oursMs, 95), 3),
      nodeDnsMedianMs: round(median(nodeMs), 3),
      nodeDnsP95Ms: round(percentile(nodeMs, 95), 3),
      ratioOursToNode: round(median(oursMs) / median(nodeMs), 2),
    },
  };
  if (process.argv.includes('--json')) console.log(JSON.stringify(results));
  else console.log(JSON.stringify(results, null, 2));
} finally {
  await server.stop();
}
