import type { KMSClient } from '@aws-sdk/client-kms';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CliError, EXIT_CODE } from './errors.js';
import type { RetryOptions } from './retry.js';

/**
 * What commands need from the outside world, injected so that every command runs in tests
 * against mocked clients, a fixed clock and a sleep that does not wait.
 */
export interface CommandDeps {
  readonly route53: Route53Client;
  readonly secrets: SecretsManagerClient;
  /** KMS, for identities whose signing key AWS KMS holds (`--kms`, `--kms-key-id`). */
  readonly kms?: KMSClient;
  /** Current time in milliseconds since the epoch. */
  readonly now: () => number;
  /** Waits `ms` milliseconds (retry backoff). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Progress messages for the operator (stderr in the CLI); never key material. */
  readonly log?: (line: string) => void;
}

/** The KMS client of the deps, or a clear error (`aws_credentials`, exit 3). */
export const kmsOf = (deps: CommandDeps): KMSClient => {
  if (deps.kms === undefined)
    throw new CliError('aws_credentials', 'no KMS client configured', EXIT_CODE.aws);
  return deps.kms;
};

/** The injected clock in whole Unix seconds. */
export const nowSeconds = (deps: CommandDeps): number => Math.floor(deps.now() / 1000);

/** Retry options of AWS calls, wired to the injected sleep and progress log. */
export const retryOptionsOf = (deps: CommandDeps): RetryOptions => ({
  sleep: deps.sleep,
  onRetry: ({ attempt, delayMs, errorName }) =>
    deps.log?.(`AWS answered ${errorName}; retry ${attempt} in ${delayMs} ms`),
});
