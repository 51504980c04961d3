import { identityVerify } from './identity-verify.js';

export {
  type IdentityVerifyContext,
  type IdentityVerifyMiddleware,
  type IdentityVerifyOptions,
  identityVerify,
  type VerifiedIdentity,
} from './identity-verify.js';
export type { SelfExpectation } from './self-check.js';
export default identityVerify;
