import { NhiError } from './errors.js';
import { compileAllowList } from './patterns.js';

const ZONE = 'auth.example.com';

describe('compileAllowList', () => {
  it('matches exact names, canonicalised', () => {
    const allowed = compileAllowList(['Billing.Prod.Auth.Example.com.'], ZONE);
    expect(allowed('billing.prod.auth.example.com')).toBe(true);
    expect(allowed('BILLING.prod.auth.example.com.')).toBe(true);
    expect(allowed('billing.dev.auth.example.com')).toBe(false);
    expect(allowed('orders.prod.auth.example.com')).toBe(false);
  });

  it('matches *.<env>.<zone>: any service of one environment', () => {
    const allowed = compileAllowList(['*.prod.auth.example.com'], `${ZONE}.`);
    expect(allowed('billing.prod.auth.example.com')).toBe(true);
    expect(allowed('orders.prod.auth.example.com')).toBe(true);
    expect(allowed('orders.dev.auth.example.com')).toBe(false);
    expect(allowed('prod.auth.example.com')).toBe(false);
    expect(allowed('a.billing.prod.auth.example.com')).toBe(false);
  });

  it('matches <service>.*.<zone>: one service in any environment', () => {
    const allowed = compileAllowList(['billing.*.auth.example.com'], ZONE);
    expect(allowed('billing.prod.auth.example.com')).toBe(true);
    expect(allowed('billing.dev.auth.example.com')).toBe(true);
    expect(allowed('orders.prod.auth.example.com')).toBe(false);
    expect(allowed('billing.prod.x.auth.example.com')).toBe(false);
  });

  it('matches *.*.<zone> only at identity depth, and an empty list allows nobody', () => {
    const all = compileAllowList(['*.*.auth.example.com'], ZONE);
    expect(all('a.b.auth.example.com')).toBe(true);
    expect(all('a.auth.example.com')).toBe(false);
    expect(all('x.a.b.auth.example.com')).toBe(false);
    expect(compileAllowList([], ZONE)('a.b.auth.example.com')).toBe(false);
  });

  it('never matches outside the zone or an invalid name', () => {
    const allowed = compileAllowList(['*.prod.auth.example.com', 'billing.*.auth.example.com'], ZONE);
    for (const name of [
      'billing.prod.auth.example.org',
      'billing.prod.evilauth.example.com',
      'billing.prod.auth.example.com.evil.com',
      'bil_ling.prod.auth.example.com',
      '*.prod.auth.example.com',
      'billing.*.auth.example.com',
      '',
    ]) {
      expect(allowed(name)).toBe(false);
    }
  });

  it('rejects invalid patterns at init', () => {
    for (const pattern of [
      '*.auth.example.com',
      '*',
      'billing.prod.auth.example.org',
      'billing.prod.*.example.com',
      'bill*.prod.auth.example.com',
      'billing.pr*d.auth.example.com',
      'a.billing.prod.auth.example.com',
      '**.prod.auth.example.com',
      'billing..auth.example.com',
      'bil_ling.prod.auth.example.com',
      'auth.example.com',
      '',
      7 as never,
    ]) {
      expect(() => compileAllowList([pattern], ZONE)).toThrow(NhiError);
      expect(() => compileAllowList(['billing.prod.auth.example.com', pattern], ZONE)).toThrow(
        expect.objectContaining({ reason: 'invalid_pattern' }),
      );
    }
    expect(() => compileAllowList(['a.b.c'], 'bad zone')).toThrow(
      expect.objectContaining({ reason: 'invalid_zone' }),
    );
  });
});
