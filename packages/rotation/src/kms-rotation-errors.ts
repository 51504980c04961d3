import { NhiError } from '@nhi-dns/core';

/** The package name errors and log lines carry. */
export const KMS_ROTATION_PACKAGE = '@nhi-dns/rotation';

/**
 * Steps of a scheduled KMS rotation run; the value of the `Step` dimension of `RotationStep` and
 * `RotationFailure` (a closed set: dimensions never carry caller-chosen text).
 * - `check`: validate the input, read the record and the alias, decide.
 * - `start`: create, publish and grant the next key, move the alias, retire the old key.
 * - `finish`: remove the expired keys and schedule their KMS deletion.
 */
export const KMS_ROTATION_STEPS = ['check', 'start', 'finish'] as const;

/** One of {@link KMS_ROTATION_STEPS}. */
export type KmsRotationStep = (typeof KMS_ROTATION_STEPS)[number];

/**
 * Why a scheduled KMS rotation run failed. Stable codes, safe to log and to alarm on.
 * - `invalid_input`: the schedule's input is not a valid identity (a field missing, unknown or out of range).
 * - `invalid_config`: `NHI_ZONE` or `NHI_HOSTED_ZONE_ID` is missing or malformed.
 * - `no_key`: the alias `alias/nhi/<env>/<service>` names no KMS key (create one with `keygen --kms`).
 * - `stranded_key`: a KMS key is published without `exp` but the alias does not name it: a rotation
 *   was interrupted, or one runs now; the handler cannot tell which, so it leaves it to an operator.
 * - `time_budget`: too little Lambda time is left to wait out the record TTL; nothing was created.
 * - `step_failed`: an AWS call or the CLI's engine failed; `cause` holds the error.
 */
export const KMS_ROTATION_FAILURE_REASONS = [
  'invalid_input',
  'invalid_config',
  'no_key',
  'stranded_key',
  'time_budget',
  'step_failed',
] as const;

/** One of {@link KMS_ROTATION_FAILURE_REASONS}. */
export type KmsRotationFailureReason = (typeof KMS_ROTATION_FAILURE_REASONS)[number];

/** Options of {@link KmsRotationError}. */
export interface KmsRotationErrorOptions {
  /** The step that failed. */
  readonly step: KmsRotationStep;
  /** The underlying error (an AWS SDK error, a CLI `CliError`), for operators. */
  readonly cause?: unknown;
}

/**
 * Base class of the failures of a scheduled KMS rotation run: `reason` says what went wrong and
 * `step` where. Messages name the identity and never carry key material.
 */
export class KmsRotationError extends NhiError<KmsRotationFailureReason> {
  /** The step that failed (the `Step` dimension of `RotationFailure`). */
  readonly step: KmsRotationStep;

  constructor(reason: KmsRotationFailureReason, message: string, options: KmsRotationErrorOptions) {
    super(reason, message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'KmsRotationError';
    this.step = options.step;
  }
}

/** The schedule's input is not a valid identity to rotate (`invalid_input`). */
export class KmsRotationInputError extends KmsRotationError {
  constructor(message: string) {
    super('invalid_input', message, { step: 'check' });
    this.name = 'KmsRotationInputError';
  }
}

/** The function's environment (`NHI_ZONE`, `NHI_HOSTED_ZONE_ID`) is missing or malformed (`invalid_config`). */
export class KmsRotationConfigError extends KmsRotationError {
  constructor(message: string) {
    super('invalid_config', message, { step: 'check' });
    this.name = 'KmsRotationConfigError';
  }
}

/** The identity's KMS state does not allow a run to act on its own (`no_key`, `stranded_key`). */
export class KmsRotationStateError extends KmsRotationError {
  constructor(reason: 'no_key' | 'stranded_key', message: string) {
    super(reason, message, { step: 'check' });
    this.name = 'KmsRotationStateError';
  }
}

/** Too little Lambda time is left to start a rotation; nothing was created (`time_budget`). */
export class KmsRotationTimeBudgetError extends KmsRotationError {
  constructor(message: string) {
    super('time_budget', message, { step: 'start' });
    this.name = 'KmsRotationTimeBudgetError';
  }
}

/** An AWS call or the CLI's rotation engine failed during a step (`step_failed`; `cause` keeps it). */
export class KmsRotationStepError extends KmsRotationError {
  constructor(step: KmsRotationStep, message: string, cause: unknown) {
    super('step_failed', message, { step, cause });
    this.name = 'KmsRotationStepError';
  }
}
