import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Observability, resolveObservability } from '@nhi-dns/core';
import type { JsonMode } from './decode.js';
import { DEFAULT_VERSION_STAGE } from './fetch.js';
import { createSecretsSource, type SecretsSourceKind } from './sources.js';
import { cacheKeyOf, SecretStore } from './store.js';

/** Options of {@link SecretReader}. Durations are in seconds, as for the middleware. */
export interface SecretReaderOptions {
  /** Secrets Manager client, or a function returning it. Default: one created on first read. */
  client?: SecretsManagerClient | (() => SecretsManagerClient);
  /** `'sdk'` (default) or `'extension'` (the Parameters and Secrets Lambda Extension; no SDK loaded). */
  source?: SecretsSourceKind;
  /** Seconds a value is served from memory. Default 300. */
  maxAge?: number;
  /** Seconds past expiry a value may be served when Secrets Manager fails transiently. Default 0. */
  staleIfError?: number;
  /** Cap an entry's expiry at the secret's next rotation (`DescribeSecret`). Default true. */
  rotationAware?: boolean;
  /** Where fetch logs and metrics go (values are never logged). */
  observability?: Observability;
  /** Wall clock in milliseconds (for tests). Default `Date.now`. */
  now?: () => number;
}

/** Options of one {@link SecretReader.read}. */
export interface ReadSecretOptions {
  /** JSON decoding. Default `'auto'`. */
  json?: JsonMode;
  /** Version stage. Default `AWSCURRENT`. */
  versionStage?: string;
}

/**
 * The cache behind secrets-inject, without Middy: the same per-secret expiry (capped at the next
 * rotation), background refresh before expiry, single flight, bounded serve-stale on transient
 * failures, and the same rule that values are never logged. For packages that read one secret of
 * their own (identity-sign reads the signing key through it).
 *
 * @example
 * const reader = new SecretReader({ maxAge: 60 });
 * const jwk = await reader.read('/prod/nhi/billing/signing-key', { json: true });
 */
export class SecretReader {
  readonly #store: SecretStore;

  /** @throws {TypeError} for a negative or non-finite duration. */
  constructor(options: SecretReaderOptions = {}) {
    const observability = options.observability ?? resolveObservability({});
    const now = options.now ?? Date.now;
    this.#store = new SecretStore({
      fetcher: createSecretsSource(options.source ?? 'sdk', { client: options.client, observability, now }),
      observability,
      now,
      maxAge: milliseconds(options.maxAge, 300, 'maxAge'),
      staleIfError: milliseconds(options.staleIfError, 0, 'staleIfError'),
      rotationAware: options.rotationAware ?? true,
    });
  }

  /**
   * The value of secret `name` (full name or ARN): from memory while fresh, else fetched. The
   * same object is returned for as long as one fetched value is cached, so callers can key
   * derived state (an imported key) on it.
   * @throws {SecretsError} when the secret cannot be served.
   */
  async read(name: string, options: ReadSecretOptions = {}): Promise<unknown> {
    const json = options.json ?? 'auto';
    const versionStage = options.versionStage ?? DEFAULT_VERSION_STAGE;
    const [value] = await this.#store.resolve([
      { key: cacheKeyOf(name, versionStage, json), name, versionStage, json },
    ]);
    return value;
  }

  /**
   * The cached value of `name` while it is fresh, synchronously (a warm path with no promise);
   * `undefined` when {@link read} must fetch it. Near expiry it starts the background refresh.
   */
  peek(name: string, options: ReadSecretOptions = {}): unknown {
    const json = options.json ?? 'auto';
    const versionStage = options.versionStage ?? DEFAULT_VERSION_STAGE;
    return this.#store.peek({ key: cacheKeyOf(name, versionStage, json), name, versionStage, json });
  }

  /** Drops the cached value of `name`: the next read fetches it. */
  invalidate(name: string, options: ReadSecretOptions = {}): void {
    const json = options.json ?? 'auto';
    const versionStage = options.versionStage ?? DEFAULT_VERSION_STAGE;
    this.#store.invalidate([{ key: cacheKeyOf(name, versionStage, json), name, versionStage, json }]);
  }
}

const milliseconds = (value: number | undefined, fallback: number, option: string): number => {
  if (value === undefined) return fallback * 1000;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`SecretReader: ${option} must be a finite number of seconds >= 0`);
  }
  return value * 1000;
};
