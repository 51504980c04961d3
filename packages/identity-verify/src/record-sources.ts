import { type CarriedWorkloadPair, carriedWorkloadPair } from '@nhi-dns/core';
import type { EventBridgeEvent, SNSEventRecord, SQSRecord } from 'aws-lambda';

/** Where a record came from. */
export type RecordSourceKind = 'sqs' | 'sns' | 'eventbridge';

/** A record of an event as delivered, with what its proof needs, nothing verified yet. */
export interface CarriedRecord {
  readonly source: RecordSourceKind;
  /** The delivered record (SQS or SNS record, or the EventBridge event itself). */
  readonly record: SQSRecord | SNSEventRecord | EventBridgeEvent<string, unknown>;
  /** The service's id of the message: `itemIdentifier` of a partial batch response, replay `deliveryId`. */
  readonly messageId: string;
  /** The proof (for a WIMSE pair: the proof token, `pair.proof`), when the record carries one. */
  readonly token: string | undefined;
  /**
   * The WIMSE pair (DESIGN §3a) read from `nhiWit` beside `nhiProof`: `none` when the record
   * carries no WIT (then `token` is an NHI1 proof), else the pair or why it is malformed.
   */
  readonly pair: CarriedWorkloadPair;
  /** The bytes the proof's `bh` covers, as the producer sent them; `undefined` when none travel. */
  readonly body: string | undefined;
  /**
   * When the queue accepted the message (Unix seconds), from a timestamp only the service sets
   * (SQS `SentTimestamp`, SNS `Timestamp`); `undefined` when the event has none to trust
   * (EventBridge's `time` is the sender's to choose).
   */
  readonly enqueuedAt: number | undefined;
}

const PROOF_FIELD = 'nhiProof';
const WIT_FIELD = 'nhiWit';
const PAYLOAD_FIELD = 'nhiPayload';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const aString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The value of an SQS (`dataType`/`stringValue`) or SNS (`Type`/`Value`) String attribute, else the attribute itself. */
const attributeValue = (attribute: unknown, type: 'dataType' | 'Type', value: 'stringValue' | 'Value') =>
  isObject(attribute) && attribute[type] === 'String' ? attribute[value] : attribute;

/** What a carrier holds as its credential, from its `nhiWit` and `nhiProof` values. */
const credentialOf = (wit: unknown, proof: unknown): Pick<CarriedRecord, 'token' | 'pair'> => ({
  token: aString(proof),
  pair: carriedWorkloadPair(wit, proof),
});

/** Seconds from a millisecond string (SQS) or an ISO date (SNS); `undefined` when unreadable. */
const secondsOf = (value: unknown, kind: 'ms' | 'iso'): number | undefined => {
  if (typeof value !== 'string') return undefined;
  const ms = kind === 'ms' ? (/^\d{1,16}$/.test(value) ? Number(value) : Number.NaN) : Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
};

/**
 * Credential and bytes inside an SQS body that another service wrote: an SNS notification (a
 * subscription without raw delivery: `MessageAttributes.nhiProof.Value` and `nhiWit`, bytes
 * `Message`) or an EventBridge event (a queue target: `detail.nhiProof` and `detail.nhiWit`,
 * bytes `detail.nhiPayload`). Only parsed when the message has no credential attribute of its own.
 */
const wrapped = (
  body: string,
): (Pick<CarriedRecord, 'token' | 'pair'> & { body: string | undefined }) | undefined => {
  if (!body.includes(PROOF_FIELD) && !body.includes(WIT_FIELD)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  if (value.Type === 'Notification' && isObject(value.MessageAttributes)) {
    const attributes = value.MessageAttributes;
    return {
      ...credentialOf(
        attributeValue(attributes[WIT_FIELD], 'Type', 'Value'),
        attributeValue(attributes[PROOF_FIELD], 'Type', 'Value'),
      ),
      body: aString(value.Message),
    };
  }
  if (typeof value['detail-type'] === 'string' && isObject(value.detail)) {
    return {
      ...credentialOf(value.detail[WIT_FIELD], value.detail[PROOF_FIELD]),
      body: aString(value.detail[PAYLOAD_FIELD]),
    };
  }
  return undefined;
};

const NO_PAIR: CarriedWorkloadPair = Object.freeze({ kind: 'none' });

const fromSqs = (record: SQSRecord): CarriedRecord => {
  const attributes: Record<string, unknown> = record.messageAttributes ?? {};
  // A message's own credential attributes are the producer's; only a message without them can
  // have been written by SNS or EventBridge, whose attributes travel inside the body.
  const hasOwn =
    (isObject(attributes[PROOF_FIELD]) && attributes[PROOF_FIELD].dataType === 'String') ||
    attributes[WIT_FIELD] !== undefined;
  const own = hasOwn
    ? credentialOf(
        attributeValue(attributes[WIT_FIELD], 'dataType', 'stringValue'),
        attributeValue(attributes[PROOF_FIELD], 'dataType', 'stringValue'),
      )
    : undefined;
  const inner = !hasOwn && typeof record.body === 'string' ? wrapped(record.body) : undefined;
  return {
    source: 'sqs',
    record,
    messageId: String(record.messageId),
    token: own === undefined ? inner?.token : own.token,
    pair: (own ?? inner)?.pair ?? NO_PAIR,
    body: own === undefined ? inner?.body : aString(record.body),
    // SQS's own time, also for a wrapped SNS or EventBridge message: anyone who may send to the
    // queue could write the inner timestamps.
    enqueuedAt: secondsOf(record.attributes?.SentTimestamp, 'ms'),
  };
};

const fromSns = (record: SNSEventRecord): CarriedRecord => {
  const attributes: Record<string, unknown> = record.Sns?.MessageAttributes ?? {};
  return {
    source: 'sns',
    record,
    messageId: String(record.Sns?.MessageId),
    ...credentialOf(
      attributeValue(attributes[WIT_FIELD], 'Type', 'Value'),
      attributeValue(attributes[PROOF_FIELD], 'Type', 'Value'),
    ),
    body: aString(record.Sns?.Message),
    enqueuedAt: secondsOf(record.Sns?.Timestamp, 'iso'),
  };
};

const fromEventBridge = (event: EventBridgeEvent<string, unknown>): CarriedRecord => {
  const detail = isObject(event.detail) ? event.detail : {};
  return {
    source: 'eventbridge',
    record: event,
    messageId: String(event.id),
    ...credentialOf(detail[WIT_FIELD], detail[PROOF_FIELD]),
    body: aString(detail[PAYLOAD_FIELD]),
    enqueuedAt: undefined,
  };
};

/**
 * The records of an SQS or SNS event, or the one EventBridge event, with their proofs; `undefined`
 * for any other event. Shapes as `@types/aws-lambda` describes AWS's events.
 */
export const carriedRecords = (event: unknown): CarriedRecord[] | undefined => {
  if (!isObject(event)) return undefined;
  if (Array.isArray(event.Records) && event.Records.length > 0) {
    const records = event.Records as unknown[];
    if (records.every((record) => isObject(record) && record.eventSource === 'aws:sqs')) {
      return (records as SQSRecord[]).map(fromSqs);
    }
    if (records.every((record) => isObject(record) && record.EventSource === 'aws:sns')) {
      return (records as SNSEventRecord[]).map(fromSns);
    }
    return undefined;
  }
  if (typeof event['detail-type'] === 'string' && typeof event.source === 'string' && 'detail' in event) {
    return [fromEventBridge(event as unknown as EventBridgeEvent<string, unknown>)];
  }
  return undefined;
};
