import { count, countWithDimension, METRIC, type Observability } from '@nhi-dns/core';
import { decodeSecretValue, type JsonMode } from './decode.js';
import { type AwsFailure, type FetchErrorCode, type SecretsError, secretError } from './errors.js';
import type { SecretLocator, SecretsSource } from './fetch.js';

/** Count metric: one per secret served past its expiry because Secrets Manager failed transiently. */
export const SECRET_SERVED_STALE_METRIC = METRIC.secretServedStale;

/** Share of an entry's lifetime, at its end, during which a warm invocation refreshes it in the background. */
export const BACKGROUND_REFRESH_SHARE = 0.1;

/** One cached secret to resolve: where it lives, how to decode it and its cache key. */
export interface SecretRequest extends SecretLocator {
  /** Cache key: full name, version stage and JSON mode. */
  readonly key: string;
  readonly json: JsonMode;
}

/** The cache key of a secret request. */
export const cacheKeyOf = (name: string, versionStage: string, json: JsonMode): string =>
  `${versionStage}\u0000${String(json)}\u0000${name}`;

/** Options of {@link SecretStore}; all durations in milliseconds. */
export interface SecretStoreOptions {
  readonly fetcher: SecretsSource;
  readonly observability: Observability;
  /** Lifetime of an entry. */
  readonly maxAge: number;
  /** How long past its expiry an entry may still be served when a refresh fails transiently. */
  readonly staleIfError: number;
  /** Cap an entry's expiry at the secret's next rotation date (`DescribeSecret`). */
  readonly rotationAware: boolean;
  /** Wall clock in milliseconds (compared on each call: Lambda freezes timers between invocations). */
  readonly now: () => number;
}

interface Entry {
  readonly value: unknown;
  readonly versionId: string | undefined;
  readonly fetchedAt: number;
  readonly expiresAt: number;
  /** From this time on, a read starts a background refresh (never later than `expiresAt`). */
  readonly refreshAt: number;
  /** Load that produced it: an older load finishing late never overwrites a newer value. */
  readonly generation: number;
}

type Settled =
  | { readonly ok: true; readonly entry: Entry }
  | {
      readonly ok: false;
      readonly error: SecretsError;
      readonly code: FetchErrorCode;
      readonly transient: boolean;
    };

type LoadMode = 'foreground' | 'background' | 'forced';

/**
 * Per-secret cache in front of a {@link SecretsSource}: expiry after `maxAge` (capped at the next
 * rotation), background refresh in the last {@link BACKGROUND_REFRESH_SHARE} of an entry's
 * life, single flight per secret, bounded serve-stale on transient failures only. No timers:
 * every decision compares the wall clock when a secret is read.
 */
export class SecretStore {
  readonly #options: SecretStoreOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Settled>>();
  /** Loads with a generation at or below a key's floor were started before an invalidation. */
  readonly #floors = new Map<string, number>();
  #generation = 0;

  constructor(options: SecretStoreOptions) {
    this.#options = options;
  }

  /**
   * The values of `requests`, in order. Fresh entries are served from memory (starting a
   * background refresh when they near expiry); missing or expired ones are fetched in one
   * batch, joining any fetch already in flight.
   *
   * @throws {SecretsError} for the first secret that could not be served.
   */
  async resolve(requests: readonly SecretRequest[]): Promise<unknown[]> {
    const now = this.#options.now();
    const values: unknown[] = new Array(requests.length);
    const waits: Array<[number, SecretRequest, Promise<Settled>]> = [];
    const toFetch: SecretRequest[] = [];
    const toFetchIndices: number[] = [];
    const toRefresh: SecretRequest[] = [];
    for (const [index, request] of requests.entries()) {
      const entry = this.#entries.get(request.key);
      if (entry !== undefined && now < entry.expiresAt) {
        values[index] = entry.value;
        if (now >= entry.refreshAt && !this.#inflight.has(request.key)) toRefresh.push(request);
        continue;
      }
      const pending = this.#inflight.get(request.key);
      if (pending === undefined) {
        toFetch.push(request);
        toFetchIndices.push(index);
      } else waits.push([index, request, pending]);
    }
    // Started, never awaited: its outcome lands in the cache (failures are logged in #load).
    if (toRefresh.length > 0) void this.#start(toRefresh, 'background');
    if (toFetch.length > 0) {
      const started = this.#start(toFetch, 'foreground');
      for (const [position, request] of toFetch.entries()) {
        waits.push([toFetchIndices[position]!, request, started[position]!]);
      }
    }
    if (waits.length === 0) return values;
    const settled = await Promise.all(waits.map(([, , promise]) => promise));
    let firstError: SecretsError | undefined;
    for (const [position, [index, request]] of waits.entries()) {
      const outcome = settled[position]!;
      if (outcome.ok) values[index] = outcome.entry.value;
      else {
        const stale = this.#staleFor(request, outcome);
        if (stale === undefined) firstError ??= outcome.error;
        else values[index] = stale.value;
      }
    }
    if (firstError !== undefined) throw firstError;
    return values;
  }

  /**
   * The value of `request` when its entry is fresh, without waiting (starting a background
   * refresh when it nears expiry, as {@link resolve} does); `undefined` when it must be fetched.
   */
  peek(request: SecretRequest): unknown {
    const entry = this.#entries.get(request.key);
    if (entry === undefined) return undefined;
    const now = this.#options.now();
    if (now >= entry.expiresAt) return undefined;
    if (now >= entry.refreshAt && !this.#inflight.has(request.key)) void this.#start([request], 'background');
    return entry.value;
  }

  /**
   * Fetches `requests` now, whatever the cache holds, and waits for the result.
   * @throws {SecretsError} for the first secret that could not be fetched (its old entry stays,
   * unless the failure was permanent).
   */
  async forceRefresh(requests: readonly SecretRequest[]): Promise<void> {
    if (requests.length === 0) return;
    const settled = await Promise.all(this.#start(requests, 'forced'));
    const failure = settled.find((outcome) => !outcome.ok);
    if (failure !== undefined && !failure.ok) throw failure.error;
  }

  /** The requests of every cached entry (what {@link forceRefresh} refreshes by default). */
  cachedRequests(all: Iterable<SecretRequest>): SecretRequest[] {
    return [...all].filter((request) => this.#entries.has(request.key));
  }

  /** Drops the entries of `requests`; fetches already in flight for them will not be cached. */
  invalidate(requests: readonly SecretRequest[]): void {
    for (const request of requests) {
      this.#entries.delete(request.key);
      this.#floors.set(request.key, this.#generation);
    }
  }

  #start(requests: readonly SecretRequest[], mode: LoadMode): Promise<Settled>[] {
    const load = this.#load(requests, mode, ++this.#generation);
    return requests.map((request, index) => {
      const promise = load.then((settled) => settled[index]!);
      this.#inflight.set(request.key, promise);
      void promise.finally(() => {
        if (this.#inflight.get(request.key) === promise) this.#inflight.delete(request.key);
      });
      return promise;
    });
  }

  async #load(requests: readonly SecretRequest[], mode: LoadMode, generation: number): Promise<Settled[]> {
    const { fetcher, observability, now } = this.#options;
    // Two context keys may read one secret: fetch each (name, stage) once.
    const locators = new Map<string, SecretLocator>();
    for (const { name, versionStage } of requests)
      locators.set(`${versionStage}\u0000${name}`, { name, versionStage });
    const unique = [...locators.values()];
    const names = [...new Set(unique.map((locator) => locator.name))];
    const started = now();
    const [outcomes, rotations] = await Promise.all([
      fetcher.fetch(unique),
      this.#options.rotationAware
        ? Promise.all(names.map((name) => fetcher.nextRotation(name)))
        : Promise.resolve([]),
    ]);
    const fetchedAt = now();
    const rotationOf = new Map(names.map((name, index) => [name, rotations[index]]));
    const outcomeOf = new Map(unique.map((locator, index) => [locator, outcomes[index]!]));
    const fetched: Array<{ name: string; versionId: string | undefined }> = [];
    const settled = requests.map((request): Settled => {
      const outcome = outcomeOf.get(locators.get(`${request.versionStage}\u0000${request.name}`)!)!;
      const result = outcome.ok
        ? this.#decode(
            request,
            outcome.secret.raw,
            outcome.secret.versionId,
            fetchedAt,
            rotationOf.get(request.name),
            generation,
          )
        : this.#failed(request, outcome.failure);
      if (result.ok) {
        fetched.push({ name: request.name, versionId: result.entry.versionId });
        this.#store(request.key, result.entry);
      } else {
        countWithDimension(observability.metrics, METRIC.secretFetchError, 'Code', result.code);
        // A permanent failure (access revoked, secret deleted, bad value) ends serving at once.
        if (!result.transient && generation > (this.#entries.get(request.key)?.generation ?? 0)) {
          this.#entries.delete(request.key);
        }
        observability.logger[mode === 'background' && result.transient ? 'warn' : 'error'](
          'secrets-inject: secret fetch failed',
          {
            'secret.name': request.name,
            'secret.reason': result.error.reason,
            'aws.code': result.error.awsCode,
            'secret.refresh': mode,
          },
        );
      }
      return result;
    });
    for (const _ of fetched) count(observability.metrics, METRIC.secretFetch);
    if (fetched.length > 0) {
      observability.logger.info('secrets-inject: secrets fetched', {
        'secret.names': fetched.map((secret) => secret.name),
        'secret.versionIds': fetched.map((secret) => secret.versionId ?? null),
        'secret.refresh': mode,
        'secret.latencyMs': fetchedAt - started,
      });
    }
    return settled;
  }

  #decode(
    request: SecretRequest,
    raw: string | Uint8Array | undefined,
    versionId: string | undefined,
    fetchedAt: number,
    nextRotation: number | undefined,
    generation: number,
  ): Settled {
    if (raw === undefined) {
      return {
        ok: false,
        error: secretError('empty_value', request.name),
        code: 'InvalidValue',
        transient: false,
      };
    }
    const decoded = decodeSecretValue(raw, request.json);
    if (!decoded.ok) {
      return {
        ok: false,
        error: secretError('invalid_json', request.name),
        code: 'InvalidValue',
        transient: false,
      };
    }
    const { maxAge } = this.#options;
    const rotationCapped =
      nextRotation !== undefined && nextRotation > fetchedAt && nextRotation < fetchedAt + maxAge;
    const expiresAt = rotationCapped ? nextRotation : fetchedAt + maxAge;
    // Refreshing ahead of a rotation would only fetch the value that is about to be replaced.
    const refreshAt = rotationCapped ? expiresAt : expiresAt - maxAge * BACKGROUND_REFRESH_SHARE;
    return {
      ok: true,
      entry: { value: decoded.value, versionId, fetchedAt, expiresAt, refreshAt, generation },
    };
  }

  #failed(request: SecretRequest, failure: AwsFailure): Settled {
    return {
      ok: false,
      error: secretError(failure.reason, request.name, failure.awsCode, failure.cause),
      code: failure.code,
      transient: failure.transient,
    };
  }

  #store(key: string, entry: Entry): void {
    const current = this.#entries.get(key);
    if (entry.generation <= (this.#floors.get(key) ?? 0)) return;
    if (current !== undefined && current.generation > entry.generation) return;
    this.#entries.set(key, entry);
  }

  /** The last good value when `staleIfError` covers this failure (transient, within the window). */
  #staleFor(request: SecretRequest, outcome: Settled & { ok: false }): { value: unknown } | undefined {
    const entry = this.#entries.get(request.key);
    if (!outcome.transient || entry === undefined) return undefined;
    const now = this.#options.now();
    if (now >= entry.expiresAt + this.#options.staleIfError) return undefined;
    count(this.#options.observability.metrics, SECRET_SERVED_STALE_METRIC);
    this.#options.observability.logger.warn('secrets-inject: serving stale secret', {
      'secret.name': request.name,
      'secret.versionId': entry.versionId,
      'secret.ageMs': now - entry.fetchedAt,
      'aws.code': outcome.error.awsCode,
    });
    return { value: entry.value };
  }
}
