/**
 * The shared replay store through a real DynamoDB wire protocol: dynalite (in memory, its own
 * process on loopback) with the table of examples/template.yaml, one DynamoDBClient for every
 * candidate. Each figure against a baseline timed in the same process, interleaved:
 * - `DynamoDbReplayStore.claim` of a fresh jti (one conditional PutItem) vs a plain PutItem of
 *   an item of the same shape without a condition, one call in flight; beside them the same
 *   conditional PutItem sent without the store (what the store's timeout and race add) and the
 *   claim of a jti already taken (the replay: ConditionalCheckFailedException);
 * - the same two at 32 calls in flight (per-call cost = batch wall time ÷ batch size), with the
 *   CPU time per claim of this process (the SDK client) and of the engine.
 * The absolute rates are this machine's SDK client and dynalite, not DynamoDB's; the ratio is
 * what the store adds to a write.
 */
import { readFileSync } from 'node:fs';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { NhiError } from '@nhi-dns/core';
import { DynamoDbReplayStore } from '@nhi-dns/core/replay-dynamodb';
import { startDynalite } from '../integration-tests/src/dynamodb/dynalite.js';
import { createReplayTable } from '../integration-tests/src/dynamodb/replay-table.js';
import { type BenchContext, type BenchSuite, type Figure, figure, measurement } from './lib/figure.js';
import { interleave } from './lib/measure.js';
import { round, summarise } from './lib/stats.js';

const SIZES = {
  full: { rounds: 10, calls: 300, batchRounds: 8, batchesPerRound: 2, batch: 640 },
  quick: { rounds: 1, calls: 20, batchRounds: 1, batchesPerRound: 1, batch: 64 },
};
const IN_FLIGHT = 32;
const TABLE = 'nhi-replay';
const ISS = 'billing.prod.auth.example.com';

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const TICK_US = 10_000;

/** User + system CPU µs of process `pid` so far, or undefined where /proc is not there. */
const cpuOf = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return undefined;
  }
};

/** Runs `call(0..count-1)` with at most `width` calls in flight. */
const inFlight = async (count: number, width: number, call: (index: number) => Promise<unknown>) => {
  let next = 0;
  const worker = async () => {
    while (next < count) await call(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
};

const run = async (context: BenchContext): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  const engine = await startDynalite();
  const client = engine.client();
  try {
    await createReplayTable(client, TABLE);
    const store = new DynamoDbReplayStore({ client, tableName: TABLE });
    const exp = Math.floor(Date.now() / 1000) + 300;
    // Same key length and item shape for both: `<issuer>#c-000001` / `<issuer>#p-000001`.
    const id = (prefix: string, index: number) => `${prefix}-${String(index).padStart(9, '0')}`;
    const claim = async (jti: string, expected: boolean) => {
      if ((await store.claim(jti, ISS, exp)) !== expected) {
        throw new NhiError('bench_failed', `claim of ${jti} was not ${expected}`);
      }
    };
    const put = (key: string) =>
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { jti: { S: `${ISS}#${key}` }, expiresAt: { N: String(exp + 60) } },
        }),
      );
    // The store's request, sent without the store.
    const conditionalPut = (key: string) =>
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { jti: { S: `${ISS}#${key}` }, expiresAt: { N: String(exp + 60) } },
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': 'jti' },
        }),
      );

    context.log(`dynamodb: claim vs PutItem vs replayed claim, 1 in flight (dynalite pid ${engine.pid})`);
    // `replay` runs after `claim` in every round and takes the jtis `claim` has just taken.
    const serial = await interleave(
      {
        claim: (index) => claim(id('c', index), true),
        put: (index) => put(id('p', index)),
        conditionalPut: (index) => conditionalPut(id('q', index)),
        replay: (index) => claim(id('c', index), false),
      },
      { rounds: size.rounds, callsPerRound: size.calls },
    );

    context.log(`dynamodb: claim vs PutItem, ${IN_FLIGHT} in flight, batches of ${size.batch}`);
    const cpu = { claims: 0, client: 0, engine: 0 as number | undefined };
    const batches = await interleave(
      {
        claim: async (batch) => {
          const client0 = process.cpuUsage();
          const engine0 = cpuOf(engine.pid);
          await inFlight(size.batch, IN_FLIGHT, (index) => claim(id('bc', batch * size.batch + index), true));
          const used = process.cpuUsage(client0);
          const engine1 = cpuOf(engine.pid);
          cpu.claims += size.batch;
          cpu.client += used.user + used.system;
          cpu.engine =
            cpu.engine === undefined || engine0 === undefined || engine1 === undefined
              ? undefined
              : cpu.engine + engine1 - engine0;
        },
        put: (batch) => inFlight(size.batch, IN_FLIGHT, (index) => put(id('bp', batch * size.batch + index))),
      },
      { rounds: size.batchRounds, callsPerRound: size.batchesPerRound, warmupCalls: 1 },
    );
    const perCall = (samples: number[]) => samples.map((us) => us / size.batch);

    const claims = summarise(serial.claim);
    const puts = summarise(serial.put);
    const replays = summarise(serial.replay);
    const conditionalPuts = summarise(serial.conditionalPut);
    const batchClaims = summarise(perCall(batches.claim));
    const batchPuts = summarise(perCall(batches.put));
    const perSecond = (us: number) => Math.round(1_000_000 / us);
    return [
      figure({
        id: 'replayClaim',
        title: 'Replay claim (conditional PutItem) vs a plain PutItem, dynalite on loopback',
        subject: measurement('DynamoDbReplayStore.claim, fresh jti', 'µs', claims),
        baseline: measurement('PutItem without condition, same item shape', 'µs', puts),
        ratioOf: 'subject/baseline',
        details: {
          claimsPerSecond: perSecond(claims.median),
          putsPerSecond: perSecond(puts.median),
          conditionalPutMedianUs: round(conditionalPuts.median, 1),
          conditionalPutRatioToPut: round(conditionalPuts.median / puts.median),
          replayedClaimMedianUs: round(replays.median, 1),
          replayedClaimRatioToPut: round(replays.median / puts.median),
        },
        method:
          'One DynamoDBClient (keep-alive HTTP) against dynalite 4 in memory in its own process, table created from examples/template.yaml; one call in flight, calls interleaved round by round with the same conditional PutItem sent without the store and a replayed claim (its condition fails: ConditionalCheckFailedException).',
      }),
      figure({
        id: 'replayClaimConcurrent',
        title: `Replay claim vs plain PutItem, ${IN_FLIGHT} in flight`,
        subject: measurement(`claim, wall time per call, ${IN_FLIGHT} in flight`, 'µs', batchClaims),
        baseline: measurement(`PutItem, wall time per call, ${IN_FLIGHT} in flight`, 'µs', batchPuts),
        ratioOf: 'subject/baseline',
        details: {
          claimsPerSecond: perSecond(batchClaims.median),
          putsPerSecond: perSecond(batchPuts.median),
          batchSize: size.batch,
          clientCpuUsPerClaim: round(cpu.client / cpu.claims, 1),
          ...(cpu.engine === undefined ? {} : { engineCpuUsPerClaim: round(cpu.engine / cpu.claims, 1) }),
        },
        method: `Batches of ${size.batch} fresh jtis (or keys), ${IN_FLIGHT} in flight, batch wall time ÷ batch size; batches of the two interleaved. The SDK client (this process) and dynalite (single-threaded) share the machine's cores; CPU per claim from process.cpuUsage and /proc/<pid>/stat.`,
      }),
    ];
  } finally {
    client.destroy();
    await engine.stop();
  }
};

/** Claims per second through the DynamoDB wire protocol, against a plain PutItem. */
export const dynamodbBench: BenchSuite = { name: 'dynamodb', run };
