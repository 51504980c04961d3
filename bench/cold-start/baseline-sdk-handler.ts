/**
 * Second cold-start baseline: the middy + Powertools handler of baseline-handler.ts plus a Secrets
 * Manager client created at init, which any function that reads a secret pays before nhi-dns.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';

const logger = new Logger({ serviceName: 'baseline' });
const metrics = new Metrics({ namespace: 'NHI', serviceName: 'baseline' });
const client = new SecretsManagerClient({});

/** Lambda entry point: reads one secret, logs one line and answers 200. */
export const handler = middy()
  .use(logMetrics(metrics))
  .handler(async () => {
    const secret = await client.send(new GetSecretValueCommand({ SecretId: '/prod/ledger/db' }));
    logger.info('invoked', { versionId: secret.VersionId });
    return { statusCode: 200, body: 'ok' };
  });
