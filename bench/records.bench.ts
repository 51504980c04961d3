/**
 * Per-record cost of identityVerifyRecords on a warm 1 000-record SQS batch (DNS cached, memory
 * replay store, Powertools output to a sink) against one bare Ed25519 `crypto.verify` per record
 * over the same signing inputs, timed in the same process and rounds.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import middy from '@middy/core';
import { decodeProof, MemoryReplayStore } from '@nhi-dns/core';
import { createTestIdentity } from '@nhi-dns/core/test-support';
import { identityVerifyRecords } from '@nhi-dns/identity-verify';
import { createTableResolver } from '@nhi-dns/resolver/test-support';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { type BenchContext, type BenchSuite, type Figure, figure, measurement } from './lib/figure.js';
import { silenceOutput } from './lib/output-sink.js';
import { round, summarise } from './lib/stats.js';

const SIZES = { full: { batches: 12, records: 1000 }, quick: { batches: 2, records: 100 } };
const ZONE = 'auth.example.com';
const CONSUMER = `orders-worker.prod.${ZONE}`;

const sqsRecord = (messageId: string, body: string, proof: string, sentAtMs: number): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: String(sentAtMs),
    SenderId: 'AIDAEXAMPLE',
    ApproximateFirstReceiveTimestamp: String(sentAtMs),
  },
  messageAttributes: {
    nhiProof: { stringValue: proof, stringListValues: [], binaryListValues: [], dataType: 'String' },
  },
  md5OfBody: 'ignored',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:orders',
  awsRegion: 'eu-west-1',
});

const run = async (context: BenchContext): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  const producers = Array.from({ length: 10 }, (_, index) => createTestIdentity(`svc${index}.prod.${ZONE}`));
  const table = new Map(producers.map((producer) => [producer.name, [producer.strings]]));
  const nowMs = Date.now();
  context.log(`records: signing ${(size.batches + 1) * size.records} proofs`);
  const batches: SQSEvent[] = [];
  for (let batch = 0; batch <= size.batches; batch++) {
    const records = await Promise.all(
      Array.from({ length: size.records }, async (_, index) => {
        const producer = producers[index % producers.length]!;
        const body = JSON.stringify({ batch, index, amount: 1250 });
        const proof = await producer.sign({ aud: CONSUMER, body });
        return sqsRecord(`m-${batch}-${index}`, body, proof, nowMs);
      }),
    );
    batches.push({ Records: records });
  }
  const restore = silenceOutput();
  try {
    const handler = middy()
      .use(
        identityVerifyRecords({
          self: CONSUMER,
          allow: [`*.prod.${ZONE}`],
          resolver: createTableResolver(table),
          replayStore: new MemoryReplayStore({ clockSkew: 0, maxEntries: 100_000 }),
        }),
      )
      .handler(async (_event, lambdaContext) => ({ handled: lambdaContext.verifiedRecords.length }));
    const lambdaContext = () =>
      ({
        awsRequestId: 'r',
        functionName: 'orders-worker',
        getRemainingTimeInMillis: () => 60_000,
      }) as unknown as Context & Parameters<typeof handler>[1];
    // The first batch warms the DNS and key caches.
    const warm = (await handler(batches[0]!, lambdaContext())) as { handled: number };
    if (warm.handled !== size.records) throw new Error(`warm batch verified ${warm.handled}`);

    const publicKeys = new Map(
      producers.map((producer) => [producer.name, createPublicKey(producer.privateKey)]),
    );
    const perRecordBatch: number[] = [];
    const perRecordFloor: number[] = [];
    for (let batch = 1; batch <= size.batches; batch++) {
      const event = batches[batch]!;
      // Floor: one verify per record over the same signing inputs, decoded beforehand.
      const decoded = event.Records.map((record) => {
        const proof = decodeProof(record.messageAttributes.nhiProof!.stringValue!);
        return { proof, key: publicKeys.get(proof.claims.iss)! };
      });
      const floorStart = process.hrtime.bigint();
      for (const { proof, key } of decoded) {
        if (!cryptoVerify(null, proof.signingInput, key, proof.signature)) throw new Error('floor failed');
      }
      perRecordFloor.push(Number(process.hrtime.bigint() - floorStart) / 1000 / event.Records.length);
      const start = process.hrtime.bigint();
      const result = (await handler(event, lambdaContext())) as {
        handled: number;
        batchItemFailures?: unknown[];
      };
      perRecordBatch.push(Number(process.hrtime.bigint() - start) / 1000 / event.Records.length);
      if (result.handled !== size.records || result.batchItemFailures !== undefined) {
        throw new Error(`batch ${batch}: ${JSON.stringify(result).slice(0, 200)}`);
      }
    }
    return [
      figure({
        id: 'recordsWarmBatch',
        title: `Per-record cost of a warm ${size.records}-record SQS batch vs one Ed25519 verify`,
        subject: measurement('identityVerifyRecords, per record', 'µs', summarise(perRecordBatch)),
        baseline: measurement(
          'bare Ed25519 crypto.verify per record (same inputs)',
          'µs',
          summarise(perRecordFloor),
        ),
        ratioOf: 'subject/baseline',
        target: { comparison: '<=', value: 1.2 },
        details: { batches: size.batches, producers: producers.length, recordsPerBatch: size.records },
        method:
          'Middy handler with identityVerifyRecords (DNS answers cached, MemoryReplayStore, requireBodyHash), one batch per sample, divided by its record count; the floor verifies the same signatures back to back, just before each batch. Powertools output went to a sink.',
      }),
    ].map((entry) => ({
      ...entry,
      details: { ...entry.details, floorMedianUs: round(summarise(perRecordFloor).median, 1) },
    }));
  } finally {
    restore();
  }
};

/** Per-record verification figure. */
export const recordsBench: BenchSuite = { name: 'records', run };
