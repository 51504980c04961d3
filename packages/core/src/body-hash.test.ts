import { createHash } from 'node:crypto';
import { bodyHash } from './body-hash.js';

describe('bodyHash', () => {
  it('is the base64url SHA-256 of the body bytes', () => {
    // SHA-256 of the empty string, RFC 6234 test vector, in base64url.
    expect(bodyHash('')).toBe('47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU');
    expect(bodyHash('héllo')).toBe(
      createHash('sha256').update(Buffer.from('héllo', 'utf8')).digest('base64url'),
    );
    expect(bodyHash(Uint8Array.from([0xff, 0xfe]))).toBe(
      createHash('sha256')
        .update(Buffer.from([0xff, 0xfe]))
        .digest('base64url'),
    );
    expect(bodyHash('a')).not.toBe(bodyHash('b'));
  });
});
