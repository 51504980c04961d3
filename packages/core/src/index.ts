export { bodyHash } from './body-hash.js';
export {
  type CarriedWorkloadPair,
  carriedWorkloadPair,
  PROOF_AUTH_SCHEME,
  PROOF_PAYLOAD_FIELD,
  proofHeaders,
  type SignedEnvelope,
  WIT_PAYLOAD_FIELD,
  withProofHeader,
  withProofPayload,
  withSignedPayload,
} from './caller.js';
export {
  type AlbMutualTlsMode,
  type ClientCertOptions,
  certThumbprint,
  clientCertOf,
  clientCertPem,
  MAX_CLIENT_CERT_PEM_BYTES,
  type PresentedClientCert,
} from './client-cert.js';
export { lambdaDeadline } from './deadline.js';
export {
  cleanupBeforeEarlyReturn,
  DEFAULT_RETRY_AFTER_SECONDS,
  type DenialDetails,
  deny,
  rethrowDenial,
} from './denial.js';
export {
  DENIAL_REASONS,
  type DenialReason,
  isDenialReason,
  NhiError,
  type NhiErrorOptions,
} from './errors.js';
export {
  type DenialResponse,
  denialResponse,
  type HttpEventKind,
  headerValues,
  httpBody,
  httpEventKind,
  httpMethod,
  httpUrl,
  parseOrigin,
  SIGNED_PAYLOAD_FIELD,
  signedBody,
} from './http-event.js';
export { IdentityError, type IdentityErrorCause, statusForReason } from './identity-error.js';
export type { Jwk } from './jwk.js';
export { type ImportedRecordKeys, importRecordKeys, type VerificationKey } from './keys.js';
export {
  joseSignatureOfKms,
  KMS_ADMIN_ACTIONS,
  KMS_IDENTITY_TAG,
  KMS_KEY_SPECS,
  KMS_SIGNER_ACTIONS,
  type KmsKeyPolicyPrincipals,
  keyTypeOfKmsKeySpec,
  kidOfKmsKey,
  kmsAliasName,
  kmsKeyPolicy,
} from './kms-key.js';
export {
  canonicalName,
  formatIdentityName,
  type IdentityName,
  isIdentityLabel,
  parseIdentityName,
  parseZone,
  splitIdentityLabels,
  tryParseIdentityName,
} from './names.js';
export {
  ED25519_BACKEND_ENV,
  type Ed25519Backend,
  type Ed25519BackendChoice,
  ed25519Backend,
  selectEd25519Backend,
} from './native-ed25519.js';
export {
  attachLambdaContext,
  count,
  countWithDimension,
  defaultServiceName,
  flushOwnedMetrics,
  LOG_FIELD,
  METRIC,
  METRICS_NAMESPACE,
  type NhiLogger,
  type NhiMetrics,
  type Observability,
  recordLatency,
  resolveObservability,
} from './observability.js';
export {
  aBoolean,
  aFunction,
  aNumber,
  anObject,
  anything,
  aString,
  aStringList,
  either,
  type OptionRule,
  type OptionRules,
  oneOf,
  required,
  validateOptions,
} from './options.js';
export { compileAllowList, type IdentityMatcher } from './patterns.js';
export {
  type DecodedProof,
  MAX_PROOF_BYTES,
  PROOF_TYPE,
  type ProofAlgorithm,
  type ProofClaims,
  ProofError,
  type ProofHeader,
} from './proof.js';
export { decodeProof, decodeWorkloadProof } from './proof-decode.js';
export {
  DEFAULT_PROOF_LIFETIME,
  type ProofRequest,
  type SignProofOptions,
  signProof,
} from './proof-sign.js';
export { ProofSigner, type ProofSignerOptions } from './proof-signer.js';
export {
  ACCEPTED_ALGORITHMS,
  ALGORITHM_BY_KEY_TYPE,
  DEFAULT_CLOCK_SKEW,
  DEFAULT_MAX_LIFETIME,
  hasDotSegment,
  MAX_JTI_LENGTH,
  MIN_JTI_LENGTH,
  type VerifyProofOptions,
  verifyProof,
} from './proof-verify.js';
export {
  CERT_THUMBPRINT_PATTERN,
  CERT_THUMBPRINT_TAG,
  formatRecord,
  type IdentityRecord,
  type IdentityRecordInput,
  type IdentityRecordSet,
  KEY_CUSTODIES,
  KEY_CUSTODY_TAG,
  type KeyCustody,
  type KeyType,
  KID_PATTERN,
  MAX_RECORD_BYTES,
  MAX_TXT_STRING_BYTES,
  parseRecord,
  parseRecordSet,
  RECORD_VERSION,
  type RecordParseResult,
  type RecordProblem,
  type RecordProblemCode,
  splitTxtStrings,
} from './record.js';
export { type ClaimOptions, DEFAULT_REPLAY_GRACE, type ReplayStore } from './replay.js';
export {
  DEFAULT_REPLAY_MAX_ENTRIES,
  MemoryReplayStore,
  type MemoryReplayStoreOptions,
} from './replay-memory.js';
export {
  type RotationRoleResources,
  rotationRoleStatements,
  SECRET_ROTATION_ACTIONS,
} from './rotation-grants.js';
export { grantReachesSigningKeys, type SigningKeyOwner, signingKeyReach } from './signing-key-grants.js';
export {
  assembleWit,
  DEFAULT_WIT_LIFETIME,
  ecdsaDerToJose,
  identityNameOfWorkloadUri,
  MAX_WIT_LIFETIME,
  type MintWorkloadIdentityOptions,
  mintWorkloadIdentity,
  tokenHash,
  type VerifiedWorkloadIdentity,
  type VerifyWorkloadIdentityOptions,
  type VerifyWorkloadProofOptions,
  verifyWorkloadIdentity,
  verifyWorkloadProof,
  WIT_TYPE,
  type WitRequest,
  WORKLOAD_IDENTITY_TOKEN_HEADER,
  WORKLOAD_PROOF_TOKEN_HEADER,
  WorkloadProofSigner,
  type WorkloadProofSignerOptions,
  WPT_TYPE,
  witSigningInput,
  workloadUri,
} from './workload-token.js';
