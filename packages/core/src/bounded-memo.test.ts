import { rememberBounded } from './bounded-memo.js';

describe('rememberBounded', () => {
  it('keeps at most maxEntries, forgetting the oldest first, and replaces a key in place', () => {
    const memo = new Map<string, number>();
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) rememberBounded(memo, key, i, 3);
    expect([...memo]).toEqual([
      ['b', 1],
      ['c', 2],
      ['d', 3],
    ]);
    rememberBounded(memo, 'c', 9, 3);
    expect([...memo.keys()]).toEqual(['b', 'c', 'd']);
    expect(memo.get('c')).toBe(9);
  });
});
