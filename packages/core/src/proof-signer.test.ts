import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { NhiError } from './errors.js';
import { importRecordKeys } from './keys.js';
import { decodeProof } from './proof-decode.js';
import { signProof } from './proof-sign.js';
import { ProofSigner } from './proof-signer.js';
import { verifyProof } from './proof-verify.js';
import { formatRecord, parseRecordSet } from './record.js';

const ISS = 'Orders.Prod.Auth.Example.com.';
const CANONICAL_ISS = 'orders.prod.auth.example.com';
const AUD = 'billing.prod.auth.example.com';
const NOW = 1_800_000_000;
const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const edJwk = { ...ed.privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA', use: 'sig' };

const expectKeyError = (build: () => unknown, reason: string): void => {
  let thrown: unknown;
  try {
    build();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(NhiError);
  expect(thrown).toMatchObject({ reason });
  // No key material in the message, whatever failed.
  expect(String((thrown as Error).message)).not.toContain(String(edJwk.d));
};

const verificationKey = (keyType: 'ed25519' | 'p256', publicKey: typeof ed.publicKey) => {
  const p =
    keyType === 'p256'
      ? publicKey.export({ type: 'spki', format: 'der' }).toString('base64')
      : Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64');
  const record = formatRecord({ service: 'orders', environment: 'prod', kid: 'k1', keyType, publicKey: p });
  const key = importRecordKeys(parseRecordSet(CANONICAL_ISS, [record]).keys).keys.get('k1');
  if (key === undefined) throw new Error('test key did not import');
  return key;
};

describe('ProofSigner', () => {
  it('makes the same bytes as signProof (jose) for the same Ed25519 claims, under both names', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          aud: fc.oneof(fc.constant(AUD), fc.constant([AUD, 'audit.prod.auth.example.com'])),
          body: fc.option(fc.oneof(fc.string(), fc.uint8Array()), { nil: undefined }),
          method: fc.option(fc.constantFrom('GET', 'post', 'PUT'), { nil: undefined }),
          url: fc.option(fc.constantFrom('https://api.example.com/pay?x=1#frag', 'https://h/é'), {
            nil: undefined,
          }),
          lifetime: fc.integer({ min: 1, max: 300 }),
          jti: fc.string({ minLength: 16, maxLength: 40 }),
          algorithm: fc.constantFrom('EdDSA' as const, 'Ed25519' as const),
        }),
        async ({ algorithm, ...request }) => {
          const ours = new ProofSigner({ privateKey: edJwk, kid: 'k1', iss: ISS, algorithm }).sign({
            ...request,
            now: NOW,
          });
          const theirs = await signProof({
            privateKey: ed.privateKey,
            kid: 'k1',
            iss: ISS,
            algorithm,
            ...request,
            now: NOW,
          });
          expect(ours).toBe(theirs);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('signs ES256 proofs that jose and verifyProof accept', async () => {
    const signer = new ProofSigner({ privateKey: ec.privateKey, kid: 'k1', iss: ISS });
    const token = signer.sign({ aud: AUD, body: '{"a":1}', now: NOW });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: 'k1', typ: 'nhi+jwt' });
    const { payload } = await jwtVerify(token, ec.publicKey, {
      algorithms: ['ES256'],
      currentDate: new Date(NOW * 1000),
    });
    expect(payload.iss).toBe(CANONICAL_ISS);
    const claims = verifyProof(decodeProof(token), {
      key: verificationKey('p256', ec.publicKey),
      audience: AUD,
      now: NOW,
      body: '{"a":1}',
    });
    expect(claims.bh).toBe(payload.bh);
  });

  it('signs Ed25519 proofs that verifyProof accepts under EdDSA and Ed25519', () => {
    const key = verificationKey('ed25519', ed.publicKey);
    for (const algorithm of ['EdDSA', 'Ed25519'] as const) {
      const token = new ProofSigner({ privateKey: ed.privateKey, kid: 'k1', iss: ISS, algorithm }).sign({
        aud: AUD,
        now: NOW,
      });
      expect(verifyProof(decodeProof(token), { key, audience: AUD, now: NOW }).iss).toBe(CANONICAL_ISS);
    }
  });

  it('gives a fresh jti to every proof', () => {
    const signer = new ProofSigner({ privateKey: ed.privateKey, kid: 'k1', iss: ISS });
    const jtis = new Set(
      Array.from(
        { length: 1000 },
        () => JSON.parse(Buffer.from(signer.sign({ aud: AUD }).split('.')[1]!, 'base64url').toString()).jti,
      ),
    );
    expect(jtis.size).toBe(1000);
  });

  it('exposes the public half that the record must publish', () => {
    const signer = new ProofSigner({ privateKey: edJwk, kid: 'k1', iss: ISS });
    expect(signer.publicKey.export({ format: 'jwk' }).x).toBe(edJwk.x);
    expect(signer.iss).toBe(CANONICAL_ISS);
    expect(Object.isFrozen(signer)).toBe(true);
  });

  it('refuses a JWK whose public member belongs to another key', () => {
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    expectKeyError(
      () => new ProofSigner({ privateKey: { ...edJwk, x: other.x }, kid: 'k1', iss: ISS }),
      'invalid_signing_key',
    );
    const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const ecJwk = ec.privateKey.export({ format: 'jwk' });
    // y alone (off the curve), and a whole valid point of another key, which node would keep.
    for (const point of [{ y: otherEc.y }, { x: otherEc.x, y: otherEc.y }]) {
      expectKeyError(
        () => new ProofSigner({ privateKey: { ...ecJwk, ...point }, kid: 'k1', iss: ISS }),
        'invalid_signing_key',
      );
    }
    // The same inconsistency inside a KeyObject, on Node versions that still build one (Node 22
    // keeps a given point; Node 24 refuses the import itself, so no such KeyObject can exist).
    let planted: ReturnType<typeof createPrivateKey> | undefined;
    try {
      planted = createPrivateKey({ key: { ...ecJwk, x: otherEc.x, y: otherEc.y }, format: 'jwk' });
    } catch (error) {
      expect((error as Error).name).toBe('TypeError'); // thrown in node's realm, not jest's
    }
    if (planted !== undefined) {
      const key = planted;
      expectKeyError(() => new ProofSigner({ privateKey: key, kid: 'k1', iss: ISS }), 'invalid_signing_key');
    }
  });

  it('refuses public keys, other curves, broken JWKs, and bad kid, iss or algorithm', () => {
    const x25519 = generateKeyPairSync('x25519').privateKey;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    for (const privateKey of [ed.publicKey, x25519, p384, { kty: 'OKP', crv: 'Ed25519', x: edJwk.x }]) {
      expectKeyError(() => new ProofSigner({ privateKey, kid: 'k1', iss: ISS }), 'invalid_signing_key');
    }
    expectKeyError(
      () => new ProofSigner({ privateKey: { ...edJwk, d: 'not-a-key' }, kid: 'k1', iss: ISS }),
      'invalid_signing_key',
    );
    expectKeyError(
      () => new ProofSigner({ privateKey: edJwk, kid: 'bad kid', iss: ISS }),
      'invalid_proof_options',
    );
    expectKeyError(() => new ProofSigner({ privateKey: edJwk, kid: 'k1', iss: '' }), 'invalid_proof_options');
    expectKeyError(
      () => new ProofSigner({ privateKey: edJwk, kid: 'k1', iss: ISS, algorithm: 'ES256' }),
      'invalid_proof_options',
    );
    expectKeyError(
      () => new ProofSigner({ privateKey: ec.privateKey, kid: 'k1', iss: ISS, algorithm: 'Ed25519' }),
      'invalid_proof_options',
    );
  });

  it('refuses bad claims before signing', () => {
    const signer = new ProofSigner({ privateKey: ed.privateKey, kid: 'k1', iss: ISS });
    for (const request of [
      { aud: '' },
      { aud: [] },
      { aud: AUD, lifetime: 0 },
      { aud: AUD, url: 'relative' },
    ]) {
      expectKeyError(() => signer.sign(request as never), 'invalid_proof_options');
    }
  });
});
