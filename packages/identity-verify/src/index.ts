import { identityVerify } from './identity-verify.js';

export {
  type CallerCredential,
  type IdentityVerifyContext,
  type IdentityVerifyMiddleware,
  type IdentityVerifyOptions,
  identityVerify,
  ORIGIN_VARIABLE,
  type VerifiedIdentity,
} from './identity-verify.js';
export type { RecordSourceKind } from './record-sources.js';
export {
  DEFAULT_MAX_MESSAGE_AGE,
  type IdentityVerifyRecordsContext,
  type IdentityVerifyRecordsMiddleware,
  type IdentityVerifyRecordsOptions,
  identityVerifyRecords,
  type VerifiedRecord,
} from './records.js';
export type { SelfExpectation } from './self-check.js';
export {
  DEFAULT_WIT_CACHE_ENTRIES,
  WorkloadIdentityCache,
  type WorkloadIdentityCacheOptions,
  type WorkloadIdentityCacheStats,
} from './workload-identity-cache.js';
export default identityVerify;
