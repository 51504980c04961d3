import fc from 'fast-check';
import { ExpiringLruCache } from './cache.js';

const entry = (value: string, expiresAt: number, staleUntil = expiresAt) => ({
  value,
  expiresAt,
  staleUntil,
});

describe('ExpiringLruCache', () => {
  it('serves fresh and stale entries by the clock given at lookup, then drops them', () => {
    const cache = new ExpiringLruCache<string>(10);
    cache.set('k', entry('v', 1000, 2000));
    expect(cache.get('k', 999)?.value).toBe('v');
    expect(cache.get('k', 1500)?.value).toBe('v'); // stale window: still returned, caller decides
    expect(cache.get('k', 2000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used, where a fresh hit counts as a use', () => {
    const cache = new ExpiringLruCache<string>(2);
    cache.set('a', entry('a', 100));
    cache.set('b', entry('b', 100));
    cache.get('a', 0);
    cache.set('c', entry('c', 100));
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)?.value).toBe('a');
    expect(cache.get('c', 0)?.value).toBe('c');
    cache.delete('a');
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('never holds more than maxEntries', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 50 })), { maxLength: 300 }),
        (max, operations) => {
          const cache = new ExpiringLruCache<number>(max);
          for (const [write, key] of operations) {
            if (write) cache.set(String(key), entry(String(key), 10) as never);
            else cache.get(String(key), 0);
            expect(cache.size).toBeLessThanOrEqual(max);
          }
        },
      ),
    );
  });
});
