export {
  type AwsClientConfig,
  type CliDeps,
  createProgram,
  runCli,
} from './cli.js';
export {
  type CheckDeps,
  type CheckOptions,
  type CheckProblem,
  type CheckProblemCode,
  type CheckResult,
  check,
  type DnsFailureReason,
  type TxtResolver,
} from './commands/check.js';
export { type KeygenOptions, type KeygenResult, keygen } from './commands/keygen.js';
export {
  type KeygenKmsOptions,
  type KeygenKmsResult,
  keygenKms,
  publishExistingKmsKey,
  publishKmsKey,
} from './commands/keygen-kms.js';
export {
  checkTrustedFingerprint,
  type PublishOptions,
  type PublishResult,
  type PublishSettings,
  planPublishKey,
  planPutKey,
  publish,
} from './commands/publish.js';
export {
  checkRenderScope,
  parseRenderFormat,
  RENDER_FORMATS,
  type RenderFormat,
  type RenderOptions,
  type RenderPublishedOptions,
  render,
  renderPublished,
} from './commands/render.js';
export { type RevokeOptions, type RevokeResult, revoke } from './commands/revoke.js';
export {
  DEFAULT_MAX_PROOF_LIFETIME,
  DEFAULT_SIGNER_KEY_MAX_AGE,
  finishRotation,
  minimumOverlap,
  type RotateFinishResult,
  type RotateOptions,
  type RotateStartResult,
  rotate,
} from './commands/rotate.js';
export {
  DEFAULT_KMS_DELETION_WINDOW_DAYS,
  type FinishKmsRotationOptions,
  type FinishKmsRotationResult,
  finishKmsRotation,
  kmsRotationOverlap,
  type RotateKmsOptions,
  type RotateKmsResult,
  rotateKms,
} from './commands/rotate-kms.js';
export {
  DEFAULT_SIGN_LIFETIME,
  keyFileSource,
  MAX_KEY_FILE_BYTES,
  readBodyFile,
  readKeyFile,
  readProcessStdin,
  type SignOptions,
  type SignResult,
  sign,
} from './commands/sign.js';
export { createDefaultDeps } from './default-deps.js';
export type { CommandDeps } from './deps.js';
export { awsConfigError, CliError, describeError, EXIT_CODE, type ExitCode, exitCodeFor } from './errors.js';
export {
  defaultKid,
  type GeneratedSigningKey,
  generateSigningKey,
  JWS_ALGORITHM,
  type JwkSource,
  type PublishedKey,
  publicKeyFingerprint,
  publishedKeyFromJwk,
  SIGNING_KEY_SECRET,
  type SigningKeyJwk,
  signingKeyFromJwk,
} from './keys.js';
export {
  createKmsSigningKey,
  createLockedKmsKey,
  grantKmsSign,
  KMS_KEY_SPEC,
  KMS_SIGNING_ALGORITHM,
  type KmsKeyPolicyInput,
  type KmsPublishedKey,
  kidOfKmsKey,
  kmsAliasName,
  kmsAliasTarget,
  kmsKeyPolicy,
  kmsSign,
  type MintKmsWorkloadIdentityOptions,
  mintKmsWorkloadIdentity,
  readKmsPublicKey,
} from './kms-key.js';
export { type NegativeCacheTtl, readNegativeCacheTtl } from './negative-cache.js';
export {
  type CurrentRecord,
  DEFAULT_TTL,
  DEFAULT_WAIT_TIMEOUT,
  type IdentityTarget,
  isUsableKey,
  type KeySummary,
  type RecordUpdateResult,
  readIdentityRecord,
  updateIdentityRecord,
  type WriteOptions,
} from './record-update.js';
export {
  RETRYABLE_ERROR_NAMES,
  type RetryOptions,
  withRetry,
} from './retry.js';
export {
  type OverlapLimits,
  overlapLimitsOf,
} from './rotation/overlap.js';
export {
  type IgnoredPending,
  planResume,
  publishKey,
  type RemovedKeys,
  type ResumePlan,
  readStoredKey,
  removeExpiredKeys,
  retireOldKeys,
  type SecretAccess,
  stageKey,
  switchSigners,
} from './rotation/steps.js';
export {
  buildChangeBatch,
  type KeyChanges,
  mergeKeys,
  readTxtRecordSet,
  submitChange,
  type TxtRecordSet,
} from './route53-rrset.js';
export {
  CURRENT_STAGE,
  type CurrentSigningKey,
  clearPendingStage,
  describeSecretVersions,
  FINGERPRINT_PATTERN,
  isNotFound,
  makeVersionCurrent,
  PENDING_STAGE,
  type PendingLookup,
  type PendingSigningKey,
  pendingMark,
  readCurrentSigningKey,
  readPendingSigningKey,
  readPublishedKey,
  readSigningKey,
  SECRET_TAG,
  type SecretVersions,
  type StagedSigningKey,
  signingKeySecretName,
  storeSigningKey,
  versionWithStage,
} from './secret-store.js';
export { formatTxtValue, parseTxtValue, quoteTxtStrings } from './txt-presentation.js';
