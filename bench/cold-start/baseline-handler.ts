/**
 * Cold-start baseline: the smallest Lambda handler a Powertools user deploys, `@middy/core` with
 * Powertools Logger and Metrics (logMetrics). The http-api-callee bundle is compared with this one.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';

const logger = new Logger({ serviceName: 'baseline' });
const metrics = new Metrics({ namespace: 'NHI', serviceName: 'baseline' });

/** Lambda entry point: logs one line and answers 200. */
export const handler = middy()
  .use(logMetrics(metrics))
  .handler(async () => {
    logger.info('invoked');
    return { statusCode: 200, body: 'ok' };
  });
