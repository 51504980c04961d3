/**
 * Example: an API Gateway HTTP API function that only known workloads may call.
 *
 * Chain: Powertools logMetrics → http-error-handler → identity-resolve (the caller's DNS
 * record) → identity-verify (proof + policy) → secrets-inject (this function's database
 * credentials from /<env>/ledger/db) → handler. Configuration comes from the environment so the
 * same bundle runs in every stage:
 *
 * | variable | meaning |
 * |---|---|
 * | `NHI_ZONE` | identity zone, e.g. `auth.example.com` |
 * | `NHI_SELF` | this function's identity, e.g. `ledger.prod.auth.example.com` |
 * | `NHI_ALLOW` | comma-separated allow patterns, e.g. `billing.prod.auth.example.com,*.prod.auth.example.com` |
 * | `NHI_ENVIRONMENT` | secrets namespace, e.g. `prod` (reads `/prod/ledger/db`) |
 * | `NHI_DNS_SERVERS` | optional comma-separated resolvers (`10.0.0.2`, `127.0.0.1:5353`); default /etc/resolv.conf |
 * | `NHI_ORIGIN` | optional origin callers address (`https://api.example.com`), read by identity-verify; for CloudFront in front, or serverless-offline |
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import type { ReplayStore } from '@nhi-dns/core';
import { DynamoDbReplayStore } from '@nhi-dns/core/replay-dynamodb';
import identityResolve from '@nhi-dns/identity-resolve';
import identityVerify from '@nhi-dns/identity-verify';
import type { Resolver, ResolverOptions } from '@nhi-dns/resolver';
import secretsInject from '@nhi-dns/secrets-inject';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';

/** Configuration of the callee. */
export interface CalleeConfig {
  zone: string;
  self: string;
  allow: string[];
  /** Secrets namespace environment (`prod` → `/prod/`). */
  environment: string;
  dnsServers?: string[];
  /** DynamoDB table for replay protection across every instance (`NHI_REPLAY_TABLE`); default: per instance, in memory. */
  replayTable?: string;
  /** Where secrets come from: Secrets Manager through the SDK (default) or the Parameters and Secrets Lambda Extension. */
  secretsSource?: 'sdk' | 'extension';
}

/** What tests and the demo may inject instead of the defaults. */
export interface CalleeDependencies {
  resolver?: Resolver | ResolverOptions;
  secretsClient?: SecretsManagerClient;
  /** Replay store; default: DynamoDB when `replayTable` is set, else identity-verify's in-memory store. */
  replayStore?: ReplayStore;
  logger?: Logger;
  metrics?: Metrics;
}

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** Reads {@link CalleeConfig} from `NHI_*` environment variables. */
export const configFromEnv = (env: NodeJS.ProcessEnv = process.env): CalleeConfig => ({
  zone: env.NHI_ZONE ?? 'auth.example.com',
  self: env.NHI_SELF ?? 'ledger.prod.auth.example.com',
  allow: list(env.NHI_ALLOW ?? 'billing.prod.auth.example.com'),
  environment: env.NHI_ENVIRONMENT ?? 'prod',
  ...(env.NHI_DNS_SERVERS === undefined ? {} : { dnsServers: list(env.NHI_DNS_SERVERS) }),
  ...(env.NHI_SECRETS_SOURCE === 'extension' ? { secretsSource: 'extension' as const } : {}),
  ...(env.NHI_REPLAY_TABLE ? { replayTable: env.NHI_REPLAY_TABLE } : {}),
});

/** Replay protection across instances when the template gives a table (the verifier's clockSkew, 60 s). */
const replayStoreOf = (
  config: CalleeConfig,
  dependencies: CalleeDependencies,
): { replayStore?: ReplayStore } => {
  if (dependencies.replayStore !== undefined) return { replayStore: dependencies.replayStore };
  if (config.replayTable === undefined) return {};
  return {
    replayStore: new DynamoDbReplayStore({
      // Imported on the first claim: the DynamoDB SDK stays out of the cold start.
      client: async () => new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient({}),
      tableName: config.replayTable,
      clockSkew: 60,
    }),
  };
};

/** The callee as Lambda (and tests) call it. */
export type CalleeHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

/** Builds the callee handler; the Lambda entry point below uses the environment's configuration. */
export const createCalleeHandler = (
  config: CalleeConfig,
  dependencies: CalleeDependencies = {},
): CalleeHandler => {
  const logger = dependencies.logger ?? new Logger({ serviceName: 'ledger' });
  const metrics = dependencies.metrics ?? new Metrics({ namespace: 'NHI', serviceName: 'ledger' });
  const resolver =
    dependencies.resolver ?? (config.dnsServers === undefined ? undefined : { servers: config.dnsServers });
  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(logMetrics(metrics))
    .use(httpErrorHandler({ logger: false }))
    .use(
      identityResolve({
        zone: config.zone,
        logger,
        metrics,
        ...(resolver === undefined ? {} : { resolver }),
      }),
    )
    .use(
      identityVerify({
        self: config.self,
        allow: config.allow,
        logger,
        metrics,
        ...replayStoreOf(config, dependencies),
      }),
    )
    .use(
      secretsInject({
        secrets: { ledgerDb: 'ledger/db' },
        namespace: `/${config.environment}/`,
        logger,
        metrics,
        ...(dependencies.secretsClient === undefined ? {} : { client: dependencies.secretsClient }),
        ...(config.secretsSource === undefined ? {} : { source: config.secretsSource }),
      }),
    )
    .handler(async (event, context) => {
      // Typed by the middlewares: the verified caller and this function's secrets, no cast.
      const { caller, secrets } = context;
      const database = secrets.ledgerDb as { username?: string } | undefined;
      // A real handler would open its database with the credentials; never echo secret values.
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          message: 'payment recorded',
          caller: caller.name,
          kid: caller.kid,
          databaseUser: database?.username,
          bytes: event.body?.length ?? 0,
        }),
      };
    });
  // Middy types the wrapped handler's context as what its middlewares add; Lambda (and the tests)
  // call it with the plain Context that the middlewares then fill in.
  return handler as unknown as CalleeHandler;
};
