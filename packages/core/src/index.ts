export {
  DENIAL_REASONS,
  type DenialReason,
  isDenialReason,
  NhiError,
  type NhiErrorOptions,
} from './errors.js';
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
