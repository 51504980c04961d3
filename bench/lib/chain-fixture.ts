/**
 * The deployed chain under test: the `http-api-callee` example handler (Powertools logMetrics →
 * http-error-handler → identity-resolve → identity-verify → secrets-inject), wired to a loopback
 * DNS server and a loopback Secrets Manager with the real AWS SDK client, as in `npm run demo`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MemoryReplayStore } from '@nhi-dns/core';
import { createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';
import { createResolver, type Resolver } from '@nhi-dns/resolver';
import { startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../examples/demo/src/local-secrets-manager.js';
import { createCalleeHandler } from '../../examples/http-api-callee/src/callee.js';
import { paymentEvent } from '../../examples/http-api-callee/src/payment-event.js';

/** Zone of every benchmark identity. */
export const ZONE = 'auth.example.com';
/** The callee's identity (the `aud` of every proof). */
export const CALLEE = `ledger.prod.${ZONE}`;
/** Request body every proof is bound to (`bh`), with `htm: POST`. */
export const BODY = JSON.stringify({ amount: 125, currency: 'EUR' });

/** A callee handler as Lambda would call it. */
export type CalleeHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2 | undefined>;

/** Lambda context with time to spare. Copy it per invocation (`{ ...LAMBDA_CONTEXT }`): the middlewares write onto it. */
export const LAMBDA_CONTEXT = {
  functionName: 'ledger',
  awsRequestId: 'bench',
  getRemainingTimeInMillis: () => 3000,
} as unknown as Context;

/** API Gateway HTTP API (payload v2) event carrying `Authorization: NHI <token>`. */
export const apiEvent = (token: string, body = BODY): APIGatewayProxyEventV2 => paymentEvent(token, body);

/** Signs `count` distinct proofs (new `jti` each) from `caller` to the callee, bound to body and method. */
export const presignEvents = async (
  caller: TestIdentity,
  count: number,
): Promise<APIGatewayProxyEventV2[]> => {
  const events: APIGatewayProxyEventV2[] = new Array(count);
  for (let i = 0; i < count; i++) {
    events[i] = apiEvent(await caller.sign({ aud: CALLEE, body: BODY, method: 'POST' }));
  }
  return events;
};

/** Running servers and the means to build handlers against them. */
export interface ChainFixture {
  readonly dns: TestDnsServer;
  readonly secretsManager: LocalSecretsManager;
  readonly secretsClient: SecretsManagerClient;
  /** Builds a callee handler; `resolver` defaults to a fresh caching resolver on the loopback server. */
  handler(options?: { logLevel?: 'INFO' | 'SILENT'; resolver?: Resolver }): CalleeHandler;
  /** Builds a caching resolver on the loopback server (per-attempt `timeout` in ms, default the resolver's). */
  resolver(options?: { timeout?: number }): Resolver;
  stop(): Promise<void>;
}

/** Starts the loopback DNS server (serving `callers`' records, TTL 300 s) and Secrets Manager. */
export const startChainFixture = async (callers: readonly TestIdentity[]): Promise<ChainFixture> => {
  const dns = await startTestDnsServer({
    zone: ZONE,
    records: callers.map((caller) => ({
      name: caller.name,
      type: 'TXT' as const,
      ttl: 300,
      data: caller.strings,
    })),
  });
  const secretsManager = await startLocalSecretsManager({
    '/prod/ledger/db': JSON.stringify({ username: 'ledger_app', password: 'bench-only-password' }),
  });
  const secretsClient = secretsManager.client();
  const resolver = (options: { timeout?: number } = {}) =>
    createResolver({ servers: [dns.server], ...options });
  return {
    dns,
    secretsManager,
    secretsClient,
    resolver,
    handler: (options = {}) =>
      createCalleeHandler(
        { zone: ZONE, self: CALLEE, allow: [`*.prod.${ZONE}`], environment: 'prod' },
        {
          resolver: options.resolver ?? resolver(),
          secretsClient,
          // Sized for the benchmark: one caller sends tens of thousands of live proofs in a minute,
          // more than the default per-issuer share (SECURITY.md, sizing the replay store).
          replayStore: new MemoryReplayStore({
            clockSkew: 0,
            maxEntries: 400_000,
            maxEntriesPerIssuer: 400_000,
          }),
          logger: new Logger({ serviceName: 'ledger', logLevel: options.logLevel ?? 'INFO' }),
          metrics: new Metrics({ namespace: 'NHI', serviceName: 'ledger' }),
        },
      ) as CalleeHandler,
    stop: async () => {
      secretsClient.destroy();
      await Promise.all([dns.stop(), secretsManager.stop()]);
    },
  };
};

/** Creates `count` caller identities `svc<i>.prod.<zone>`. */
export const createCallers = (count: number): TestIdentity[] =>
  Array.from({ length: count }, (_, i) => createTestIdentity(`svc${i}.prod.${ZONE}`, { kid: `k${i}` }));

/** Throws unless the handler answered 200: a benchmark of denials would measure the wrong path. */
export const expectOk = (result: APIGatewayProxyResultV2 | undefined): void => {
  const status = typeof result === 'object' ? result.statusCode : undefined;
  if (status !== 200) {
    const reason = typeof result === 'object' ? result.body : String(result);
    throw new Error(`chain answered ${status}: ${reason}`);
  }
};
