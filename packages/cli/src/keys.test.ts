import { generateSigningKey, publicKeyFingerprint, publishedKeyFromJwk, signingKeyFromJwk } from './keys.js';

describe('signingKeyFromJwk: the public part must be the private part (security review, issue 13)', () => {
  it.each(['ed25519', 'p256'] as const)('accepts a generated %s key', async (keyType) => {
    const key = await generateSigningKey(keyType, 'k1');
    expect(signingKeyFromJwk(key.privateJwk)).toMatchObject({ kid: 'k1', keyType, publicKey: key.publicKey });
  });

  it.each(['ed25519', 'p256'] as const)(
    'refuses a %s JWK whose x/y belong to another key, with key_mismatch (exit code 4)',
    async (keyType) => {
      const [mine, theirs] = [
        await generateSigningKey(keyType, 'k1'),
        await generateSigningKey(keyType, 'k1'),
      ];
      const forged = { ...theirs.privateJwk, x: mine.privateJwk.x, y: mine.privateJwk.y };
      expect(() => signingKeyFromJwk(forged)).toThrow(
        expect.objectContaining({ reason: 'key_mismatch', exitCode: 4 }),
      );
      expect(() => publishedKeyFromJwk(forged)).toThrow(expect.objectContaining({ reason: 'key_mismatch' }));
      // The message never echoes key material.
      try {
        signingKeyFromJwk(forged);
      } catch (error) {
        expect(String(error)).not.toContain(theirs.privateJwk.d);
      }
    },
  );

  it('refuses a JWK without its private part, and a d that is no key', async () => {
    const { d: _d, ...publicOnly } = (await generateSigningKey('ed25519', 'k1')).privateJwk;
    expect(() => signingKeyFromJwk(publicOnly)).toThrow(expect.objectContaining({ reason: 'bad_secret' }));
    const p256 = (await generateSigningKey('p256', 'k1')).privateJwk;
    expect(() => signingKeyFromJwk({ ...p256, d: 'AA' })).toThrow(
      expect.objectContaining({ reason: 'key_mismatch' }),
    );
  });

  it('fingerprints the p= bytes with SHA-256, base64url', async () => {
    const key = await generateSigningKey('ed25519', 'k1');
    const { createHash } = await import('node:crypto');
    expect(publicKeyFingerprint(key)).toBe(
      createHash('sha256').update(Buffer.from(key.publicKey, 'base64')).digest('base64url'),
    );
    expect(publicKeyFingerprint(key)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
