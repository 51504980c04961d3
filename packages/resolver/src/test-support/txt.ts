/** Largest character-string in a TXT RR (RFC 1035 §3.3: one length byte). */
export const MAX_TXT_STRING_BYTES = 255;

/**
 * Splits `text` into character-strings of at most 255 UTF-8 bytes, never inside a character, so
 * that each string also decodes on its own. dns-packet would encode a longer string into a
 * corrupt packet without complaint, so every producer of TXT data splits first.
 */
export const splitTxt = (text: string): string[] => {
  const strings: string[] = [];
  let current = '';
  let currentBytes = 0;
  for (const character of text) {
    const bytes = Buffer.byteLength(character);
    if (currentBytes + bytes > MAX_TXT_STRING_BYTES) {
      strings.push(current);
      current = '';
      currentBytes = 0;
    }
    current += character;
    currentBytes += bytes;
  }
  strings.push(current);
  return strings;
};

/**
 * Character-strings of one TXT RR as Buffers for dns-packet.
 * @throws {RangeError} when an explicit string is longer than 255 bytes.
 */
export const txtStrings = (data: string | readonly string[]): Buffer[] => {
  const strings = typeof data === 'string' ? splitTxt(data) : data;
  return strings.map((text) => {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > MAX_TXT_STRING_BYTES) {
      throw new RangeError(`TXT character-string of ${bytes.length} bytes exceeds ${MAX_TXT_STRING_BYTES}`);
    }
    return bytes;
  });
};
