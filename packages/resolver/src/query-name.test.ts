import { foldCase } from './query-name.js';

describe('foldCase', () => {
  it('lower-cases ASCII letters only, as DNS compares names (RFC 4343)', () => {
    expect(foldCase('BiLLing.PROD.auth.Example.COM')).toBe('billing.prod.auth.example.com');
    expect(foldCase('0-1.2-3')).toBe('0-1.2-3');
    // Outside ASCII nothing is folded: not the dotted capital I, not the Kelvin sign.
    expect(foldCase('\u0130X.\u212aY')).toBe('\u0130x.\u212ay');
    expect('\u0130X.\u212aY'.toLowerCase()).not.toBe('\u0130x.\u212ay');
  });
});
