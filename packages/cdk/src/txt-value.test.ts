import { formatTxtValue, parseTxtValue } from '@nhi-dns/cli';
import fc from 'fast-check';
import { route53TxtValue } from './txt-value.js';

describe('route53TxtValue', () => {
  it('is the CLI formatTxtValue, byte for byte, and parses back to the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 900 }), (text) => {
        const value = route53TxtValue(text);
        expect(value).toBe(formatTxtValue(text));
        expect(Buffer.concat(parseTxtValue(value) ?? []).toString('utf8')).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('quotes every string of at most 255 bytes, escaping " and \\', () => {
    const text = `${'a'.repeat(254)}"b\\c`;
    expect(route53TxtValue(text)).toBe(`"${'a'.repeat(254)}\\"" "b\\\\c"`);
    expect(route53TxtValue('')).toBe('""');
  });

  it("refuses a value over Route 53's 4000 characters", () => {
    expect(() => route53TxtValue('"'.repeat(2100))).toThrow(/Route 53 allows 4000/);
  });
});
