// DynamoDbReplayStore against a real DynamoDB wire protocol (dynalite in memory, in its own
// process on loopback), with the replay table created from examples/template.yaml's ReplayTable:
// conditional puts, the TTL attribute, queue redeliveries, N processes racing for one jti, and an
// engine that hangs or dies mid-run (fail closed).

import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import middy from '@middy/core';
import { IdentityError, NhiError } from '@nhi-dns/core';
import { DynamoDbReplayStore } from '@nhi-dns/core/replay-dynamodb';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import identityVerify from '@nhi-dns/identity-verify';
import { createTableResolver } from '@nhi-dns/resolver/test-support';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { apiGatewayEvent, lambdaContext } from '../support/http-event.js';
import type { RaceAnswer, RaceOrder } from './claim-racer.js';
import { type Dynalite, startDynalite } from './dynalite.js';
import { bundleRacer, peakOverlap, type RacerPool, startRacers } from './race.js';
import { type CreatedReplayTable, createReplayTable } from './replay-table.js';

const ZONE = 'auth.nhi.test';
const SELF = `ledger.prod.${ZONE}`;
const BILLING = `billing.prod.${ZONE}`;
const PAYROLL = `payroll.prod.${ZONE}`;
const TABLE = 'nhi-replay';
/** A proof's `exp` five minutes from now, Unix seconds. */
const soon = () => Math.floor(Date.now() / 1000) + 300;
let serial = 0;
const freshJti = (label: string) => `${label}-${process.pid}-${++serial}-${Date.now().toString(36)}`;

let engine: Dynalite;
let client: DynamoDBClient;
let table: CreatedReplayTable;

beforeAll(async () => {
  engine = await startDynalite();
  client = engine.client();
  table = await createReplayTable(client, TABLE);
});

afterAll(async () => {
  client?.destroy();
  await engine?.stop();
});

const itemOf = async (issuer: string, jti: string) =>
  (
    await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { jti: { S: `${issuer}#${jti}` } }, ConsistentRead: true }),
    )
  ).Item;

describe('the replay table, created as examples/template.yaml declares it', () => {
  it('has the string partition key jti and on-demand billing', async () => {
    expect(table.definition).toEqual({
      attributeDefinitions: [{ AttributeName: 'jti', AttributeType: 'S' }],
      keySchema: [{ AttributeName: 'jti', KeyType: 'HASH' }],
      billingMode: 'PAY_PER_REQUEST',
      timeToLive: { AttributeName: 'expiresAt', Enabled: true },
    });
    const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE }));
    expect(Table).toMatchObject({
      TableStatus: 'ACTIVE',
      KeySchema: [{ AttributeName: 'jti', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'jti', AttributeType: 'S' }],
      BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
    });
  });

  it('asks for TTL on expiresAt; an engine without UpdateTimeToLive (dynalite) says so and reports TTL off', async () => {
    const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: TABLE }));
    if (table.timeToLive === 'applied') {
      expect(TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
    } else {
      // dynalite 4 implements DescribeTimeToLive (always DISABLED) but not UpdateTimeToLive, and
      // never deletes expired items: expiry itself is DynamoDB's, the attribute's format is ours.
      expect(table.timeToLive).toBe('UnknownOperationException');
      expect(TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'DISABLED' });
    }
  });
});

describe('DynamoDbReplayStore over the wire', () => {
  const store = () => new DynamoDbReplayStore({ client: engine.client(), tableName: TABLE, clockSkew: 30 });

  it('accepts a jti once per issuer: a conditional put, the failed condition read as a replay', async () => {
    const replay = store();
    const jti = freshJti('once');
    const exp = soon();
    await expect(replay.claim(jti, BILLING, exp)).resolves.toBe(true);
    await expect(replay.claim(jti, BILLING, exp)).resolves.toBe(false);
    // A replay carrying a later exp neither succeeds nor stretches the item's lifetime.
    await expect(replay.claim(jti, BILLING, exp + 3600)).resolves.toBe(false);
    // Another caller's jti of the same value is its own: one caller cannot burn another's jtis.
    await expect(replay.claim(jti, PAYROLL, exp)).resolves.toBe(true);
    await expect(replay.claim(jti, PAYROLL, exp)).resolves.toBe(false);

    // The false above is DynamoDB's ConditionalCheckFailedException, not some other error.
    const failed = await client
      .send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { jti: { S: `${BILLING}#${jti}` }, expiresAt: { N: String(exp) } },
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': 'jti' },
        }),
      )
      .catch((error: unknown) => error);
    expect(failed).toMatchObject({ name: 'ConditionalCheckFailedException' });

    const { Items = [] } = await client.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }));
    const mine = Items.filter((item) => item.jti?.S?.endsWith(`#${jti}`));
    expect(mine.map((item) => item.jti?.S).sort()).toEqual([`${BILLING}#${jti}`, `${PAYROLL}#${jti}`]);
    for (const item of mine) {
      // The TTL attribute as DynamoDB's TTL reads it: a Number (N), epoch seconds, exp + clockSkew.
      expect(item).toEqual({ jti: { S: expect.any(String) }, expiresAt: { N: String(exp + 30) } });
      const seconds = Number(item.expiresAt?.N);
      expect(Number.isSafeInteger(seconds)).toBe(true);
      expect(seconds).toBeLessThan(10_000_000_000); // seconds, not milliseconds
      expect(seconds).toBeGreaterThan(Date.now() / 1000);
    }
  });

  it('accepts a redelivery of the same message, and the jti in any other message or none is a replay', async () => {
    const replay = store();
    const jti = freshJti('delivery');
    const exp = soon();
    await expect(replay.claim(jti, BILLING, exp, { deliveryId: 'msg-1' })).resolves.toBe(true);
    await expect(replay.claim(jti, BILLING, exp, { deliveryId: 'msg-1' })).resolves.toBe(true);
    await expect(replay.claim(jti, BILLING, exp, { deliveryId: 'msg-2' })).resolves.toBe(false);
    await expect(replay.claim(jti, BILLING, exp)).resolves.toBe(false);
    await expect(replay.claim(jti, BILLING, exp, { deliveryId: 'msg-1' })).resolves.toBe(true);
    expect(await itemOf(BILLING, jti)).toEqual({
      jti: { S: `${BILLING}#${jti}` },
      expiresAt: { N: String(exp + 30) },
      deliveryId: { S: 'msg-1' },
    });

    // First seen without a delivery (HTTP, direct invocation): no message may claim it later.
    const direct = freshJti('direct');
    await expect(replay.claim(direct, BILLING, exp)).resolves.toBe(true);
    await expect(replay.claim(direct, BILLING, exp, { deliveryId: 'msg-1' })).resolves.toBe(false);
    expect(await itemOf(BILLING, direct)).toEqual({
      jti: { S: `${BILLING}#${direct}` },
      expiresAt: { N: String(exp + 30) },
    });
  });
});

describe('N processes racing for the same jti', () => {
  const PROCESSES = 8;
  const ROUNDS = 50;
  let racers: RacerPool;

  beforeAll(async () => {
    racers = await startRacers(await bundleRacer(), PROCESSES, engine.endpoint, TABLE);
  }, 60_000);

  afterAll(async () => {
    await racers?.close();
  });

  const tally = (answers: readonly RaceAnswer[]) => ({
    accepted: answers.filter((answer) => answer.accepted === true).length,
    refused: answers.filter((answer) => answer.accepted === false).length,
    errors: answers.filter((answer) => answer.error !== undefined).map((answer) => answer.error),
  });

  it(`lets exactly one of ${PROCESSES} processes win each of ${ROUNDS} rounds`, async () => {
    const winners = new Array<number>(PROCESSES).fill(0);
    const overlaps: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const jti = freshJti(`race-${round}`);
      const exp = soon();
      // Even rounds as HTTP calls (no delivery); odd rounds as copies of the proof in different
      // queue messages, one message id per process: still exactly one winner.
      const orders: RaceOrder[] = Array.from({ length: PROCESSES }, (_, index) => ({
        jti,
        issuer: BILLING,
        exp,
        ...(round % 2 === 1 ? { deliveryId: `msg-${round}-${index}` } : {}),
      }));
      const answers = await racers.race(orders);
      expect({ round, ...tally(answers) }).toEqual({
        round,
        accepted: 1,
        refused: PROCESSES - 1,
        errors: [],
      });
      winners[answers.findIndex((answer) => answer.accepted === true)]! += 1;
      overlaps.push(peakOverlap(answers));
    }
    // The barrier worked: claims of different processes were in flight at the same instant.
    expect(Math.max(...overlaps)).toBeGreaterThan(1);
    const sorted = [...overlaps].sort((a, b) => a - b);
    process.stderr.write(
      `[dynamodb race] ${ROUNDS} rounds x ${PROCESSES} processes: one winner each round; ` +
        `wins per process ${JSON.stringify(winners)}; claims in flight at once: median ` +
        `${sorted[sorted.length >> 1]}, max ${sorted.at(-1)}, rounds with overlap ` +
        `${overlaps.filter((peak) => peak > 1).length}/${ROUNDS}\n`,
    );
  });

  it('accepts every process of a redelivery race: one message delivered twice is not a replay', async () => {
    // At-least-once delivery may hand one message to two instances at once (visibility timeout):
    // the same messageId is a redelivery by design (ClaimOptions.deliveryId), in every process.
    for (let round = 0; round < 3; round++) {
      const order = {
        jti: freshJti(`redelivery-${round}`),
        issuer: BILLING,
        exp: soon(),
        deliveryId: 'msg-x',
      };
      expect(tally(await racers.race(order))).toEqual({ accepted: PROCESSES, refused: 0, errors: [] });
      // A copy of the proof in another message still loses, in every process.
      const copies = await racers.race({ ...order, deliveryId: 'msg-y' });
      expect(tally(copies)).toEqual({ accepted: 0, refused: PROCESSES, errors: [] });
    }
  });
});

describe('an engine that stops mid-run (fail closed)', () => {
  const billing = createTestIdentity(BILLING);
  const TIMEOUT = 250;
  let outage: Dynalite;
  let store: DynamoDbReplayStore;
  let handler: (event: APIGatewayProxyEventV2) => Promise<{ statusCode: number; body: string }>;

  /** Calls the chain, capturing what it logs; `reason` is the denial's `error`. */
  const invoke = async (event: unknown) => {
    const out = captureOutput();
    try {
      const result = await handler(event as APIGatewayProxyEventV2).then(
        (value) => ({ value, error: undefined }),
        (error: unknown) => ({ value: undefined, error }),
      );
      return { ...result, logs: out.json() };
    } finally {
      out.restore();
    }
  };
  /** Claims that must all fail: each settles within the timeout (plus slack), none resolves true. */
  const expectUnavailable = async (count: number) => {
    const started = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: count }, () =>
        store.claim(freshJti('outage'), BILLING, soon()).then(
          (accepted) => ({ accepted }),
          (error: unknown) => ({ error }),
        ),
      ),
    );
    expect(Date.now() - started).toBeLessThan(TIMEOUT + 1_000);
    for (const outcome of outcomes) {
      expect(outcome).not.toHaveProperty('accepted');
      const { error } = outcome as { error: unknown };
      expect(error).toBeInstanceOf(NhiError);
      expect(error).toMatchObject({ reason: 'replay_store_unavailable' });
    }
    return outcomes.map((outcome) => (outcome as { error: NhiError }).error.message);
  };

  beforeAll(async () => {
    outage = await startDynalite();
    const setup = outage.client();
    await createReplayTable(setup, TABLE);
    setup.destroy();
    store = new DynamoDbReplayStore({ client: outage.client(), tableName: TABLE, timeout: TIMEOUT });
    const table = new Map([[BILLING, [billing.strings]]]);
    const chain = middy<APIGatewayProxyEventV2>()
      .use(identityResolve({ zone: ZONE, resolver: createTableResolver(table) }))
      .use(identityVerify({ self: SELF, allow: [`*.prod.${ZONE}`], replayStore: store }))
      .handler(async (_event, context) => ({
        statusCode: 200,
        body: JSON.stringify({ caller: context.caller.name }),
      }));
    handler = (event) =>
      chain(event, lambdaContext() as Parameters<typeof chain>[1]) as Promise<{
        statusCode: number;
        body: string;
      }>;
  });

  afterAll(async () => {
    await outage?.stop();
  });

  it('accepts a fresh proof and refuses its replay while the engine runs', async () => {
    const event = apiGatewayEvent(await billing.sign({ aud: SELF }));
    expect((await invoke(event)).value).toEqual({
      statusCode: 200,
      body: JSON.stringify({ caller: BILLING }),
    });
    expect((await invoke(event)).value).toMatchObject({ statusCode: 401, body: '{"error":"replayed"}' });
  });

  it('gives up on a hung engine (SIGSTOP) after the timeout: replay_store_unavailable, never true', async () => {
    outage.pause();
    try {
      const messages = await expectUnavailable(5);
      expect(messages).toContain(`DynamoDB replay store did not answer within ${TIMEOUT} ms`);
      const denied = await invoke(apiGatewayEvent(await billing.sign({ aud: SELF })));
      expect(denied.value).toMatchObject({ statusCode: 401, body: '{"error":"replayed"}' });
    } finally {
      outage.resume();
    }
  });

  it('fails every claim once the engine is gone, never true', async () => {
    await outage.stop();
    await expectUnavailable(20);
  });

  it('makes identity-verify deny fresh proofs as replayed (HTTP 401, direct invocation throws), the cause logged', async () => {
    const http = await invoke(apiGatewayEvent(await billing.sign({ aud: SELF })));
    expect(http.value).toMatchObject({ statusCode: 401, body: '{"error":"replayed"}' });
    expect(http.logs.find((line) => line.message === 'identity denied')).toMatchObject({
      'nhi.reason': 'replayed',
      'nhi.detail': expect.stringContaining('NhiError(replay_store_unavailable)'),
    });
    const direct = await invoke({ nhiProof: await billing.sign({ aud: SELF }) });
    expect(direct.error).toBeInstanceOf(IdentityError);
    expect(direct.error).toMatchObject({ reason: 'replayed', statusCode: 401 });
  });
});
