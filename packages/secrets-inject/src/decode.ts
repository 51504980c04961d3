/**
 * How a secret value is decoded: `'auto'` parses strings that look like a JSON object or array
 * and keeps anything else (including strings that only resemble JSON) as it is; `true` requires
 * JSON; `false` never parses.
 */
export type JsonMode = 'auto' | boolean;

/** Raw value of a secret as Secrets Manager returns it. */
export type RawSecretValue = string | Uint8Array;

/** Result of {@link decodeSecretValue}: the value, or `invalid_json` (with no detail, see below). */
export type DecodeResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

const looksLikeJson = (text: string): boolean => {
  const trimmed = text.trim();
  const first = trimmed[0];
  const last = trimmed[trimmed.length - 1];
  return (first === '{' && last === '}') || (first === '[' && last === ']');
};

/** Drops `__proto__` keys so that a parsed secret can never be a prototype-pollution vector. */
const withoutProto = (key: string, value: unknown): unknown => (key === '__proto__' ? undefined : value);

/** Freezes a parsed value deeply: one cached object is shared by every invocation. */
const deepFreeze = (value: unknown): unknown => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
};

const parse = (text: string): DecodeResult => {
  try {
    return { ok: true, value: deepFreeze(JSON.parse(text, withoutProto)) };
  } catch {
    // The SyntaxError quotes part of the input, i.e. of the secret: it is dropped on purpose.
    return { ok: false };
  }
};

/**
 * Decodes a secret value according to `json`. `SecretBinary` stays a `Uint8Array` unless `json`
 * is `true` (then it is read as UTF-8 JSON). Parsed values are deeply frozen.
 */
export const decodeSecretValue = (raw: RawSecretValue, json: JsonMode): DecodeResult => {
  if (typeof raw !== 'string') {
    return json === true
      ? parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'))
      : { ok: true, value: raw };
  }
  if (json === false) return { ok: true, value: raw };
  if (json === true) return parse(raw);
  if (!looksLikeJson(raw)) return { ok: true, value: raw };
  const parsed = parse(raw);
  return parsed.ok ? parsed : { ok: true, value: raw };
};
