import { NhiError } from './errors.js';
import { aBoolean, aNumber, aString, aStringList, oneOf, required, validateOptions } from './options.js';

const RULES = {
  zone: required(aString),
  mode: oneOf('caller', 'self'),
  allow: aStringList,
  requireDnssec: aBoolean,
  retryAfter: aNumber(0, { integer: true }),
};

const problem = (options: unknown): string => {
  try {
    validateOptions('@nhi-dns/test', options, RULES);
  } catch (error) {
    expect(error).toBeInstanceOf(NhiError);
    expect((error as NhiError).reason).toBe('invalid_config');
    return (error as Error).message;
  }
  throw new Error('expected invalid_config');
};

describe('validateOptions', () => {
  it('accepts valid options and ignores options set to undefined', () => {
    expect(() =>
      validateOptions('@nhi-dns/test', { zone: 'a.b', mode: 'self', retryAfter: undefined }, RULES),
    ).not.toThrow();
  });

  it('names the option, what was given and what is allowed', () => {
    expect(problem(undefined)).toBe('@nhi-dns/test: options must be an object, got nothing');
    expect(problem({})).toBe("@nhi-dns/test: option 'zone' is required: a non-empty string");
    expect(problem({ zone: 'a.b', mode: 'Self' })).toBe(
      "@nhi-dns/test: option 'mode' is 'Self'; allowed: 'caller' | 'self'",
    );
    expect(problem({ zone: 'a.b', requireDnssec: 'yes' })).toBe(
      "@nhi-dns/test: option 'requireDnssec' is 'yes'; allowed: true | false",
    );
    expect(problem({ zone: 'a.b', retryAfter: -5 })).toContain(
      "option 'retryAfter' is -5; allowed: an integer",
    );
    expect(problem({ zone: 'a.b', allow: 'billing.prod.a.b' })).toBe(
      `@nhi-dns/test: option 'allow' is 'billing.prod.a.b'; allowed: an array of strings, e.g. ["billing.prod.auth.example.com"]`,
    );
  });

  it('refuses unknown keys with a did-you-mean hint', () => {
    expect(problem({ zone: 'a.b', allowList: [] })).toMatch(
      /unknown option 'allowList' \(did you mean 'allow'\?\)/,
    );
    expect(problem({ zone: 'a.b', retryafter: 1 })).toMatch(/did you mean 'retryAfter'/);
    expect(problem({ zone: 'a.b', banana: 1 })).toMatch(
      /^@nhi-dns\/test: unknown option 'banana'; known options: zone/,
    );
  });
});
