import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { jwtVerify } from 'jose';
import { SigningError } from './errors.js';
import { createSigner, IdentitySigner } from './signer.js';
import {
  claimsOf,
  keyedIdentity,
  LEDGER,
  mockSigningKeySecret,
  recordingObservability,
  SECRET_NAME,
  SELF,
  secretsClient,
  verifyAs,
} from './test-helpers.test-support.js';

const quiet = recordingObservability().options;
const sm = mockSigningKeySecret();
beforeEach(() => sm.mock.reset());

const clock = () => {
  let time = 1_800_000_000_000;
  return { now: () => time, advance: (seconds: number) => (time += seconds * 1000) };
};

const expectSigningError = async (promise: Promise<unknown>, reason: string) => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SigningError);
  expect(error).toMatchObject({ reason });
  return error as SigningError;
};

describe('IdentitySigner: the key', () => {
  it('reads the key where nhi-dns keygen stores it, imports it once, and signs proofs the callee accepts', async () => {
    const { identity, jwk } = keyedIdentity('k1');
    sm.holds(jwk);
    const recorded = recordingObservability();
    const signer = createSigner({ self: SELF, client: secretsClient(), ...recorded.options });
    const first = await signer.sign({ aud: LEDGER, body: '{"a":1}' });
    const second = await signer.sign({ aud: LEDGER });
    expect(sm.calls()).toHaveLength(1);
    expect(sm.calls()[0]?.args[0].input).toEqual({ SecretId: SECRET_NAME, VersionStage: 'AWSCURRENT' });
    const { claims } = verifyAs(first, [identity], { body: '{"a":1}' });
    expect(claims).toMatchObject({ iss: SELF, aud: LEDGER });
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);
    expect(verifyAs(second, [identity], {}).proof.header).toEqual({
      alg: 'EdDSA',
      kid: 'k1',
      typ: 'nhi+jwt',
    });
    // jose, the oracle, accepts it too.
    expect(
      (await jwtVerify(first, createPublicKey(identity.privateKey), { audience: LEDGER })).payload.iss,
    ).toBe(SELF);
    expect(recorded.metrics.filter((metric) => metric.name === 'SigningKeyLoad')).toHaveLength(1);
    expect(recorded.metrics.filter((metric) => metric.name === 'ProofSigned')).toEqual([
      { name: 'ProofSigned', value: 1 },
      { name: 'ProofSigned', value: 1 },
    ]);
    const logged = JSON.stringify(recorded.logs);
    expect(logged).toContain('signing key loaded');
    expect(logged).not.toContain(String(jwk.d));
  });

  it('follows rotation: a new AWSCURRENT is used once keyMaxAge has passed, never before', async () => {
    const time = clock();
    const old = keyedIdentity('k-old');
    const next = keyedIdentity('k-new');
    sm.holds(old.jwk);
    const signer = createSigner({
      self: SELF,
      client: secretsClient(),
      keyMaxAge: 60,
      now: time.now,
      prefetch: false,
    });
    expect(claimsOf(await signer.sign({ aud: LEDGER })).iss).toBe(SELF);
    sm.holds(next.jwk);
    time.advance(30);
    expect(verifyAs(await signer.sign({ aud: LEDGER }), [old.identity], {}).proof.header.kid).toBe('k-old');
    time.advance(31);
    expect(verifyAs(await signer.sign({ aud: LEDGER }), [next.identity], {}).proof.header.kid).toBe('k-new');
  });

  it('never uses a stored key whose public half does not match its private part', async () => {
    const { jwk } = keyedIdentity('k1');
    const stranger = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    sm.holds({ ...jwk, x: stranger.x });
    const recorded = recordingObservability();
    const signer = createSigner({
      self: SELF,
      client: secretsClient(),
      prefetch: false,
      ...recorded.options,
    });
    const error = await expectSigningError(signer.sign({ aud: LEDGER }), 'invalid_signing_key');
    expect(error.message).not.toContain(String(jwk.d));
    // The bad value is not cached: once fixed, it is fetched again (after the 1 s backoff).
    expect(sm.calls()).toHaveLength(1);
    sm.holds(jwk);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await expect(signer.sign({ aud: LEDGER })).resolves.toEqual(expect.any(String));
    expect(sm.calls()).toHaveLength(2);
    expect(recorded.metrics).toContainEqual({
      name: 'SigningKeyLoadError',
      value: 1,
      dimension: ['Reason', 'invalid_signing_key'],
    });
  });

  it('refuses values that are not private JWKs, or whose alg does not fit the key', async () => {
    const { jwk } = keyedIdentity('k1');
    const { d: _d, ...publicOnly } = jwk;
    for (const value of [
      'not json',
      '"a string"',
      JSON.stringify(publicOnly),
      JSON.stringify({ ...jwk, alg: 'ES256' }),
    ]) {
      sm.mock.reset();
      sm.holds(value);
      const signer = createSigner({
        self: SELF,
        client: secretsClient(),
        prefetch: false,
        ...recordingObservability().options,
      });
      await expect(signer.sign({ aud: LEDGER })).rejects.toBeInstanceOf(SigningError);
    }
  });

  it('fails closed while Secrets Manager fails, leaks nothing, backs off, and recovers', async () => {
    const time = clock();
    const { identity, jwk } = keyedIdentity('k1');
    sm.mock.rejects(
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' }),
    );
    const recorded = recordingObservability();
    const signer = createSigner({
      self: SELF,
      client: secretsClient(),
      prefetch: false,
      now: time.now,
      ...recorded.options,
    });
    const error = await expectSigningError(signer.sign({ aud: LEDGER }), 'signing_key_unavailable');
    expect(error.message).toContain(SECRET_NAME);
    // Within the backoff, no second call to Secrets Manager.
    await expectSigningError(signer.ready(), 'signing_key_unavailable');
    expect(sm.calls()).toHaveLength(1);
    sm.mock.reset();
    sm.holds(jwk);
    time.advance(2);
    verifyAs(await signer.sign({ aud: LEDGER }), [identity], {});
    expect(recorded.metrics).toContainEqual({
      name: 'SigningKeyLoadError',
      value: 1,
      dimension: ['Reason', 'signing_key_unavailable'],
    });
  });

  it('signs with a key given directly, outside Lambda (JWK or KeyObject)', async () => {
    const { identity, jwk } = keyedIdentity('k1', 'p256');
    const fromJwk = createSigner({ ...quiet, self: SELF, signingKey: { jwk } });
    const fromKeyObject = createSigner({
      self: SELF,
      signingKey: { keyObject: identity.privateKey, kid: 'k1' },
    });
    for (const signer of [fromJwk, fromKeyObject]) {
      const token = await signer.sign({
        aud: [LEDGER, 'audit.prod.auth.example.com'],
        method: 'get',
        url: 'https://x.example/a',
      });
      const { claims } = verifyAs(token, [identity], { method: 'GET', url: 'https://x.example/a' });
      expect(claims.htm).toBe('GET');
    }
    expect(sm.calls()).toHaveLength(0);
  });

  it('emits RFC 9864 Ed25519 when asked', async () => {
    const { identity, jwk } = keyedIdentity('k1');
    const signer = createSigner({
      ...quiet,
      self: SELF,
      signingKey: { jwk },
      algorithm: 'Ed25519',
      lifetime: 30,
    });
    const { proof, claims } = verifyAs(await signer.sign({ aud: LEDGER }), [identity], {});
    expect(proof.header.alg).toBe('Ed25519');
    expect(claims.exp - claims.iat).toBe(30);
  });
});

describe('IdentitySigner: options', () => {
  const { jwk } = keyedIdentity('k1');

  it.each([
    [{ self: SELF, lifetim: 60 }, /lifetim.*did you mean .lifetime/],
    [{ self: SELF, lifetime: 301 }, /lifetime/],
    [{ self: SELF, lifetime: 0 }, /lifetime/],
    [{ self: SELF, algorithm: 'ES256' }, /algorithm/],
    [{ self: SELF, signingKey: { name: 'x' } }, /signingKey/],
    [{ self: 'not-an-identity' }, /self must be/],
    [{ self: SELF, keyMaxAge: -1 }, /keyMaxAge/],
  ])('refuses %j at creation', (options, message) => {
    expect(() => new IdentitySigner(options as never)).toThrow(message);
    expect(() => new IdentitySigner(options as never)).toThrow(SigningError);
  });

  it('takes self from NHI_SELF, and refuses to start without an identity', () => {
    const saved = process.env.NHI_SELF;
    try {
      delete process.env.NHI_SELF;
      expect(() => createSigner({ signingKey: { jwk } })).toThrow(/NHI_SELF/);
      process.env.NHI_SELF = 'Billing.Prod.Auth.Example.com.';
      expect(createSigner({ signingKey: { jwk } }).self).toBe(SELF);
    } finally {
      if (saved === undefined) delete process.env.NHI_SELF;
      else process.env.NHI_SELF = saved;
    }
  });

  it('refuses a per-call lifetime above 300 s and a bad audience before signing', async () => {
    const signer = createSigner({ ...quiet, self: SELF, signingKey: { jwk } });
    await expectSigningError(signer.sign({ aud: LEDGER, lifetime: 301 }), 'invalid_proof_options');
    await expectSigningError(signer.sign({ aud: '' }), 'invalid_proof_options');
  });

  it('refuses a fixed key that does not import, at creation', () => {
    expect(() => createSigner({ ...quiet, self: SELF, signingKey: { jwk: { ...jwk, d: 'AAAA' } } })).toThrow(
      SigningError,
    );
  });
});
