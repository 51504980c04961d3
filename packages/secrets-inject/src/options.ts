import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  aBoolean,
  aFunction,
  anObject,
  anything,
  type NhiLogger,
  type NhiMetrics,
  type OptionRules,
  oneOf,
  required,
  validateOptions,
} from '@nhi-dns/core';
import type { JsonMode } from './decode.js';
import { SecretsError } from './errors.js';
import { DEFAULT_VERSION_STAGE } from './fetch.js';
import {
  MAX_ENVIRONMENT_NAMESPACE_LENGTH,
  MAX_SECRET_NAME_LENGTH,
  validateNamespace,
  validateSecretName,
} from './names.js';

/** One secret in {@link SecretsInjectOptions.secrets}, in its long form. */
export interface SecretOptions {
  /** Name relative to the namespace, e.g. `dbcreds` for `/prod/dbcreds`. */
  name: string;
  /** Version stage to read. Default `AWSCURRENT` (other stages bypass `BatchGetSecretValue`). */
  versionStage?: string;
  /** JSON decoding of this secret; default: the middleware's `json`. */
  json?: JsonMode;
}

/** Options of the `secretsInject` middleware. Durations are in seconds. */
export interface SecretsInjectOptions {
  /**
   * The secrets to inject: `request.context.secrets[contextKey]` receives the value of the
   * secret, named relative to the namespace (`{ db: 'dbcreds' }` → `/prod/dbcreds`).
   */
  secrets: Record<string, string | SecretOptions>;
  /**
   * Namespace prefix, e.g. `/prod/`. Default: `/${NHI_ENVIRONMENT}/`, else `/<environment>/` of the
   * function's own record (`request.context.nhiSelf`, identity-resolve in self mode). Never the
   * caller's environment: a caller must not choose which secrets this function reads.
   */
  namespace?: string;
  /**
   * Take the namespace from the function's own record (identity-resolve in self mode before this
   * middleware) when neither `namespace` nor `NHI_ENVIRONMENT` names it. Default false: without
   * one of the three, the factory throws `invalid_config` at init rather than every request failing.
   */
  ownRecordNamespace?: boolean;
  /** JSON decoding: `'auto'` (default) parses values that look like a JSON object or array. */
  json?: JsonMode;
  /** Seconds a fetched secret is served from memory. Default 300; 0 fetches on every invocation. */
  maxAge?: number;
  /**
   * Seconds past expiry a secret may still be served when Secrets Manager fails transiently
   * (throttling, 5xx, network). Never for access denied, not found or decryption failures. Default 0.
   */
  staleIfError?: number;
  /**
   * Fetch at cold start, in the factory, when the namespace is known then (option or
   * `NHI_ENVIRONMENT`), so that the fetch overlaps the Lambda init phase. Default true.
   */
  prefetch?: boolean;
  /**
   * Cap each entry's expiry at the secret's next rotation (`DescribeSecret`, asked only when the
   * secret is fetched; needs `secretsmanager:DescribeSecret`, degrades to `maxAge` without it).
   * Default true.
   */
  rotationAware?: boolean;
  /**
   * True for handler errors that mean "the secret changed" (e.g. a database authentication
   * error after a rotation): the cached secrets are dropped, and a handler wrapped with
   * `withRefreshRetry` is retried once with fresh secrets. Default: never.
   */
  refreshOn?: (error: unknown) => boolean;
  /** Secrets Manager client. Default: a `SecretsManagerClient` created on first fetch. */
  client?: SecretsManagerClient;
  /**
   * Where secrets are read from. `'sdk'` (default): Secrets Manager through the AWS SDK, batched,
   * prefetched at init. `'extension'`: the AWS Parameters and Secrets Lambda Extension's local
   * endpoint (`PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`, default 2773), so no SDK client is loaded
   * and the cold start is smaller; it cannot answer during init, so nothing is prefetched, and its
   * own cache (`SECRETS_MANAGER_TTL`) adds to `maxAge`.
   */
  source?: 'sdk' | 'extension';
  /** Powertools logger. Default: nhi-dns' shared logger. */
  logger?: NhiLogger;
  /** Powertools metrics. Default: nhi-dns' own, flushed at the end of each invocation. */
  metrics?: NhiMetrics;
  /** Wall clock in milliseconds (for tests). Default `Date.now`. */
  now?: () => number;
}

/** A configured secret after validation, still relative to its namespace. */
export interface SecretSpec {
  readonly contextKey: string;
  readonly name: string;
  readonly versionStage: string;
  readonly json: JsonMode;
}

/** Options after validation, with defaults applied and durations in milliseconds. */
export interface ResolvedOptions {
  readonly secrets: readonly SecretSpec[];
  readonly namespace: string | undefined;
  readonly maxAge: number;
  readonly staleIfError: number;
  readonly prefetch: boolean;
  readonly rotationAware: boolean;
}

/** Option names (values checked below); unknown keys are refused with a hint. */
const OPTION_RULES: OptionRules = {
  secrets: required(anObject),
  namespace: anything,
  ownRecordNamespace: aBoolean,
  json: anything,
  maxAge: anything,
  staleIfError: anything,
  prefetch: aBoolean,
  rotationAware: aBoolean,
  refreshOn: aFunction,
  client: anObject,
  source: oneOf('sdk', 'extension'),
  logger: anObject,
  metrics: anObject,
  now: aFunction,
};

/** Context keys that would reach `Object.prototype` if assigned. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const VERSION_STAGE = /^[A-Za-z0-9_+=.@-]{1,256}$/;

const configError = (message: string): SecretsError =>
  new SecretsError('invalid_config', `secrets-inject: ${message}`);

const seconds = (value: unknown, fallback: number, option: string): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw configError(`${option} must be a finite number of seconds >= 0`);
  }
  return value * 1000;
};

const jsonMode = (value: unknown, fallback: JsonMode, where: string): JsonMode => {
  if (value === undefined) return fallback;
  if (value === 'auto' || value === true || value === false) return value;
  throw configError(`${where} must be 'auto', true or false`);
};

/**
 * Validates the options and applies defaults. Runs in the factory, so a bad configuration
 * (a name escaping its namespace, an ARN, a bad duration) fails at init, before any invocation.
 *
 * @throws {SecretsError} `invalid_config`.
 */
export const resolveOptions = (options: SecretsInjectOptions): ResolvedOptions => {
  validateOptions(
    'secrets-inject',
    options,
    OPTION_RULES,
    (message) => new SecretsError('invalid_config', message),
  );
  const namespace = options.namespace === undefined ? undefined : validateNamespace(options.namespace);
  const json = jsonMode(options.json, 'auto', 'json');
  const room = MAX_SECRET_NAME_LENGTH - (namespace?.length ?? MAX_ENVIRONMENT_NAMESPACE_LENGTH);
  if (typeof options.secrets !== 'object' || options.secrets === null) {
    throw configError('secrets must map context keys to secret names');
  }
  const secrets = Object.entries(options.secrets).map(([contextKey, secret]): SecretSpec => {
    if (contextKey.length === 0 || FORBIDDEN_KEYS.has(contextKey)) {
      throw configError(`"${contextKey}" cannot be a context key`);
    }
    const long = typeof secret === 'string' ? { name: secret } : secret;
    if (typeof long !== 'object' || long === null) {
      throw configError(`secret "${contextKey}" must be a name or { name, versionStage?, json? }`);
    }
    const versionStage = long.versionStage ?? DEFAULT_VERSION_STAGE;
    if (typeof versionStage !== 'string' || !VERSION_STAGE.test(versionStage)) {
      throw configError(`versionStage of secret "${contextKey}" must match [A-Za-z0-9_+=.@-]{1,256}`);
    }
    return {
      contextKey,
      name: validateSecretName(long.name, room),
      versionStage,
      json: jsonMode(long.json, json, `json of secret "${contextKey}"`),
    };
  });
  if (secrets.length === 0) throw configError('secrets must name at least one secret');
  if (options.refreshOn !== undefined && typeof options.refreshOn !== 'function') {
    throw configError('refreshOn must be a function');
  }
  return {
    secrets,
    namespace,
    maxAge: seconds(options.maxAge, 300, 'maxAge'),
    staleIfError: seconds(options.staleIfError, 0, 'staleIfError'),
    prefetch: options.prefetch ?? true,
    rotationAware: options.rotationAware ?? true,
  };
};
