// Loopback stand-ins for the AWS services between a signing caller and its callee: HTTP front ends
// (API Gateway HTTP and REST APIs, Function URLs, ALB) that turn a real HTTP request into the
// Lambda event AWS would build, and one endpoint that answers the AWS SDK's Lambda, SQS, SNS and
// EventBridge calls and keeps the Lambda events those services would deliver.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { captureOutput } from '@nhi-dns/core/test-support';
import type {
  ALBEvent,
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  Context,
  EventBridgeEvent,
  SNSEvent,
  SNSEventRecord,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { lambdaContext } from '../support/http-event.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

/** A deployed Lambda function: the callee chain, called with an event and a Lambda context. */
export type LambdaFunction = (event: unknown, context: Context) => Promise<unknown>;

/**
 * Runs `lambda` as Lambda would, with Powertools' output (logs, EMF) kept off the test output.
 * Resolves with the result, or rejects with what the function threw.
 */
export const invokeQuietly = async (lambda: LambdaFunction, event: unknown): Promise<unknown> => {
  const captured = captureOutput();
  try {
    return await lambda(event, lambdaContext());
  } finally {
    captured.restore();
  }
};

// ---------------------------------------------------------------------------------------------
// Loopback servers

/** One HTTP request as it reached a loopback server. */
export interface RawRequest {
  readonly method: string;
  /** Path and query exactly as sent. */
  readonly target: string;
  /** Header names and values in the order received. */
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  readonly body: Buffer;
}

/** What a loopback server answers. */
interface RawResponse {
  readonly status: number;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string | Buffer;
}

const listen = async (answer: (request: RawRequest) => Promise<RawResponse>) => {
  const received: RawRequest[] = [];
  const server: Server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const pairs: Array<[string, string]> = [];
      for (let index = 0; index < incoming.rawHeaders.length; index += 2) {
        pairs.push([incoming.rawHeaders[index]!, incoming.rawHeaders[index + 1]!]);
      }
      const request: RawRequest = {
        method: incoming.method ?? 'GET',
        target: incoming.url ?? '/',
        headers: pairs,
        body: Buffer.concat(chunks),
      };
      received.push(request);
      answer(request).then(
        (response) => {
          outgoing.writeHead(response.status, response.headers);
          outgoing.end(response.body ?? '');
        },
        (error: unknown) => {
          outgoing.writeHead(500, { 'content-type': 'text/plain' });
          outgoing.end(`loopback server failed: ${String(error)}`);
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

/**
 * The base `fetch` of a signer whose callee sits behind API Gateway or a Function URL, which
 * serve HTTPS only: the proof names `https://127.0.0.1:<port>/...` (what the caller addressed,
 * and the scheme the verifier expects from those front ends), and the request is sent over plain
 * HTTP to the loopback server that plays the TLS-terminating front end. Plain `http:` URLs (an
 * ALB HTTP listener) pass unchanged. Method, headers and body bytes are sent as signed.
 */
export const tlsTerminatedFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const url = new URL(request.url);
  if (url.protocol === 'https:') url.protocol = 'http:';
  return fetch(url, {
    method: request.method,
    headers: request.headers,
    body: request.body === null ? null : await request.arrayBuffer(),
    redirect: request.redirect,
  });
};

// ---------------------------------------------------------------------------------------------
// HTTP front ends

/** The HTTP front ends a Lambda can sit behind. */
export type FrontEndKind = 'apigw-v2' | 'apigw-v1' | 'function-url' | 'alb';

/** An event an HTTP front end delivers. */
export type HttpEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent | ALBEvent;

/** REST API stage of the `apigw-v1` front end: its URLs are `https://<host>/prod/<path>`. */
export const REST_API_STAGE = 'prod';
/** REST API binary media types of the `apigw-v1` front end (others reach the function as text). */
const REST_API_BINARY_MEDIA_TYPES = ['application/octet-stream'];

/** Content types that HTTP APIs, Function URLs and ALB pass as text; any other body is base64-encoded. */
const TEXT_CONTENT =
  /^\s*(text\/|application\/(json|javascript|xml|x-www-form-urlencoded)\b|[^;]*\+(json|xml)\b)/i;

const headerOf = (request: RawRequest, name: string): string | undefined =>
  request.headers.findLast(([key]) => key.toLowerCase() === name)?.[1];

/** Whether `kind` hands the function this body base64-encoded. */
const isBinaryFor = (kind: FrontEndKind, request: RawRequest): boolean => {
  const contentType = headerOf(request, 'content-type');
  if (kind === 'apigw-v1') {
    // A REST API encodes only the binaryMediaTypes it was configured with.
    const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
    return mediaType !== undefined && REST_API_BINARY_MEDIA_TYPES.includes(mediaType);
  }
  return contentType === undefined || !TEXT_CONTENT.test(contentType);
};

/** `body` and `isBase64Encoded` as `kind` delivers them (`undefined` body: the request had none). */
const bodyFor = (
  kind: FrontEndKind,
  request: RawRequest,
): { body: string | undefined; isBase64Encoded: boolean } => {
  if (request.body.length === 0) return { body: undefined, isBase64Encoded: false };
  return isBinaryFor(kind, request)
    ? { body: request.body.toString('base64'), isBase64Encoded: true }
    : { body: request.body.toString('utf8'), isBase64Encoded: false };
};

/** Headers lower-cased, repeated ones joined with commas (HTTP APIs, Function URLs). */
const joinedLowerCaseHeaders = (request: RawRequest): Record<string, string> => {
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) {
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]},${value}`;
  }
  return headers;
};

/** Common Log Format time, as `requestContext.time` / `requestTime` carry it. */
const requestTime = (at: Date): string => {
  const months = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${pad(at.getUTCDate())}/${months[at.getUTCMonth()]}/${at.getUTCFullYear()}:${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000`;
};

const splitTarget = (target: string): { path: string; query: string } => {
  const at = target.indexOf('?');
  return at === -1 ? { path: target, query: '' } : { path: target.slice(0, at), query: target.slice(at + 1) };
};

/** What API Gateway adds in front of the function: the client, the scheme it used, a trace id. */
const forwardedHeaders = (
  request: RawRequest,
  port: number,
  proto: 'http' | 'https',
): ReadonlyArray<readonly [string, string]> => [
  ['X-Forwarded-For', '127.0.0.1'],
  ['X-Forwarded-Port', String(port)],
  ['X-Forwarded-Proto', proto],
  [
    'X-Amzn-Trace-Id',
    `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)}`,
  ],
  ...request.headers.filter(([name]) => !/^x-forwarded-|^x-amzn-trace-id$/i.test(name)),
];

/** API Gateway HTTP API (payload format 2.0, `$default` stage) or Function URL (auth NONE) event. */
const payloadV2Event = (
  kind: 'apigw-v2' | 'function-url',
  request: RawRequest,
  port: number,
): APIGatewayProxyEventV2 => {
  const forwarded = { ...request, headers: forwardedHeaders(request, port, 'https') };
  const { cookie, ...headers } = joinedLowerCaseHeaders(forwarded);
  const { path, query } = splitTarget(request.target);
  const host = headers.host ?? '';
  const id = kind === 'function-url' ? 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6' : 'r3pmxmplak';
  const parameters = new URLSearchParams(query);
  const { body, isBase64Encoded } = bodyFor(kind, request);
  const at = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query,
    ...(cookie === undefined ? {} : { cookies: cookie.split(/;\s*/) }),
    headers,
    ...(query === ''
      ? {}
      : {
          queryStringParameters: Object.fromEntries(
            [...new Set(parameters.keys())].map((key) => [key, parameters.getAll(key).join(',')]),
          ),
        }),
    requestContext: {
      accountId: kind === 'function-url' ? 'anonymous' : ACCOUNT,
      apiId: id,
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method: request.method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: requestTime(at),
      timeEpoch: at.getTime(),
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded,
  };
};

/** API Gateway REST API proxy integration event (`/{proxy+}` on stage {@link REST_API_STAGE}). */
const restApiEvent = (request: RawRequest, port: number, stagePath: string): APIGatewayProxyEvent => {
  const forwarded = forwardedHeaders(request, port, 'https');
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of forwarded) {
    headers[name] = value; // the last value wins; every value is in multiValueHeaders
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const { path, query } = splitTarget(request.target);
  const parameters = new URLSearchParams(query);
  const keys = [...new Set(parameters.keys())];
  const host = headerOf(request, 'host') ?? '';
  const { body, isBase64Encoded } = bodyFor('apigw-v1', request);
  const at = new Date();
  return {
    resource: '/{proxy+}',
    path: stagePath,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters:
      keys.length === 0 ? null : Object.fromEntries(keys.map((key) => [key, parameters.getAll(key).at(-1)])),
    multiValueQueryStringParameters:
      keys.length === 0 ? null : Object.fromEntries(keys.map((key) => [key, parameters.getAll(key)])),
    pathParameters: { proxy: stagePath.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: ACCOUNT,
      apiId: '1234567890',
      authorizer: undefined,
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      extendedRequestId: randomUUID(),
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '127.0.0.1',
        user: null,
        userAgent: headerOf(request, 'user-agent') ?? null,
        userArn: null,
      },
      path,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTime: requestTime(at),
      requestTimeEpoch: at.getTime(),
      resourceId: 'abc123',
      resourcePath: '/{proxy+}',
      stage: REST_API_STAGE,
    },
    body: body ?? null,
    isBase64Encoded,
  };
};

/** ALB event from a plain-HTTP listener (target group without multi-value headers). */
const albEvent = (request: RawRequest, port: number): ALBEvent => {
  const headers: Record<string, string> = {};
  // ALB lower-cases names and, without multi-value headers, passes the last value of each.
  for (const [name, value] of forwardedHeaders(request, port, 'http')) headers[name.toLowerCase()] = value;
  const { path, query } = splitTarget(request.target);
  const queryStringParameters: Record<string, string> = {};
  for (const pair of query === '' ? [] : query.split('&')) {
    const [key = '', value = ''] = pair.split('=');
    queryStringParameters[key] = value; // ALB passes them as sent, not decoded
  }
  const { body, isBase64Encoded } = bodyFor('alb', request);
  return {
    requestContext: {
      elb: {
        targetGroupArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/ledger/0123456789abcdef`,
      },
    },
    httpMethod: request.method,
    path,
    queryStringParameters,
    headers,
    body: body ?? '',
    isBase64Encoded,
  };
};

/** The answer AWS sends the client for the function's result (or for its failure). */
const httpAnswer = (result: unknown): RawResponse => {
  if (typeof result !== 'object' || result === null || !('statusCode' in result)) {
    // HTTP APIs and Function URLs turn any other result into a 200 JSON answer.
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(result) };
  }
  const answer = result as {
    statusCode: number;
    headers?: Record<string, string>;
    multiValueHeaders?: Record<string, string[]>;
    body?: string;
    isBase64Encoded?: boolean;
  };
  const headers: Record<string, string | string[]> = { ...answer.headers, ...answer.multiValueHeaders };
  const body = answer.body ?? '';
  return {
    status: answer.statusCode,
    headers,
    body: answer.isBase64Encoded === true ? Buffer.from(body, 'base64') : body,
  };
};

/** A loopback server playing one HTTP front end of one function. */
export interface HttpFrontEnd {
  readonly kind: FrontEndKind;
  /** What callers address: `https://127.0.0.1:<port>` (API Gateway, Function URL), `http://…` (ALB). */
  readonly origin: string;
  /** The path prefix of the function's routes: `/prod` for the REST API stage, else empty. */
  readonly base: string;
  /** Requests received, as sent. */
  readonly received: RawRequest[];
  /** Events built from them, as the function got them (after any {@link HttpFrontEnd.alterNextEvent}). */
  readonly events: HttpEvent[];
  /** Changes the next event before the function gets it (a body tampered with in transit). */
  alterNextEvent(change: (event: HttpEvent) => void): void;
  close(): Promise<void>;
}

/**
 * Starts a loopback server that converts each request into the event `kind` builds (API Gateway
 * HTTP API 2.0, REST API, Function URL, ALB), runs `lambda` with it and answers with its result,
 * as AWS would. A function error answers 502, as API Gateway and ALB do.
 */
export const httpFrontEnd = async (kind: FrontEndKind, lambda: LambdaFunction): Promise<HttpFrontEnd> => {
  const events: HttpEvent[] = [];
  let alteration: ((event: HttpEvent) => void) | undefined;
  let port = 0;
  const base = kind === 'apigw-v1' ? `/${REST_API_STAGE}` : '';
  const server = await listen(async (request) => {
    let event: HttpEvent;
    if (kind === 'apigw-v1') {
      const { path } = splitTarget(request.target);
      if (!path.startsWith(`${base}/`)) {
        return {
          status: 403,
          headers: { 'content-type': 'application/json' },
          body: '{"message":"Forbidden"}',
        };
      }
      event = restApiEvent(request, port, path.slice(base.length));
    } else {
      event = kind === 'alb' ? albEvent(request, port) : payloadV2Event(kind, request, port);
    }
    alteration?.(event);
    alteration = undefined;
    events.push(event);
    try {
      return httpAnswer(await invokeQuietly(lambda, event));
    } catch {
      return {
        status: 502,
        headers: { 'content-type': 'application/json' },
        body: '{"message":"Internal server error"}',
      };
    }
  });
  port = server.port;
  return {
    kind,
    origin: `${kind === 'alb' ? 'http' : 'https'}://127.0.0.1:${port}`,
    base,
    received: server.received,
    events,
    alterNextEvent: (change) => {
      alteration = change;
    },
    close: server.close,
  };
};

/** Replaces the body of an HTTP event, keeping its encoding. */
export const replaceEventBody = (event: HttpEvent, bytes: Uint8Array | string): void => {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
  event.body = event.isBase64Encoded ? buffer.toString('base64') : buffer.toString('utf8');
};

/** The body bytes of an HTTP event (base64-decoded when `isBase64Encoded`). */
export const eventBodyBytes = (event: HttpEvent): Buffer =>
  Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');

// ---------------------------------------------------------------------------------------------
// The AWS endpoint: Lambda Invoke, SQS SendMessage, SNS Publish, EventBridge PutEvents

/** Credentials and region for SDK clients pointed at {@link awsEndpoint}. */
export const sdkConfig = (endpoint: string) => ({
  endpoint,
  region: REGION,
  credentials: { accessKeyId: 'AKIDLOOPBACK', secretAccessKey: 'loopback' },
  maxAttempts: 1,
});

/** One invocation as the Lambda service handled it. */
export interface Invocation {
  readonly functionName: string;
  /** The raw payload, as the SDK sent it. */
  readonly payload: Buffer;
  /** What the function threw, if it failed. */
  readonly error?: unknown;
}

/** The Lambda events SQS, SNS and EventBridge would deliver to a subscribed function. */
export interface Deliveries {
  readonly sqs: SQSEvent[];
  readonly sns: SNSEvent[];
  readonly eventBridge: Array<EventBridgeEvent<string, unknown>>;
}

export interface AwsEndpoint {
  /** The `endpoint` of every SDK client. */
  readonly url: string;
  readonly invocations: Invocation[];
  readonly deliveries: Deliveries;
  /** Changes the event of the next invocation before the function gets it. */
  alterNextInvocation(change: (event: Record<string, unknown>) => Record<string, unknown>): void;
  close(): Promise<void>;
}

const json = (status: number, value: unknown, protocol = 'application/json'): RawResponse => ({
  status,
  headers: { 'content-type': protocol },
  body: JSON.stringify(value),
});

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/** `x-amz-json` message attributes (`{ Name: { DataType, StringValue } }`) as an SQS record holds them. */
const sqsRecordAttributes = (attributes: Record<string, { DataType: string; StringValue?: string }> = {}) =>
  Object.fromEntries(
    Object.entries(attributes).map(([name, { DataType, StringValue }]) => [
      name,
      { stringValue: StringValue, stringListValues: [], binaryListValues: [], dataType: DataType },
    ]),
  ) as SQSRecord['messageAttributes'];

/** SNS query-protocol attributes (`MessageAttributes.entry.N.Name`, `…Value.StringValue`) as an SNS record holds them. */
const snsRecordAttributes = (form: URLSearchParams) => {
  const attributes: SNSEventRecord['Sns']['MessageAttributes'] = {};
  for (let index = 1; form.has(`MessageAttributes.entry.${index}.Name`); index++) {
    const prefix = `MessageAttributes.entry.${index}`;
    attributes[form.get(`${prefix}.Name`)!] = {
      Type: form.get(`${prefix}.Value.DataType`) ?? 'String',
      Value: form.get(`${prefix}.Value.StringValue`) ?? '',
    };
  }
  return attributes;
};

const sqsDelivery = (input: {
  QueueUrl: string;
  MessageBody: string;
  MessageAttributes?: Record<string, { DataType: string; StringValue?: string }>;
}): SQSEvent => {
  const queueName = input.QueueUrl.split('/').at(-1) ?? 'queue';
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId: randomUUID(),
        receiptHandle: Buffer.from(randomUUID()).toString('base64'),
        body: input.MessageBody,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: now,
          SenderId: 'AROAEXAMPLE:billing',
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: sqsRecordAttributes(input.MessageAttributes),
        md5OfBody: md5(input.MessageBody),
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:${queueName}`,
        awsRegion: REGION,
      },
    ],
  };
};

const snsDelivery = (form: URLSearchParams): SNSEvent => {
  const topicArn = form.get('TopicArn') ?? '';
  const subject = form.get('Subject');
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: `${topicArn}:${randomUUID()}`,
        Sns: {
          Type: 'Notification',
          MessageId: randomUUID(),
          TopicArn: topicArn,
          ...(subject === null ? {} : { Subject: subject }),
          Message: form.get('Message') ?? '',
          Timestamp: new Date().toISOString(),
          SignatureVersion: '1',
          Signature: 'EXAMPLE',
          SigningCertUrl: `https://sns.${REGION}.amazonaws.com/SimpleNotificationService-example.pem`,
          UnsubscribeUrl: `https://sns.${REGION}.amazonaws.com/?Action=Unsubscribe`,
          MessageAttributes: snsRecordAttributes(form),
        },
      },
    ],
  };
};

const eventBridgeDelivery = (entry: {
  Source: string;
  DetailType: string;
  Detail: string;
  Resources?: string[];
}): EventBridgeEvent<string, unknown> => ({
  version: '0',
  id: randomUUID(),
  'detail-type': entry.DetailType,
  source: entry.Source,
  account: ACCOUNT,
  time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  region: REGION,
  resources: entry.Resources ?? [],
  // EventBridge delivers the detail as the JSON object the entry's Detail string holds.
  detail: JSON.parse(entry.Detail),
});

/**
 * One loopback endpoint for the SDK clients: the Lambda Invoke API (runs `functions[name]` with
 * the JSON payload as its event, a direct invocation; a failure is answered as Lambda does,
 * `X-Amz-Function-Error: Unhandled` with `errorType`/`errorMessage`), SQS SendMessage, SNS
 * Publish and EventBridge PutEvents (answered with what the SDKs check, and kept as the Lambda
 * events those services would deliver).
 */
export const awsEndpoint = async (functions: Record<string, LambdaFunction>): Promise<AwsEndpoint> => {
  const invocations: Invocation[] = [];
  const deliveries: Deliveries = { sqs: [], sns: [], eventBridge: [] };
  let alteration: ((event: Record<string, unknown>) => Record<string, unknown>) | undefined;

  const invoke = async (functionName: string, payload: Buffer): Promise<RawResponse> => {
    const lambda = functions[functionName];
    if (lambda === undefined) {
      return {
        status: 404,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' },
        body: JSON.stringify({ Type: 'User', message: `Function not found: ${functionName}` }),
      };
    }
    let event: Record<string, unknown> = JSON.parse(payload.toString('utf8'));
    if (alteration !== undefined) event = alteration(event);
    alteration = undefined;
    try {
      const result = await invokeQuietly(lambda, event);
      invocations.push({ functionName, payload });
      return {
        status: 200,
        headers: { 'x-amz-executed-version': '$LATEST' },
        body: JSON.stringify(result ?? null),
      };
    } catch (error) {
      invocations.push({ functionName, payload, error });
      const { name, message } = error as Error;
      return {
        status: 200,
        headers: { 'x-amz-executed-version': '$LATEST', 'x-amz-function-error': 'Unhandled' },
        body: JSON.stringify({ errorType: name, errorMessage: message, trace: [] }),
      };
    }
  };

  const server = await listen(async (request) => {
    const invocation = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(request.target);
    if (invocation !== null) return invoke(decodeURIComponent(invocation[1]!), request.body);
    const target = headerOf(request, 'x-amz-target');
    const text = request.body.toString('utf8');
    if (target === 'AmazonSQS.SendMessage') {
      const input = JSON.parse(text);
      deliveries.sqs.push(sqsDelivery(input));
      return json(
        200,
        { MessageId: randomUUID(), MD5OfMessageBody: md5(input.MessageBody) },
        'application/x-amz-json-1.0',
      );
    }
    if (target === 'AWSEvents.PutEvents') {
      const { Entries } = JSON.parse(text) as { Entries: Parameters<typeof eventBridgeDelivery>[0][] };
      deliveries.eventBridge.push(...Entries.map(eventBridgeDelivery));
      return json(
        200,
        { FailedEntryCount: 0, Entries: Entries.map(() => ({ EventId: randomUUID() })) },
        'application/x-amz-json-1.1',
      );
    }
    const form = new URLSearchParams(text);
    if (form.get('Action') === 'Publish') {
      deliveries.sns.push(snsDelivery(form));
      return {
        status: 200,
        headers: { 'content-type': 'text/xml' },
        body: `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
      };
    }
    return json(400, {
      message: `loopback AWS endpoint: unsupported request ${request.method} ${request.target}`,
    });
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    invocations,
    deliveries,
    alterNextInvocation: (change) => {
      alteration = change;
    },
    close: server.close,
  };
};

// ---------------------------------------------------------------------------------------------
// What a consumer takes from each delivered record today

/** A direct-invocation event carrying a proof and the bytes it binds (DESIGN §3, "Transports"). */
export interface Envelope {
  nhiProof: string | undefined;
  nhiPayload: string;
}

/** SQS: the `nhiProof` message attribute and the message body. */
export const envelopeOfSqsRecord = (record: SQSRecord): Envelope => ({
  nhiProof: record.messageAttributes.nhiProof?.stringValue,
  nhiPayload: record.body,
});

/** SNS: the `nhiProof` message attribute and the message. */
export const envelopeOfSnsRecord = (record: SNSEventRecord): Envelope => ({
  nhiProof: record.Sns.MessageAttributes.nhiProof?.Value,
  nhiPayload: record.Sns.Message,
});

/** EventBridge: the detail is the envelope itself. */
export const envelopeOfEventBridgeEvent = (event: EventBridgeEvent<string, unknown>): Envelope => {
  const detail = event.detail as Partial<Envelope>;
  return { nhiProof: detail.nhiProof, nhiPayload: String(detail.nhiPayload) };
};
