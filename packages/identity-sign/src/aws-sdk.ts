import { PROOF_PAYLOAD_FIELD } from '@nhi-dns/core';
import type {
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  InitializeHandlerOutput,
  MetadataBearer,
  Pluggable,
} from '@smithy/types';
import {
  credentialAttributes,
  credentialEnvelope,
  PROOF_MESSAGE_ATTRIBUTE,
  type SignedCredential,
  WIT_MESSAGE_ATTRIBUTE,
  WIT_PAYLOAD_FIELD,
} from './credential.js';
import { SigningError } from './errors.js';
import type { IdentitySigner } from './signer.js';

export { PROOF_MESSAGE_ATTRIBUTE } from './credential.js';
/** Name of the SDK middleware in a client's stack. */
export const SIGN_MIDDLEWARE_NAME = 'nhiDnsIdentitySign';
/** Most message attributes one SQS message or SNS publish may carry. */
const MAX_MESSAGE_ATTRIBUTES = 10;

type Input = Record<string, unknown>;
type Attributes = Record<string, unknown>;

const fail = (reason: 'unbindable_request' | 'carrier_conflict', message: string): never => {
  throw new SigningError(reason, `identity-sign: ${message}`);
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The invoke payload as the exact string the envelope will carry. */
const payloadString = (payload: unknown): string => {
  if (payload === undefined) return '';
  if (typeof payload === 'string') return payload;
  if (payload instanceof Uint8Array) {
    try {
      return utf8.decode(payload);
    } catch {
      return fail(
        'unbindable_request',
        'Invoke Payload is not UTF-8 text, so it cannot travel in the envelope',
      );
    }
  }
  return fail('unbindable_request', 'Invoke Payload must be a string or Uint8Array');
};

/** Message attributes with the credential added; the caller's own map is not modified. */
const withCredentialAttributes = (
  attributes: unknown,
  credential: SignedCredential,
  where: string,
): Attributes => {
  const existing = (typeof attributes === 'object' && attributes !== null ? attributes : {}) as Attributes;
  const added = credentialAttributes(credential);
  for (const name of [PROOF_MESSAGE_ATTRIBUTE, WIT_MESSAGE_ATTRIBUTE]) {
    if (Object.hasOwn(existing, name))
      fail('carrier_conflict', `${where} already has a ${name} message attribute`);
  }
  const room = MAX_MESSAGE_ATTRIBUTES - Object.keys(existing).length;
  const needed = Object.keys(added).length;
  if (room < needed) {
    fail(
      'unbindable_request',
      `${where} has ${MAX_MESSAGE_ATTRIBUTES - room} message attributes, no room for ${needed} more (${MAX_MESSAGE_ATTRIBUTES} at most)`,
    );
  }
  return { ...existing, ...added };
};

const bodyOf = (signer: IdentitySigner, bytes: string): { body?: string } =>
  signer.bindsBody ? { body: bytes } : {};

const messageBody = (value: unknown, what: string): string =>
  typeof value === 'string' ? value : fail('unbindable_request', `${what} must be a string`);

/** True when `payload` is a JSON object with a top-level `nhiProof` or `nhiWit`: signed already, by hand. */
const isEnvelope = (payload: string): boolean => {
  if (!payload.includes(PROOF_PAYLOAD_FIELD) && !payload.includes(WIT_PAYLOAD_FIELD)) return false;
  try {
    const value: unknown = JSON.parse(payload);
    return (
      typeof value === 'object' &&
      value !== null &&
      (Object.hasOwn(value, PROOF_PAYLOAD_FIELD) || Object.hasOwn(value, WIT_PAYLOAD_FIELD))
    );
  } catch {
    return false;
  }
};

const signInvoke = async (signer: IdentitySigner, input: Input): Promise<Input> => {
  const functionName = messageBody(input.FunctionName, 'Invoke FunctionName');
  const payload = payloadString(input.Payload);
  if (isEnvelope(payload)) fail('carrier_conflict', 'Invoke Payload is already a signed envelope');
  const aud = signer.audienceFor({ carrier: 'invoke', functionName });
  const credential = await signer.issue({ aud, ...bodyOf(signer, payload) });
  return {
    ...input,
    Payload: new TextEncoder().encode(JSON.stringify(credentialEnvelope(payload, credential))),
  };
};

const signSqsEntry = async (signer: IdentitySigner, aud: string | string[], entry: Input, where: string) => {
  const body = messageBody(entry.MessageBody, `${where} MessageBody`);
  const credential = await signer.issue({ aud, ...bodyOf(signer, body) });
  return {
    ...entry,
    MessageAttributes: withCredentialAttributes(entry.MessageAttributes, credential, where),
  };
};

const signSnsEntry = async (signer: IdentitySigner, aud: string | string[], entry: Input, where: string) => {
  if (entry.MessageStructure === 'json') {
    // Each protocol would receive a different message than the one bh covers.
    fail('unbindable_request', `${where} with MessageStructure 'json' cannot be bound: send one message`);
  }
  const body = messageBody(entry.Message, `${where} Message`);
  const credential = await signer.issue({ aud, ...bodyOf(signer, body) });
  return {
    ...entry,
    MessageAttributes: withCredentialAttributes(entry.MessageAttributes, credential, where),
  };
};

const entriesOf = (value: unknown, what: string): Input[] =>
  Array.isArray(value) ? (value as Input[]) : fail('unbindable_request', `${what} must be a list`);

/** The signed copy of `input` for `commandName`, or `input` itself for commands nhi-dns does not sign. */
const signCommand = async (signer: IdentitySigner, commandName: string | undefined, input: Input) => {
  switch (commandName) {
    case 'InvokeCommand':
    case 'InvokeWithResponseStreamCommand':
      return signInvoke(signer, input);
    case 'SendMessageCommand': {
      const aud = signer.audienceFor({ carrier: 'sqs', queueUrl: messageBody(input.QueueUrl, 'QueueUrl') });
      return signSqsEntry(signer, aud, input, 'SendMessage');
    }
    case 'SendMessageBatchCommand': {
      const aud = signer.audienceFor({ carrier: 'sqs', queueUrl: messageBody(input.QueueUrl, 'QueueUrl') });
      const entries = entriesOf(input.Entries, 'SendMessageBatch Entries');
      return {
        ...input,
        Entries: await Promise.all(
          entries.map((entry, index) => signSqsEntry(signer, aud, entry, `SendMessageBatch entry ${index}`)),
        ),
      };
    }
    case 'PublishCommand': {
      if (input.TopicArn === undefined && input.TargetArn === undefined) {
        fail('unbindable_request', 'Publish to a phone number has no callee identity to sign for');
      }
      const topicArn = messageBody(input.TopicArn ?? input.TargetArn, 'TopicArn');
      return signSnsEntry(signer, signer.audienceFor({ carrier: 'sns', topicArn }), input, 'Publish');
    }
    case 'PublishBatchCommand': {
      const aud = signer.audienceFor({ carrier: 'sns', topicArn: messageBody(input.TopicArn, 'TopicArn') });
      const entries = entriesOf(input.PublishBatchRequestEntries, 'PublishBatchRequestEntries');
      return {
        ...input,
        PublishBatchRequestEntries: await Promise.all(
          entries.map((entry, index) => signSnsEntry(signer, aud, entry, `PublishBatch entry ${index}`)),
        ),
      };
    }
    case 'PutEventsCommand': {
      const entries = entriesOf(input.Entries, 'PutEvents Entries');
      return {
        ...input,
        Entries: await Promise.all(
          entries.map(async (entry, index) => {
            const eventBusName = typeof entry.EventBusName === 'string' ? entry.EventBusName : 'default';
            const detail = messageBody(entry.Detail, `PutEvents entry ${index} Detail`);
            const aud = signer.audienceFor({ carrier: 'eventbridge', eventBusName });
            // Entries have no attributes: the detail becomes the envelope, its text kept byte for byte.
            const credential = await signer.issue({ aud, ...bodyOf(signer, detail) });
            return { ...entry, Detail: JSON.stringify(credentialEnvelope(detail, credential)) };
          }),
        ),
      };
    }
    default:
      return input;
  }
};

/**
 * The AWS SDK v3 plugin of {@link IdentitySigner.awsSdkPlugin}: an `initialize` step middleware
 * that replaces the command input with a signed copy (the caller's input object is not
 * modified), so every later step, retries included, sends the same signed bytes. It reads only
 * the command's name and input: no SDK client is imported.
 */
// biome-ignore lint/suspicious/noExplicitAny: a plugin fits every client's input and output types.
export const awsSdkPlugin = (signer: IdentitySigner): Pluggable<any, any> => ({
  applyToStack: (stack) => {
    stack.add(
      <Output extends MetadataBearer>(
        next: InitializeHandler<Input, Output>,
        context: HandlerExecutionContext,
      ) =>
        async (args: InitializeHandlerArguments<Input>): Promise<InitializeHandlerOutput<Output>> =>
          next({ ...args, input: await signCommand(signer, context.commandName, args.input) }),
      { step: 'initialize', name: SIGN_MIDDLEWARE_NAME, override: true, tags: ['NHI_DNS'] },
    );
  },
});
