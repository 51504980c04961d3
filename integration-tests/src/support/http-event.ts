import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

/** Options of {@link apiGatewayEvent}. */
export interface ApiGatewayEventOptions {
  /** Request body. Default `{"amount":10}`. */
  body?: string;
  /** HTTP method. Default `POST`. */
  method?: string;
}

/** An API Gateway HTTP API (payload 2.0) event carrying `Authorization: NHI <token>`. */
export const apiGatewayEvent = (
  token: string | undefined,
  options: ApiGatewayEventOptions = {},
): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: '$default',
    rawPath: '/pay',
    rawQueryString: '',
    headers: {
      host: 'api.example.com',
      ...(token === undefined ? {} : { authorization: `NHI ${token}` }),
    },
    requestContext: { http: { method: options.method ?? 'POST', path: '/pay' } },
    body: options.body ?? '{"amount":10}',
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;

/** A Lambda context with 10 s left, enough for every DNS deadline of the lab. */
export const lambdaContext = (): Context =>
  ({
    functionName: 'ledger',
    awsRequestId: 'integration-test',
    getRemainingTimeInMillis: () => 10_000,
  }) as unknown as Context;
