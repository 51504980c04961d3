import { NhiError, splitTxtStrings } from '@nhi-dns/core';

/** Route 53 rejects a TXT value longer than this many characters (all its strings, quoted). */
export const MAX_ROUTE53_TXT_VALUE_CHARS = 4000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const TILDE = 0x7e;

/** Escapes the bytes of one character-string for presentation inside double quotes. */
const escapeString = (bytes: Uint8Array): string => {
  let out = '';
  for (const byte of bytes) {
    if (byte === QUOTE || byte === BACKSLASH) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= SPACE && byte <= TILDE) out += String.fromCharCode(byte);
    // Route 53 writes other bytes as a backslash and three octal digits.
    else out += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return out;
};

/**
 * Formats TXT character-strings as one Route 53 `ResourceRecord.Value`: each string in double
 * quotes, `"` and `\` escaped with a backslash, bytes outside printable ASCII as `\ooo` (octal,
 * Route 53's convention), strings separated by one space.
 */
export const quoteTxtStrings = (strings: readonly (string | Uint8Array)[]): string =>
  strings
    .map((part) => `"${escapeString(typeof part === 'string' ? Buffer.from(part, 'utf8') : part)}"`)
    .join(' ');

/**
 * Formats a TXT RR's text as a Route 53 value: split into strings of at most 255 bytes (never
 * inside a UTF-8 sequence), then quoted by {@link quoteTxtStrings}.
 *
 * @throws {NhiError} `txt_too_long` when the value exceeds Route 53's 4 000 characters.
 */
export const formatTxtValue = (text: string): string => {
  const value = quoteTxtStrings(splitTxtStrings(text));
  if (value.length > MAX_ROUTE53_TXT_VALUE_CHARS) {
    throw new NhiError('txt_too_long', `TXT value is ${value.length} characters, Route 53 allows 4000`);
  }
  return value;
};

const isOctalDigit = (char: string | undefined): boolean => char !== undefined && char >= '0' && char <= '7';

/**
 * Parses a Route 53 TXT value (presentation form) back into its character-strings as bytes.
 * Accepts quoted strings (`"a\"b" "c"`) and bare words; understands `\"`, `\\`, `\<char>` and
 * `\ooo`. Returns `undefined` for text that is not a well-formed value (an unterminated quote,
 * a bad escape): callers keep such foreign values untouched rather than fail on them.
 */
export const parseTxtValue = (value: string): Buffer[] | undefined => {
  const strings: Buffer[] = [];
  let index = 0;
  const length = value.length;
  while (index < length) {
    const char = value[index];
    if (char === ' ' || char === '\t') {
      index += 1;
      continue;
    }
    const quoted = char === '"';
    if (quoted) index += 1;
    const bytes: number[] = [];
    let closed = !quoted;
    while (index < length) {
      const current = value[index] as string;
      if (quoted && current === '"') {
        closed = true;
        index += 1;
        break;
      }
      if (!quoted && (current === ' ' || current === '\t')) break;
      if (!quoted && current === '"') return undefined;
      if (current === '\\') {
        const next = value[index + 1];
        if (next === undefined) return undefined;
        if (next >= '0' && next <= '9') {
          const digits = value.slice(index + 1, index + 4);
          if (digits.length !== 3 || ![...digits].every(isOctalDigit)) return undefined;
          const byte = Number.parseInt(digits, 8);
          if (byte > 0xff) return undefined;
          bytes.push(byte);
          index += 4;
        } else {
          bytes.push(...Buffer.from(next, 'utf8'));
          index += 2;
        }
        continue;
      }
      bytes.push(...Buffer.from(current, 'utf8'));
      index += 1;
    }
    if (!closed) return undefined;
    strings.push(Buffer.from(bytes));
  }
  return strings.length === 0 ? undefined : strings;
};
