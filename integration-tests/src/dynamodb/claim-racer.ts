/**
 * One function instance racing for jtis: a process of its own with its own DynamoDBClient and
 * DynamoDbReplayStore, as each Lambda execution environment has. Bundled and spawned by
 * race.ts; `node claim-racer.mjs <endpoint> <tableName> <name>`.
 *
 * Protocol, one JSON object per line:
 * - stdout `{"ready":true}` once a warm-up claim went through (connection open, SDK initialised);
 * - stdin `{"jti","issuer","exp","deliveryId"?}` is the start signal of one round: claim at once;
 * - stdout `{"jti","accepted":true|false}` or `{"jti","error":"<reason or name>"}`, with `start`
 *   and `end` (wall-clock ms, sub-ms resolution) of the claim, so the parent can see the overlap.
 */
import { createInterface } from 'node:readline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbReplayStore } from '@nhi-dns/core/replay-dynamodb';

/** A round's start signal. */
export interface RaceOrder {
  readonly jti: string;
  readonly issuer: string;
  readonly exp: number;
  readonly deliveryId?: string;
}

/** One racer's answer for one round. */
export interface RaceAnswer {
  readonly jti: string;
  readonly accepted?: boolean;
  readonly error?: string;
  readonly start: number;
  readonly end: number;
}

const [endpoint, tableName, name] = process.argv.slice(2);
if (endpoint === undefined || tableName === undefined || name === undefined) {
  process.stderr.write('usage: claim-racer.mjs <endpoint> <tableName> <name>\n');
  process.exit(2);
}

const client = new DynamoDBClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDNHIDNSTEST', secretAccessKey: 'nhi-dns-test-secret' },
});
const store = new DynamoDbReplayStore({ client, tableName, timeout: 5_000 });
const now = () => performance.timeOrigin + performance.now();
const send = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

const claim = async (order: RaceOrder): Promise<RaceAnswer> => {
  const start = now();
  try {
    const accepted = await store.claim(
      order.jti,
      order.issuer,
      order.exp,
      order.deliveryId === undefined ? {} : { deliveryId: order.deliveryId },
    );
    return { jti: order.jti, accepted, start, end: now() };
  } catch (error) {
    const reason = (error as { reason?: unknown }).reason;
    const label = typeof reason === 'string' ? reason : error instanceof Error ? error.name : String(error);
    return { jti: order.jti, error: label, start, end: now() };
  }
};

const warmUp = await claim({
  jti: `warm-up-${name}`,
  issuer: 'racer.test',
  exp: Math.floor(Date.now() / 1000),
});
if (warmUp.accepted !== true) {
  process.stderr.write(`warm-up claim failed: ${JSON.stringify(warmUp)}\n`);
  process.exit(1);
}
send({ ready: true });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === '') continue;
  send(await claim(JSON.parse(line) as RaceOrder));
}
client.destroy();
