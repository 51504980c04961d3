/** The base64url alphabet (RFC 4648 §5), indexed by 6-bit value. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BASE64URL_CHARS = /^[A-Za-z0-9_-]*$/;

/**
 * True when `text` is canonical unpadded base64url: only alphabet characters, no `=`, no
 * whitespace, a length that can encode whole bytes, and zero unused bits in the last
 * character. `Buffer.from(text, 'base64url')` silently skips anything else, so every
 * decoder of untrusted input checks this first: one byte string, one encoding.
 */
export const isCanonicalBase64url = (text: string): boolean => {
  if (!BASE64URL_CHARS.test(text)) return false;
  const tail = text.length % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  const last = ALPHABET.indexOf(text.charAt(text.length - 1));
  // Two trailing chars carry 8 bits (4 unused), three carry 16 bits (2 unused).
  const unusedBits = tail === 2 ? 0b1111 : 0b11;
  return (last & unusedBits) === 0;
};

/**
 * Decodes canonical base64url, or returns `undefined` when `text` is not canonical
 * (see {@link isCanonicalBase64url}). Never throws.
 */
export const decodeBase64url = (text: string): Buffer | undefined =>
  isCanonicalBase64url(text) ? Buffer.from(text, 'base64url') : undefined;
