/**
 * Per-record verification of queue and bus events (issue 15): real-shaped SQS, SNS and
 * EventBridge events (as `@types/aws-lambda` describes AWS's sample events), valid and refused
 * records mixed.
 */
import middy from '@middy/core';
import { IdentityError, MemoryReplayStore, type ReplayStore } from '@nhi-dns/core';
import { captureOutput, createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';
import { createResolver, DnsError } from '@nhi-dns/resolver';
import { createTableResolver, startTestDnsServer } from '@nhi-dns/resolver/test-support';
import type { Context, EventBridgeEvent, SNSEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { type IdentityVerifyRecordsOptions, identityVerifyRecords } from './records.js';

const ZONE = 'auth.example.com';
const CONSUMER = `orders-worker.prod.${ZONE}`;
const NOW = 1_800_000_000;
const billing = createTestIdentity(`billing.prod.${ZONE}`);
const shipping = createTestIdentity(`shipping.prod.${ZONE}`);
const stranger = createTestIdentity(`stranger.prod.${ZONE}`); // not in DNS
const table = new Map<string, string[][] | Error>([
  [billing.name, [billing.strings]],
  [shipping.name, [shipping.strings]],
]);

const lambdaContext = () =>
  ({
    awsRequestId: 'req-1',
    functionName: 'orders-worker',
    getRemainingTimeInMillis: () => 30_000,
  }) as unknown as Context & { verifiedRecords: never[] };

/** An SQS record as Lambda delivers it. */
const sqsRecord = (messageId: string, body: string, proof: string | undefined, sentAt = NOW): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: String(sentAt * 1000),
    SenderId: 'AIDAEXAMPLE',
    ApproximateFirstReceiveTimestamp: String(sentAt * 1000 + 5),
  },
  messageAttributes:
    proof === undefined
      ? {}
      : { nhiProof: { stringValue: proof, stringListValues: [], binaryListValues: [], dataType: 'String' } },
  md5OfBody: 'ignored',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:orders',
  awsRegion: 'eu-west-1',
});

const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/**
 * A user's replay store that declares itself shared by every instance (as a DynamoDB or Redis
 * store would), backed here by one process-wide map.
 */
const sharedStore = (): ReplayStore => {
  const memory = new MemoryReplayStore({ clockSkew: 0, now: () => NOW * 1000 });
  return { shared: true, claim: (...args) => memory.claim(...args) };
};

const sign = (
  identity: TestIdentity,
  body: string,
  extra: { aud?: string; now?: number; lifetime?: number } = {},
) =>
  identity.sign({ aud: extra.aud ?? CONSUMER, body, now: extra.now ?? NOW, lifetime: extra.lifetime ?? 60 });

const consumer = (options: Partial<IdentityVerifyRecordsOptions> = {}, clock = () => NOW) => {
  const seen: Array<{ messageId: string; caller: string; body: string }> = [];
  const handler = middy()
    .use(
      identityVerifyRecords({
        self: CONSUMER,
        allow: [`*.prod.${ZONE}`],
        resolver: createTableResolver(table),
        now: clock,
        ...options,
      }),
    )
    .handler(async (event: unknown, context) => {
      // Typed through Middy's use(): the verified records, each with its producer.
      for (const record of context.verifiedRecords) {
        seen.push({ messageId: record.messageId, caller: record.caller.name, body: record.body });
      }
      return { handled: (event as SQSEvent).Records?.length };
    });
  return { handler, seen };
};

const run = async (handler: ReturnType<typeof consumer>['handler'], event: unknown) => {
  const out = captureOutput();
  try {
    const result = await handler(event, lambdaContext()).then(
      (value: unknown) => ({ value, error: undefined }),
      (error: unknown) => ({ value: undefined, error }),
    );
    return { ...result, out };
  } finally {
    out.restore();
  }
};

describe('identityVerifyRecords: SQS', () => {
  it('hands the handler only verified records, each with its producer, and reports the rest', async () => {
    const good = '{"order":1}';
    const replayedProof = await sign(billing, '{"order":2}');
    const event = sqsEvent(
      sqsRecord('m-valid', good, await sign(billing, good)),
      sqsRecord('m-tampered', '{"order":999}', await sign(billing, '{"order":3}')),
      sqsRecord('m-unknown', '{"order":4}', await sign(stranger, '{"order":4}')),
      sqsRecord('m-first', '{"order":2}', replayedProof),
      sqsRecord('m-replayed', '{"order":2}', replayedProof),
      sqsRecord(
        'm-foreign-aud',
        '{"order":5}',
        await sign(shipping, '{"order":5}', { aud: `billing.prod.${ZONE}` }),
      ),
      sqsRecord('m-no-proof', '{"order":6}', undefined),
      sqsRecord('m-shipping', '{"order":7}', await sign(shipping, '{"order":7}')),
    );
    const { handler, seen } = consumer();
    const { value, out } = await run(handler, event);
    expect(seen).toEqual([
      { messageId: 'm-valid', caller: billing.name, body: good },
      { messageId: 'm-first', caller: billing.name, body: '{"order":2}' },
      { messageId: 'm-shipping', caller: shipping.name, body: '{"order":7}' },
    ]);
    expect(value).toEqual({
      handled: 3,
      batchItemFailures: ['m-tampered', 'm-unknown', 'm-replayed', 'm-foreign-aud', 'm-no-proof'].map(
        (itemIdentifier) => ({ itemIdentifier }),
      ),
    });
    const reasons = out
      .json()
      .filter((line) => line.message === 'record refused')
      .map((line) => [line['nhi.messageId'], line['nhi.reason']]);
    expect(reasons).toEqual([
      ['m-tampered', 'body_mismatch'],
      ['m-unknown', 'no_record'],
      ['m-replayed', 'replayed'],
      ['m-foreign-aud', 'wrong_audience'],
      ['m-no-proof', 'missing_proof'],
    ]);
    const failures = out.emf().filter((doc) => 'AuthFailure' in doc);
    expect(failures.map((doc) => doc.Reason).sort()).toEqual(
      ['body_mismatch', 'missing_proof', 'no_record', 'replayed', 'wrong_audience'].sort(),
    );
    expect(out.lines.join('\n')).not.toContain(replayedProof);
  });

  it("merges the handler's own batchItemFailures with the refused records", async () => {
    const handler = middy()
      .use(
        identityVerifyRecords({
          self: CONSUMER,
          allow: [`*.prod.${ZONE}`],
          resolver: createTableResolver(table),
          now: () => NOW,
        }),
      )
      .handler(async () => ({ batchItemFailures: [{ itemIdentifier: 'm-valid' }] }));
    const event = sqsEvent(
      sqsRecord('m-valid', 'a', await sign(billing, 'a')),
      sqsRecord('m-bad', 'b', await sign(billing, 'not b')),
    );
    const { value } = await run(handler, event);
    expect(value).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-valid' }, { itemIdentifier: 'm-bad' }],
    });
  });

  it('answers a batch with no valid record without running the handler', async () => {
    const { handler, seen } = consumer();
    const { value } = await run(handler, sqsEvent(sqsRecord('m-1', 'x', undefined)));
    expect(seen).toEqual([]);
    expect(value).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
  });

  it("with refused: 'drop', drops records refused for good but still reports passing failures", async () => {
    const flaky = createTestIdentity(`flaky.prod.${ZONE}`);
    table.set(flaky.name, new DnsError('timeout', 'no answer'));
    const { handler } = consumer({ refused: 'drop' });
    const { value, out } = await run(
      handler,
      sqsEvent(
        sqsRecord('m-tampered', 'y', await sign(billing, 'x')),
        sqsRecord('m-dns', 'z', await sign(flaky, 'z')),
      ),
    );
    expect(value).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-dns' }] });
    expect(out.emf().find((doc) => 'RecordDropped' in doc)).toMatchObject({ Reason: 'body_mismatch' });
    table.delete(flaky.name);
  });

  it('with a shared replay store, checks proof times when SQS accepted the message: it may wait longer than a proof lives, not be re-enqueued later', async () => {
    const late = NOW + 1800; // half an hour in the queue; the proof lived 60 s
    const { handler, seen } = consumer({ replayStore: sharedStore() }, () => late);
    const { value } = await run(
      handler,
      sqsEvent(
        sqsRecord('m-waited', 'w', await sign(billing, 'w'), NOW + 5),
        sqsRecord('m-reenqueued', 'r', await sign(billing, 'r'), NOW + 600),
      ),
    );
    expect(seen.map((record) => record.messageId)).toEqual(['m-waited']);
    expect(value).toMatchObject({ batchItemFailures: [{ itemIdentifier: 'm-reenqueued' }] });
    const tooOld = consumer({ maxMessageAge: 900, replayStore: sharedStore() }, () => late);
    const old = await run(
      tooOld.handler,
      sqsEvent(sqsRecord('m-old', 'o', await sign(billing, 'o'), NOW + 5)),
    );
    expect(old.value).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-old' }] });
  });

  it('accepts a redelivery of the same message, and refuses its proof in any other message', async () => {
    const store: ReplayStore = new MemoryReplayStore({ clockSkew: 0, now: () => NOW * 1000 });
    const { handler, seen } = consumer({ replayStore: store });
    const proof = await sign(billing, 'p');
    await run(handler, sqsEvent(sqsRecord('m-1', 'p', proof)));
    await run(handler, sqsEvent(sqsRecord('m-1', 'p', proof)));
    const copy = await run(handler, sqsEvent(sqsRecord('m-copy', 'p', proof)));
    expect(seen.map((record) => record.messageId)).toEqual(['m-1', 'm-1']);
    expect(copy.value).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-copy' }] });
  });

  it('with a per-instance replay store (the default), checks proof times at delivery: a message that waited longer than its proof lived is expired, and says so once', async () => {
    const late = NOW + 1800;
    const { handler, seen } = consumer({}, () => late);
    const { value, out } = await run(
      handler,
      sqsEvent(sqsRecord('m-waited', 'w', await sign(billing, 'w'), NOW + 5)),
    );
    expect(seen).toEqual([]);
    expect(value).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-waited' }] });
    expect(out.json().find((line) => line.message === 'record refused')?.['nhi.reason']).toBe('expired');
    expect(out.emf()).toContainEqual(expect.objectContaining({ AuthFailure: 1, Reason: 'expired' }));
    expect(out.json().filter((line) => line.message === 'queue proofs are checked at delivery')).toHaveLength(
      1,
    );
    // Once per instance, not per batch.
    const again = await run(
      handler,
      sqsEvent(sqsRecord('m-fresh', 'f', await sign(billing, 'f', { now: late }))),
    );
    expect(seen.map((record) => record.messageId)).toEqual(['m-fresh']);
    expect(again.out.json().some((line) => line.message === 'queue proofs are checked at delivery')).toBe(
      false,
    );
  });

  it('trustEnqueueTime overrides what the store declares, and an explicit choice is not warned about', async () => {
    const late = NOW + 1800;
    const waited = async () => sqsEvent(sqsRecord('m-waited', 'w', await sign(billing, 'w'), NOW + 5));
    // The operator vouches that only the event source mapping invokes the function.
    const trusted = consumer({ trustEnqueueTime: true }, () => late);
    const { out } = await run(trusted.handler, await waited());
    expect(trusted.seen.map((record) => record.messageId)).toEqual(['m-waited']);
    expect(out.json().some((line) => line.message === 'queue proofs are checked at delivery')).toBe(false);
    const atDelivery = consumer({ trustEnqueueTime: false, replayStore: sharedStore() }, () => late);
    const refused = await run(atDelivery.handler, await waited());
    expect(atDelivery.seen).toEqual([]);
    expect(refused.out.json().find((line) => line.message === 'record refused')?.['nhi.reason']).toBe(
      'expired',
    );
    expect(refused.out.json().some((line) => line.message === 'queue proofs are checked at delivery')).toBe(
      false,
    );
    // A queue that holds no message longer than a proof may live loses nothing at delivery.
    const short = consumer({ maxMessageAge: 360 });
    const quiet = await run(short.handler, sqsEvent(sqsRecord('m-1', 'x', await sign(billing, 'x'))));
    expect(short.seen).toHaveLength(1);
    expect(quiet.out.json().some((line) => line.message === 'queue proofs are checked at delivery')).toBe(
      false,
    );
  });

  it('refuses every record of a batch whose message id appears twice (SQS never sends that), without burning the jti', async () => {
    const { handler, seen } = consumer();
    const body = '{"order":1}';
    const proof = await sign(billing, body);
    const { value, out } = await run(
      handler,
      sqsEvent(
        sqsRecord('m-twice', body, proof),
        sqsRecord('m-other', 'o', await sign(billing, 'o')),
        sqsRecord('m-twice', body, proof),
      ),
    );
    expect(seen.map((record) => record.messageId)).toEqual(['m-other']);
    expect(value).toEqual({ handled: 1, batchItemFailures: [{ itemIdentifier: 'm-twice' }] });
    const refusals = out.json().filter((line) => line.message === 'record refused');
    expect(refusals.map((line) => [line['nhi.messageId'], line['nhi.reason']])).toEqual([
      ['m-twice', 'replayed'],
      ['m-twice', 'replayed'],
    ]);
    expect(refusals[0]?.['nhi.detail']).toMatch(/more than once in the batch/);
    expect(out.emf().filter((doc) => doc.AuthFailure === 1 && doc.Reason === 'replayed')).toHaveLength(2);
    // The real message, delivered on its own, still verifies: the made-up batch claimed nothing.
    await run(handler, sqsEvent(sqsRecord('m-twice', body, proof)));
    expect(seen.map((record) => record.messageId)).toEqual(['m-other', 'm-twice']);
  });

  it('verifies SNS → SQS (no raw delivery) and EventBridge → SQS bodies, against SQS time', async () => {
    const message = '{"order":8}';
    const snsEnvelope = JSON.stringify({
      Type: 'Notification',
      MessageId: 'sns-1',
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:orders',
      Message: message,
      Timestamp: '2020-01-01T00:00:00.000Z', // the sender's to write: not used
      MessageAttributes: { nhiProof: { Type: 'String', Value: await sign(billing, message) } },
    });
    const bridged = JSON.stringify({
      version: '0',
      id: 'eb-1',
      'detail-type': 'order',
      source: 'billing',
      account: '123456789012',
      time: '2020-01-01T00:00:00Z',
      region: 'eu-west-1',
      resources: [],
      detail: { nhiProof: await sign(billing, message), nhiPayload: message },
    });
    const { handler, seen } = consumer({ replayStore: sharedStore() }, () => NOW + 600);
    const { value } = await run(
      handler,
      sqsEvent(sqsRecord('m-sns', snsEnvelope, undefined), sqsRecord('m-eb', bridged, undefined)),
    );
    expect(seen).toEqual([
      { messageId: 'm-sns', caller: billing.name, body: message },
      { messageId: 'm-eb', caller: billing.name, body: message },
    ]);
    expect(value).toEqual({ handled: 2 });
  });

  it('refuses a proof without bh by default on queues', async () => {
    const { handler } = consumer();
    const unbound = await billing.sign({ aud: CONSUMER, now: NOW });
    const { value, out } = await run(handler, sqsEvent(sqsRecord('m-unbound', 'anything', unbound)));
    expect(value).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-unbound' }] });
    expect(out.json().find((line) => line.message === 'record refused')?.['nhi.reason']).toBe(
      'body_mismatch',
    );
  });

  it('refuses an event that is not from a queue or bus', async () => {
    const { handler } = consumer();
    const { error } = await run(handler, { nhiProof: 'x' });
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({ reason: 'missing_proof' });
  });

  it("requireDnssec: true asks for the AD bit; 'validated' for this middleware's own verdict (validateDnssec)", async () => {
    const body = '{"order":1}';
    const refusedReason = async (options: Partial<IdentityVerifyRecordsOptions>) => {
      const { handler, seen } = consumer(options);
      const { out } = await run(handler, sqsEvent(sqsRecord('m-1', body, await sign(billing, body))));
      return seen.length === 1
        ? 'verified'
        : out.json().find((line) => line.message === 'record refused')?.['nhi.reason'];
    };
    expect(await refusedReason({ requireDnssec: true })).toBe('verified');
    expect(
      await refusedReason({ requireDnssec: true, resolver: createTableResolver(table, { ad: false }) }),
    ).toBe('dnssec_required');
    // The AD bit does not satisfy 'validated': only this process's own `secure` verdict does.
    expect(await refusedReason({ requireDnssec: 'validated' })).toBe('dnssec_required');
    const validating = (dnssec: 'secure' | 'insecure' | 'bogus') => createTableResolver(table, { dnssec });
    expect(
      await refusedReason({
        requireDnssec: 'validated',
        validateDnssec: true,
        resolver: validating('secure'),
      }),
    ).toBe('verified');
    expect(
      await refusedReason({
        requireDnssec: 'validated',
        validateDnssec: true,
        resolver: validating('insecure'),
      }),
    ).toBe('dnssec_required');
    // Bogus is refused whatever requireDnssec says.
    expect(await refusedReason({ validateDnssec: true, resolver: validating('bogus') })).toBe('dnssec_bogus');
    const prepared = validating('secure');
    consumer({ validateDnssec: true, resolver: prepared });
    expect(prepared.prepared).toEqual([ZONE]);
    expect(
      await refusedReason({ requireDnssec: false, resolver: createTableResolver(table, { ad: false }) }),
    ).toBe('verified');
  });

  it('verifies a producer whose key pins a client certificate: queues carry none, the pin is for mTLS endpoints', async () => {
    const pinned = new Map(table);
    pinned.set(billing.name, [
      [billing.recordWith({ certThumbprint: Buffer.alloc(32, 3).toString('base64url') })],
    ]);
    const { handler, seen } = consumer({ resolver: createTableResolver(pinned) });
    const body = '{"order":1}';
    await run(handler, sqsEvent(sqsRecord('m-1', body, await sign(billing, body))));
    expect(seen).toEqual([{ messageId: 'm-1', caller: billing.name, body }]);
  });

  it('refuses bad options at creation', () => {
    expect(() => identityVerifyRecords({ self: CONSUMER, allow: [], refused: 'ignore' } as never)).toThrow(
      /refused/,
    );
    expect(() =>
      identityVerifyRecords({ self: CONSUMER, allow: [], requireDnssec: 'secure' } as never),
    ).toThrow(
      expect.objectContaining({
        reason: 'invalid_config',
        message: expect.stringMatching(
          /option 'requireDnssec' is 'secure'; allowed: true \| false, or 'validated'/,
        ),
      }),
    );
    expect(() =>
      identityVerifyRecords({ self: CONSUMER, allow: [], requireDnssec: 'validated' }),
    ).not.toThrow();
    expect(() => identityVerifyRecords({ self: CONSUMER } as never)).toThrow(/allow/);
  });
});

describe('identityVerifyRecords: SNS and EventBridge (one record per invocation)', () => {
  const snsRecord = (
    message: string,
    proof: string,
    messageId = 'sns-msg-1',
  ): SNSEvent['Records'][number] => ({
    EventVersion: '1.0',
    EventSubscriptionArn: 'arn:aws:sns:eu-west-1:123456789012:orders:sub',
    EventSource: 'aws:sns',
    Sns: {
      SignatureVersion: '1',
      Timestamp: new Date(NOW * 1000).toISOString(),
      Signature: 'EXAMPLE',
      SigningCertUrl: 'https://sns.eu-west-1.amazonaws.com/cert.pem',
      MessageId: messageId,
      Message: message,
      MessageAttributes: { nhiProof: { Type: 'String', Value: proof } },
      Type: 'Notification',
      UnsubscribeUrl: 'https://sns.eu-west-1.amazonaws.com/unsub',
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:orders',
      Subject: 'order',
    },
  });
  const snsEvent = (...records: SNSEvent['Records']): SNSEvent => ({ Records: records });
  const eventBridgeEvent = (detail: unknown): EventBridgeEvent<string, unknown> => ({
    version: '0',
    id: 'eb-evt-1',
    'detail-type': 'order created',
    source: 'billing',
    account: '123456789012',
    time: new Date(NOW * 1000).toISOString(),
    region: 'eu-west-1',
    resources: [],
    detail,
  });

  it('verifies an SNS record against SNS time (with a shared replay store), and throws IdentityError for a refused one', async () => {
    const { handler, seen } = consumer({ replayStore: sharedStore() }, () => NOW + 600);
    await run(handler, snsEvent(snsRecord('hello', await sign(billing, 'hello'))));
    expect(seen).toEqual([{ messageId: 'sns-msg-1', caller: billing.name, body: 'hello' }]);
    const { error } = await run(handler, snsEvent(snsRecord('tampered', await sign(billing, 'hello'))));
    expect(error).toMatchObject({ name: 'IdentityError', reason: 'body_mismatch' });
    // With the default per-instance store, the same wait is checked at delivery.
    const atDelivery = consumer({}, () => NOW + 600);
    const late = await run(atDelivery.handler, snsEvent(snsRecord('hello', await sign(billing, 'hello'))));
    expect(late.error).toMatchObject({ name: 'IdentityError', reason: 'expired' });
    expect(atDelivery.seen).toEqual([]);
  });

  it('refuses an SNS event whose records repeat one MessageId', async () => {
    const { handler, seen } = consumer();
    const proof = await sign(billing, 'hello');
    const { error, out } = await run(handler, snsEvent(snsRecord('hello', proof), snsRecord('hello', proof)));
    expect(error).toMatchObject({ name: 'IdentityError', reason: 'replayed', statusCode: 401 });
    expect(out.emf()).toContainEqual(expect.objectContaining({ AuthFailure: 1, Reason: 'replayed' }));
    expect(out.json().find((line) => line.message === 'identity denied')?.['nhi.detail']).toMatch(
      /more than once in the batch/,
    );
    expect(seen).toEqual([]);
  });

  it('verifies an EventBridge event at delivery time (its time is the sender’s to choose)', async () => {
    const { handler, seen } = consumer();
    const detail = '{"order":9}';
    await run(handler, eventBridgeEvent({ nhiProof: await sign(billing, detail), nhiPayload: detail }));
    expect(seen).toEqual([{ messageId: 'eb-evt-1', caller: billing.name, body: detail }]);
    const late = consumer({}, () => NOW + 600);
    const { error } = await run(
      late.handler,
      eventBridgeEvent({ nhiProof: await sign(billing, detail), nhiPayload: detail }),
    );
    expect(error).toMatchObject({ reason: 'expired' });
  });
});

describe('identityVerifyRecords: DNS', () => {
  it('sends one query per producer for a batch of many records (1 000 records, 10 producers)', async () => {
    const producers = Array.from({ length: 10 }, (_, index) =>
      createTestIdentity(`svc${index}.prod.${ZONE}`),
    );
    const dns = await startTestDnsServer({
      zone: ZONE,
      records: producers.map((producer) => ({
        name: producer.name,
        type: 'TXT' as const,
        data: producer.strings,
      })),
    });
    try {
      const records = await Promise.all(
        Array.from({ length: 1000 }, async (_, index) => {
          const body = `{"n":${index}}`;
          return sqsRecord(`m-${index}`, body, await sign(producers[index % 10]!, body));
        }),
      );
      const { handler, seen } = consumer({ resolver: createResolver({ servers: [dns.server] }) });
      const { value } = await run(handler, sqsEvent(...records));
      expect(value).toEqual({ handled: 1000 });
      expect(seen).toHaveLength(1000);
      expect(dns.queries.filter((query) => query.type === 'TXT')).toHaveLength(10);
    } finally {
      await dns.stop();
    }
  });
});
