import { createTestIdentity } from '@nhi-dns/core/test-support';
import { ParsedIdentityCache } from './key-cache.js';

describe('ParsedIdentityCache', () => {
  const id = createTestIdentity('billing.prod.auth.example.com');

  it('parses once per DNS answer and again when the answer changes', () => {
    const cache = new ParsedIdentityCache();
    const first = cache.get(id.name, [id.strings]);
    expect(first.fresh).toBe(true);
    expect([...first.parsed.keys.keys()]).toEqual(['k1']);
    const again = cache.get(id.name, [[...id.strings]]);
    expect(again.fresh).toBe(false);
    expect(again.parsed).toBe(first.parsed);
    const revoked = cache.get(id.name, [[id.recordWith({ publicKey: '' })]]);
    expect(revoked.fresh).toBe(true);
    expect(revoked.parsed.keys.get('k1')?.revoked).toBe(true);
  });

  it('reports invalid RRs and stays bounded', () => {
    const cache = new ParsedIdentityCache(2);
    const { parsed } = cache.get(id.name, [id.strings, [id.record.replace('kid=k1', 'kid=k2; kid=k3')]]);
    expect(parsed.problems).toEqual([expect.objectContaining({ index: 1, problem: 'duplicate_tag' })]);
    cache.get('a.prod.auth.example.com', []);
    cache.get('b.prod.auth.example.com', []);
    expect(cache.get(id.name, [id.strings]).fresh).toBe(true);
  });

  it('keeps its estimated bytes under maxBytes, oldest names out first, and serves what it cannot keep', () => {
    const names = Array.from({ length: 20 }, (_, i) => createTestIdentity(`svc${i}.prod.auth.example.com`));
    const one = new ParsedIdentityCache();
    one.get(names[0]!.name, [names[0]!.strings]);
    const perEntry = one.bytes;
    expect(perEntry).toBeGreaterThan(2048 + 2560);
    const cache = new ParsedIdentityCache(10_000, perEntry * 5 + 64); // names differ by a digit or two
    for (const identity of names) cache.get(identity.name, [identity.strings]);
    expect(cache.size).toBe(5);
    expect(cache.bytes).toBeLessThanOrEqual(perEntry * 5 + 64);
    // The newest five are kept; the first names were evicted and parse again.
    expect(cache.get(names[19]!.name, [names[19]!.strings]).fresh).toBe(false);
    expect(cache.get(names[0]!.name, [names[0]!.strings]).fresh).toBe(true);
    // A record over the whole budget is parsed and served, never kept.
    const tiny = new ParsedIdentityCache(10_000, 100);
    const served = tiny.get(names[1]!.name, [names[1]!.strings]);
    expect(served.parsed.keys.size).toBe(1);
    expect([tiny.size, tiny.bytes]).toEqual([0, 0]);
    // A changed answer replaces its entry without counting it twice.
    cache.get(names[19]!.name, [[names[19]!.recordWith({ publicKey: '' })]]);
    expect(cache.size).toBe(5);
  });
});
