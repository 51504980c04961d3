export {
  DEFAULT_RECORD_TTL_SECONDS,
  KMS_KEY_ENVIRONMENT_VARIABLE,
  NhiIdentity,
  type NhiIdentityBaseProps,
  type NhiIdentityCliRecordProps,
  type NhiIdentityProps,
  type NhiIdentityStackRecordProps,
  type NhiPublicKey,
  type NhiSigningKeyCustody,
  SECRET_READ_ACTIONS,
} from './identity.js';
export {
  KMS_ADMIN_ACTIONS,
  KMS_IDENTITY_TAG,
  KMS_SIGN_ACTIONS,
  NhiKmsSigningKey,
  type NhiKmsSigningKeyProps,
} from './kms-signing-key.js';
export { checkServiceName, NhiServiceMetrics } from './metrics.js';
export {
  type NhiAlarmOptions,
  NhiProtection,
  type NhiProtectionProps,
  type NhiProtectOptions,
  nhiProtect,
  PROTECTION_ID,
} from './protect.js';
export {
  DEFAULT_KEY_AGE_MARGIN,
  KMS_ROTATION_HANDLER,
  NhiRotation,
  type NhiRotationOptions,
  type NhiRotationProps,
  ROTATION_TIMEOUT,
  SECRET_ROTATION_ACTIONS,
  SECRET_ROTATION_HANDLER,
} from './rotation.js';
export { SIGNING_KEY_GRANT_WARNING } from './signing-key-guard.js';
export { MAX_ROUTE53_TXT_VALUE_CHARS, route53TxtValue } from './txt-value.js';
