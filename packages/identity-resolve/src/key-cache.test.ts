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
});
