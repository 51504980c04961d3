/**
 * The producer/consumer pair: billing sends an order to the queue through a real SQSClient with
 * identity-sign's plugin (the SDK's own serialisation, a loopback SQS endpoint), and the
 * orders-worker example consumes the message exactly as SQS would deliver it.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import type { IdentityVerifyRecordsContext } from '@nhi-dns/identity-verify';
import { createTableResolver } from '@nhi-dns/resolver/test-support';
import type { Context } from 'aws-lambda';
import { type LocalSecretsManager, startLocalSecretsManager } from '../../demo/src/local-secrets-manager.js';
import { createConsumerHandler, type Order } from '../../sqs-consumer/src/consumer.js';
import { sqsRecord } from '../../sqs-consumer/src/sqs-event.js';
import { createCallerHandler } from './caller.js';

const ZONE = 'auth.example.com';
const WORKER = `orders-worker.prod.${ZONE}`;
const billing = createTestIdentity(`billing.prod.${ZONE}`, { kid: 'k2026-11' });
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';

/** SendMessage as SQS answers it (AWS JSON 1.0), keeping what was sent. */
const startQueue = async () => {
  const sent: Array<{ MessageBody: string; MessageAttributes: Record<string, { StringValue: string }> }> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const input = JSON.parse(Buffer.concat(chunks).toString());
      sent.push(input);
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(
        JSON.stringify({
          MessageId: `m-${sent.length}`,
          MD5OfMessageBody: createHash('md5').update(input.MessageBody).digest('hex'),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, sent, stop: () => new Promise((r) => server.close(r)) };
};

let queue: Awaited<ReturnType<typeof startQueue>>;
let secretsManager: LocalSecretsManager;
const output = captureOutput();

beforeAll(async () => {
  queue = await startQueue();
  secretsManager = await startLocalSecretsManager({
    '/prod/nhi/billing/signing-key': JSON.stringify({
      ...billing.privateKey.export({ format: 'jwk' }),
      kid: billing.kid,
    }),
  });
});
afterAll(async () => {
  output.restore();
  await queue.stop();
  await secretsManager.stop();
});

it('billing sends a signed order; orders-worker applies it, and refuses it tampered', async () => {
  const sqs = new SQSClient({
    endpoint: queue.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const caller = createCallerHandler(
    {
      self: billing.name,
      audiences: { [QUEUE]: WORKER },
      ledgerUrl: 'https://unused.example.com/payments',
      ledgerFunction: 'unused',
      ordersQueueUrl: QUEUE,
    },
    { secretsClient: secretsManager.client(), sqs },
  );
  const sent = await caller({ via: 'queue', amount: 42 }, {
    awsRequestId: 'order-1',
    functionName: 'billing',
    getRemainingTimeInMillis: () => 3000,
  } as Context);
  expect(sent).toEqual({ statusCode: 202, body: 'm-1' });
  const [message] = queue.sent;
  const proof = message!.MessageAttributes.nhiProof!.StringValue;

  const applied: Array<[Order, string]> = [];
  const consumer = createConsumerHandler(
    { self: WORKER, allow: [`*.prod.${ZONE}`] },
    {
      resolver: createTableResolver(new Map([[billing.name, [billing.strings]]])),
      apply: async (order, producer) => void applied.push([order, producer]),
    },
  );
  const context = { awsRequestId: 'r', getRemainingTimeInMillis: () => 3000 } as unknown as Context &
    IdentityVerifyRecordsContext;
  const delivered = await consumer(
    {
      Records: [
        sqsRecord('m-1', message!.MessageBody, proof),
        sqsRecord('m-2', '{"orderId":"order-1","amount":4200}', proof),
      ],
    },
    context,
  );
  expect(applied).toEqual([[{ orderId: 'order-1', amount: 42 }, billing.name]]);
  expect(delivered?.batchItemFailures).toEqual([{ itemIdentifier: 'm-2' }]);
  sqs.destroy();
});
