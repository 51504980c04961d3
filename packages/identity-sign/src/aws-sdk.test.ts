import { createHash } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishBatchCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { HandlerExecutionContext, InitializeHandlerArguments } from '@smithy/types';
import { PROOF_MESSAGE_ATTRIBUTE, SIGN_MIDDLEWARE_NAME } from './aws-sdk.js';
import { SigningError } from './errors.js';
import { createSigner } from './signer.js';
import {
  keyedIdentity,
  LEDGER,
  loopbackServer,
  type ReceivedRequest,
  recordingObservability,
  SELF,
  verifyAs,
} from './test-helpers.test-support.js';

const quiet = recordingObservability().options;
const { identity, jwk } = keyedIdentity('k1');
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:orders';
const FUNCTION = 'ledger-prod';
const AUDIENCES = {
  [FUNCTION]: LEDGER,
  [QUEUE]: 'orders-consumer.prod.auth.example.com',
  [TOPIC]: 'orders-consumer.prod.auth.example.com',
  default: 'events.prod.auth.example.com',
};
const signer = createSigner({ ...quiet, self: SELF, signingKey: { jwk }, audiences: AUDIENCES });

/** Runs the plugin's middleware alone, as the SDK would for `commandName`, and returns the input it passes on. */
const runPlugin = async (commandName: string, input: Record<string, unknown>, use = signer) => {
  let middleware:
    | ((next: unknown, context: HandlerExecutionContext) => (args: unknown) => Promise<unknown>)
    | undefined;
  let options: unknown;
  use.awsSdkPlugin().applyToStack({
    add: (added: typeof middleware, given: unknown) => {
      middleware = added;
      options = given;
    },
  } as never);
  expect(options).toMatchObject({ step: 'initialize', name: SIGN_MIDDLEWARE_NAME });
  let passed: Record<string, unknown> | undefined;
  const next = async (args: InitializeHandlerArguments<Record<string, unknown>>) => {
    passed = args.input;
    return { output: { $metadata: {} } };
  };
  await middleware!(next, { commandName } as HandlerExecutionContext)({ input });
  return passed!;
};

const proofAttribute = (attributes: unknown): string =>
  String((attributes as Record<string, { StringValue?: string }>)[PROOF_MESSAGE_ATTRIBUTE]?.StringValue);

describe('awsSdkPlugin (the middleware alone)', () => {
  it('wraps an invoke payload in the envelope, binding its exact bytes, without touching the caller input', async () => {
    const input = { FunctionName: FUNCTION, Payload: new TextEncoder().encode('{"amount": 1.50}') };
    const passed = await runPlugin('InvokeCommand', input);
    expect(input.Payload).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(input.Payload)).toBe('{"amount": 1.50}');
    const envelope = JSON.parse(new TextDecoder().decode(passed.Payload as Uint8Array));
    expect(envelope.nhiPayload).toBe('{"amount": 1.50}');
    verifyAs(envelope.nhiProof, [identity], { body: envelope.nhiPayload, requireBodyHash: true });
  });

  it('finds the function by name, qualified name or ARN as configured, and nothing looser', async () => {
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:ledger-prod';
    const byArn = createSigner({ ...quiet, self: SELF, signingKey: { jwk }, audiences: { [arn]: LEDGER } });
    for (const FunctionName of [arn, `${arn}:live`]) {
      await expect(runPlugin('InvokeCommand', { FunctionName, Payload: '{}' }, byArn)).resolves.toBeDefined();
    }
    await expect(
      runPlugin('InvokeCommand', { FunctionName: 'ledger-prod:7', Payload: '{}' }),
    ).resolves.toBeDefined();
    for (const [FunctionName, use] of [
      ['ledger-prod', byArn],
      [arn, signer],
      ['ledger-staging', signer],
    ] as const) {
      await expect(runPlugin('InvokeCommand', { FunctionName, Payload: '{}' }, use)).rejects.toMatchObject({
        reason: 'no_audience',
      });
    }
  });

  it('wraps a payload that only mentions nhiProof below the top level', async () => {
    const Payload = '{"relayed":{"nhiProof":"x"}}';
    const passed = await runPlugin('InvokeCommand', { FunctionName: FUNCTION, Payload });
    expect(JSON.parse(new TextDecoder().decode(passed.Payload as Uint8Array)).nhiPayload).toBe(Payload);
  });

  it('passes commands it does not sign unchanged', async () => {
    const input = { QueueUrl: QUEUE };
    expect(await runPlugin('GetQueueAttributesCommand', input)).toBe(input);
  });

  it.each([
    [
      'InvokeCommand',
      { FunctionName: FUNCTION, Payload: new Uint8Array([0xff, 0xfe]) },
      'unbindable_request',
    ],
    [
      'InvokeCommand',
      { FunctionName: FUNCTION, Payload: '{"nhiProof":"x","nhiPayload":"{}"}' },
      'carrier_conflict',
    ],
    [
      'SendMessageCommand',
      {
        QueueUrl: QUEUE,
        MessageBody: 'x',
        MessageAttributes: { nhiProof: { DataType: 'String', StringValue: 'forged' } },
      },
      'carrier_conflict',
    ],
    [
      'SendMessageCommand',
      {
        QueueUrl: QUEUE,
        MessageBody: 'x',
        MessageAttributes: Object.fromEntries(
          Array.from({ length: 10 }, (_, index) => [`a${index}`, { DataType: 'String', StringValue: 'v' }]),
        ),
      },
      'unbindable_request',
    ],
    [
      'SendMessageCommand',
      { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/other', MessageBody: 'x' },
      'no_audience',
    ],
    ['PublishCommand', { PhoneNumber: '+15555550100', Message: 'x' }, 'unbindable_request'],
    [
      'PublishCommand',
      { TopicArn: TOPIC, Message: '{"default":"x"}', MessageStructure: 'json' },
      'unbindable_request',
    ],
    ['PutEventsCommand', { Entries: [{ Source: 'orders', DetailType: 'created' }] }, 'unbindable_request'],
  ])('refuses %s %j before sending', async (command, input, reason) => {
    const refused = runPlugin(command, input);
    await expect(refused).rejects.toBeInstanceOf(SigningError);
    await expect(refused).rejects.toMatchObject({ reason });
  });

  it('counts ProofSigned, one proof per message', async () => {
    const recorded = recordingObservability();
    const counting = createSigner({
      ...quiet,
      self: SELF,
      signingKey: { jwk },
      audiences: AUDIENCES,
      ...recorded.options,
    });
    await runPlugin(
      'SendMessageBatchCommand',
      {
        QueueUrl: QUEUE,
        Entries: [
          { Id: 'a', MessageBody: '1' },
          { Id: 'b', MessageBody: '2' },
        ],
      },
      counting,
    );
    await runPlugin('PutEventsCommand', { Entries: [{ Detail: '{}' }] }, counting);
    expect(recorded.metrics.filter((metric) => metric.name === 'ProofSigned')).toHaveLength(3);
  });
});

/** Answers each service as AWS would, enough for the SDK's own deserialisers. */
const awsAnswer = (request: ReceivedRequest) => {
  const target = String(request.headers['x-amz-target'] ?? '');
  if (request.url.includes('/invocations')) return { body: '{"ok":true}' };
  if (target === 'AmazonSQS.SendMessage') {
    const { MessageBody } = JSON.parse(request.body.toString());
    return {
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({
        MessageId: 'm1',
        MD5OfMessageBody: createHash('md5').update(MessageBody).digest('hex'),
      }),
    };
  }
  if (target === 'AmazonSQS.SendMessageBatch') {
    const { Entries } = JSON.parse(request.body.toString());
    return {
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({
        Successful: Entries.map((entry: { Id: string; MessageBody: string }) => ({
          Id: entry.Id,
          MessageId: `m-${entry.Id}`,
          MD5OfMessageBody: createHash('md5').update(entry.MessageBody).digest('hex'),
        })),
        Failed: [],
      }),
    };
  }
  if (target === 'AWSEvents.PutEvents') {
    return {
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] }),
    };
  }
  const action = new URLSearchParams(request.body.toString()).get('Action');
  return {
    headers: { 'content-type': 'text/xml' },
    body: `<${action}Response xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><${action}Result><MessageId>s1</MessageId><Successful></Successful><Failed></Failed></${action}Result><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></${action}Response>`,
  };
};

describe('awsSdkPlugin through real SDK clients (their own serialisation, a loopback endpoint)', () => {
  let server: Awaited<ReturnType<typeof loopbackServer>>;
  let config: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };

  beforeAll(async () => {
    server = await loopbackServer(awsAnswer);
    config = {
      endpoint: server.url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    };
  });
  afterAll(() => server.close());
  beforeEach(() => server.received.splice(0));

  const lastBody = () => server.received.at(-1)?.body.toString('utf8') ?? '';

  it('LambdaClient InvokeCommand: the callee gets the envelope, bh over nhiPayload', async () => {
    const lambda = new LambdaClient(config);
    lambda.middlewareStack.use(signer.awsSdkPlugin());
    const result = await lambda.send(
      new InvokeCommand({ FunctionName: FUNCTION, Payload: '{"orderId":"o-1"}' }),
    );
    expect(result.StatusCode).toBe(200);
    expect(server.received[0]?.url).toContain(`/functions/${FUNCTION}/invocations`);
    const event = JSON.parse(lastBody());
    expect(JSON.parse(event.nhiPayload)).toEqual({ orderId: 'o-1' });
    verifyAs(event.nhiProof, [identity], { body: event.nhiPayload, requireBodyHash: true });
    expect(() => verifyAs(event.nhiProof, [identity], { body: '{"orderId":"o-2"}' })).toThrow(
      expect.objectContaining({ reason: 'body_mismatch' }),
    );
  });

  it('SQSClient SendMessage and SendMessageBatch: one proof per message, in the nhiProof attribute', async () => {
    const sqs = new SQSClient(config);
    sqs.middlewareStack.use(signer.awsSdkPlugin());
    await sqs.send(new SendMessageCommand({ QueueUrl: QUEUE, MessageBody: '{"n":1}' }));
    const single = JSON.parse(lastBody());
    verifyAs(proofAttribute(single.MessageAttributes), [identity], {
      audience: AUDIENCES[QUEUE],
      body: single.MessageBody,
      requireBodyHash: true,
    });
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: QUEUE,
        Entries: [
          {
            Id: 'a',
            MessageBody: 'first',
            MessageAttributes: { kept: { DataType: 'String', StringValue: 'yes' } },
          },
          { Id: 'b', MessageBody: 'second' },
        ],
      }),
    );
    const batch = JSON.parse(lastBody());
    const tokens = batch.Entries.map((entry: { MessageBody: string; MessageAttributes: unknown }) => {
      verifyAs(proofAttribute(entry.MessageAttributes), [identity], {
        audience: AUDIENCES[QUEUE],
        body: entry.MessageBody,
        requireBodyHash: true,
      });
      return proofAttribute(entry.MessageAttributes);
    });
    expect(new Set(tokens).size).toBe(2);
    expect(batch.Entries[0].MessageAttributes.kept.StringValue).toBe('yes');
    expect(() =>
      verifyAs(tokens[0], [identity], { audience: AUDIENCES[QUEUE], body: 'second', requireBodyHash: true }),
    ).toThrow(expect.objectContaining({ reason: 'body_mismatch' }));
  });

  it('SNSClient Publish and PublishBatch: the nhiProof message attribute', async () => {
    const sns = new SNSClient(config);
    sns.middlewareStack.use(signer.awsSdkPlugin());
    await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'order created' }));
    const form = new URLSearchParams(lastBody());
    expect(form.get('MessageAttributes.entry.1.Name')).toBe(PROOF_MESSAGE_ATTRIBUTE);
    const token = form.get('MessageAttributes.entry.1.Value.StringValue') ?? '';
    verifyAs(token, [identity], {
      audience: AUDIENCES[TOPIC],
      body: form.get('Message') ?? '',
      requireBodyHash: true,
    });
    await sns.send(
      new PublishBatchCommand({
        TopicArn: TOPIC,
        PublishBatchRequestEntries: [
          { Id: 'a', Message: 'one' },
          { Id: 'b', Message: 'two' },
        ],
      }),
    );
    const batch = new URLSearchParams(lastBody());
    for (const index of [1, 2]) {
      const prefix = `PublishBatchRequestEntries.member.${index}`;
      verifyAs(batch.get(`${prefix}.MessageAttributes.entry.1.Value.StringValue`) ?? '', [identity], {
        audience: AUDIENCES[TOPIC],
        body: batch.get(`${prefix}.Message`) ?? '',
        requireBodyHash: true,
      });
    }
  });

  it('EventBridgeClient PutEvents: the detail becomes the envelope, the bus names the audience', async () => {
    const events = new EventBridgeClient(config);
    events.middlewareStack.use(signer.awsSdkPlugin());
    await events.send(
      new PutEventsCommand({
        Entries: [{ Source: 'orders', DetailType: 'created', Detail: '{"orderId":"o-1"}' }],
      }),
    );
    const [entry] = JSON.parse(lastBody()).Entries;
    const detail = JSON.parse(entry.Detail);
    expect(detail.nhiPayload).toBe('{"orderId":"o-1"}');
    verifyAs(detail.nhiProof, [identity], {
      audience: AUDIENCES.default,
      body: detail.nhiPayload,
      requireBodyHash: true,
    });
  });

  it('signs once per send even when the plugin is added twice, and keeps retries on the same bytes', async () => {
    const lambda = new LambdaClient(config);
    lambda.middlewareStack.use(signer.awsSdkPlugin());
    lambda.middlewareStack.use(signer.awsSdkPlugin());
    await lambda.send(new InvokeCommand({ FunctionName: FUNCTION, Payload: '{}' }));
    expect(JSON.parse(lastBody()).nhiPayload).toBe('{}');
  });
});
