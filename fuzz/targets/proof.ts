import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import {
  type DecodedProof,
  decodeProof,
  importRecordKeys,
  isDenialReason,
  ProofError,
  parseRecord,
  type VerificationKey,
  verifyProof,
} from '@nhi-dns/core';
import fc from 'fast-check';
import { mutatedFrom } from './mutate.js';
import { type FuzzTarget, invariant } from './target.js';

const ISS = 'billing.prod.auth.example.com';
const AUD = 'ledger.prod.auth.example.com';
/** Fixed clock, so that generated times land on both sides of every bound. */
const NOW = 1_800_000_000;
const SKEW = 60;
const MAX_LIFETIME = 300;

interface Signer {
  readonly alg: 'EdDSA' | 'ES256';
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly key: VerificationKey;
}

const makeSigner = (keyType: 'ed25519' | 'p256', kid: string): Signer => {
  const pair =
    keyType === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey =
    keyType === 'ed25519'
      ? Buffer.from(pair.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64')
      : pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const parsed = parseRecord(`v=NHI1; svc=billing; env=prod; kid=${kid}; k=${keyType}; p=${publicKey}`, ISS);
  if (parsed.status !== 'valid') throw new Error('fuzz setup: test record does not parse');
  const key = importRecordKeys([parsed.record]).keys.get(kid);
  if (key === undefined) throw new Error('fuzz setup: test key does not import');
  return { alg: keyType === 'ed25519' ? 'EdDSA' : 'ES256', kid, privateKey: pair.privateKey, key };
};

// Key pairs are made on first use, so that importing a target costs nothing.
let signers: Signer[] | undefined;
const getSigners = (): Signer[] => {
  signers ??= [makeSigner('ed25519', 'k1'), makeSigner('p256', 'p1')];
  return signers;
};

const segment = (value: string | Buffer) => Buffer.from(value).toString('base64url');

const signWith = (signer: Signer, header: string, claims: string): string => {
  const input = `${segment(header)}.${segment(claims)}`;
  const data = Buffer.from(input);
  const signature =
    signer.alg === 'EdDSA'
      ? sign(null, data, signer.privateKey)
      : sign('sha256', data, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
};

const validClaims = (jti: string) => JSON.stringify({ iss: ISS, aud: AUD, iat: NOW, exp: NOW + 60, jti });

/** Values at and around every bound a claim has. */
const claimValue = fc.oneof(
  fc.constantFrom(AUD, ISS, [AUD], [], [AUD, 1], 'x'.repeat(16), 'x'.repeat(129), null, true, {}),
  fc.constantFrom(NOW, NOW + SKEW, NOW - SKEW, NOW + MAX_LIFETIME + 1, -1, 0, 2 ** 53, 1e308, 0.5),
  fc.integer({ min: NOW - 1000, max: NOW + 1000 }),
  fc.string({ maxLength: 140 }),
);

const claimName = fc.constantFrom('iss', 'aud', 'iat', 'exp', 'nbf', 'jti', 'bh', 'htm', 'htu');

/** Header and claims JSON built from the grammar, then signed with a real key (maybe the other one). */
const signedStructured = fc
  .record({
    signer: fc.nat({ max: 1 }),
    header: fc.record(
      {
        alg: fc.constantFrom('EdDSA', 'ES256', 'none', 'HS256', 'eddsa', 'RS256'),
        kid: fc.constantFrom('k1', 'p1', '../k1', ''),
        typ: fc.constantFrom('nhi+jwt', 'application/nhi+jwt', 'NHI+JWT', 'JWT', ''),
        crit: fc.constant(['exp']),
        extra: fc.string({ maxLength: 10 }),
      },
      { requiredKeys: ['alg', 'kid', 'typ'] },
    ),
    claims: fc.oneof(
      fc.dictionary(claimName, claimValue, { minKeys: 3, maxKeys: 9 }),
      // Near misses: valid claims with one or two of them replaced (or removed: undefined).
      fc
        .dictionary(claimName, fc.option(claimValue, { nil: undefined }), { minKeys: 0, maxKeys: 2 })
        .map((overrides) => ({ ...JSON.parse(validClaims('dddddddddddddddd')), ...overrides })),
    ),
  })
  .map(({ signer, header, claims }) => ({
    signer,
    token: signWith(getSigners()[signer]!, JSON.stringify(header), JSON.stringify({ iss: ISS, ...claims })),
  }));

/** Valid tokens with seeded byte mutations anywhere (header, claims or signature). */
const mutatedTokens = fc
  .tuple(fc.nat({ max: 1 }), fc.constantFrom('aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbb'))
  .chain(([signer, jti]) => {
    const s = getSigners()[signer]!;
    const token = signWith(s, JSON.stringify({ alg: s.alg, kid: s.kid, typ: 'nhi+jwt' }), validClaims(jti));
    return mutatedFrom([Buffer.from(token)], 4).map((bytes) => ({
      signer,
      token: bytes.toString('latin1'),
      base: token,
    }));
  });

/** A valid token whose decoded header or claims bytes are mutated, then re-encoded (signature kept). */
const mutatedSegments = fc.tuple(fc.nat({ max: 1 }), fc.nat({ max: 1 })).chain(([signer, which]) => {
  const s = getSigners()[signer]!;
  const header = Buffer.from(JSON.stringify({ alg: s.alg, kid: s.kid, typ: 'nhi+jwt' }));
  const claims = Buffer.from(validClaims('cccccccccccccccccc'));
  const base = signWith(s, header.toString(), claims.toString());
  const [, , signature] = base.split('.');
  return mutatedFrom([which === 0 ? header : claims], 2).map((bytes) => ({
    signer,
    base,
    token:
      which === 0
        ? `${segment(bytes)}.${segment(claims)}.${signature}`
        : `${segment(header)}.${segment(bytes)}.${signature}`,
  }));
});

interface ProofInput {
  signer: number;
  token: string;
  /** The valid token this one was mutated from, if any. */
  base?: string;
}

const isUnixSeconds = (value: unknown): value is number => Number.isSafeInteger(value);

/** Independent statement of DESIGN §3: what an accepted proof must satisfy. */
const assertAcceptable = (proof: DecodedProof, signer: Signer): void => {
  const { header, claims } = proof;
  invariant(header.alg === signer.alg, 'accepted an alg that does not match the key type');
  invariant(['nhi+jwt', 'application/nhi+jwt'].includes(header.typ.toLowerCase()), 'accepted a bad typ');
  const { aud, iat, exp, jti, nbf } = claims as Record<string, unknown>;
  invariant(aud === AUD || (Array.isArray(aud) && aud.includes(AUD)), 'accepted another audience');
  invariant(isUnixSeconds(iat) && isUnixSeconds(exp), 'accepted non-integer times');
  invariant(iat <= NOW + SKEW && exp > NOW - SKEW, 'accepted a proof outside its validity window');
  invariant(nbf === undefined || (isUnixSeconds(nbf) && nbf <= NOW + SKEW), 'accepted a future nbf');
  invariant(exp - iat <= MAX_LIFETIME, 'accepted a lifetime over maxLifetime');
  invariant(typeof jti === 'string' && jti.length >= 16 && jti.length <= 128, 'accepted a bad jti');
};

/**
 * Proof tokens (random strings, valid tokens with byte mutations in any segment, mutated
 * header/claims re-encoded under the original signature, and grammar-built header/claims signed
 * with a real key) through `decodeProof` and `verifyProof`. Invariants: only `ProofError`s with a
 * reason from `DENIAL_REASONS` are thrown; a mutated token is never accepted unless it is the
 * original; anything accepted satisfies every rule of DESIGN §3.
 */
export const proofTarget: FuzzTarget<ProofInput> = {
  name: 'proof-token',
  description: 'random, mutated and re-signed proof tokens → decodeProof → verifyProof',
  arbitrary: () =>
    fc.oneof(
      fc.record({ signer: fc.nat({ max: 1 }), token: fc.string({ maxLength: 300 }) }),
      fc.record({
        signer: fc.nat({ max: 1 }),
        token: fc
          .array(fc.string({ unit: fc.constantFrom(...'AZaz09-_=+/.'), maxLength: 120 }), {
            minLength: 1,
            maxLength: 4,
          })
          .map((parts) => parts.join('.')),
      }),
      mutatedTokens,
      mutatedSegments,
      { weight: 3, arbitrary: signedStructured },
    ),
  check({ signer: index, token, base }) {
    const signer = getSigners()[index]!;
    let accepted: DecodedProof | undefined;
    try {
      const proof = decodeProof(token);
      verifyProof(proof, {
        key: signer.key,
        audience: AUD,
        now: NOW,
        clockSkew: SKEW,
        maxLifetime: MAX_LIFETIME,
      });
      accepted = proof;
    } catch (error) {
      invariant(error instanceof ProofError, `threw something else than a ProofError: ${String(error)}`);
      invariant(isDenialReason(error.reason), `reason outside DENIAL_REASONS: ${String(error.reason)}`);
      invariant(!error.message.includes(token) || token.length < 8, 'error message carries the token');
    }
    if (accepted === undefined) return;
    invariant(base === undefined || token === base, 'accepted a mutated token');
    assertAcceptable(accepted, signer);
  },
};
