import { NhiError } from '@nhi-dns/core';

/** Stable reason codes of a {@link SecretsError}. */
export const SECRETS_ERROR_REASONS = [
  /** Secrets Manager failed for another reason (throttling, 5xx, network, unexpected answer). */
  'fetch_failed',
  /** The secret (or the asked version stage) does not exist. */
  'not_found',
  /** The function's role may not read the secret (or may not decrypt it with its KMS key). */
  'access_denied',
  /** Secrets Manager could not decrypt the secret with its KMS key. */
  'decryption_failed',
  /** `json: true` and the value is not JSON. */
  'invalid_json',
  /** The secret holds neither `SecretString` nor `SecretBinary`. */
  'empty_value',
  /** The middleware options are wrong (thrown by the factory, before any invocation). */
  'invalid_config',
  /** No namespace: no `namespace` option, no `NHI_ENVIRONMENT`, no own record (self mode). */
  'no_namespace',
  /** The own record's environment differs from the function's `NHI_ENVIRONMENT`. */
  'namespace_mismatch',
] as const;

/** One of {@link SECRETS_ERROR_REASONS}. */
export type SecretsErrorReason = (typeof SECRETS_ERROR_REASONS)[number];

/**
 * Closed set of values of the `Code` dimension of `SecretFetchError` (DESIGN §5). AWS error
 * names are folded into it so that the metric's cardinality stays bounded.
 */
export const FETCH_ERROR_CODES = [
  'AccessDenied',
  'NotFound',
  'Throttling',
  'ServiceError',
  'Network',
  'Decryption',
  'InvalidValue',
  'Other',
] as const;

/** One of {@link FETCH_ERROR_CODES}. */
export type FetchErrorCode = (typeof FETCH_ERROR_CODES)[number];

/** Options of {@link SecretsError}. */
export interface SecretsErrorOptions {
  /** Full namespaced secret name the error is about, e.g. `/prod/dbcreds`. */
  secretName?: string;
  /** AWS error name as reported by the SDK or a batch entry, e.g. `AccessDeniedException`. */
  awsCode?: string;
  /** The underlying SDK error, for operators. Never an error that may quote a secret value. */
  cause?: unknown;
}

/**
 * Error of `@nhi-dns/secrets-inject`. It names the secret and the AWS error code and never
 * carries a secret value: the message is built from names and codes only, and a `cause` is
 * only ever an AWS SDK error (never, for instance, a `JSON.parse` error, which quotes input).
 */
export class SecretsError extends NhiError<SecretsErrorReason> {
  /** Full namespaced secret name, when the error is about one secret. */
  readonly secretName: string | undefined;
  /** AWS error name, when AWS reported the failure. */
  readonly awsCode: string | undefined;

  constructor(reason: SecretsErrorReason, message: string, options: SecretsErrorOptions = {}) {
    super(reason, message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'SecretsError';
    this.secretName = options.secretName;
    this.awsCode = options.awsCode;
  }

  /** A JSON view with the safe fields only (names and codes), for structured logs. */
  toJSON(): {
    name: string;
    reason: SecretsErrorReason;
    message: string;
    secretName?: string;
    awsCode?: string;
  } {
    return {
      name: this.name,
      reason: this.reason,
      message: this.message,
      ...(this.secretName === undefined ? {} : { secretName: this.secretName }),
      ...(this.awsCode === undefined ? {} : { awsCode: this.awsCode }),
    };
  }
}

/** How an AWS failure is handled: its reason, metric code and whether serving stale is allowed. */
export interface AwsFailure {
  /** Reason of the {@link SecretsError} it becomes. */
  readonly reason: SecretsErrorReason;
  /** `Code` dimension of the `SecretFetchError` metric. */
  readonly code: FetchErrorCode;
  /** AWS error name (or a Node network code), e.g. `ThrottlingException`, `ECONNRESET`. */
  readonly awsCode: string;
  /** True for throttling, 5xx and network failures: the only ones `staleIfError` may cover. */
  readonly transient: boolean;
  /** The SDK error, when there is one (batch entries have none). */
  readonly cause?: unknown;
}

const THROTTLING = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'Throttling',
  'SlowDown',
]);
const NETWORK = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'NetworkingError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

const field = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;

/** The AWS error name of an SDK error, else its Node error code, else `Unknown`. */
export const awsErrorName = (error: unknown): string => {
  const name = field(error, 'name');
  const code = field(error, 'code');
  if (typeof code === 'string' && NETWORK.has(code)) return code;
  if (typeof name === 'string' && name !== 'Error' && name.length > 0) return name;
  return typeof code === 'string' ? code : 'Unknown';
};

/**
 * Classifies an AWS error name (from an SDK exception or a `BatchGetSecretValue` error entry).
 * `serverFault` is the SDK's `$fault === 'server'` (a 5xx), which makes unknown names transient.
 */
export const classifyAwsCode = (awsCode: string, serverFault = false): Omit<AwsFailure, 'cause'> => {
  if (awsCode === 'AccessDeniedException') {
    return { reason: 'access_denied', code: 'AccessDenied', awsCode, transient: false };
  }
  if (awsCode === 'ResourceNotFoundException') {
    return { reason: 'not_found', code: 'NotFound', awsCode, transient: false };
  }
  if (awsCode === 'DecryptionFailure' || awsCode.startsWith('KMS')) {
    return { reason: 'decryption_failed', code: 'Decryption', awsCode, transient: false };
  }
  if (THROTTLING.has(awsCode))
    return { reason: 'fetch_failed', code: 'Throttling', awsCode, transient: true };
  if (NETWORK.has(awsCode)) return { reason: 'fetch_failed', code: 'Network', awsCode, transient: true };
  if (awsCode === 'InternalServiceError' || awsCode === 'InternalFailure' || serverFault) {
    return { reason: 'fetch_failed', code: 'ServiceError', awsCode, transient: true };
  }
  return { reason: 'fetch_failed', code: 'Other', awsCode, transient: false };
};

/** Classifies an error thrown by an SDK call. */
export const classifyAwsError = (error: unknown): AwsFailure => {
  const status = field(field(error, '$metadata'), 'httpStatusCode');
  const serverFault =
    field(error, '$fault') === 'server' || (typeof status === 'number' && status >= 500 && status <= 599);
  return { ...classifyAwsCode(awsErrorName(error), serverFault), cause: error };
};

const DESCRIPTIONS: Record<SecretsErrorReason, string> = {
  fetch_failed: 'could not fetch',
  not_found: 'not found:',
  access_denied: 'access denied to',
  decryption_failed: 'could not decrypt',
  invalid_json: 'value is not valid JSON in',
  empty_value: 'no value in',
  invalid_config: 'invalid configuration for',
  no_namespace: 'no namespace for',
  namespace_mismatch: 'namespace mismatch for',
};

/** The {@link SecretsError} for one secret: names the secret and the code, never the value. */
export const secretError = (
  reason: SecretsErrorReason,
  secretName: string,
  awsCode?: string,
  cause?: unknown,
): SecretsError =>
  new SecretsError(
    reason,
    `secrets-inject: ${DESCRIPTIONS[reason]} secret "${secretName}"${awsCode === undefined ? '' : ` (${awsCode})`}`,
    {
      secretName,
      ...(awsCode === undefined ? {} : { awsCode }),
      ...(cause === undefined ? {} : { cause }),
    },
  );
