import { DENIAL_REASONS } from './errors.js';
import { IdentityError, statusForReason } from './identity-error.js';

describe('IdentityError', () => {
  it('maps every reason to 401, 403 or 503', () => {
    const statuses = Object.fromEntries(DENIAL_REASONS.map((reason) => [reason, statusForReason(reason)]));
    expect(statuses.not_allowed).toBe(403);
    expect(statuses.dns_failure).toBe(503);
    expect(statuses.self_mismatch).toBe(503);
    expect(statuses.bad_signature).toBe(401);
    expect(new Set(Object.values(statuses))).toEqual(new Set([401, 403, 503]));
  });

  it('names the package and keeps the underlying error in cause', () => {
    const underlying = new Error('udp timeout');
    const error = new IdentityError('dns_failure', '@nhi-dns/identity-resolve', underlying);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'IdentityError',
      reason: 'dns_failure',
      statusCode: 503,
      expose: true,
    });
    expect(error.message).toBe('identity denied: dns_failure');
    expect(error.cause).toEqual({
      package: '@nhi-dns/identity-resolve',
      reason: 'dns_failure',
      data: underlying,
    });
  });
});
