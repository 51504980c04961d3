import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NhiError } from './errors.js';
import { assertClaimArguments, type ClaimOptions, DEFAULT_REPLAY_GRACE, type ReplayStore } from './replay.js';

/** Options of {@link DynamoDbReplayStore}. */
export interface DynamoDbReplayStoreOptions {
  /**
   * The client to use, or a function returning it (called on the first claim, so a function can
   * import the SDK lazily and keep it out of the cold start). None is created here.
   */
  client: DynamoDBClient | (() => DynamoDBClient | Promise<DynamoDBClient>);
  /** Table with a string partition key named `keyAttribute` and TTL enabled on `ttlAttribute`. */
  tableName: string;
  /** Partition key attribute name. Default `jti`. */
  keyAttribute?: string;
  /** Numeric TTL attribute name (Unix seconds). Default `expiresAt`. */
  ttlAttribute?: string;
  /** String attribute holding the claim's `deliveryId` (queues), when it has one. Default `deliveryId`. */
  deliveryAttribute?: string;
  /** Seconds an item is kept past the proof's `exp`: set it to the verifier's `clockSkew`. Default 60. */
  clockSkew?: number;
  /**
   * Milliseconds a claim may take before it is abandoned and the proof denied (fail closed), so
   * that a store that never answers cannot hold the invocation until Lambda kills it. The
   * verifier's deadline (the Lambda's remaining time less a margin) shortens it further. Default 1000.
   */
  timeout?: number;
}

/** Default milliseconds a claim may take (a DynamoDB PutItem answers in single-digit ms). */
export const DEFAULT_CLAIM_TIMEOUT_MS = 1000;

let sdk: Promise<typeof import('@aws-sdk/client-dynamodb')> | undefined;
/** The DynamoDB SDK, imported on the first claim only. */
const loadSdk = () => (sdk ??= import('@aws-sdk/client-dynamodb'));

/** A promise that rejects when `signal` aborts (never settles otherwise). */
const rejectWhenAborted = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

const CONDITION_FAILED = 'ConditionalCheckFailedException';

/**
 * Replay store shared by every instance of a function (DESIGN §3): one conditional
 * `PutItem` per proof (`attribute_not_exists` on the key), with a TTL attribute so DynamoDB
 * deletes the item after `exp + clockSkew`. A failed condition is a replay; any other error
 * is thrown as `NhiError('replay_store_unavailable')` so the verifier denies (fail closed).
 *
 * The item key is `<issuer>#<jti>`: one caller cannot burn another caller's jtis. A claim with
 * a `deliveryId` also writes it, and succeeds again for that same delivery (a queue redelivery).
 */
export class DynamoDbReplayStore implements ReplayStore {
  /** Every instance claims in the one table: a jti one instance recorded is a replay on all. */
  readonly shared = true;
  readonly #client: () => DynamoDBClient | Promise<DynamoDBClient>;
  #resolvedClient: DynamoDBClient | undefined;
  readonly #tableName: string;
  readonly #keyAttribute: string;
  readonly #ttlAttribute: string;
  readonly #deliveryAttribute: string;
  readonly #graceSeconds: number;
  readonly #timeout: number;

  constructor(options: DynamoDbReplayStoreOptions) {
    const {
      client,
      tableName,
      keyAttribute = 'jti',
      ttlAttribute = 'expiresAt',
      deliveryAttribute = 'deliveryId',
    } = options;
    const clockSkew = options.clockSkew ?? DEFAULT_REPLAY_GRACE;
    if (typeof client !== 'function' && typeof client?.send !== 'function') {
      throw new TypeError('DynamoDbReplayStore: client is required');
    }
    for (const [name, value] of [
      ['tableName', tableName],
      ['keyAttribute', keyAttribute],
      ['ttlAttribute', ttlAttribute],
      ['deliveryAttribute', deliveryAttribute],
    ] as const) {
      if (typeof value !== 'string' || value === '') {
        throw new TypeError(`DynamoDbReplayStore: ${name} must be a non-empty string`);
      }
    }
    if (new Set([keyAttribute, ttlAttribute, deliveryAttribute]).size !== 3) {
      throw new TypeError(
        'DynamoDbReplayStore: keyAttribute, ttlAttribute and deliveryAttribute must differ',
      );
    }
    if (!Number.isSafeInteger(clockSkew) || clockSkew < 0) {
      throw new TypeError('DynamoDbReplayStore: clockSkew must be a non-negative integer');
    }
    const timeout = options.timeout ?? DEFAULT_CLAIM_TIMEOUT_MS;
    if (!Number.isSafeInteger(timeout) || timeout <= 0) {
      throw new TypeError('DynamoDbReplayStore: timeout must be a positive integer (milliseconds)');
    }
    this.#timeout = timeout;
    this.#client = typeof client === 'function' ? client : () => client;
    this.#tableName = tableName;
    this.#keyAttribute = keyAttribute;
    this.#ttlAttribute = ttlAttribute;
    this.#deliveryAttribute = deliveryAttribute;
    this.#graceSeconds = clockSkew;
  }

  /** {@inheritDoc ReplayStore.claim} */
  async claim(jti: string, issuer: string, expiresAt: number, options: ClaimOptions = {}): Promise<boolean> {
    assertClaimArguments(jti, issuer, expiresAt);
    const budget = Math.max(
      0,
      Math.min(
        this.#timeout,
        options.deadline === undefined ? Number.POSITIVE_INFINITY : options.deadline - Date.now(),
      ),
    );
    const { deliveryId } = options;
    const { PutItemCommand } = await loadSdk();
    // A redelivery of the message that first carried the jti is not a replay (ClaimOptions.deliveryId).
    const command = new PutItemCommand({
      TableName: this.#tableName,
      Item: {
        [this.#keyAttribute]: { S: `${issuer}#${jti}` },
        [this.#ttlAttribute]: { N: String(expiresAt + this.#graceSeconds) },
        ...(deliveryId === undefined ? {} : { [this.#deliveryAttribute]: { S: deliveryId } }),
      },
      // Attribute names go through placeholders: `jti` or `ttl` could be reserved words.
      ...(deliveryId === undefined
        ? {
            ConditionExpression: 'attribute_not_exists(#key)',
            ExpressionAttributeNames: { '#key': this.#keyAttribute },
          }
        : {
            ConditionExpression: 'attribute_not_exists(#key) OR #delivery = :delivery',
            ExpressionAttributeNames: { '#key': this.#keyAttribute, '#delivery': this.#deliveryAttribute },
            ExpressionAttributeValues: { ':delivery': { S: deliveryId } },
          }),
    });
    const signal = AbortSignal.timeout(budget);
    try {
      // The signal frees the SDK's socket; the race holds even for a client that ignores it.
      const answer = (async () => {
        this.#resolvedClient ??= await this.#client();
        return this.#resolvedClient.send(command, { abortSignal: signal });
      })();
      answer.catch(() => undefined); // settles after a lost race: nothing to report then
      await Promise.race([answer, rejectWhenAborted(signal)]);
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === CONDITION_FAILED) return false;
      if (signal.aborted) {
        throw new NhiError(
          'replay_store_unavailable',
          `DynamoDB replay store did not answer within ${budget} ms`,
          {
            cause: error,
          },
        );
      }
      const kind = error instanceof Error ? error.name : 'unknown error';
      throw new NhiError('replay_store_unavailable', `DynamoDB replay store failed (${kind})`, {
        cause: error,
      });
    }
  }
}
