import { createHmac, generateKeyPairSync } from 'node:crypto';
import { bodyHash } from './body-hash.js';
import { importRecordKeys, type VerificationKey } from './keys.js';
import { type DecodedProof, ProofError } from './proof.js';
import { decodeProof } from './proof-decode.js';
import { type VerifyProofOptions, verifyProof } from './proof-verify.js';
import { parseRecordSet } from './record.js';
import { encodeSegment, signRawProof } from './test-support/raw-proof.js';
import { createTestIdentity, type TestIdentity } from './test-support/test-identity.js';

const AUDIENCE = 'billing.prod.auth.example.com';
const NOW = 1_800_000_000;
const JTI = 'a'.repeat(22);

const ed25519 = createTestIdentity('orders.prod.auth.example.com', { kid: 'ed1' });
const p256 = createTestIdentity('orders.prod.auth.example.com', { kid: 'ec1', keyType: 'p256' });

/** The key a callee would build from the caller's record, as published in DNS. */
const keyFrom = (identity: TestIdentity, record = identity.record): VerificationKey => {
  const key = importRecordKeys(parseRecordSet(identity.name, [record]).keys).keys.get(identity.kid);
  if (key === undefined) throw new Error('test key did not import');
  return key;
};

const claimsFor = (identity: TestIdentity, overrides: Record<string, unknown> = {}) => ({
  iss: identity.name,
  aud: AUDIENCE,
  iat: NOW,
  exp: NOW + 60,
  jti: JTI,
  ...overrides,
});

const headerFor = (identity: TestIdentity, overrides: Record<string, unknown> = {}) => ({
  alg: identity.keyType === 'ed25519' ? 'EdDSA' : 'ES256',
  kid: identity.kid,
  typ: 'nhi+jwt',
  ...overrides,
});

const verifyToken = (token: string, key: VerificationKey, options: Partial<VerifyProofOptions> = {}) =>
  verifyProof(decodeProof(token), { key, audience: AUDIENCE, now: NOW, ...options });

const expectDenied = (run: () => unknown, reason: string): void => {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ProofError);
  expect(thrown).toMatchObject({ name: 'ProofError', reason });
};

describe.each([
  ['Ed25519', ed25519],
  ['P-256', p256],
])('verifyProof with an %s key', (_label, identity) => {
  const key = keyFrom(identity);
  const raw = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    signRawProof(headerFor(identity, header), claimsFor(identity, claims), identity.privateKey);

  it('accepts a proof from signProof and returns its claims', async () => {
    const token = await identity.sign({ aud: AUDIENCE, now: NOW, jti: JTI });
    expect(verifyToken(token, key)).toEqual({
      iss: identity.name,
      aud: AUDIENCE,
      iat: NOW,
      exp: NOW + 60,
      jti: JTI,
    });
  });

  it('refuses a revoked key before looking at the signature', () => {
    const revoked = keyFrom(identity, identity.recordWith({ publicKey: '' }));
    expect(revoked).toMatchObject({ revoked: true, keyObject: undefined });
    expectDenied(() => verifyToken(raw(), revoked), 'revoked_key');
  });

  it('refuses a key from its exp second on', () => {
    expectDenied(
      () => verifyToken(raw(), keyFrom(identity, identity.recordWith({ expiresAt: NOW }))),
      'expired_key',
    );
    expect(verifyToken(raw(), keyFrom(identity, identity.recordWith({ expiresAt: NOW + 1 }))).jti).toBe(JTI);
  });

  it('requires typ nhi+jwt, compared as RFC 7515 says', () => {
    for (const typ of ['JWT', 'at+jwt', 'nhi+jwt ', 'application/jwt', '']) {
      expectDenied(() => verifyToken(raw({}, { typ }), key), 'bad_typ');
    }
    for (const typ of ['NHI+JWT', 'application/nhi+jwt', 'Application/NHI+jwt']) {
      expect(verifyToken(raw({}, { typ }), key).iss).toBe(identity.name);
    }
  });

  it('takes the algorithm from the record key type, never from the token', () => {
    const others = identity.keyType === 'ed25519' ? ['ES256'] : ['EdDSA', 'Ed25519'];
    for (const alg of ['none', 'HS256', 'RS256', 'ES384', ...others, 'eddsa', 'ed25519', 'es256']) {
      expectDenied(() => verifyToken(raw({}, { alg }), key), 'bad_alg');
    }
  });

  it('accepts each name the key type allows (Ed25519 keys: EdDSA and RFC 9864 Ed25519)', () => {
    const names = identity.keyType === 'ed25519' ? ['EdDSA', 'Ed25519'] : ['ES256'];
    for (const alg of names) expect(verifyToken(raw({}, { alg }), key).iss).toBe(identity.name);
  });

  it('refuses alg none with an empty signature', () => {
    const token = `${encodeSegment(headerFor(identity, { alg: 'none' }))}.${encodeSegment(claimsFor(identity))}.`;
    expectDenied(() => verifyToken(token, key), 'bad_alg');
  });

  it('refuses an HS256 proof keyed with the public key bytes (alg confusion)', () => {
    const signingInput = `${encodeSegment(headerFor(identity, { alg: 'HS256' }))}.${encodeSegment(claimsFor(identity))}`;
    const mac = createHmac('sha256', Buffer.from(identity.publicKey, 'base64')).update(signingInput).digest();
    expectDenied(() => verifyToken(`${signingInput}.${mac.toString('base64url')}`, key), 'bad_alg');
  });

  it('refuses a proof signed by the other key type under this key id (alg confusion)', () => {
    const stranger = identity.keyType === 'ed25519' ? p256 : ed25519;
    const token = signRawProof(
      headerFor(stranger, { kid: identity.kid }),
      claimsFor(identity),
      stranger.privateKey,
    );
    expectDenied(() => verifyToken(token, key), 'bad_alg');
  });

  it('refuses a wrong, altered, truncated or foreign signature', () => {
    const token = raw();
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const bytes = Buffer.from(signature, 'base64url');
    bytes[5] = (bytes[5] ?? 0) ^ 1;
    const flipped = `${header}.${payload}.${bytes.toString('base64url')}`;
    const truncated = `${header}.${payload}.${bytes.subarray(0, 63).toString('base64url')}`;
    const foreignPair =
      identity.keyType === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const foreign = signRawProof(headerFor(identity), claimsFor(identity), foreignPair.privateKey);
    const otherPayload = `${header}.${raw({ aud: 'x.prod.auth.example.com' }).split('.')[1]}.${signature}`;
    for (const bad of [flipped, truncated, foreign, otherPayload, `${header}.${payload}.`]) {
      expectDenied(() => verifyToken(bad, key), 'bad_signature');
    }
  });

  it('checks claim types after the signature', () => {
    const badClaims: Array<Record<string, unknown>> = [
      { aud: 7 },
      { aud: [] },
      { aud: [AUDIENCE, 1] },
      { aud: undefined },
      { iat: String(NOW) },
      { iat: NOW + 0.5 },
      { exp: 1e20 },
      { exp: -1e300 },
      { exp: undefined },
      { iat: null },
      { nbf: 'soon' },
      { jti: 1234567890123456 },
      { jti: undefined },
      { bh: 1 },
      { htm: ['GET'] },
      { htu: {} },
    ];
    for (const claims of badClaims) expectDenied(() => verifyToken(raw(claims), key), 'malformed_proof');
  });

  it('refuses Infinity from a JSON number too large for a double', () => {
    const text = JSON.stringify(claimsFor(identity)).replace(`"exp":${NOW + 60}`, '"exp":1e400');
    expect(text).toContain('1e400');
    const token = signRawProof(headerFor(identity), text, identity.privateKey);
    expect(decodeProof(token).claims.exp).toBe(Number.POSITIVE_INFINITY);
    expectDenied(() => verifyToken(token, key), 'malformed_proof');
  });

  it('checks the audience: a string equal to it or an array containing it', () => {
    expectDenied(() => verifyToken(raw({ aud: 'payments.prod.auth.example.com' }), key), 'wrong_audience');
    expectDenied(() => verifyToken(raw({ aud: AUDIENCE.toUpperCase() }), key), 'wrong_audience');
    expectDenied(() => verifyToken(raw({ aud: ['a.prod.auth.example.com'] }), key), 'wrong_audience');
    expect(verifyToken(raw({ aud: ['a.prod.auth.example.com', AUDIENCE] }), key).aud).toContain(AUDIENCE);
  });

  it('tolerates clock skew up to the limit on iat, nbf and exp', () => {
    expect(verifyToken(raw({ iat: NOW + 60, exp: NOW + 120 }), key).iat).toBe(NOW + 60);
    expectDenied(() => verifyToken(raw({ iat: NOW + 61, exp: NOW + 121 }), key), 'not_yet_valid');
    expectDenied(() => verifyToken(raw({ nbf: NOW + 61 }), key), 'not_yet_valid');
    expect(verifyToken(raw({ nbf: NOW + 60 }), key).nbf).toBe(NOW + 60);
    expect(verifyToken(raw({ iat: NOW - 100, exp: NOW - 59 }), key).exp).toBe(NOW - 59);
    expectDenied(() => verifyToken(raw({ iat: NOW - 100, exp: NOW - 60 }), key), 'expired');
    expectDenied(() => verifyToken(raw({ iat: NOW - 100, exp: NOW - 1 }), key, { clockSkew: 0 }), 'expired');
    expectDenied(
      () => verifyToken(raw({ iat: NOW + 1, exp: NOW + 10 }), key, { clockSkew: 0 }),
      'not_yet_valid',
    );
  });

  it('limits the lifetime exp - iat', () => {
    expect(verifyToken(raw({ exp: NOW + 300 }), key).exp).toBe(NOW + 300);
    expectDenied(() => verifyToken(raw({ exp: NOW + 301 }), key), 'lifetime_too_long');
    expectDenied(() => verifyToken(raw({ exp: NOW + 61 }), key, { maxLifetime: 60 }), 'lifetime_too_long');
  });

  it('requires a jti of 16..128 characters', () => {
    expect(verifyToken(raw({ jti: 'j'.repeat(16) }), key).jti).toHaveLength(16);
    expect(verifyToken(raw({ jti: 'j'.repeat(128) }), key).jti).toHaveLength(128);
    expectDenied(() => verifyToken(raw({ jti: 'j'.repeat(15) }), key), 'malformed_proof');
    expectDenied(() => verifyToken(raw({ jti: 'j'.repeat(129) }), key), 'malformed_proof');
  });

  it('binds the body when bh is present, for text and binary bodies', () => {
    const binary = Uint8Array.from([0xff, 0x00, 0xfe, 0x80]);
    expect(verifyToken(raw({ bh: bodyHash('{"a":1}') }), key, { body: '{"a":1}' }).bh).toBeDefined();
    expect(verifyToken(raw({ bh: bodyHash(binary) }), key, { body: binary }).bh).toBeDefined();
    expect(verifyToken(raw({ bh: bodyHash('') }), key, { body: '' }).bh).toBe(bodyHash(''));
    // No bytes to hash is not the empty body (finding 13.1): bh cannot be satisfied then.
    expectDenied(() => verifyToken(raw({ bh: bodyHash('') }), key), 'body_mismatch');
    expectDenied(
      () => verifyToken(raw({ bh: bodyHash('{"a":1}') }), key, { body: '{"a":2}' }),
      'body_mismatch',
    );
    expectDenied(
      () => verifyToken(raw({ bh: bodyHash(binary) }), key, { body: binary.toString() }),
      'body_mismatch',
    );
    expectDenied(() => verifyToken(raw({ bh: bodyHash('x') }), key), 'body_mismatch');
    expectDenied(() => verifyToken(raw(), key, { body: 'x', requireBodyHash: true }), 'body_mismatch');
    expect(verifyToken(raw(), key, { body: 'x' }).bh).toBeUndefined();
  });

  it('binds the method and URL when htm and htu are present', () => {
    const url = 'https://api.example.com/orders?id=1';
    expect(verifyToken(raw({ htm: 'POST' }), key, { method: 'post' }).htm).toBe('POST');
    expectDenied(() => verifyToken(raw({ htm: 'POST' }), key, { method: 'GET' }), 'wrong_audience');
    expectDenied(() => verifyToken(raw({ htm: 'POST' }), key), 'wrong_audience');
    expect(verifyToken(raw({ htu: url }), key, { url: 'HTTPS://API.example.com:443/orders?id=1' }).htu).toBe(
      url,
    );
    expect(verifyToken(raw({ htu: `${url}#frag` }), key, { url }).htu).toBe(`${url}#frag`);
    // As DPoP's htu (RFC 9449): scheme, host and path; the query and fragment are not bound.
    expect(verifyToken(raw({ htu: url }), key, { url: 'https://api.example.com/orders?id=2' }).htu).toBe(url);
    for (const other of [
      'https://api.example.com/orders/1',
      'http://api.example.com/orders?id=1',
      'https://evil.example.com/orders?id=1',
      'not a url',
    ]) {
      expectDenied(() => verifyToken(raw({ htu: url }), key, { url: other }), 'wrong_audience');
    }
    expectDenied(() => verifyToken(raw({ htu: url }), key), 'wrong_audience');
    expectDenied(() => verifyToken(raw({ htu: '/orders' }), key, { url: '/orders' }), 'wrong_audience');
  });
});

describe('verifyProof ordering and hygiene', () => {
  const key = keyFrom(ed25519);
  const garbageSignature = (token: string) => `${token.split('.').slice(0, 2).join('.')}.${'A'.repeat(86)}`;

  it('reports the first failed check of the documented order', () => {
    const bad = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
      garbageSignature(
        signRawProof(headerFor(ed25519, header), claimsFor(ed25519, claims), ed25519.privateKey),
      );
    const revoked = keyFrom(ed25519, ed25519.recordWith({ publicKey: '' }));
    const expiredKey = keyFrom(ed25519, ed25519.recordWith({ expiresAt: NOW - 1 }));
    expectDenied(() => verifyToken(bad({}, { typ: 'JWT', alg: 'none' }), revoked), 'revoked_key');
    expectDenied(() => verifyToken(bad({}, { typ: 'JWT', alg: 'none' }), expiredKey), 'expired_key');
    expectDenied(() => verifyToken(bad({}, { typ: 'JWT', alg: 'none' }), key), 'bad_typ');
    expectDenied(() => verifyToken(bad({}, { alg: 'none' }), key), 'bad_alg');
    expectDenied(() => verifyToken(bad({ aud: 1 }), key), 'bad_signature');
    const signed = (claims: Record<string, unknown>) =>
      signRawProof(headerFor(ed25519), claimsFor(ed25519, claims), ed25519.privateKey);
    expectDenied(() => verifyToken(signed({ aud: 1, exp: 'x' }), key), 'malformed_proof');
    expectDenied(
      () => verifyToken(signed({ aud: 'x', exp: NOW - 600, iat: NOW - 1000 }), key),
      'wrong_audience',
    );
    expectDenied(() => verifyToken(signed({ iat: NOW + 100, exp: NOW + 1000 }), key), 'not_yet_valid');
    expectDenied(() => verifyToken(signed({ iat: NOW - 1000, exp: NOW - 600, jti: 'x' }), key), 'expired');
    expectDenied(() => verifyToken(signed({ exp: NOW + 1000, jti: 'x' }), key), 'lifetime_too_long');
    expectDenied(() => verifyToken(signed({ jti: 'x', bh: 'y' }), key), 'malformed_proof');
    expectDenied(() => verifyToken(signed({ bh: 'y', htm: 'GET' }), key), 'body_mismatch');
  });

  it('refuses a decoded proof it did not decode itself, even a faithful copy', () => {
    const proof = decodeProof(signRawProof(headerFor(ed25519), claimsFor(ed25519), ed25519.privateKey));
    const copy: DecodedProof = { ...proof };
    expect(verifyProof(proof, { key, audience: AUDIENCE, now: NOW }).jti).toBe(JTI);
    expectDenied(() => verifyProof(copy, { key, audience: AUDIENCE, now: NOW }), 'malformed_proof');
  });

  it('returns frozen claims that cannot be edited between decode and verify', () => {
    const proof = decodeProof(signRawProof(headerFor(ed25519), claimsFor(ed25519), ed25519.privateKey));
    expect(() => {
      (proof.claims as { aud: string }).aud = 'x';
    }).toThrow(TypeError);
  });

  it('refuses settings that are not whole seconds instead of accepting', () => {
    const token = signRawProof(headerFor(ed25519), claimsFor(ed25519), ed25519.privateKey);
    for (const settings of [{ now: Number.NaN }, { now: NOW + 0.5 }, { maxLifetime: 0 }, { clockSkew: -1 }]) {
      expect(() => verifyToken(token, key, settings)).toThrow(TypeError);
    }
  });

  it('never puts the token or its signature in an error message', () => {
    const token = garbageSignature(signRawProof(headerFor(ed25519), claimsFor(ed25519), ed25519.privateKey));
    const [header, payload, signature] = token.split('.') as [string, string, string];
    try {
      verifyToken(token, key);
      throw new Error('expected a denial');
    } catch (error) {
      const text = `${(error as Error).message} ${String(error)}`;
      for (const part of [header, payload, signature]) expect(text).not.toContain(part);
    }
  });
});
