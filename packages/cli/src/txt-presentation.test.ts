import { formatRecord, MAX_TXT_STRING_BYTES, parseRecord } from '@nhi-dns/core';
import fc from 'fast-check';
import { generateSigningKey } from './keys.js';
import { formatTxtValue, parseTxtValue, quoteTxtStrings } from './txt-presentation.js';

const NAME = 'billing.prod.auth.example.com';

describe('quoteTxtStrings', () => {
  it('escapes double quotes and backslashes with a backslash', () => {
    expect(quoteTxtStrings(['say "hi"', 'back\\slash'])).toBe('"say \\"hi\\"" "back\\\\slash"');
  });

  it('writes bytes outside printable ASCII as three octal digits', () => {
    expect(quoteTxtStrings([Buffer.from([0x09, 0x7f, 0xc3, 0xa9])])).toBe('"\\011\\177\\303\\251"');
  });
});

describe('parseTxtValue', () => {
  it('reads quoted strings with escapes back into bytes', () => {
    const strings = parseTxtValue('"say \\"hi\\"" "back\\\\slash" "\\303\\251"');
    expect(strings?.map((part) => part.toString('utf8'))).toEqual(['say "hi"', 'back\\slash', 'é']);
  });

  it('reads bare words', () => {
    expect(parseTxtValue('abc def')?.map(String)).toEqual(['abc', 'def']);
  });

  it.each([
    ['an unterminated quote', '"abc'],
    ['a dangling backslash', '"abc\\'],
    ['a non-octal escape', '"\\189"'],
    ['an escape above 255', '"\\777"'],
    ['a quote inside a bare word', 'ab"c"'],
    ['nothing', '  '],
  ])('returns undefined for %s', (_, value) => {
    expect(parseTxtValue(value)).toBeUndefined();
  });

  it('round-trips any byte strings through quoteTxtStrings', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 5 }), (parts) => {
        const parsed = parseTxtValue(quoteTxtStrings(parts));
        expect(parsed?.map((part) => Buffer.from(part).toString('hex'))).toEqual(
          parts.map((part) => Buffer.from(part).toString('hex')),
        );
      }),
    );
  });
});

describe('formatTxtValue', () => {
  it('splits a long P-256 record into 255-byte strings that parse back through the core codec', async () => {
    const key = await generateSigningKey('p256', 'k1');
    const text = formatRecord({
      service: 'billing',
      environment: 'prod',
      kid: 'k1',
      keyType: 'p256',
      publicKey: key.publicKey,
      attributes: {
        tier: 'pci',
        team: 'payments-platform',
        owner: 'platform-identity-team@example.com',
        region: 'eu-west-1',
      },
    });
    expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_TXT_STRING_BYTES);
    const value = formatTxtValue(text);
    const strings = parseTxtValue(value);
    expect(strings?.length).toBeGreaterThan(1);
    for (const part of strings ?? []) expect(part.length).toBeLessThanOrEqual(MAX_TXT_STRING_BYTES);
    expect(parseRecord(strings ?? [], NAME)).toMatchObject({
      status: 'valid',
      record: { kid: 'k1', keyType: 'p256', publicKey: key.publicKey, attributes: { tier: 'pci' } },
    });
  });

  it('rejects a value longer than Route 53 allows', () => {
    expect(() => formatTxtValue('a'.repeat(4000))).toThrow(
      expect.objectContaining({ reason: 'txt_too_long' }),
    );
  });
});
