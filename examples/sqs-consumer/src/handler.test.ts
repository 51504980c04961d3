import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { captureOutput, createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';
import { createSigner } from '@nhi-dns/identity-sign';
import type { IdentityVerifyRecordsContext } from '@nhi-dns/identity-verify';
import { createTableResolver } from '@nhi-dns/resolver/test-support';
import type { Context } from 'aws-lambda';
import { createConsumerHandler, type Order } from './consumer.js';
import { sqsRecord } from './sqs-event.js';

const ZONE = 'auth.example.com';
const CONSUMER = `orders-worker.prod.${ZONE}`;
const billing = createTestIdentity(`billing.prod.${ZONE}`);
const unknown = createTestIdentity(`intruder.prod.${ZONE}`); // no record in DNS
const resolver = createTableResolver(new Map([[billing.name, [billing.strings]]]));

/** A producer as it signs with identity-sign (the SDK plugin signs each message the same way). */
const producer = (identity: TestIdentity) =>
  createSigner({
    self: identity.name,
    signingKey: { keyObject: identity.privateKey, kid: identity.kid },
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'Test' }),
  });

/** Middy types a wrapped handler's context with what its middlewares add. */
const context = {
  awsRequestId: 'r1',
  functionName: 'orders-worker',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context & IdentityVerifyRecordsContext;

describe('sqs-consumer example', () => {
  it('applies only verified orders and answers the rest as batchItemFailures', async () => {
    const applied: Array<[Order, string]> = [];
    const handler = createConsumerHandler(
      { self: CONSUMER, allow: [`*.prod.${ZONE}`] },
      { resolver, apply: async (order, from) => void applied.push([order, from]) },
    );
    const signer = producer(billing);
    const valid = JSON.stringify({ orderId: 'o-1', amount: 10 });
    const replayed = JSON.stringify({ orderId: 'o-2', amount: 20 });
    const replayedProof = await signer.sign({ aud: CONSUMER, body: replayed });
    const event = {
      Records: [
        sqsRecord('m-valid', valid, await signer.sign({ aud: CONSUMER, body: valid })),
        sqsRecord(
          'm-tampered',
          JSON.stringify({ orderId: 'o-3', amount: 30_000 }),
          await signer.sign({ aud: CONSUMER, body: '{"orderId":"o-3","amount":30}' }),
        ),
        sqsRecord('m-unknown', valid, await producer(unknown).sign({ aud: CONSUMER, body: valid })),
        sqsRecord('m-first', replayed, replayedProof),
        sqsRecord('m-replayed', replayed, replayedProof),
        sqsRecord('m-not-an-order', '"hello"', await signer.sign({ aud: CONSUMER, body: '"hello"' })),
      ],
    };
    const out = captureOutput();
    const response = await handler(event, context).finally(() => out.restore());
    expect(applied).toEqual([
      [{ orderId: 'o-1', amount: 10 }, billing.name],
      [{ orderId: 'o-2', amount: 20 }, billing.name],
    ]);
    expect(response?.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual([
      'm-not-an-order',
      'm-tampered',
      'm-unknown',
      'm-replayed',
    ]);
    // AuthFailure by Reason, as the template's alarm watches it.
    const reasons = out
      .emf()
      .filter((doc) => 'AuthFailure' in doc)
      .map((doc) => doc.Reason);
    expect(reasons.sort()).toEqual(['body_mismatch', 'no_record', 'replayed']);
  });
});
