import { identityResolve } from './identity-resolve.js';

export {
  DNS_0X20_VARIABLE,
  DNS_SERVERS_VARIABLE,
  IdentityDirectory,
  type IdentityDirectoryOptions,
  resolverFrom,
} from './directory.js';
export {
  type IdentityResolveContext,
  type IdentityResolveMiddleware,
  type IdentityResolveOptions,
  identityResolve,
  type RecordSource,
  type ResolvedIdentity,
} from './identity-resolve.js';
export { defaultGetProof, type GetProof } from './proof-source.js';
export default identityResolve;
