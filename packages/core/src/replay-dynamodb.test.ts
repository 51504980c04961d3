import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { NhiError } from './errors.js';
import { DynamoDbReplayStore } from './replay-dynamodb.js';

const ISS = 'orders.prod.auth.example.com';
const JTI = 'jti-0000000000000001';
const EXP = 1_800_000_060;

describe('DynamoDbReplayStore', () => {
  const client = new DynamoDBClient({ region: 'eu-west-1' });
  const dynamo = mockClient(client);
  beforeEach(() => dynamo.reset());

  it('records a new jti with a conditional put and a numeric TTL', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const store = new DynamoDbReplayStore({ client, tableName: 'nhi-replay' });
    await expect(store.claim(JTI, ISS, EXP)).resolves.toBe(true);
    const calls = dynamo.commandCalls(PutItemCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      TableName: 'nhi-replay',
      Item: { jti: { S: `${ISS}#${JTI}` }, expiresAt: { N: String(EXP + 60) } },
      ConditionExpression: 'attribute_not_exists(#key)',
      ExpressionAttributeNames: { '#key': 'jti' },
    });
  });

  it('declares itself shared by every instance (one table)', () => {
    expect(new DynamoDbReplayStore({ client, tableName: 'nhi-replay' }).shared).toBe(true);
  });

  it('writes the deliveryId and lets that same delivery claim again (a queue redelivery)', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const store = new DynamoDbReplayStore({ client, tableName: 'nhi-replay' });
    await expect(store.claim(JTI, ISS, EXP, { deliveryId: 'msg-1' })).resolves.toBe(true);
    expect(dynamo.commandCalls(PutItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'nhi-replay',
      Item: { jti: { S: `${ISS}#${JTI}` }, expiresAt: { N: String(EXP + 60) }, deliveryId: { S: 'msg-1' } },
      ConditionExpression: 'attribute_not_exists(#key) OR #delivery = :delivery',
      ExpressionAttributeNames: { '#key': 'jti', '#delivery': 'deliveryId' },
      ExpressionAttributeValues: { ':delivery': { S: 'msg-1' } },
    });
  });

  it('uses the configured attribute names and grace', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const store = new DynamoDbReplayStore({
      client,
      tableName: 't',
      keyAttribute: 'pk',
      ttlAttribute: 'ttl',
      clockSkew: 0,
    });
    await store.claim(JTI, ISS, EXP);
    expect(dynamo.commandCalls(PutItemCommand)[0]?.args[0].input).toMatchObject({
      Item: { pk: { S: `${ISS}#${JTI}` }, ttl: { N: String(EXP) } },
      ExpressionAttributeNames: { '#key': 'pk' },
    });
  });

  it('reports a replay when the condition fails', async () => {
    dynamo
      .on(PutItemCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
    const store = new DynamoDbReplayStore({ client, tableName: 'nhi-replay' });
    await expect(store.claim(JTI, ISS, EXP)).resolves.toBe(false);
  });

  it('throws on any other error, so the verifier fails closed', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    dynamo.on(PutItemCommand).rejectsOnce(throttled).rejectsOnce(new Error('socket hang up'));
    const store = new DynamoDbReplayStore({ client, tableName: 'nhi-replay' });
    const first = store.claim(JTI, ISS, EXP);
    await expect(first).rejects.toBeInstanceOf(NhiError);
    await expect(first).rejects.toMatchObject({
      reason: 'replay_store_unavailable',
      message: expect.stringContaining('ProvisionedThroughputExceededException'),
      cause: throttled,
    });
    await expect(store.claim(JTI, ISS, EXP)).rejects.toMatchObject({ reason: 'replay_store_unavailable' });
  });

  it('gives up on a claim that never answers, within its timeout or the deadline, so the verifier fails closed', async () => {
    dynamo.on(PutItemCommand).callsFake(() => new Promise(() => undefined));
    const store = new DynamoDbReplayStore({ client, tableName: 'nhi-replay', timeout: 50 });
    const started = Date.now();
    await expect(store.claim(JTI, ISS, EXP)).rejects.toMatchObject({
      reason: 'replay_store_unavailable',
      message: 'DynamoDB replay store did not answer within 50 ms',
    });
    expect(Date.now() - started).toBeLessThan(1000);
    // The Lambda's remaining time (the verifier's deadline) shortens the timeout further.
    const patient = new DynamoDbReplayStore({ client, tableName: 'nhi-replay' });
    await expect(patient.claim(JTI, ISS, EXP, { deadline: Date.now() + 20 })).rejects.toMatchObject({
      reason: 'replay_store_unavailable',
    });
    expect(() => new DynamoDbReplayStore({ client, tableName: 't', timeout: 0 })).toThrow(TypeError);
  });

  it('refuses bad options and arguments', async () => {
    expect(() => new DynamoDbReplayStore({ client: undefined as never, tableName: 't' })).toThrow(TypeError);
    expect(() => new DynamoDbReplayStore({ client, tableName: '' })).toThrow(TypeError);
    expect(
      () => new DynamoDbReplayStore({ client, tableName: 't', keyAttribute: 'a', ttlAttribute: 'a' }),
    ).toThrow(TypeError);
    const store = new DynamoDbReplayStore({ client, tableName: 't' });
    await expect(store.claim(JTI, ISS, 1.5)).rejects.toThrow(TypeError);
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
  });
});
