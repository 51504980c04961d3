export {
  DEFAULT_RECORD_TTL_SECONDS,
  NhiIdentity,
  type NhiIdentityBaseProps,
  type NhiIdentityCliRecordProps,
  type NhiIdentityProps,
  type NhiIdentityStackRecordProps,
  type NhiPublicKey,
  SECRET_READ_ACTIONS,
} from './identity.js';
export { checkServiceName, NhiServiceMetrics } from './metrics.js';
export {
  type NhiAlarmOptions,
  NhiProtection,
  type NhiProtectionProps,
  type NhiProtectOptions,
  nhiProtect,
  PROTECTION_ID,
} from './protect.js';
export { SIGNING_KEY_GRANT_WARNING } from './signing-key-guard.js';
export { MAX_ROUTE53_TXT_VALUE_CHARS, route53TxtValue } from './txt-value.js';
