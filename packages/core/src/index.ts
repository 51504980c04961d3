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
} from './http-event.js';
export { IdentityError, type IdentityErrorCause, statusForReason } from './identity-error.js';
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
  count,
  countWithDimension,
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
  formatRecord,
  type IdentityRecord,
  type IdentityRecordInput,
  type IdentityRecordSet,
  type KeyType,
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
export { DEFAULT_RETRY_AFTER_SECONDS, type DenialDetails, deny } from './denial.js';
