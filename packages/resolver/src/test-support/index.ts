export {
  type ReceivedQuery,
  startTestDnsServer,
  type TestDnsBehaviour,
  type TestDnsServer,
  type TestDnsServerOptions,
  type TestRecord,
} from './dns-server.js';
export { forcedGc } from './gc.js';
export { createTableResolver, type TableAnswer, type TableResolverOptions } from './table-resolver.js';
export { MAX_TXT_STRING_BYTES, splitTxt, txtStrings } from './txt.js';
