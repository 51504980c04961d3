import fc from 'fast-check';
import { NhiError } from './errors.js';
import {
  canonicalName,
  formatIdentityName,
  parseIdentityName,
  parseZone,
  splitIdentityLabels,
  tryParseIdentityName,
} from './names.js';

const ZONE = 'auth.example.com';

describe('identity names', () => {
  it('canonicalises case and the trailing dot', () => {
    expect(canonicalName('Billing.PROD.Auth.Example.COM.')).toBe('billing.prod.auth.example.com');
  });

  it('parses <service>.<environment>.<zone>', () => {
    expect(parseIdentityName('billing.prod.auth.example.com', ZONE)).toEqual({
      name: 'billing.prod.auth.example.com',
      service: 'billing',
      environment: 'prod',
      zone: ZONE,
    });
    expect(tryParseIdentityName('BILLING.prod.auth.example.com.', ZONE)?.name).toBe(
      'billing.prod.auth.example.com',
    );
  });

  it('rejects names outside the zone or at the wrong depth', () => {
    const bad = [
      'billing.prod.auth.example.org',
      'billing.prod.evilauth.example.com',
      'prod.auth.example.com',
      'a.billing.prod.auth.example.com',
      'auth.example.com',
      'bill_ing.prod.auth.example.com',
      'b\u0456lling.prod.auth.example.com', // Cyrillic i: an IDN homograph
      '.prod.auth.example.com',
      'billing..auth.example.com',
      `${'a'.repeat(64)}.prod.auth.example.com`,
    ];
    for (const name of bad) expect(tryParseIdentityName(name, ZONE)).toBeUndefined();
    expect(tryParseIdentityName(42, ZONE)).toBeUndefined();
    expect(() => parseIdentityName('x.auth.example.com', ZONE)).toThrow(
      expect.objectContaining({ reason: 'outside_zone' }),
    );
  });

  it('validates zones', () => {
    expect(parseZone('Auth.Example.com.')).toBe(ZONE);
    for (const zone of ['', '.', 'a..b', 'a b.com', `${'a'.repeat(64)}.com`]) {
      expect(() => parseZone(zone)).toThrow(NhiError);
    }
  });

  it('formats names and refuses bad labels', () => {
    expect(formatIdentityName({ service: 'billing', environment: 'prod', zone: `${ZONE}.` })).toBe(
      'billing.prod.auth.example.com',
    );
    expect(() => formatIdentityName({ service: 'a.b', environment: 'prod', zone: ZONE })).toThrow(
      expect.objectContaining({ reason: 'invalid_name' }),
    );
  });

  it('splits labels of any name', () => {
    expect(splitIdentityLabels('a.b.c')).toEqual({ service: 'a', environment: 'b' });
    expect(splitIdentityLabels('a.b')).toBeUndefined();
  });

  it('format → parse round trip, and parse of random input never throws', () => {
    const label = fc.stringMatching(/^[a-z0-9-]{1,63}$/);
    fc.assert(
      fc.property(label, label, (service, environment) => {
        const name = formatIdentityName({ service, environment, zone: ZONE });
        expect(parseIdentityName(name.toUpperCase(), ZONE)).toMatchObject({ service, environment });
      }),
    );
    fc.assert(fc.property(fc.string(), (name) => void tryParseIdentityName(name, ZONE)));
  });
});
