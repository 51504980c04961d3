/**
 * Differential tests of our verifier against `jose.jwtVerify` (DESIGN §3).
 *
 * (1) Every proof `signProof` makes and we accept, jose accepts with equivalent options.
 * (2) On random and mutated tokens the two never disagree on acceptance, except where our
 *     rules are stricter than jose's BY DESIGN; there we only require "we accept ⇒ jose
 *     accepts". Those rules are listed, one by one, in {@link stricterByDesign}.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { jwtVerify } from 'jose';
import { isCanonicalBase64url } from './base64url.js';
import { importRecordKeys, type VerificationKey } from './keys.js';
import { MAX_PROOF_BYTES } from './proof.js';
import { decodeProof } from './proof-decode.js';
import { signProof } from './proof-sign.js';
import {
  ACCEPTED_ALGORITHMS,
  ALGORITHM_BY_KEY_TYPE,
  MAX_JTI_LENGTH,
  MIN_JTI_LENGTH,
  verifyProof,
} from './proof-verify.js';
import { parseRecordSet } from './record.js';
import { signRawProof } from './test-support/raw-proof.js';
import { createTestIdentity, type TestIdentity } from './test-support/test-identity.js';

const ISS = 'orders.prod.auth.example.com';
const AUD = 'billing.prod.auth.example.com';
const BASE_NOW = 1_800_000_000;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

interface Rules {
  now: number;
  maxLifetime: number;
  clockSkew: number;
}

const identities: Record<'ed25519' | 'p256', TestIdentity> = {
  ed25519: createTestIdentity(ISS, { kid: 'ed' }),
  p256: createTestIdentity(ISS, { kid: 'ec', keyType: 'p256' }),
};
const strangers: Record<'ed25519' | 'p256', KeyObject> = {
  ed25519: generateKeyPairSync('ed25519').privateKey,
  p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
};
const keyOf = (identity: TestIdentity): VerificationKey => {
  const key = importRecordKeys(parseRecordSet(identity.name, [identity.record]).keys).keys.get(identity.kid);
  if (key === undefined) throw new Error('test key did not import');
  return key;
};
const keys = { ed25519: keyOf(identities.ed25519), p256: keyOf(identities.p256) };

const ours = (token: string, key: VerificationKey, rules: Rules): boolean => {
  try {
    verifyProof(decodeProof(token), { key, audience: AUD, ...rules });
    return true;
  } catch {
    return false;
  }
};

/** jose with the same policy: algorithm allow-list, typ, audience, age, tolerance, clock. */
const theirs = async (token: string, key: VerificationKey, rules: Rules): Promise<boolean> => {
  try {
    await jwtVerify(token, key.keyObject as KeyObject, {
      algorithms: [...ACCEPTED_ALGORITHMS[key.keyType]],
      typ: 'nhi+jwt',
      audience: AUD,
      maxTokenAge: rules.maxLifetime,
      clockTolerance: rules.clockSkew,
      currentDate: new Date(rules.now * 1000),
      requiredClaims: ['iss', 'exp', 'jti'],
    });
    return true;
  } catch {
    return false;
  }
};

const looseJson = (segment: string | undefined): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment ?? '', 'base64url')),
    );
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
};

/**
 * True when the token breaks one of the rules where we are deliberately stricter than jose,
 * so jose may accept what we refuse:
 * - size over 8 KiB (jose has no limit);
 * - non-canonical base64url (jose on Node 20 decodes with `atob`, which skips padding,
 *   whitespace and unused trailing bits);
 * - header `kid` must be a string, and no `crit` at all (jose understands `crit: ["b64"]`);
 * - `iss` and `jti` must be strings, `jti` of 16..128 characters (jose only checks presence);
 * - `iat`, `exp`, `nbf` must be integers (jose takes any number, even Infinity from `1e400`);
 * - `exp - iat` ≤ maxLifetime (jose bounds `now - iat` instead, a weaker rule given `exp`);
 * - `aud` arrays hold only strings (jose only looks for the audience in it);
 * - `bh`, `htm`, `htu` bind the request (jose ignores them; these tests give no request).
 */
const stricterByDesign = (token: string, rules: Rules): boolean => {
  if (token.length > MAX_PROOF_BYTES) return true;
  const segments = token.split('.');
  if (segments.length !== 3) return false;
  if (!segments.every(isCanonicalBase64url)) return true;
  const header = looseJson(segments[0]);
  const claims = looseJson(segments[1]);
  if (header === undefined || claims === undefined) return false;
  if (typeof header.kid !== 'string' || header.crit !== undefined) return true;
  const { iss, jti, iat, exp, nbf, aud } = claims;
  if (typeof iss !== 'string') return true;
  if (typeof jti !== 'string' || jti.length < MIN_JTI_LENGTH || jti.length > MAX_JTI_LENGTH) return true;
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) return true;
  if (nbf !== undefined && !Number.isSafeInteger(nbf)) return true;
  if ((exp as number) - (iat as number) > rules.maxLifetime) return true;
  if (Array.isArray(aud) && aud.some((member) => typeof member !== 'string')) return true;
  return claims.bh !== undefined || claims.htm !== undefined || claims.htu !== undefined;
};

const rulesArbitrary: fc.Arbitrary<Rules> = fc.record({
  now: fc.integer({ min: BASE_NOW - 1000, max: BASE_NOW + 1000 }),
  maxLifetime: fc.constantFrom(300, 60, 600),
  clockSkew: fc.constantFrom(60, 0, 5, 120),
});
const keyTypeArbitrary = fc.constantFrom('ed25519' as const, 'p256' as const);

describe('differential: verifyProof vs jose.jwtVerify', () => {
  it('(1) jose accepts every proof signProof makes and we accept', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        keyTypeArbitrary,
        rulesArbitrary,
        fc.record({
          skewOffset: fc.integer({ min: -60, max: 60 }),
          lifetime: fc.integer({ min: 1, max: 300 }),
          aud: fc.constantFrom<string | string[]>(AUD, [AUD], ['other.prod.auth.example.com', AUD]),
          jti: fc.option(fc.string({ unit: fc.constantFrom(...B64URL), minLength: 16, maxLength: 128 }), {
            nil: undefined,
          }),
        }),
        async (keyType, rules, proof) => {
          const token = await signProof({
            privateKey: identities[keyType].privateKey,
            kid: identities[keyType].kid,
            iss: ISS,
            aud: proof.aud,
            lifetime: proof.lifetime,
            now: rules.now + Math.round((proof.skewOffset * rules.clockSkew) / 60),
            ...(proof.jti === undefined ? {} : { jti: proof.jti }),
          });
          const weAccept = ours(token, keys[keyType], rules);
          if (weAccept) {
            accepted += 1;
            expect(await theirs(token, keys[keyType], rules)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
    // Guard against a vacuous property: most of these proofs are valid by construction.
    expect(accepted).toBeGreaterThan(150);
  });

  it('(2) never disagrees on random and mutated tokens, outside the stricter-by-design rules', async () => {
    const tally = { bothAccept: 0, bothReject: 0, stricter: 0 };
    const headerArbitrary = fc.record(
      {
        alg: fc.constantFrom<unknown>('EdDSA', 'ES256', 'none', 'HS256', 'Ed25519', 'RS256', '', 7),
        typ: fc.constantFrom<unknown>('nhi+jwt', 'NHI+JWT', 'application/nhi+jwt', 'JWT', 'x/nhi+jwt', 3),
        kid: fc.constantFrom<unknown>('ed', 'ec', 9),
        crit: fc.constantFrom<unknown>(['b64'], ['exp'], []),
        b64: fc.constantFrom<unknown>(true, false),
      },
      { requiredKeys: [] },
    );
    const claimsArbitrary = fc.record(
      {
        iss: fc.constantFrom<unknown>(ISS, 7, null),
        aud: fc.constantFrom<unknown>(
          AUD,
          [AUD],
          ['x.prod.auth.example.com', AUD],
          'x.prod.auth.example.com',
          [],
          [AUD, 1],
          5,
        ),
        iatOffset: fc.oneof(fc.integer({ min: -700, max: 200 }), fc.constantFrom(0.5, 1e20)),
        lifetime: fc.oneof(fc.integer({ min: -10, max: 700 }), fc.constantFrom(0.25, 1e300)),
        jti: fc.oneof(fc.string({ minLength: 0, maxLength: 140 }), fc.integer()),
        nbfOffset: fc.integer({ min: -200, max: 200 }),
        bh: fc.constant('47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU'),
      },
      { requiredKeys: ['iatOffset', 'lifetime'] },
    );
    // fc.option's freq: nil comes out once in `freq` draws.
    const mutationArbitrary = fc.option(
      fc.record({
        segment: fc.integer({ min: 0, max: 2 }),
        position: fc.nat(),
        insert: fc.boolean(),
        char: fc.constantFrom(...`${B64URL}=+/ .`.split('')),
      }),
      { freq: 2 },
    );
    const tokenArbitrary = fc.oneof(
      {
        weight: 1,
        arbitrary: fc.string({ maxLength: 200 }).map((token) => ({ build: (_rules: Rules) => token })),
      },
      {
        weight: 1,
        arbitrary: fc
          .array(fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 120 }), {
            minLength: 3,
            maxLength: 3,
          })
          .map((segments) => ({ build: (_rules: Rules) => segments.join('.') })),
      },
      {
        weight: 8,
        arbitrary: fc
          .record({
            keyType: keyTypeArbitrary,
            signer: fc.constantFrom('right', 'right', 'right', 'stranger', 'other-type'),
            header: fc.option(headerArbitrary, { freq: 2 }),
            claims: fc.option(claimsArbitrary, { freq: 2 }),
            rawClaims: fc.oneof(
              { weight: 1, arbitrary: fc.constantFrom('[]', 'null', '"x"', '{"iss":', '{}') },
              { weight: 9, arbitrary: fc.constant(null) },
            ),
            mutation: mutationArbitrary,
            // Pins one time claim to within a second of its clock-skew boundary.
            edge: fc.option(
              fc.record({
                claim: fc.constantFrom('iat', 'exp', 'nbf'),
                delta: fc.integer({ min: -1, max: 1 }),
              }),
              { freq: 2 },
            ),
          })
          .map(({ keyType, signer, header, claims, rawClaims, mutation, edge }) => {
            const identity = identities[keyType];
            const otherType = keyType === 'ed25519' ? 'p256' : 'ed25519';
            const signingKey =
              signer === 'right'
                ? identity.privateKey
                : signer === 'stranger'
                  ? strangers[keyType]
                  : identities[otherType].privateKey;
            const fullHeader = {
              alg: ALGORITHM_BY_KEY_TYPE[keyType],
              kid: identity.kid,
              typ: 'nhi+jwt',
              ...header,
            };
            const { iatOffset = 0, lifetime = 60, nbfOffset, ...rest } = claims ?? {};
            const build = ({ now, clockSkew }: Rules): string => {
              let iat = now + iatOffset;
              let exp = iat + lifetime;
              let nbf = nbfOffset === undefined ? undefined : now + nbfOffset;
              if (edge?.claim === 'exp') {
                exp = now - clockSkew + edge.delta;
                iat = exp - 10;
              } else if (edge?.claim === 'iat') {
                iat = now + clockSkew + edge.delta;
                exp = iat + 10;
              } else if (edge?.claim === 'nbf') {
                nbf = now + clockSkew + edge.delta;
              }
              const fullClaims = {
                iss: ISS,
                aud: AUD,
                jti: 'j'.repeat(22),
                iat,
                exp,
                ...(nbf === undefined ? {} : { nbf }),
                ...rest,
              };
              let token = signRawProof(fullHeader, rawClaims ?? fullClaims, signingKey);
              if (mutation !== null) {
                const segments = token.split('.');
                const segment = segments[mutation.segment] ?? '';
                const at = segment.length === 0 ? 0 : mutation.position % segment.length;
                segments[mutation.segment] =
                  segment.slice(0, at) + mutation.char + segment.slice(mutation.insert ? at : at + 1);
                token = segments.join('.');
              }
              return token;
            };
            return { build, keyType };
          }),
      },
    );

    await fc.assert(
      fc.asyncProperty(tokenArbitrary, keyTypeArbitrary, rulesArbitrary, async (input, anyKeyType, rules) => {
        const keyType = 'keyType' in input ? (input.keyType as keyof typeof keys) : anyKeyType;
        const key = keys[keyType];
        // Claims are relative to the verifier's clock, so that many mutants are near-valid.
        const token = input.build(rules);
        const weAccept = ours(token, key, rules);
        const joseAccepts = await theirs(token, key, rules);
        if (weAccept) expect(joseAccepts).toBe(true);
        if (joseAccepts && !weAccept) {
          expect(stricterByDesign(token, rules)).toBe(true);
          tally.stricter += 1;
        } else if (weAccept) tally.bothAccept += 1;
        else tally.bothReject += 1;
      }),
      { numRuns: 1500 },
    );
    // Both outcomes must be well represented, or the comparison proves little.
    // About 55 of 1 500 runs are accepted by both on average; 20 leaves room for random variation.
    expect(tally.bothAccept).toBeGreaterThan(20);
    expect(tally.bothReject).toBeGreaterThan(500);
  });
});
