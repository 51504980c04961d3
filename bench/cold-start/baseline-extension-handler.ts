/**
 * Cold-invocation baseline for the extension source: the middy + Powertools handler of
 * baseline-handler.ts reading one secret through the Parameters and Secrets Lambda Extension on
 * its first invocation (the extension does not answer during init) and keeping it, as a function
 * without nhi-dns would.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';

const logger = new Logger({ serviceName: 'baseline' });
const metrics = new Metrics({ namespace: 'NHI', serviceName: 'baseline' });
const port = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? '2773';
let secret: Promise<{ VersionId?: string }> | undefined;

/**
 * The secret from the extension, fetched once, with node:http as secrets-inject sends it (loaded
 * with getBuiltinModule: an ES import of node:http loads undici on Node 22 and 24).
 */
const readSecret = () => {
  secret ??= new Promise((resolve, reject) => {
    const url = `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent('/prod/ledger/db')}`;
    process
      .getBuiltinModule('node:http')
      .get(
        url,
        { headers: { 'X-Aws-Parameters-Secrets-Token': process.env.AWS_SESSION_TOKEN ?? '' } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            if (response.statusCode !== 200)
              return reject(new Error(`extension answered ${response.statusCode}`));
            resolve(JSON.parse(Buffer.concat(chunks).toString()) as { VersionId?: string });
          });
        },
      )
      .on('error', reject);
  });
  return secret;
};

/** Lambda entry point: reads one secret, logs one line and answers 200. */
export const handler = middy()
  .use(logMetrics(metrics))
  .handler(async () => {
    const { VersionId } = await readSecret();
    logger.info('invoked', { versionId: VersionId });
    return { statusCode: 200, body: 'ok' };
  });
