import { identitySign } from './middleware.js';

export { type AudienceMap, describeTarget, type SigningTarget } from './audiences.js';
export { SIGN_MIDDLEWARE_NAME } from './aws-sdk.js';
export {
  type CredentialHeaders,
  credentialHeaders,
  PROOF_MESSAGE_ATTRIBUTE,
  type SignedCredential,
  WIT_MESSAGE_ATTRIBUTE,
  WIT_PAYLOAD_FIELD,
} from './credential.js';
export { SIGNING_ERROR_REASONS, SigningError, type SigningErrorReason } from './errors.js';
export type { SignedFetch, SignedRequestInit } from './fetch.js';
export { defaultSigningKeySecret, type SigningKeyJwk, type SigningKeySource } from './key-loader.js';
export type { KmsSigningKey } from './kms-key.js';
export { type IdentitySignContext, type IdentitySignMiddleware, identitySign } from './middleware.js';
export {
  createSigner,
  DEFAULT_KEY_MAX_AGE,
  IdentitySigner,
  type IdentitySignOptions,
  KMS_KEY_ENVIRONMENT_VARIABLE,
  SELF_ENVIRONMENT_VARIABLE,
  type SignRequest,
} from './signer.js';

/** The middleware factory, Middy style: `import identitySign from '@nhi-dns/identity-sign'`. */
export default identitySign;
