import { identityResolve } from './identity-resolve.js';

export {
  DNS_SERVERS_VARIABLE,
  type IdentityResolveContext,
  type IdentityResolveMiddleware,
  type IdentityResolveOptions,
  identityResolve,
  type RecordSource,
  type ResolvedIdentity,
} from './identity-resolve.js';
export { defaultGetProof, type GetProof } from './proof-source.js';
export default identityResolve;
