/**
 * The WIMSE pair (WIT + WPT, DESIGN §3a) on every carrier that is not HTTP, end to end through
 * the middlewares: a direct invocation (identity-resolve + identity-verify, the envelope
 * `{ nhiWit, nhiProof, nhiPayload }`), and identityVerifyRecords for SQS and SNS (message
 * attributes `nhiWit` + `nhiProof`), EventBridge (`detail.nhiWit`) and SNS or EventBridge bodies
 * inside SQS. Messages are shaped as identity-sign's SDK plugin writes them with a KMS key; the
 * WIT is minted by core's `mintWorkloadIdentity`, a local Ed25519 key standing in for KMS.
 */
import { createPublicKey, type KeyObject, sign } from 'node:crypto';
import { jest } from '@jest/globals';
import middy from '@middy/core';
import {
  assembleWit,
  MemoryReplayStore,
  mintWorkloadIdentity,
  type ReplayStore,
  WIT_PAYLOAD_FIELD,
  type WorkloadProofSigner,
  withSignedPayload,
  witSigningInput,
} from '@nhi-dns/core';
import { captureOutput, createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import { createTableResolver } from '@nhi-dns/resolver/test-support';
import type { Context, EventBridgeEvent, SNSEventRecord, SQSRecord } from 'aws-lambda';
import {
  type IdentityVerifyOptions,
  type IdentityVerifyRecordsOptions,
  identityVerify,
  identityVerifyRecords,
  type VerifiedIdentity,
  WorkloadIdentityCache,
} from './index.js';

const ZONE = 'auth.example.com';
const SELF = `ledger.prod.${ZONE}`;
const NOW = 1_800_000_000;
const billing = createTestIdentity(`billing.prod.${ZONE}`, { kid: 'kms-1' });
const orders = createTestIdentity(`orders.prod.${ZONE}`, { kid: 'kms-1' });

/** A record stating that its key lives in AWS KMS (`kc=kms`), as the CLI publishes a KMS key. */
const kmsRecord = (text: string) => [`${text}; kc=kms`];

type Zone = Map<string, string[][] | Error>;
const zone = (overrides: [string, string[][]][] = []): Zone =>
  new Map<string, string[][] | Error>([
    [billing.name, [kmsRecord(billing.record)]],
    [orders.name, [kmsRecord(orders.record)]],
    ...overrides,
  ]);

/** The "KMS" of `identity`: `Sign` with `MessageType: RAW` over the WIT's signing input. */
const kmsSign = (identity: TestIdentity) => async (message: Uint8Array) =>
  new Uint8Array(sign(null, message, identity.privateKey));

/** A workload identity as identity-sign mints one with a KMS key: one KMS signature, a fresh cnf key. */
const mint = (identity: TestIdentity, at = NOW, lifetime?: number) =>
  mintWorkloadIdentity({
    name: identity.name,
    kid: identity.kid,
    keyType: identity.keyType,
    now: at,
    ...(lifetime === undefined ? {} : { lifetime }),
    sign: kmsSign(identity),
  });

/** The short-lived key a WIT confirms: public, in its `cnf.jwk`, for anyone who sees the WIT. */
const confirmationKeyOf = (wit: string): KeyObject => {
  const claims = JSON.parse(Buffer.from(wit.split('.')[1] ?? '', 'base64url').toString('utf8'));
  return createPublicKey({ key: claims.cnf.jwk, format: 'jwk' });
};

/** A WIT of `identity` (signed by its own "KMS" key) that confirms someone else's key. */
const witConfirming = async (identity: TestIdentity, confirmationKey: KeyObject): Promise<string> => {
  const { signingInput } = witSigningInput({
    name: identity.name,
    kid: identity.kid,
    keyType: identity.keyType,
    confirmationKey,
    now: NOW,
  });
  return assembleWit(signingInput, await kmsSign(identity)(Buffer.from(signingInput)));
};

/** One message as a producer sends it: its credential (any value, for malformed ones) and bytes. */
interface Message {
  readonly id: string;
  readonly body: string;
  readonly wit?: unknown;
  readonly proof?: unknown;
  /** When the queue accepted it (SQS `SentTimestamp`, SNS `Timestamp`). Default NOW. */
  readonly sentAt?: number;
}

/** A WPT of `signer` for this consumer over `body`, beside its WIT. */
const pair = (signer: WorkloadProofSigner, body: string, id: string, at = NOW): Message => ({
  id,
  body,
  wit: signer.wit,
  proof: signer.sign({ aud: SELF, body, now: at }),
});

/** identity-sign's envelope (`credentialEnvelope`): the WIT beside core's signed payload. */
const envelopeOf = (message: Message): Record<string, unknown> => ({
  ...(message.wit === undefined ? {} : { [WIT_PAYLOAD_FIELD]: message.wit }),
  ...(typeof message.proof === 'string'
    ? withSignedPayload(message.body, message.proof)
    : { ...(message.proof === undefined ? {} : { nhiProof: message.proof }), nhiPayload: message.body }),
});

/** SQS message attributes of a credential value: String for a string, Binary for anything else. */
const sqsAttribute = (value: unknown) =>
  typeof value === 'string'
    ? { dataType: 'String', stringValue: value, stringListValues: [], binaryListValues: [] }
    : { dataType: 'Binary', binaryValue: 'AAEC', stringListValues: [], binaryListValues: [] };

const snsAttribute = (value: unknown) =>
  typeof value === 'string' ? { Type: 'String', Value: value } : { Type: 'Binary', Value: 'AAEC' };

/** `nhiWit` and `nhiProof` attributes of a message, made by `attribute`, those it has. */
const attributesOf = <T>(message: Message, attribute: (value: unknown) => T): Record<string, T> => ({
  ...(message.wit === undefined ? {} : { nhiWit: attribute(message.wit) }),
  ...(message.proof === undefined ? {} : { nhiProof: attribute(message.proof) }),
});

const sqsRecord = (
  id: string,
  body: string,
  attributes: SQSRecord['messageAttributes'],
  sentAt = NOW,
): SQSRecord => ({
  messageId: id,
  receiptHandle: `rh-${id}`,
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: String(sentAt * 1000),
    SenderId: 'AROAEXAMPLE:billing',
    ApproximateFirstReceiveTimestamp: String(sentAt * 1000 + 5),
  },
  messageAttributes: attributes,
  md5OfBody: 'ignored',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:orders',
  awsRegion: 'eu-west-1',
});

const snsNotification = (message: Message) => ({
  Type: 'Notification',
  MessageId: message.id,
  TopicArn: 'arn:aws:sns:eu-west-1:123456789012:orders',
  Message: message.body,
  Timestamp: new Date((message.sentAt ?? NOW) * 1000).toISOString(),
  MessageAttributes: attributesOf(message, snsAttribute),
});

const eventBridgeEvent = (message: Message): EventBridgeEvent<string, unknown> => ({
  version: '0',
  id: message.id,
  'detail-type': 'order created',
  source: 'billing',
  account: '123456789012',
  time: new Date((message.sentAt ?? NOW) * 1000).toISOString(),
  region: 'eu-west-1',
  resources: [],
  // identity-sign's plugin makes the caller's Detail the envelope's nhiPayload.
  detail: envelopeOf(message),
});

const snsRecord = (message: Message): SNSEventRecord => ({
  EventVersion: '1.0',
  EventSubscriptionArn: 'arn:aws:sns:eu-west-1:123456789012:orders:sub',
  EventSource: 'aws:sns',
  Sns: {
    ...snsNotification(message),
    SignatureVersion: '1',
    Signature: 'EXAMPLE',
    SigningCertUrl: 'https://sns.eu-west-1.amazonaws.com/cert.pem',
    UnsubscribeUrl: 'https://sns.eu-west-1.amazonaws.com/unsub',
    Subject: 'order',
  } as SNSEventRecord['Sns'],
});

/** How a carrier delivers messages, and whether several travel in one invocation. */
interface Carrier {
  readonly name: string;
  readonly kind: 'direct' | 'records';
  /** The event of one invocation carrying `messages` (several only where `batches`). */
  readonly event: (messages: readonly Message[]) => unknown;
  readonly batches: boolean;
}

const CARRIERS: readonly Carrier[] = [
  {
    name: 'direct invocation',
    kind: 'direct',
    batches: false,
    event: ([message]) => envelopeOf(message!),
  },
  {
    name: 'SQS',
    kind: 'records',
    batches: true,
    event: (messages) => ({
      Records: messages.map((message) =>
        sqsRecord(message.id, message.body, attributesOf(message, sqsAttribute) as never, message.sentAt),
      ),
    }),
  },
  {
    name: 'SNS',
    kind: 'records',
    batches: false,
    event: (messages) => ({ Records: messages.map(snsRecord) }),
  },
  {
    name: 'EventBridge',
    kind: 'records',
    batches: false,
    event: ([message]) => eventBridgeEvent(message!),
  },
  {
    name: 'SNS → SQS (no raw delivery)',
    kind: 'records',
    batches: true,
    event: (messages) => ({
      Records: messages.map((message) =>
        sqsRecord(message.id, JSON.stringify(snsNotification(message)), {}, message.sentAt),
      ),
    }),
  },
  {
    name: 'EventBridge → SQS',
    kind: 'records',
    batches: true,
    event: (messages) => ({
      Records: messages.map((message) =>
        sqsRecord(message.id, JSON.stringify(eventBridgeEvent(message)), {}, message.sentAt),
      ),
    }),
  },
];

const lambdaContext = () =>
  ({
    awsRequestId: 'req-1',
    functionName: 'ledger',
    getRemainingTimeInMillis: () => 30_000,
  }) as unknown as Context & never;

/** What one invocation came to: the records the handler saw, and the refusal, if any. */
interface Delivery {
  readonly seen: ReadonlyArray<{ readonly id: string; readonly caller: VerifiedIdentity }>;
  /** The denial thrown (direct, SNS, EventBridge) or the first refused record's reason (SQS). */
  readonly reason: string | undefined;
  readonly statusCode: number | undefined;
  readonly failures: readonly string[];
  readonly out: ReturnType<typeof captureOutput>;
}

type Options = Partial<IdentityVerifyOptions & IdentityVerifyRecordsOptions>;

/** The consumer of `carrier` (this function, `SELF`), with its own replay store and WIT cache unless given. */
const consumer = (carrier: Carrier, options: Options = {}, table = zone(), clock = () => NOW) => {
  const resolver = createTableResolver(table);
  const common = { self: SELF, allow: [`*.prod.${ZONE}`], now: clock };
  let seen: Array<{ id: string; caller: VerifiedIdentity }> = [];
  const handler =
    carrier.kind === 'direct'
      ? middy()
          .use(identityResolve({ zone: ZONE, resolver }))
          .use(identityVerify({ ...common, requireBodyHash: true, ...(options as IdentityVerifyOptions) }))
          .handler(async (event: unknown, context) => {
            seen.push({ id: 'invoke', caller: context.caller });
            return { parsed: JSON.parse((event as { nhiPayload: string }).nhiPayload) };
          })
      : middy()
          .use(identityVerifyRecords({ ...common, resolver, ...(options as IdentityVerifyRecordsOptions) }))
          .handler(async (_event: unknown, context) => {
            for (const record of context.verifiedRecords)
              seen.push({ id: record.messageId, caller: record.caller });
            return {};
          });
  const deliver = async (...messages: Message[]): Promise<Delivery> => {
    seen = [];
    const out = captureOutput();
    let result: unknown;
    let error: unknown;
    try {
      result = await (handler as (event: unknown, context: never) => Promise<unknown>)(
        carrier.event(messages),
        lambdaContext(),
      );
    } catch (thrown) {
      error = thrown;
    } finally {
      out.restore();
    }
    const failures = (
      (result as { batchItemFailures?: Array<{ itemIdentifier: string }> } | undefined)?.batchItemFailures ??
      []
    ).map((failure) => failure.itemIdentifier);
    const refusal = out.json().find((line) => line['nhi.reason'] !== undefined);
    return {
      seen: [...seen],
      reason: (error as { reason?: string } | undefined)?.reason ?? (refusal?.['nhi.reason'] as string),
      statusCode: (error as { statusCode?: number } | undefined)?.statusCode,
      failures,
      out,
    };
  };
  return { deliver };
};

/**
 * Asserts a refusal: its reason (and status, for thrown denials), the AuthFailure metric with that
 * reason, the handler never seeing the message, the message reported back on SQS, and neither
 * token in any log line.
 */
const expectRefused = (delivery: Delivery, message: Message, reason: string, status = 401) => {
  expect(delivery.reason).toBe(reason);
  expect(delivery.out.emf()).toContainEqual(expect.objectContaining({ AuthFailure: 1, Reason: reason }));
  expect(delivery.seen.map((record) => record.id)).not.toContain(message.id);
  expect(delivery.seen.filter((record) => record.id === 'invoke')).toEqual([]);
  if (delivery.statusCode !== undefined) expect(delivery.statusCode).toBe(status);
  else expect(delivery.failures).toContain(message.id);
  const text = delivery.out.lines.join('\n');
  for (const token of [message.wit, message.proof]) {
    if (typeof token === 'string') expect(text).not.toContain(token.split('.')[2]);
  }
};

describe.each(CARRIERS.map((carrier) => [carrier.name, carrier] as const))(
  'the WIT + WPT pair on %s',
  (_name, carrier) => {
    it('accepts a valid pair: the WIT issuer is the caller, credential wit, bh over the bytes sent', async () => {
      const signer = await mint(billing);
      const message = pair(signer, '{"order":1}', 'm-1');
      const { seen, reason, out } = await consumer(carrier).deliver(message);
      expect(reason).toBeUndefined();
      expect(seen).toHaveLength(1);
      expect(seen[0]?.caller).toMatchObject({ name: billing.name, kid: 'kms-1', credential: 'wit' });
      expect(seen[0]?.caller.claims).toMatchObject({ iss: billing.name, aud: SELF });
      expect(out.emf()).toContainEqual(expect.objectContaining({ AuthSuccess: 1 }));
      expect(out.lines.join('\n')).not.toContain(signer.wit.split('.')[2]);
    });

    it('refuses bytes the WPT does not cover (body_mismatch)', async () => {
      const signer = await mint(billing);
      const message = { ...pair(signer, '{"amount":10}', 'm-1'), body: '{"amount":10000}' };
      expectRefused(await consumer(carrier).deliver(message), message, 'body_mismatch');
    });

    it("refuses another caller's WIT that confirms this caller's key, with the WPT made for this caller's WIT (wrong_token)", async () => {
      const signer = await mint(billing);
      // orders saw billing's WIT (and so its public cnf key) and signs a WIT of its own confirming
      // that key: billing's WPT verifies under it, but names billing's WIT, not this one.
      const message = {
        ...pair(signer, '{"order":2}', 'm-1'),
        wit: await witConfirming(orders, confirmationKeyOf(signer.wit)),
      };
      expectRefused(await consumer(carrier).deliver(message), message, 'wrong_token');
    });

    it('refuses WITs swapped between two callers (bad_signature: the WPT is not signed by the key the WIT confirms)', async () => {
      const a = await mint(billing);
      const b = await mint(orders);
      const target = consumer(carrier);
      const aWithB = { ...pair(a, '{"order":3}', 'm-1'), wit: b.wit };
      expectRefused(await target.deliver(aWithB), aWithB, 'bad_signature');
      const bWithA = { ...pair(b, '{"order":3}', 'm-2'), wit: a.wit };
      expectRefused(await target.deliver(bWithA), bWithA, 'bad_signature');
    });

    it('refuses a WPT replayed in another message (replayed)', async () => {
      const target = consumer(carrier);
      const signer = await mint(billing);
      const first = pair(signer, '{"order":4}', 'm-1');
      expect((await target.deliver(first)).seen).toHaveLength(1);
      const copy = { ...first, id: 'm-2' };
      expectRefused(await target.deliver(copy), copy, 'replayed');
    });

    it('refuses a WIT whose kid the record revokes, also once remembered (revoked_key)', async () => {
      const table = zone();
      const target = consumer(carrier, {}, table);
      const signer = await mint(billing);
      expect((await target.deliver(pair(signer, '{"order":5}', 'm-1'))).seen).toHaveLength(1);
      table.set(billing.name, [kmsRecord(billing.recordWith({ publicKey: '' }))]);
      const message = pair(signer, '{"order":5}', 'm-2');
      expectRefused(await target.deliver(message), message, 'revoked_key');
      const fresh = await mint(billing);
      const unseen = pair(fresh, '{"order":5}', 'm-3');
      expectRefused(await target.deliver(unseen), unseen, 'revoked_key');
    });

    it('refuses half a pair, a WIT that is not a string and a WPT without its WIT (malformed_proof)', async () => {
      const signer = await mint(billing);
      const target = consumer(carrier);
      const full = pair(signer, '{"order":6}', 'm-0');
      const halves: Message[] = [
        { id: 'm-1', body: full.body, wit: full.wit },
        { id: 'm-2', body: full.body, wit: 42, proof: full.proof },
        { id: 'm-3', body: full.body, wit: full.wit, proof: 42 },
        { id: 'm-4', body: full.body, proof: full.proof },
      ];
      for (const message of halves) {
        expectRefused(await target.deliver(message), message, 'malformed_proof');
      }
      // None of them claimed the WPT's jti: the whole pair is still good.
      expect((await target.deliver(full)).seen).toHaveLength(1);
    });

    it("applies requireKeyCustody: 'kms' to the key that signed the WIT (403 key_custody)", async () => {
      const signer = await mint(billing);
      const plain = zone([[billing.name, [billing.strings]]]);
      const message = pair(signer, '{"order":7}', 'm-1');
      expectRefused(
        await consumer(carrier, { requireKeyCustody: 'kms' }, plain).deliver(message),
        message,
        'key_custody',
        403,
      );
      const kms = await consumer(carrier, { requireKeyCustody: 'kms' }).deliver(message);
      expect(kms.seen.map((record) => record.caller.credential)).toEqual(['wit']);
    });
  },
);

describe.each(
  CARRIERS.filter((carrier) => carrier.batches).map((carrier) => [carrier.name, carrier] as const),
)('a batch of %s records', (_name, carrier) => {
  it('checks each distinct WIT once per instance: across the records of a batch and across invocations', async () => {
    const cache = new WorkloadIdentityCache();
    const target = consumer(carrier, { workloadIdentityCache: cache });
    const billingSigner = await mint(billing);
    const ordersSigner = await mint(orders);
    const batch = (prefix: string) => [
      ...[1, 2, 3, 4].map((n) => pair(billingSigner, `{"n":${n}}`, `${prefix}-b${n}`)),
      pair(ordersSigner, '{"n":5}', `${prefix}-o`),
    ];
    const first = await target.deliver(...batch('first'));
    expect(first.seen.map((record) => [record.id, record.caller.name, record.caller.credential])).toEqual([
      ['first-b1', billing.name, 'wit'],
      ['first-b2', billing.name, 'wit'],
      ['first-b3', billing.name, 'wit'],
      ['first-b4', billing.name, 'wit'],
      ['first-o', orders.name, 'wit'],
    ]);
    expect(cache.stats).toEqual({ hits: 3, misses: 2, size: 2 });
    const second = await target.deliver(...batch('second'));
    expect(second.seen).toHaveLength(5);
    expect(cache.stats).toEqual({ hits: 8, misses: 2, size: 2 });
  });

  it('refuses, record by record, what is wrong in a mixed batch and hands the handler the rest', async () => {
    const target = consumer(carrier);
    const signer = await mint(billing);
    const good = pair(signer, '{"n":1}', 'm-good');
    const replayed = { ...good, id: 'm-replayed' };
    const half: Message = { id: 'm-half', body: '{"n":2}', wit: signer.wit };
    const nhi1: Message = {
      id: 'm-nhi1',
      body: '{"n":3}',
      proof: await orders.sign({ aud: SELF, body: '{"n":3}', now: NOW }),
    };
    const { seen, failures } = await target.deliver(good, replayed, half, nhi1);
    expect(seen.map((record) => [record.id, record.caller.credential])).toEqual([
      ['m-good', 'wit'],
      ['m-nhi1', 'nhi1'],
    ]);
    expect(failures).toEqual(['m-replayed', 'm-half']);
  });
});

describe.each(
  CARRIERS.filter((carrier) => carrier.kind === 'records' && carrier.name !== 'EventBridge').map(
    (carrier) => [carrier.name, carrier] as const,
  ),
)('queue time on %s', (_name, carrier) => {
  it('with a shared replay store, checks the WIT and the WPT when the queue accepted the message: it may outwait both', async () => {
    // A WIT with 15 minutes to live, a WPT of 60 s, both made when the message was sent; it is
    // delivered half an hour later, when both have expired.
    const signer = await mint(billing, NOW, 900);
    const message = { ...pair(signer, '{"n":1}', 'm-1'), sentAt: NOW };
    const later = () => NOW + 1800;
    const memory = new MemoryReplayStore({ clockSkew: 0, now: () => later() * 1000 });
    const shared: ReplayStore = { shared: true, claim: (...args) => memory.claim(...args) };
    const accepted = await consumer(carrier, { replayStore: shared }, zone(), later).deliver(message);
    expect(accepted.seen.map((record) => record.caller.credential)).toEqual(['wit']);
    // The same WPT enqueued again later is judged at that later time: expired.
    const again = { ...message, id: 'm-2', sentAt: NOW + 600 };
    expectRefused(
      await consumer(carrier, { replayStore: shared }, zone(), later).deliver(again),
      again,
      'expired',
    );
    // With a per-instance store (the default), proofs are checked at delivery: expired.
    const atDelivery = await consumer(carrier, {}, zone(), later).deliver({ ...message, id: 'm-3' });
    expect(atDelivery.reason).toBe('expired');
    expect(atDelivery.seen).toEqual([]);
  });
});

describe('the WIT + WPT pair on a direct invocation, with a getProof of its own', () => {
  it('refuses an envelope whose nhiWit is not the token getProof had resolved (malformed_proof)', async () => {
    const signer = await mint(billing);
    const other = await mint(orders);
    const handler = jest.fn(async () => 'served');
    const invoke = middy()
      .use(
        identityResolve({
          zone: ZONE,
          resolver: createTableResolver(zone()),
          // A getProof that reads another field than the envelope's WIT: the record it resolves
          // must not be the one the WPT is then checked against.
          getProof: () => other.wit,
        }),
      )
      .use(identityVerify({ self: SELF, allow: [`*.prod.${ZONE}`], now: () => NOW }))
      .handler(handler);
    const message = pair(signer, '{"order":1}', 'm-1');
    const out = captureOutput();
    const error = await invoke(envelopeOf(message), lambdaContext()).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    out.restore();
    expect(error).toMatchObject({ name: 'IdentityError', reason: 'malformed_proof', statusCode: 401 });
    expect(out.emf()).toContainEqual(expect.objectContaining({ AuthFailure: 1, Reason: 'malformed_proof' }));
    expect(handler).not.toHaveBeenCalled();
  });
});
