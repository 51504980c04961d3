import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { bodyHash } from './body-hash.js';
import { NhiError } from './errors.js';
import { signProof } from './proof-sign.js';

const ISS = 'orders.prod.auth.example.com';
const AUD = 'billing.prod.auth.example.com';
const NOW = 1_800_000_000;
const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));

const expectSignError = async (options: Parameters<typeof signProof>[0], reason: string): Promise<void> => {
  await expect(signProof(options)).rejects.toBeInstanceOf(NhiError);
  await expect(signProof(options)).rejects.toMatchObject({ reason });
};

describe('signProof', () => {
  it('signs EdDSA with an Ed25519 key and ES256 with a P-256 key', async () => {
    for (const [pair, alg] of [
      [ed, 'EdDSA'],
      [ec, 'ES256'],
    ] as const) {
      const token = await signProof({ privateKey: pair.privateKey, kid: 'k1', iss: ISS, aud: AUD, now: NOW });
      expect(decodeProtectedHeader(token)).toEqual({ alg, kid: 'k1', typ: 'nhi+jwt' });
      const { payload } = await jwtVerify(token, pair.publicKey, { currentDate: new Date(NOW * 1000) });
      expect(payload).toEqual({ iss: ISS, aud: AUD, iat: NOW, exp: NOW + 60, jti: expect.any(String) });
    }
  });

  it('accepts a WebCrypto CryptoKey and a private JWK', async () => {
    // webcrypto.CryptoKeyPair: KeyObject#toCryptoKey needs Node 22.
    const edPair = (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, false, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const cryptoKey = edPair.privateKey;
    const jwk = ec.privateKey.export({ format: 'jwk' });
    const fromCryptoKey = await signProof({ privateKey: cryptoKey, kid: 'k1', iss: ISS, aud: AUD });
    const fromJwk = await signProof({ privateKey: jwk, kid: 'k1', iss: ISS, aud: AUD });
    expect(decodeProtectedHeader(fromCryptoKey).alg).toBe('EdDSA');
    expect(decodeProtectedHeader(fromJwk).alg).toBe('ES256');
    await expect(
      jwtVerify(fromJwk, await importJWK({ ...jwk, d: undefined }, 'ES256')),
    ).resolves.toBeDefined();
    const generated = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const fromWebCrypto = await signProof({
      privateKey: generated.privateKey,
      kid: 'k1',
      iss: ISS,
      aud: AUD,
    });
    expect(decodeProtectedHeader(fromWebCrypto).alg).toBe('ES256');
  });

  it('draws a fresh 22-character jti and sets exp from lifetime', async () => {
    const tokens = await Promise.all(
      [1, 2, 3].map(() =>
        signProof({ privateKey: ed.privateKey, kid: 'k1', iss: ISS, aud: AUD, lifetime: 30, now: NOW }),
      ),
    );
    const jtis = tokens.map((token) => claimsOf(token).jti as string);
    expect(new Set(jtis).size).toBe(3);
    for (const jti of jtis) expect(jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(claimsOf(tokens[0] ?? '')).toMatchObject({ iat: NOW, exp: NOW + 30 });
  });

  it('binds body, method and URL, and canonicalises names', async () => {
    const body = Uint8Array.from([1, 2, 255]);
    const token = await signProof({
      privateKey: ed.privateKey,
      kid: 'k1',
      iss: 'Orders.Prod.Auth.Example.com.',
      aud: ['Billing.prod.auth.example.com', 'x.prod.auth.example.com.'],
      body,
      method: 'post',
      url: 'HTTPS://API.example.com:443/orders?id=1#top',
      jti: 'j'.repeat(16),
    });
    expect(claimsOf(token)).toMatchObject({
      iss: ISS,
      aud: [AUD, 'x.prod.auth.example.com'],
      jti: 'j'.repeat(16),
      bh: bodyHash(body),
      htm: 'POST',
      htu: 'https://api.example.com/orders?id=1',
    });
  });

  it('refuses keys that cannot sign a proof', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const base = { kid: 'k1', iss: ISS, aud: AUD };
    for (const privateKey of [
      ed.publicKey,
      ec.publicKey,
      rsa.privateKey,
      secp256k1.privateKey,
      ed.publicKey.export({ format: 'jwk' }),
      {},
      null,
      'secret',
    ]) {
      await expectSignError({ ...base, privateKey: privateKey as never }, 'invalid_signing_key');
    }
  });

  it('refuses bad options before signing', async () => {
    const base = { privateKey: ed.privateKey, kid: 'k1', iss: ISS, aud: AUD };
    const bad: Array<Partial<Parameters<typeof signProof>[0]>> = [
      { kid: '' },
      { kid: 'has space' },
      { kid: 'k'.repeat(65) },
      { iss: '' },
      { aud: [] },
      { aud: '' },
      { aud: [AUD, 1 as never] },
      { lifetime: 0 },
      { lifetime: 1.5 },
      { lifetime: Number.POSITIVE_INFINITY },
      { now: Number.NaN },
      { jti: 'short' },
      { jti: 'j'.repeat(129) },
      { method: 'GET\r\nX: y' },
      { url: '/relative' },
    ];
    for (const options of bad) await expectSignError({ ...base, ...options }, 'invalid_proof_options');
  });
});
