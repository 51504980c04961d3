import type { SecretsManagerClient, SecretValueEntry } from '@aws-sdk/client-secrets-manager';
import { METRIC, type Observability, recordLatency } from '@nhi-dns/core';
import type { RawSecretValue } from './decode.js';
import { type AwsFailure, classifyAwsCode, classifyAwsError } from './errors.js';

/** Version stage Secrets Manager serves by default, and the only one `BatchGetSecretValue` reads. */
export const DEFAULT_VERSION_STAGE = 'AWSCURRENT';

/** Most secret ids one `BatchGetSecretValue` call accepts. */
export const BATCH_SIZE = 20;

/** Bound on `NextToken` pages followed for one batch (a batch of 20 ids fits in one page). */
const MAX_BATCH_PAGES = 20;

/** A secret to fetch: full namespaced name and version stage. */
export interface SecretLocator {
  readonly name: string;
  readonly versionStage: string;
}

/** A secret as fetched: raw value and version id (`raw` is absent when AWS returned no value). */
export interface FetchedSecret {
  readonly raw: RawSecretValue | undefined;
  readonly versionId: string | undefined;
}

/** Outcome of fetching one secret. */
export type FetchOutcome =
  | { readonly ok: true; readonly secret: FetchedSecret }
  | { readonly ok: false; readonly failure: AwsFailure };

/** Where secret values come from: Secrets Manager through the SDK, or the Lambda extension. */
export interface SecretsSource {
  /** Fetches `locators` (unique) and returns one outcome per locator, in the same order; never throws. */
  fetch(locators: readonly SecretLocator[]): Promise<FetchOutcome[]>;
  /** The next rotation date (ms) of a secret with rotation enabled, else `undefined`; never throws. */
  nextRotation(name: string): Promise<number | undefined>;
}

let sdk: Promise<typeof import('@aws-sdk/client-secrets-manager')> | undefined;

/**
 * The Secrets Manager SDK, imported on first use: a function that reads its secrets through the
 * extension, or none at init, does not pay for loading the SDK client at cold start.
 */
export const loadSecretsManagerSdk = (): Promise<typeof import('@aws-sdk/client-secrets-manager')> =>
  (sdk ??= import('@aws-sdk/client-secrets-manager'));

/** Options of {@link SecretsFetcher}. */
export interface SecretsFetcherOptions {
  /** Returns the client; called on first use only, so no client exists before the first fetch. */
  readonly client: () => SecretsManagerClient | Promise<SecretsManagerClient>;
  /** Where latency metrics and warnings go. */
  readonly observability: Observability;
  /** Clock in milliseconds (for latencies). */
  readonly now: () => number;
}

const failed = (failure: AwsFailure): FetchOutcome => ({ ok: false, failure });

const fromEntry = (entry: SecretValueEntry): FetchOutcome => ({
  ok: true,
  secret: { raw: entry.SecretString ?? entry.SecretBinary, versionId: entry.VersionId },
});

/**
 * The Secrets Manager calls of the middleware: `BatchGetSecretValue` in chunks of
 * {@link BATCH_SIZE} for `AWSCURRENT` secrets, `GetSecretValue` for other stages, for a single
 * secret, and for everything once the batch call was refused (`AccessDeniedException`: the role
 * lacks `secretsmanager:BatchGetSecretValue`); `DescribeSecret` for rotation dates. It never
 * throws: every secret gets an outcome.
 */
export class SecretsFetcher implements SecretsSource {
  readonly #options: SecretsFetcherOptions;
  #batchAllowed = true;
  #describeAllowed = true;

  constructor(options: SecretsFetcherOptions) {
    this.#options = options;
  }

  /** Fetches `locators` (unique) and returns one outcome per locator, in the same order. */
  async fetch(locators: readonly SecretLocator[]): Promise<FetchOutcome[]> {
    const batchable = this.#batchAllowed
      ? locators.filter((locator) => locator.versionStage === DEFAULT_VERSION_STAGE)
      : [];
    const outcomes = new Map<SecretLocator, FetchOutcome>();
    if (batchable.length > 1) {
      const chunks: SecretLocator[][] = [];
      for (let start = 0; start < batchable.length; start += BATCH_SIZE) {
        chunks.push(batchable.slice(start, start + BATCH_SIZE));
      }
      const results = await Promise.all(chunks.map((chunk) => this.#batch(chunk)));
      for (const result of results) {
        for (const [locator, outcome] of result) outcomes.set(locator, outcome);
      }
    }
    // Everything the batch did not settle (other stages, a single secret, batch refused).
    const rest = locators.filter((locator) => !outcomes.has(locator));
    const singles = await Promise.all(rest.map((locator) => this.#get(locator)));
    for (const [index, locator] of rest.entries()) outcomes.set(locator, singles[index]!);
    return locators.map((locator) => outcomes.get(locator)!);
  }

  /**
   * The next rotation date (ms) of a secret with rotation enabled, else `undefined`. Never
   * throws: the date only shortens a cache entry, so failing to learn it falls back to `maxAge`.
   * After an `AccessDeniedException` (no `secretsmanager:DescribeSecret`), it stops asking.
   */
  async nextRotation(name: string): Promise<number | undefined> {
    if (!this.#describeAllowed) return undefined;
    try {
      const started = this.#options.now();
      const { DescribeSecretCommand } = await loadSecretsManagerSdk();
      const client = await this.#options.client();
      const answer = await client.send(new DescribeSecretCommand({ SecretId: name }));
      recordLatency(
        this.#options.observability.metrics,
        METRIC.secretFetchLatency,
        this.#options.now() - started,
      );
      return answer.RotationEnabled === true && answer.NextRotationDate instanceof Date
        ? answer.NextRotationDate.getTime()
        : undefined;
    } catch (error) {
      const failure = classifyAwsError(error);
      if (failure.code === 'AccessDenied') this.#describeAllowed = false;
      this.#options.observability.logger.warn('secrets-inject: rotation date unavailable, using maxAge', {
        'secret.name': name,
        'aws.code': failure.awsCode,
      });
      return undefined;
    }
  }

  async #batch(chunk: readonly SecretLocator[]): Promise<Map<SecretLocator, FetchOutcome>> {
    const byName = new Map(chunk.map((locator) => [locator.name, locator]));
    const outcomes = new Map<SecretLocator, FetchOutcome>();
    const started = this.#options.now();
    try {
      const { BatchGetSecretValueCommand } = await loadSecretsManagerSdk();
      const client = await this.#options.client();
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const answer = await client.send(
          new BatchGetSecretValueCommand({
            SecretIdList: [...byName.keys()],
            ...(nextToken === undefined ? {} : { NextToken: nextToken }),
          }),
        );
        for (const entry of answer.SecretValues ?? []) {
          const locator = entry.Name === undefined ? undefined : byName.get(entry.Name);
          if (locator !== undefined) outcomes.set(locator, fromEntry(entry));
        }
        for (const entry of answer.Errors ?? []) {
          const locator = entry.SecretId === undefined ? undefined : byName.get(entry.SecretId);
          if (locator !== undefined) {
            outcomes.set(locator, failed(classifyAwsCode(entry.ErrorCode ?? 'Unknown')));
          }
        }
        nextToken = answer.NextToken;
        pages += 1;
      } while (nextToken !== undefined && pages < MAX_BATCH_PAGES && outcomes.size < chunk.length);
    } catch (error) {
      const failure = classifyAwsError(error);
      if (failure.code === 'AccessDenied') {
        // Batch not permitted for this role: GetSecretValue per secret from now on.
        this.#batchAllowed = false;
        return outcomes;
      }
      for (const locator of chunk) outcomes.set(locator, failed(failure));
      return outcomes;
    } finally {
      recordLatency(
        this.#options.observability.metrics,
        METRIC.secretFetchLatency,
        this.#options.now() - started,
      );
    }
    for (const locator of chunk) {
      if (!outcomes.has(locator)) {
        outcomes.set(locator, failed(classifyAwsCode('MissingFromBatchResponse')));
      }
    }
    return outcomes;
  }

  async #get(locator: SecretLocator): Promise<FetchOutcome> {
    const started = this.#options.now();
    try {
      const { GetSecretValueCommand } = await loadSecretsManagerSdk();
      const client = await this.#options.client();
      const answer = await client.send(
        new GetSecretValueCommand({ SecretId: locator.name, VersionStage: locator.versionStage }),
      );
      return fromEntry(answer);
    } catch (error) {
      return failed(classifyAwsError(error));
    } finally {
      recordLatency(
        this.#options.observability.metrics,
        METRIC.secretFetchLatency,
        this.#options.now() - started,
      );
    }
  }
}
