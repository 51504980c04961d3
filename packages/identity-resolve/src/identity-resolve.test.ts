import { jest } from '@jest/globals';
import middy from '@middy/core';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import { createResolver } from '@nhi-dns/resolver';
import { startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import type { Context } from 'aws-lambda';
import identityResolve, { type IdentityResolveContext } from './index.js';

const ZONE = 'auth.example.com';
const billing = createTestIdentity(`billing.prod.${ZONE}`);
const ledger = createTestIdentity(`ledger.prod.${ZONE}`);
const context = { getRemainingTimeInMillis: () => 5000 } as unknown as Context;

let dns: TestDnsServer;
beforeAll(async () => {
  dns = await startTestDnsServer({
    zone: ZONE,
    records: [
      { name: billing.name, type: 'TXT', ttl: 60, data: billing.strings },
      { name: billing.name, type: 'TXT', ttl: 60, data: 'v=NHI1; svc=billing; env=prod; kid=bad; p=%%%' },
      { name: ledger.name, type: 'TXT', ttl: 60, data: ledger.strings },
    ],
  });
});
afterAll(() => dns.stop());

const capture = async <T>(work: () => Promise<T>) => {
  const out = captureOutput();
  try {
    return { value: await work(), out };
  } finally {
    out.restore();
  }
};

describe('identityResolve through a real resolver and a loopback DNS server', () => {
  it('resolves the caller once, then serves it from cache; logs and counts each lookup', async () => {
    const resolver = createResolver({ servers: [dns.server] });
    const seen: IdentityResolveContext[] = [];
    const handler = middy(async (_event: unknown, ctx: Context) => {
      seen.push({ ...(ctx as unknown as IdentityResolveContext) });
      return 'ok';
    }).use(identityResolve({ zone: ZONE, resolver }));
    const token = await billing.sign({ aud: `ledger.prod.${ZONE}` });
    const before = dns.queries.length;
    const cold = await capture(() => handler({ nhiProof: token }, context));
    const warm = await capture(() => handler({ nhiProof: token }, context));
    expect([cold.value, warm.value]).toEqual(['ok', 'ok']);
    expect(dns.queries.length - before).toBe(1);
    expect(seen[0]?.nhi).toMatchObject({
      name: billing.name,
      service: 'billing',
      source: 'network',
      ad: false,
    });
    expect(seen[1]?.nhi?.source).toBe('cache');
    expect([...(seen[0]?.nhi?.keys.keys() ?? [])]).toEqual(['k1']);
    expect(seen[0]?.nhi?.proof?.claims.iss).toBe(billing.name);
    expect(seen[0]?.nhi?.problems).toEqual([expect.objectContaining({ problem: 'bad_key' })]);

    const coldLog = cold.out.json();
    expect(coldLog).toContainEqual(
      expect.objectContaining({
        message: 'dns lookup',
        'nhi.outcome': 'miss',
        'nhi.name': billing.name,
        'dns.ad': false,
      }),
    );
    expect(coldLog).toContainEqual(expect.objectContaining({ message: 'identity record has invalid RRs' }));
    expect(cold.out.emf()).toContainEqual(expect.objectContaining({ Outcome: 'miss', DnsLookup: 1 }));
    expect(cold.out.emf()).toContainEqual(expect.objectContaining({ DnsLookupLatency: expect.any(Number) }));
    // Warm: the hit is counted; its log line is debug, below the default INFO level.
    expect(warm.out.emf()).toContainEqual(expect.objectContaining({ DnsCacheHit: 1 }));
    expect(warm.out.emf().some((doc) => 'DnsLookup' in doc)).toBe(false);
    expect(warm.out.json().filter((entry) => entry.message === 'dns lookup')).toEqual([]);
    expect(warm.out.json().filter((entry) => entry.message === 'identity record has invalid RRs')).toEqual(
      [],
    );
  });

  it('self mode prefetches the own record at creation, overlapping the init phase', async () => {
    const resolver = createResolver({ servers: [dns.server] });
    const resolveTxt = jest.spyOn(resolver, 'resolveTxt');
    const before = dns.queries.length;
    const middleware = identityResolve({ zone: ZONE, mode: 'self', self: ledger.name, resolver });
    expect(resolveTxt).toHaveBeenCalledTimes(1);
    const seen: IdentityResolveContext[] = [];
    const handler = middy(async (_event: unknown, ctx: Context) => {
      seen.push(ctx as unknown as IdentityResolveContext);
    }).use(middleware);
    await capture(() => handler({}, context));
    expect(dns.queries.length - before).toBe(1);
    expect(seen[0]?.nhiSelf).toMatchObject({ name: ledger.name, service: 'ledger', environment: 'prod' });
  });

  it('denies with dns_failure when the server does not answer, within the deadline', async () => {
    const resolver = createResolver({ servers: [dns.server], timeout: 100, attempts: 1 });
    dns.setBehaviour({ drop: true });
    try {
      const handler = middy(async () => 'served').use(identityResolve({ zone: ZONE, resolver }));
      const token = await createTestIdentity(`other.prod.${ZONE}`).sign({ aud: ledger.name });
      const started = Date.now();
      const result = await capture(() =>
        handler({ nhiProof: token }, context).catch((error: unknown) => error),
      );
      expect(Date.now() - started).toBeLessThan(1000);
      expect(result.value).toMatchObject({ reason: 'dns_failure', statusCode: 503 });
      expect(result.out.emf()).toContainEqual(expect.objectContaining({ Outcome: 'timeout', DnsLookup: 1 }));
      expect(result.out.json()).toContainEqual(expect.objectContaining({ message: 'dns lookup failed' }));
    } finally {
      dns.setBehaviour({ drop: false });
    }
  });

  it('follows a CNAME inside the zone, and denies outside_zone when a hop leaves the zone', async () => {
    // Both targets publish a record whose svc/env match the queried name: only the zone decides.
    const inside = createTestIdentity(`alias-v2.prod.${ZONE}`);
    const outside = createTestIdentity('escaped.prod.evil.example');
    const aliasRecord = inside.record.replace('svc=alias-v2', 'svc=alias');
    dns.addRecord({ name: `alias.prod.${ZONE}`, type: 'CNAME', data: inside.name });
    dns.addRecord({ name: inside.name, type: 'TXT', data: aliasRecord });
    dns.addRecord({ name: `escaped.prod.${ZONE}`, type: 'CNAME', data: outside.name });
    dns.addRecord({ name: outside.name, type: 'TXT', data: outside.strings });
    const resolver = createResolver({ servers: [dns.server] });
    const handler = middy(async (_event: unknown, ctx: Context) => {
      return (ctx as unknown as IdentityResolveContext).nhi?.name;
    }).use(identityResolve({ zone: ZONE, resolver }));
    const viaInside = await inside.sign({ aud: ledger.name, iss: `alias.prod.${ZONE}` });
    const viaOutside = await outside.sign({ aud: ledger.name, iss: `escaped.prod.${ZONE}` });
    expect((await capture(() => handler({ nhiProof: viaInside }, context))).value).toBe(`alias.prod.${ZONE}`);
    const denied = await capture(() =>
      handler({ nhiProof: viaOutside }, context).catch((error: unknown) => error),
    );
    expect(denied.value).toMatchObject({ reason: 'outside_zone', statusCode: 401 });
    expect(denied.out.emf()).toContainEqual(
      expect.objectContaining({ Reason: 'outside_zone', AuthFailure: 1 }),
    );
  });

  it('looks the record up again, once per cooldown, when a proof names a kid the cached record lacks', async () => {
    const rotating = createTestIdentity(`rotating.prod.${ZONE}`, { kid: 'old' });
    const next = createTestIdentity(`rotating.prod.${ZONE}`, { kid: 'new' });
    dns.addRecord({ name: rotating.name, type: 'TXT', ttl: 300, data: rotating.strings });
    const resolver = createResolver({ servers: [dns.server] });
    const seen: IdentityResolveContext[] = [];
    const handler = middy(async (_event: unknown, ctx: Context) => {
      seen.push({ ...(ctx as unknown as IdentityResolveContext) });
    }).use(identityResolve({ zone: ZONE, resolver }));
    await capture(async () => handler({ nhiProof: await rotating.sign({ aud: ledger.name }) }, context));
    // The rotation begins: the new key is published while the old record sits in the cache.
    dns.addRecord({ name: rotating.name, type: 'TXT', ttl: 300, data: next.strings });
    const before = dns.queries.length;
    await capture(async () => handler({ nhiProof: await next.sign({ aud: ledger.name }) }, context));
    expect(dns.queries.length - before).toBe(1);
    expect([...(seen[1]?.nhi?.keys.keys() ?? [])].sort()).toEqual(['new', 'old']);
    // An unknown kid again within the cooldown: no new query.
    await capture(async () =>
      handler({ nhiProof: await next.sign({ aud: ledger.name, kid: 'k-unknown' }) }, context),
    );
    expect(dns.queries.length - before).toBe(1);
  });

  it('refuses a bad configuration at creation', () => {
    expect(() => identityResolve({ zone: '' })).toThrow(
      expect.objectContaining({ reason: 'invalid_config' }),
    );
    expect(() => identityResolve({ zone: 'not a zone' })).toThrow(
      expect.objectContaining({ reason: 'invalid_zone' }),
    );
    expect(() => identityResolve({ zone: ZONE, mode: 'self' })).toThrow(
      expect.objectContaining({ reason: 'invalid_config' }),
    );
    expect(() => identityResolve({ zone: ZONE, mode: 'self', self: 'ledger.prod.other.example' })).toThrow(
      expect.objectContaining({ reason: 'invalid_config' }),
    );
  });

  it('validates every option as JavaScript callers pass them (typed invalid_config, named option)', () => {
    const attempt = (options: unknown) => () => identityResolve(options as never);
    const invalid = (message: RegExp) =>
      expect.objectContaining({ reason: 'invalid_config', message: expect.stringMatching(message) });
    expect(attempt(undefined)).toThrow(invalid(/options must be an object/));
    expect(attempt({})).toThrow(invalid(/option 'zone' is required/));
    expect(attempt({ zone: ZONE, mode: 'Self' })).toThrow(
      invalid(/option 'mode' is 'Self'; allowed: 'caller' \| 'self'/),
    );
    expect(attempt({ zone: ZONE, dnssec: 'yes' })).toThrow(invalid(/option 'dnssec' is 'yes'/));
    expect(attempt({ zone: ZONE, retryAfter: -5 })).toThrow(invalid(/option 'retryAfter' is -5/));
    expect(attempt({ zone: ZONE, getproof: () => undefined })).toThrow(invalid(/did you mean 'getProof'/));
  });
});
