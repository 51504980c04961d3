import fc from 'fast-check';
import { decodeBase64url, isCanonicalBase64url } from './base64url.js';

describe('canonical base64url', () => {
  it('accepts what Buffer encodes and decodes it back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64url');
        expect(isCanonicalBase64url(text)).toBe(true);
        expect(decodeBase64url(text)).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it('accepts only strings that are the one encoding of their bytes', () => {
    const alphabetish = fc.constantFrom(
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \n.'.split(''),
    );
    fc.assert(
      fc.property(fc.string({ unit: alphabetish, maxLength: 40 }), (text) => {
        const canonical = Buffer.from(text, 'base64url').toString('base64url') === text;
        expect(isCanonicalBase64url(text)).toBe(canonical);
        expect(decodeBase64url(text) !== undefined).toBe(canonical);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects padding, the base64 alphabet, whitespace and impossible lengths', () => {
    for (const bad of ['YQ==', 'YQ=', 'a+b/', 'YW Jj', 'YWJj\n', 'A', 'AAAAA', 'YR', 'YWL']) {
      expect(isCanonicalBase64url(bad)).toBe(false);
    }
    for (const good of ['', 'YQ', 'YWI', 'YWJj', '-_-_']) expect(isCanonicalBase64url(good)).toBe(true);
  });
});
