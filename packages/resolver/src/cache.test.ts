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

  it('evicts the least recently used until the byte budget holds too', () => {
    const cache = new ExpiringLruCache<string>(10, 100);
    cache.set('a', entry('a', 100), 40);
    cache.set('b', entry('b', 100), 40);
    cache.get('a', 0);
    expect(cache.bytes).toBe(80);
    cache.set('c', entry('c', 100), 30); // 110 > 100: b (least recently used) goes
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)?.value).toBe('a');
    expect(cache.bytes).toBe(70);
    cache.set('a', entry('a2', 100), 10); // replacing an entry replaces its size
    expect(cache.bytes).toBe(40);
    cache.delete('c');
    expect(cache.bytes).toBe(10);
    cache.set('x', entry('x', 5), 20);
    expect(cache.get('x', 5)).toBeUndefined(); // expired entries give their bytes back
    expect(cache.bytes).toBe(10);
    cache.clear();
    expect(cache.bytes).toBe(0);
  });

  it('does not store an entry larger than the byte budget, and drops the old entry of its key', () => {
    const cache = new ExpiringLruCache<string>(10, 100);
    cache.set('big', entry('small', 100), 50);
    cache.set('other', entry('other', 100), 50);
    expect(cache.set('big', entry('huge', 100), 101)).toBe(false);
    expect(cache.get('big', 0)).toBeUndefined();
    expect(cache.get('other', 0)?.value).toBe('other'); // nothing else was evicted for it
    expect(cache.bytes).toBe(50);
    expect(cache.set('exact', entry('exact', 100), 100)).toBe(true);
    expect(cache.size).toBe(1);
  });

  it('never holds more than maxBytes, nor more than maxEntries', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 200 })), {
          maxLength: 300,
        }),
        (maxEntries, maxBytes, operations) => {
          const cache = new ExpiringLruCache<string>(maxEntries, maxBytes);
          for (const [write, key, bytes] of operations) {
            if (write) {
              const stored = cache.set(String(key), entry(String(key), 10), bytes);
              expect(stored).toBe(bytes <= maxBytes);
            } else cache.get(String(key), 0);
            expect(cache.size).toBeLessThanOrEqual(maxEntries);
            expect(cache.bytes).toBeLessThanOrEqual(maxBytes);
            expect(cache.bytes).toBeGreaterThanOrEqual(0);
          }
        },
      ),
    );
  });
});
