/**
 * Example: an SQS consumer that acts only on orders whose producer it can verify. Each message
 * carries its producer's proof (identity-sign's SDK plugin put it in the `nhiProof` attribute);
 * identityVerifyRecords checks every record on its own and answers the refused ones as
 * `batchItemFailures` (the event source mapping has `ReportBatchItemFailures`), so the queue
 * retries them until its redrive policy moves them to the dead-letter queue.
 *
 * Environment: `NHI_SELF` (this consumer, the audience producers sign for), `NHI_ALLOW`
 * (comma-separated producers or patterns), `NHI_REPLAY_TABLE` (optional DynamoDB table shared
 * by every instance), `NHI_DNS_SERVERS` (optional).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { ReplayStore } from '@nhi-dns/core';
import { DynamoDbReplayStore } from '@nhi-dns/core/replay-dynamodb';
import { identityVerifyRecords } from '@nhi-dns/identity-verify';
import type { Resolver } from '@nhi-dns/resolver';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** Configuration of the consumer. */
export interface ConsumerConfig {
  self: string;
  allow: string[];
  replayTable?: string;
  dnsServers?: string[];
}

/** An order as producers send it. */
export interface Order {
  orderId: string;
  amount: number;
}

/** What tests and the demo inject. */
export interface ConsumerDependencies {
  resolver?: Resolver;
  replayStore?: ReplayStore;
  logger?: Logger;
  metrics?: Metrics;
  /** Where accepted orders go (a database in production). */
  apply?: (order: Order, producer: string, messageId: string) => Promise<void>;
}

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** Reads {@link ConsumerConfig} from `NHI_*` environment variables. */
export const configFromEnv = (env: NodeJS.ProcessEnv = process.env): ConsumerConfig => ({
  self: env.NHI_SELF ?? 'orders-worker.prod.auth.example.com',
  allow: list(env.NHI_ALLOW ?? '*.prod.auth.example.com'),
  ...(env.NHI_REPLAY_TABLE ? { replayTable: env.NHI_REPLAY_TABLE } : {}),
  ...(env.NHI_DNS_SERVERS === undefined ? {} : { dnsServers: list(env.NHI_DNS_SERVERS) }),
});

const isOrder = (value: unknown): value is Order =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Order).orderId === 'string' &&
  typeof (value as Order).amount === 'number';

/** Builds the consumer handler. */
export const createConsumerHandler = (config: ConsumerConfig, dependencies: ConsumerDependencies = {}) => {
  const logger = dependencies.logger ?? new Logger({ serviceName: 'orders-worker' });
  const metrics = dependencies.metrics ?? new Metrics({ namespace: 'NHI', serviceName: 'orders-worker' });
  const replayStore =
    dependencies.replayStore ??
    (config.replayTable === undefined
      ? undefined
      : new DynamoDbReplayStore({
          client: async () => new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient({}),
          tableName: config.replayTable,
          clockSkew: 60,
        }));
  const resolver =
    dependencies.resolver ?? (config.dnsServers === undefined ? undefined : { servers: config.dnsServers });
  const apply =
    dependencies.apply ??
    (async (order: Order, producer: string, messageId: string) => {
      logger.info('order applied', { orderId: order.orderId, producer, messageId });
    });
  return middy<SQSEvent, SQSBatchResponse | undefined>()
    .use(logMetrics(metrics))
    .use(
      identityVerifyRecords({
        self: config.self,
        allow: config.allow,
        logger,
        metrics,
        ...(replayStore === undefined ? {} : { replayStore }),
        ...(resolver === undefined ? {} : { resolver }),
      }),
    )
    .handler(async (_event, context): Promise<SQSBatchResponse> => {
      // Only verified records reach here, each with its producer and the exact bytes it signed.
      const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
      for (const { caller, body, messageId } of context.verifiedRecords) {
        const order: unknown = JSON.parse(body);
        if (!isOrder(order)) {
          batchItemFailures.push({ itemIdentifier: messageId });
          continue;
        }
        await apply(order, caller.name, messageId);
      }
      return { batchItemFailures };
    });
};
