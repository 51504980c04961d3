import { NhiError } from '@nhi-dns/core';

/** Process exit codes of `nhi-dns` (stable: scripts branch on them). */
export const EXIT_CODE = {
  /** The command did what was asked (or found nothing to do). */
  ok: 0,
  /** `check` ran and the identity record is not as expected. */
  checkFailed: 1,
  /** Bad command line: unknown option, missing or invalid value. */
  usage: 2,
  /**
   * An AWS call failed (after retries), no usable AWS credentials or region were found
   * (`aws_credentials`, `aws_region`), or a Route 53 change did not reach `INSYNC` in time.
   */
  aws: 3,
  /** Anything else, e.g. a refusal that protects the record (`kid_conflict`, `would_empty`). */
  other: 4,
  /**
   * `sign --key-file` refused a private key file that its group or others may read (mode &
   * 0o077, as ssh refuses one): `insecure_key_file`. Its own code, so that a script does not
   * mistake it for a typo on the command line (2) and can tell the operator to `chmod 600`.
   */
  insecureKeyFile: 5,
} as const;

/** One of the values of {@link EXIT_CODE}. */
export type ExitCode = (typeof EXIT_CODE)[keyof typeof EXIT_CODE];

/** Reason codes of {@link CliError} that mean the operator passed bad input. */
const USAGE_REASONS: ReadonlySet<string> = new Set([
  'usage',
  'invalid_name',
  'invalid_zone',
  'invalid_record',
  'outside_zone',
]);

/**
 * An error of the CLI with a stable `reason` and the exit code it maps to. Its message is for
 * humans and never carries key material or secret values.
 */
export class CliError extends NhiError {
  /** Exit code the process ends with when this error reaches the top level. */
  readonly exitCode: ExitCode;

  constructor(reason: string, message: string, exitCode: ExitCode, options: { cause?: unknown } = {}) {
    super(reason, message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A command-line mistake (exit code 2). */
export const usageError = (message: string): CliError => new CliError('usage', message, EXIT_CODE.usage);

/** True for an error thrown by an AWS SDK v3 client (a service exception carries `$metadata`). */
export const isAwsError = (error: unknown): error is Error & { $metadata: unknown } =>
  error instanceof Error && typeof (error as { $metadata?: unknown }).$metadata === 'object';

/** Errors of the SDK's credential chain: thrown before any request, so they have no `$metadata`. */
const CREDENTIAL_ERROR_NAMES: ReadonlySet<string> = new Set([
  'CredentialsProviderError',
  'TokenProviderError',
]);

/**
 * The SDK's client configuration errors (no credentials, no or a bad region) as the CLI reports
 * them: reason `aws_credentials` or `aws_region`, with what to do about it. The SDK throws
 * these as plain errors (`Region is missing` is a bare `Error`), so they are told apart by name
 * and message; `undefined` for anything else.
 */
export const awsConfigError = (error: unknown): { reason: string; message: string } | undefined => {
  if (!(error instanceof Error)) return undefined;
  if (CREDENTIAL_ERROR_NAMES.has(error.name)) {
    return {
      reason: 'aws_credentials',
      message:
        `AWS credentials are missing or unusable (${error.message}): pass --profile <name>, set ` +
        'AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or assume a role first ' +
        '(aws-actions/configure-aws-credentials in GitHub Actions)',
    };
  }
  if (/^Region is missing/.test(error.message)) {
    return {
      reason: 'aws_region',
      message: 'AWS region is missing: pass --region <region> or set AWS_REGION',
    };
  }
  if (/^Invalid region in client config/.test(error.message)) {
    return {
      reason: 'aws_region',
      message: 'AWS region is invalid: pass --region <region> (e.g. eu-west-1) or fix AWS_REGION',
    };
  }
  return undefined;
};

/** Maps any error that reaches the top level to the exit code the process ends with. */
export const exitCodeFor = (error: unknown): ExitCode => {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof NhiError) return USAGE_REASONS.has(error.reason) ? EXIT_CODE.usage : EXIT_CODE.other;
  if (isAwsError(error) || awsConfigError(error) !== undefined) return EXIT_CODE.aws;
  return EXIT_CODE.other;
};

/**
 * A one-line description of `error` that is safe to print: the AWS error name and message, or
 * the CLI's own message. Stack traces and request payloads are left out.
 */
export const describeError = (error: unknown): { reason: string; message: string } => {
  if (error instanceof NhiError) return { reason: error.reason, message: error.message };
  if (isAwsError(error)) return { reason: error.name, message: `AWS ${error.name}: ${error.message}` };
  const config = awsConfigError(error);
  if (config !== undefined) return config;
  if (error instanceof Error) return { reason: 'internal', message: error.message };
  return { reason: 'internal', message: 'unexpected failure' };
};
