import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * The API Gateway HTTP API (payload v2) event of a `POST /payments` carrying
 * `Authorization: NHI <token>`: what the callee receives from a caller. Used by the demo, the
 * benchmarks and the tests, so they all drive the handler the same way.
 */
export const paymentEvent = (token: string, body: string): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: 'POST /payments',
    rawPath: '/payments',
    rawQueryString: '',
    headers: {
      host: 'ledger.example.com',
      authorization: `NHI ${token}`,
      'content-type': 'application/json',
    },
    requestContext: { domainName: 'ledger.example.com', http: { method: 'POST', path: '/payments' } },
    body,
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;
