import type { SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * An SQS record as Lambda delivers it (the shape of AWS's sample event), carrying a producer's
 * proof in the `nhiProof` message attribute as identity-sign's SDK plugin sends it.
 */
export const sqsRecord = (
  messageId: string,
  body: string,
  proof: string,
  sentAt = Date.now(),
): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: String(sentAt),
    SenderId: 'AIDAEXAMPLE',
    ApproximateFirstReceiveTimestamp: String(sentAt),
  },
  messageAttributes: {
    nhiProof: { stringValue: proof, stringListValues: [], binaryListValues: [], dataType: 'String' },
  },
  md5OfBody: 'not checked by the consumer',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:orders',
  awsRegion: 'eu-west-1',
});

/** An SQS event of `records`. */
export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
