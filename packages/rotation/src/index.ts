/**
 * `@nhi-dns/rotation`: Lambda handlers that rotate nhi-dns signing keys on their own (DESIGN §4.5):
 * a Secrets Manager rotation function for secret-held keys, and a scheduled rotation of KMS-held
 * keys. Both drive the CLI's rotation engine, so a key rotates the same way from a schedule as from
 * `nhi-dns rotate`.
 *
 * @module
 */
export {
  createKmsRotation,
  DEFAULT_KMS_ROTATION_INSYNC_TIMEOUT,
  KMS_ROTATION_CALL_MARGIN_SECONDS,
  KMS_ROTATION_LOG_FIELD,
  KMS_ROTATION_PROPAGATION_MARGIN_SECONDS,
  type KmsRotationCurrent,
  type KmsRotationFinished,
  type KmsRotationHandler,
  type KmsRotationOptions,
  type KmsRotationPending,
  type KmsRotationResult,
  type KmsRotationStarted,
  kmsRotationHandler,
} from './kms-rotation.js';
export {
  KMS_ROTATION_FAILURE_REASONS,
  KMS_ROTATION_PACKAGE,
  KMS_ROTATION_STEPS,
  KmsRotationConfigError,
  KmsRotationError,
  type KmsRotationErrorOptions,
  type KmsRotationFailureReason,
  KmsRotationInputError,
  KmsRotationStateError,
  type KmsRotationStep,
  KmsRotationStepError,
  KmsRotationTimeBudgetError,
} from './kms-rotation-errors.js';
export {
  type KmsRotationEnvironment,
  type KmsRotationInput,
  MAX_KMS_ROTATION_CLOCK_SKEW,
  MAX_KMS_ROTATION_DAYS,
  parseKmsRotationInput,
  type ResolvedKmsRotationInput,
  readKmsRotationEnvironment,
} from './kms-rotation-input.js';
export {
  createSecretsManagerRotation,
  DEFAULT_DEADLINE_MARGIN,
  DEFAULT_VISIBILITY_POLL_INTERVAL,
  SECRETS_MANAGER_ROTATION_STEPS,
  type SecretsManagerRotationContext,
  type SecretsManagerRotationEvent,
  type SecretsManagerRotationHandler,
  type SecretsManagerRotationOptions,
  type SecretsManagerRotationResolver,
  type SecretsManagerRotationStep,
  secretsManagerRotationHandler,
  VISIBILITY_MARGIN,
  VISIBLE_TAG,
} from './secrets-manager-rotation.js';
export {
  identityOfSecretName,
  SECRETS_MANAGER_ROTATION_ENV,
  type SecretsManagerRotationConfig,
  secretsManagerRotationConfigFromEnv,
} from './secrets-manager-rotation-config.js';
export {
  SECRETS_MANAGER_ROTATION_ERRORS,
  SecretsManagerRotationError,
  type SecretsManagerRotationErrorReason,
} from './secrets-manager-rotation-errors.js';
