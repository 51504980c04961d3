/**
 * Burst on a cold cache: 10 000 concurrent verifications through the callee chain from 100
 * distinct callers (100 proofs each), all started at once on a fresh resolver. Single flight
 * must turn them into exactly one DNS query per caller. Baseline: the same number of bare
 * Ed25519 `crypto.verify` calls, back to back, in the same run.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decodeProof } from '@nhi-dns/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  createCallers,
  expectOk,
  LAMBDA_CONTEXT,
  presignEvents,
  startChainFixture,
} from '../../../bench/lib/chain-fixture.js';
import {
  type BenchContext,
  type BenchSuite,
  type Figure,
  figure,
  singleValue,
} from '../../../bench/lib/figure.js';
import { microsSince } from '../../../bench/lib/measure.js';
import { silenceOutput } from '../../../bench/lib/output-sink.js';
import { round } from '../../../bench/lib/stats.js';

const SIZES = { full: { callers: 100, proofsPerCaller: 100 }, quick: { callers: 10, proofsPerCaller: 10 } };
const MB = 2 ** 20;
/**
 * A new Lambda context per invocation, as the runtime gives (the middlewares write the caller
 * onto it), with a minute to go: see the timeouts note in `run`.
 */
const lambdaContext = () =>
  ({ ...LAMBDA_CONTEXT, getRemainingTimeInMillis: () => 60_000 }) as typeof LAMBDA_CONTEXT;

/** A full collection, so that heap figures are live data rather than garbage not yet swept. */
const collectGarbage = (): (() => void) => {
  // run-ts.mjs starts Node without --expose-gc; the flag still takes effect for a new context.
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
};

const run = async (context: BenchContext): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  const total = size.callers * size.proofsPerCaller;
  const callers = createCallers(size.callers + 1);
  const warmCaller = callers.pop()!;
  const fixture = await startChainFixture([...callers, warmCaller]);
  const gc = collectGarbage();
  try {
    context.log(`burst: signing ${total} proofs from ${size.callers} callers`);
    const perCaller = await Promise.all(callers.map((caller) => presignEvents(caller, size.proofsPerCaller)));
    // Round-robin over callers, so that each caller's first proof is among the first started.
    const events: APIGatewayProxyEventV2[] = [];
    for (let i = 0; i < size.proofsPerCaller; i++) for (const list of perCaller) events.push(list[i]!);
    const [warmEvent] = await presignEvents(warmCaller, 1);

    const restore = silenceOutput();
    try {
      // 10 000 invocations in one process is a stress test Lambda never sends one instance (it
      // sends one event at a time): the event loop is busy for seconds, so DNS replies are read
      // late. Generous timeouts keep this a measure of single flight, not of timer starvation.
      const resolver = fixture.resolver({ timeout: 30_000 });
      const handler = fixture.handler({ resolver });
      // One call from a caller outside the burst warms the secret and the code, not the 100 records.
      expectOk(await handler(warmEvent!, lambdaContext()));
      const queriesBefore = fixture.dns.queries.length;
      const sentBefore = resolver.stats.queriesSent;

      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      const started = process.hrtime.bigint();
      const results = await Promise.all(events.map((event) => handler(event, lambdaContext())));
      const burstMs = microsSince(started) / 1000;
      const heapPeak = process.memoryUsage().heapUsed;
      for (const result of results) expectOk(result);
      const serverQueries = fixture.dns.queries.length - queriesBefore;
      const resolverQueries = resolver.stats.queriesSent - sentBefore;
      results.length = 0;
      gc();
      const heapAfter = process.memoryUsage().heapUsed;

      // Baseline: the same number of bare verifications of proofs of the same size.
      const proofs = events.map((event) => decodeProof((event.headers.authorization ?? '').slice(4)));
      const keys = new Map(callers.map((caller) => [caller.name, createPublicKey(caller.privateKey)]));
      const keyOf = events.map((_, i) => keys.get(callers[i % size.callers]!.name)!);
      const floorStarted = process.hrtime.bigint();
      proofs.forEach((proof, i) => {
        if (!cryptoVerify(null, proof.signingInput, keyOf[i]!, proof.signature))
          throw new Error('floor fails');
      });
      const floorMs = microsSince(floorStarted) / 1000;

      const title = `Burst: ${total.toLocaleString('en-US')} concurrent verifications, ${size.callers} callers, cold cache`;
      return [
        figure({
          id: 'burstQueries',
          title: `${title}: DNS queries`,
          subject: singleValue('DNS queries the server received', 'queries', serverQueries),
          baseline: singleValue('distinct callers', 'callers', size.callers),
          ratioOf: 'subject/baseline',
          target: { comparison: '==', value: 1 },
          details: { resolverQueriesSent: resolverQueries },
          method:
            'All invocations of the callee handler started at once (Promise.all) on a fresh resolver; the test server counted the DNS queries: single flight must send one per caller.',
        }),
        figure({
          id: 'burstTime',
          title: `${title}: time and heap`,
          subject: singleValue('total time, first start to last answer', 'ms', round(burstMs, 1)),
          baseline: singleValue(
            `${total.toLocaleString('en-US')} bare crypto.verify, back to back`,
            'ms',
            round(floorMs, 1),
          ),
          ratioOf: 'subject/baseline',
          details: {
            heapGrowthDuringBurstMB: round((heapPeak - heapBefore) / MB, 1),
            heapRetainedAfterGcMB: round((heapAfter - heapBefore) / MB, 2),
          },
          method:
            'Same burst. Heap: heapUsed after a forced GC before the burst, at its end (growth), and after a forced GC once the results were dropped (retained: replay store entries, caches).',
        }),
      ];
    } finally {
      restore();
    }
  } finally {
    await fixture.stop();
  }
};

/** Burst figure: DNS queries, total time and heap growth. */
export const burstBench: BenchSuite = { name: 'burst', run };
