import { NhiError } from './errors.js';
import { splitIdentityLabels } from './names.js';

/** Version tag of the record format. */
export const RECORD_VERSION = 'NHI1';
/** An RR whose concatenated strings exceed this many bytes is invalid (DESIGN §2). */
export const MAX_RECORD_BYTES = 4096;
/** Longest character-string in a TXT RR (RFC 1035 §3.3). */
export const MAX_TXT_STRING_BYTES = 255;

/** Key types a record may publish (`k=`). */
export type KeyType = 'ed25519' | 'p256';

/** Why one RR of an identity RRset was rejected. */
export type RecordProblemCode =
  | 'too_long'
  | 'malformed'
  | 'v_not_first'
  | 'duplicate_tag'
  | 'missing_tag'
  | 'name_mismatch'
  | 'bad_kid'
  | 'bad_key_type'
  | 'bad_key'
  | 'bad_exp'
  | 'bad_attribute'
  | 'bad_cert'
  | 'duplicate_kid';

/** The fields of one NHI1 RR: one key of a workload. */
export interface IdentityRecord {
  /** `svc=`: the service label. */
  readonly service: string;
  /** `env=`: the environment label. */
  readonly environment: string;
  /** `kid=`: key id, unique within the RRset. */
  readonly kid: string;
  /** `k=`: key type; `ed25519` when absent. */
  readonly keyType: KeyType;
  /** `p=`: public key, base64 without whitespace; empty string means revoked. */
  readonly publicKey: string;
  /** `exp=`: not-after in Unix seconds, if any. */
  readonly expiresAt?: number;
  /**
   * `x5t-s256=`: the client certificate this key's holder presents over mutual TLS, pinned as
   * RFC 8705's `x5t#S256` (base64url SHA-256 of the certificate's DER, 43 characters), if any.
   * Per key, so a key and its certificate rotate together (DESIGN §2).
   */
  readonly certThumbprint?: string;
  /**
   * `kc=`: where the private half lives. `kms` says it was made in AWS KMS and cannot be exported
   * (DESIGN §2, key custody); absent (or a value this version does not know) says nothing, and a
   * policy that wants KMS-held keys treats such a key as exportable.
   */
  readonly keyCustody?: KeyCustody;
  /** `x-NAME=` attributes, by NAME. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Result of parsing one TXT RR. Parsing never throws. */
export type RecordParseResult =
  | { readonly status: 'valid'; readonly record: IdentityRecord }
  /** Not an NHI1 RR (other TXT data at the name, or another version): not an error. */
  | { readonly status: 'ignored' }
  | { readonly status: 'invalid'; readonly problem: RecordProblemCode; readonly detail: string };

/** A rejected RR of an RRset, for logs (never contains key material). */
export interface RecordProblem {
  /** Position of the RR in the RRset as received. */
  readonly index: number;
  /** Key id when it could be read. */
  readonly kid?: string;
  readonly problem: RecordProblemCode;
  readonly detail: string;
}

/** The usable content of an identity RRset. */
export interface IdentityRecordSet {
  /** Valid keys (revoked and expired ones included: the verifier reports them by `kid`). */
  readonly keys: readonly IdentityRecord[];
  /** Attributes on which every valid RR agrees (a conflict drops the attribute). */
  readonly attributes: Readonly<Record<string, string>>;
  /** RRs that were rejected, with the reason. */
  readonly problems: readonly RecordProblem[];
}

/** A key id (`kid=`): 1..64 characters of `[A-Za-z0-9._-]` (DESIGN §2). */
export const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const TAG_NAME = /^[a-z][a-z0-9_-]*$/;
const ATTRIBUTE_NAME = /^[a-z0-9-]{1,63}$/;
const LABEL = /^[a-z0-9-]{1,63}$/;
/** A tag value: printable ASCII but `;`, with single spaces inside (DKIM's tag-value, simplified). */
const TAG_VALUE = /^(?:[\x21-\x3a\x3c-\x7e]+(?:[ \t]+[\x21-\x3a\x3c-\x7e]+)*)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const EXP = /^[0-9]{1,15}$/;
/** Tag of the pinned client certificate (DESIGN §2); `#` of RFC 8705's `x5t#S256` is not a tag character. */
export const CERT_THUMBPRINT_TAG = 'x5t-s256';
/** Tag of a key's custody (DESIGN §2): `kc=kms` for a key that never leaves AWS KMS. */
export const KEY_CUSTODY_TAG = 'kc';
/** The custodies a record can state (`kc=`); more may come, and unknown ones state nothing. */
export const KEY_CUSTODIES = ['kms'] as const;
/** One of {@link KEY_CUSTODIES}. */
export type KeyCustody = (typeof KEY_CUSTODIES)[number];
const isKeyCustody = (value: string | undefined): value is KeyCustody =>
  (KEY_CUSTODIES as readonly string[]).includes(value ?? '');
/** An `x5t#S256` value: unpadded base64url of 32 bytes (RFC 8705 §3.1). */
export const CERT_THUMBPRINT_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const STARTS_WITH_V = /^[ \t]*v[ \t]*=/;
const HAS_NHI1 = /(?:^|;)[ \t]*v[ \t]*=[ \t]*NHI1[ \t]*(?:;|$)/;
/** DER prefix of an uncompressed P-256 SubjectPublicKeyInfo (RFC 5480), followed by 64 bytes. */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const P256_SPKI_LENGTH = 91;
const ED25519_KEY_LENGTH = 32;

const invalid = (problem: RecordProblemCode, detail: string): RecordParseResult => ({
  status: 'invalid',
  problem,
  detail,
});

/** Concatenates an RR's character-strings (DESIGN §2: nothing between them) into bytes. */
const concatStrings = (strings: string | readonly (string | Uint8Array)[]): Buffer => {
  if (typeof strings === 'string') return Buffer.from(strings, 'utf8');
  return Buffer.concat(strings.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part)));
};

/** Splits a tag-list into [name, value] pairs; `undefined` when it is not a tag-list. */
const splitTagList = (text: string): Array<[string, string]> | undefined => {
  const segments = text.split(';');
  // A single trailing `;` is allowed, as in DKIM.
  if (segments.length > 1 && segments[segments.length - 1]?.trim() === '') segments.pop();
  const tags: Array<[string, string]> = [];
  for (const segment of segments) {
    const eq = segment.indexOf('=');
    if (eq < 0) return undefined;
    const name = segment.slice(0, eq).trim();
    const value = segment.slice(eq + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!TAG_NAME.test(name) || !TAG_VALUE.test(value)) return undefined;
    tags.push([name, value]);
  }
  return tags;
};

const checkPublicKey = (keyType: KeyType, publicKey: string): string | undefined => {
  if (publicKey === '') return undefined;
  if (!BASE64.test(publicKey)) return 'p= is not base64';
  const bytes = Buffer.from(publicKey, 'base64');
  if (keyType === 'ed25519') {
    return bytes.length === ED25519_KEY_LENGTH ? undefined : 'ed25519 key must be 32 raw bytes';
  }
  const wellFormed =
    bytes.length === P256_SPKI_LENGTH && bytes.subarray(0, P256_SPKI_PREFIX.length).equals(P256_SPKI_PREFIX);
  return wellFormed ? undefined : 'p256 key must be an uncompressed SPKI DER';
};

/**
 * Parses one TXT RR of the identity RRset at `name` (DESIGN §2). The RR is given as its
 * character-strings (as `dns-packet` decodes them, or as text), which are concatenated.
 * Never throws: the result says whether the RR is valid, ignored or invalid, and why.
 * Tags: `v` (first), `svc`, `env`, `kid`, `k`, `p`, `exp`, `x5t-s256` (the pinned mTLS client
 * certificate of this key, {@link IdentityRecord.certThumbprint}; malformed = `bad_cert`), `kc`
 * ({@link IdentityRecord.keyCustody}) and `x-NAME` attributes; other tags are ignored.
 *
 * @param strings - the RR's character-strings, or the already concatenated text.
 * @param name - the owner name; `svc` and `env` must equal its first two labels.
 */
export const parseRecord = (
  strings: string | readonly (string | Uint8Array)[],
  name: string,
): RecordParseResult => {
  const bytes = concatStrings(strings);
  if (bytes.length > MAX_RECORD_BYTES) return invalid('too_long', `RR is ${bytes.length} bytes, limit 4096`);
  const text = bytes.toString('latin1');
  if (!STARTS_WITH_V.test(text)) {
    return HAS_NHI1.test(text)
      ? invalid('v_not_first', 'v=NHI1 must be the first tag')
      : { status: 'ignored' };
  }
  const tags = splitTagList(text);
  if (tags === undefined) {
    return HAS_NHI1.test(text) ? invalid('malformed', 'not a tag=value list') : { status: 'ignored' };
  }
  if (tags[0]?.[1] !== RECORD_VERSION) return { status: 'ignored' };

  const values = new Map<string, string>();
  const attributes: Record<string, string> = {};
  for (const [tag, value] of tags) {
    if (values.has(tag)) return invalid('duplicate_tag', `tag ${tag} appears twice`);
    values.set(tag, value);
    if (tag.startsWith('x-')) {
      const attribute = tag.slice(2);
      if (!ATTRIBUTE_NAME.test(attribute)) return invalid('bad_attribute', 'attribute name must be a label');
      attributes[attribute] = value;
    }
  }
  const service = values.get('svc');
  const environment = values.get('env');
  const kid = values.get('kid');
  const publicKey = values.get('p');
  if (service === undefined || environment === undefined || kid === undefined || publicKey === undefined) {
    return invalid('missing_tag', 'svc, env, kid and p are required');
  }
  const labels = splitIdentityLabels(name);
  if (labels === undefined || labels.service !== service || labels.environment !== environment) {
    return invalid('name_mismatch', 'svc and env must equal the first two labels of the name');
  }
  if (!KID_PATTERN.test(kid)) return invalid('bad_kid', 'kid must be 1..64 characters [A-Za-z0-9._-]');
  const keyTypeText = values.get('k') ?? 'ed25519';
  if (keyTypeText !== 'ed25519' && keyTypeText !== 'p256')
    return invalid('bad_key_type', 'k must be ed25519 or p256');
  const keyType: KeyType = keyTypeText;
  const compactKey = publicKey.replace(/[ \t]+/g, '');
  const keyProblem = checkPublicKey(keyType, compactKey);
  if (keyProblem !== undefined) return invalid('bad_key', keyProblem);
  const expText = values.get('exp');
  if (expText !== undefined && !EXP.test(expText)) return invalid('bad_exp', 'exp must be Unix seconds');
  // A pin that does not parse invalidates the RR (fail closed): ignoring it would drop a promise.
  const certThumbprint = values.get(CERT_THUMBPRINT_TAG);
  if (certThumbprint !== undefined && !CERT_THUMBPRINT_PATTERN.test(certThumbprint)) {
    return invalid('bad_cert', `${CERT_THUMBPRINT_TAG} must be the base64url SHA-256 of a certificate`);
  }
  // An unknown custody promises nothing we can check: the key stays usable, as one without kc=.
  const custodyText = values.get(KEY_CUSTODY_TAG);
  const keyCustody = isKeyCustody(custodyText) ? custodyText : undefined;

  // Frozen: parsed records are cached and shared by every invocation that hits the same answer.
  const record: IdentityRecord = Object.freeze({
    service,
    environment,
    kid,
    keyType,
    publicKey: compactKey,
    attributes: Object.freeze(attributes),
    ...(expText === undefined ? {} : { expiresAt: Number(expText) }),
    ...(certThumbprint === undefined ? {} : { certThumbprint }),
    ...(keyCustody === undefined ? {} : { keyCustody }),
  });
  return { status: 'valid', record };
};

/**
 * Parses every TXT RR found at an identity name into keys, agreed attributes and problems.
 * Two RRs with the same `kid` are both rejected (ambiguous). Never throws.
 *
 * @param name - the owner name of the RRset.
 * @param rrs - the RRs, each as its character-strings or as text.
 */
export const parseRecordSet = (
  name: string,
  rrs: readonly (string | readonly (string | Uint8Array)[])[],
): IdentityRecordSet => {
  const problems: RecordProblem[] = [];
  const valid: Array<{ index: number; record: IdentityRecord }> = [];
  rrs.forEach((rr, index) => {
    const result = parseRecord(rr, name);
    if (result.status === 'valid') valid.push({ index, record: result.record });
    else if (result.status === 'invalid')
      problems.push({ index, problem: result.problem, detail: result.detail });
  });

  const kidCounts = new Map<string, number>();
  for (const { record } of valid) kidCounts.set(record.kid, (kidCounts.get(record.kid) ?? 0) + 1);
  const keys: IdentityRecord[] = [];
  for (const { index, record } of valid) {
    if ((kidCounts.get(record.kid) ?? 0) > 1) {
      problems.push({ index, kid: record.kid, problem: 'duplicate_kid', detail: 'kid is published twice' });
    } else {
      keys.push(record);
    }
  }
  problems.sort((a, b) => a.index - b.index);
  return { keys, attributes: agreedAttributes(keys), problems };
};

/** Attributes present with the same value on every key; anything else is dropped (fail closed). */
const agreedAttributes = (keys: readonly IdentityRecord[]): Readonly<Record<string, string>> => {
  const [first, ...rest] = keys;
  const agreed: Record<string, string> = {};
  if (first === undefined) return Object.freeze(agreed);
  for (const [attribute, value] of Object.entries(first.attributes)) {
    if (rest.every((key) => key.attributes[attribute] === value)) agreed[attribute] = value;
  }
  return Object.freeze(agreed);
};

/** Input of {@link formatRecord}. */
export interface IdentityRecordInput {
  readonly service: string;
  readonly environment: string;
  readonly kid: string;
  /** Defaults to `ed25519`. */
  readonly keyType?: KeyType;
  /** Base64 public key; empty string publishes a revocation. */
  readonly publicKey: string;
  readonly expiresAt?: number;
  /** `x5t-s256=`: base64url SHA-256 of the DER client certificate to pin (see `certThumbprint` in core). */
  readonly certThumbprint?: string;
  /** `kc=`: where the private half lives; `kms` only for a key made in KMS (never imported). */
  readonly keyCustody?: KeyCustody;
  readonly attributes?: Readonly<Record<string, string>>;
}

/**
 * Formats one NHI1 RR as text, validating every field so that {@link parseRecord} accepts it
 * back unchanged. Split the text with {@link splitTxtStrings} before putting it on the wire.
 * Tags are written in the order `v, svc, env, kid, k, p, exp, x5t-s256, kc, x-*`.
 *
 * @throws {NhiError} `invalid_record` naming the offending field.
 */
export const formatRecord = (input: IdentityRecordInput): string => {
  const fail = (detail: string): never => {
    throw new NhiError('invalid_record', `cannot format record: ${detail}`);
  };
  const keyType = input.keyType ?? 'ed25519';
  if (!LABEL.test(input.service)) fail('svc must be a lower-case label');
  if (!LABEL.test(input.environment)) fail('env must be a lower-case label');
  if (!KID_PATTERN.test(input.kid)) fail('kid must be 1..64 characters [A-Za-z0-9._-]');
  if (keyType !== 'ed25519' && keyType !== 'p256') fail('k must be ed25519 or p256');
  const keyProblem = checkPublicKey(keyType, input.publicKey);
  if (keyProblem !== undefined) fail(keyProblem);
  const parts = [
    `v=${RECORD_VERSION}`,
    `svc=${input.service}`,
    `env=${input.environment}`,
    `kid=${input.kid}`,
    `k=${keyType}`,
    `p=${input.publicKey}`,
  ];
  if (input.expiresAt !== undefined) {
    if (!Number.isSafeInteger(input.expiresAt) || !EXP.test(String(input.expiresAt)))
      fail('exp must be Unix seconds');
    parts.push(`exp=${input.expiresAt}`);
  }
  if (input.certThumbprint !== undefined) {
    if (!CERT_THUMBPRINT_PATTERN.test(input.certThumbprint))
      fail(`${CERT_THUMBPRINT_TAG} must be the base64url SHA-256 of a certificate (43 characters)`);
    parts.push(`${CERT_THUMBPRINT_TAG}=${input.certThumbprint}`);
  }
  if (input.keyCustody !== undefined) {
    if (!isKeyCustody(input.keyCustody))
      fail(`${KEY_CUSTODY_TAG} must be one of ${KEY_CUSTODIES.join(', ')}`);
    parts.push(`${KEY_CUSTODY_TAG}=${input.keyCustody}`);
  }
  for (const [attribute, value] of Object.entries(input.attributes ?? {})) {
    if (!ATTRIBUTE_NAME.test(attribute)) fail(`attribute name ${JSON.stringify(attribute)} must be a label`);
    if (!TAG_VALUE.test(value) || value.includes('\t'))
      fail(`attribute ${attribute} has a character not allowed`);
    parts.push(`x-${attribute}=${value}`);
  }
  const text = parts.join('; ');
  if (Buffer.byteLength(text) > MAX_RECORD_BYTES) fail('record longer than 4096 bytes');
  return text;
};

/**
 * Splits TXT text into character-strings of at most 255 bytes (RFC 1035), never inside a
 * UTF-8 sequence. `dns-packet` would silently corrupt a longer string.
 */
export const splitTxtStrings = (text: string): string[] => {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0) return [''];
  const strings: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + MAX_TXT_STRING_BYTES, bytes.length);
    // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is cut.
    while (end < bytes.length && end > start && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
    strings.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return strings;
};
