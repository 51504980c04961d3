import { identityResolve } from './identity-resolve.js';

export {
  type IdentityResolveContext,
  type IdentityResolveOptions,
  identityResolve,
  type RecordSource,
  type ResolvedIdentity,
} from './identity-resolve.js';
export { defaultGetProof, type GetProof } from './proof-source.js';
export default identityResolve;
