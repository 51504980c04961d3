export { MAX_CNAME_HOPS } from './answer.js';
export { IANA_ROOT_ANCHORS } from './dnssec/trust-anchor.js';
export type { DnssecStatus } from './dnssec/validator.js';
export { DnsError, type DnsErrorDetails, type DnsErrorReason, isDnsError } from './errors.js';
export { EDNS_UDP_PAYLOAD_SIZE } from './message.js';
export { DEFAULTS as RESOLVER_DEFAULTS } from './options.js';
export { QUERY_TYPES } from './query-name.js';
export { parseResolvConf, type ResolvConf } from './resolv-conf.js';
export { createResolver, failureOutcome } from './resolver.js';
export type {
  AnswerOutcome,
  DnsRecord,
  DnsResult,
  LookupEvent,
  LookupListener,
  LookupOutcome,
  LookupResultBase,
  ResolveOptions,
  Resolver,
  ResolverOptions,
  ResolverStats,
  ServerAddress,
  TxtResolveOptions,
  TxtResult,
} from './types.js';
