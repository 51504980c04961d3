import { NhiError, splitTxtStrings } from '@nhi-dns/core';

/** Route 53 rejects a TXT value longer than this many characters (all its strings, quoted). */
export const MAX_ROUTE53_TXT_VALUE_CHARS = 4000;

/**
 * One TXT RR as a Route 53 `ResourceRecords` value: the text split into character-strings of at
 * most 255 bytes (core's `splitTxtStrings`, never inside a UTF-8 sequence), each in double
 * quotes with `"` and `\` escaped, bytes outside printable ASCII as `\ooo`, strings separated by
 * one space. The same presentation as the CLI's `formatTxtValue`, so a record the stack writes
 * reads back identically with `nhi-dns check`.
 *
 * @throws {NhiError} `txt_too_long` when the value exceeds Route 53's 4 000 characters.
 */
export const route53TxtValue = (text: string): string => {
  const value = splitTxtStrings(text)
    .map((part) => {
      let out = '';
      for (const byte of Buffer.from(part, 'utf8')) {
        if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
        else if (byte >= 0x20 && byte <= 0x7e) out += String.fromCharCode(byte);
        else out += `\\${byte.toString(8).padStart(3, '0')}`;
      }
      return `"${out}"`;
    })
    .join(' ');
  if (value.length > MAX_ROUTE53_TXT_VALUE_CHARS) {
    throw new NhiError('txt_too_long', `TXT value is ${value.length} characters, Route 53 allows 4000`);
  }
  return value;
};
