import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A Lambda handler as the loopback front calls it. */
export type LedgerFunction = (event: never, context: never) => Promise<unknown>;

/** A running loopback front of the ledger function: its HTTP API and its Lambda Invoke endpoint. */
export interface LocalLedger {
  /**
   * `https://127.0.0.1:<port>`: the HTTP API's origin as a caller addresses it. API Gateway is
   * HTTPS only and the front plays its TLS end, so requests reach it through {@link tlsTerminatedFetch}.
   */
  readonly origin: string;
  /** `http://127.0.0.1:<port>`: the Lambda endpoint (`endpoint` or `AWS_ENDPOINT_URL_LAMBDA`). */
  readonly lambdaEndpoint: string;
  /** Every event the function received, in order: HTTP API (payload v2) events and invoke payloads. */
  readonly events: Record<string, unknown>[];
  /** Changes the next event before the function sees it, as an attacker on the path would. */
  alterNext(change: (event: Record<string, unknown>) => void): void;
  stop(): Promise<void>;
}

/** Content types an HTTP API passes as text; any other body reaches the function base64-encoded. */
const TEXT_CONTENT = /^\s*(text\/|application\/(json|xml|x-www-form-urlencoded)\b|[^;]*\+(json|xml)\b)/i;

/**
 * `fetch` for the front's `https://` origin: sends the same request over plain HTTP on loopback,
 * where the front stands in for API Gateway's TLS end (give it as identity-sign's `fetch`).
 */
export const tlsTerminatedFetch = (base: typeof fetch = fetch): typeof fetch =>
  (async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.protocol === 'https:' && url.hostname === '127.0.0.1') url.protocol = 'http:';
    return base(url, {
      method: request.method,
      headers: request.headers,
      body: request.body === null ? null : await request.arrayBuffer(),
      redirect: request.redirect,
    });
  }) as typeof fetch;

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * The demo's and the example tests' stand-in for API Gateway and the Lambda service in front of
 * one function (the ledger): an HTTP request becomes the HTTP API event the function would get,
 * and `POST /2015-03-31/functions/<name>/invocations` (what `LambdaClient` sends) passes its
 * payload as the event, an error thrown becoming a function error (`X-Amz-Function-Error`), as
 * Lambda reports it. Loopback only.
 */
export const startLocalLedger = async (fn: LedgerFunction, functionName = 'ledger'): Promise<LocalLedger> => {
  const events: Record<string, unknown>[] = [];
  let alteration: ((event: Record<string, unknown>) => void) | undefined;
  const context = { functionName, awsRequestId: 'local', getRemainingTimeInMillis: () => 3000 };
  const deliver = (event: Record<string, unknown>) => {
    alteration?.(event);
    alteration = undefined;
    events.push(event);
    return fn(event as never, context as never);
  };

  const invoke = async (name: string, payload: Buffer, response: ServerResponse) => {
    if (name !== functionName) {
      const message = `Function not found: ${name}`;
      response.writeHead(404, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'ResourceNotFoundException',
      });
      response.end(JSON.stringify({ Type: 'User', message }));
      return;
    }
    try {
      const result = await deliver(JSON.parse(payload.toString('utf8') || '{}') as Record<string, unknown>);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result ?? null));
    } catch (error) {
      const { name: errorType, message: errorMessage } = error as Error;
      response
        .writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' })
        .end(JSON.stringify({ errorType, errorMessage }));
    }
  };

  const http = async (request: IncomingMessage, body: Buffer, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://local');
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
    const text = TEXT_CONTENT.test(headers['content-type'] ?? '');
    const method = request.method ?? 'GET';
    const result = (await deliver({
      version: '2.0',
      routeKey: `${method} ${url.pathname}`,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      requestContext: {
        domainName: headers.host,
        http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
      },
      ...(body.length === 0 ? {} : { body: body.toString(text ? 'utf8' : 'base64') }),
      isBase64Encoded: body.length > 0 && !text,
    })) as { statusCode?: number; headers?: Record<string, string>; body?: string };
    response.writeHead(result.statusCode ?? 200, result.headers).end(result.body ?? '');
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = INVOKE_PATH.exec(request.url ?? '');
      const handled =
        target === null
          ? http(request, body, response)
          : invoke(decodeURIComponent(target[1]!), body, response);
      handled.catch(() => response.writeHead(502).end('{"message":"Internal Server Error"}'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    lambdaEndpoint: `http://127.0.0.1:${port}`,
    events,
    alterNext: (change) => {
      alteration = change;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
