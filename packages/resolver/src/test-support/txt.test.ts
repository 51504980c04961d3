import fc from 'fast-check';
import { splitTxt, txtStrings } from './txt.js';

describe('splitTxt', () => {
  it('splits into ≤ 255-byte strings on character boundaries that join back to the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 1200 }), (text) => {
        const parts = splitTxt(text);
        expect(parts.join('')).toBe(text);
        for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(255);
      }),
    );
    expect(splitTxt('a'.repeat(600)).map((s) => s.length)).toEqual([255, 255, 90]);
    expect(splitTxt('')).toEqual(['']);
  });

  it('refuses an explicit string over 255 bytes instead of producing a corrupt packet', () => {
    expect(() => txtStrings(['a'.repeat(256)])).toThrow(RangeError);
    expect(txtStrings(['ab', 'c']).map((b) => b.toString())).toEqual(['ab', 'c']);
  });
});
