/**
 * The proof test vectors (packages/core/test-vectors/proofs.json, DESIGN §3 "Test vectors"), held
 * in both directions: our two signers reproduce every deterministic token byte for byte from the
 * vector's inputs, and our verifier (the record parsed and imported as a callee does) accepts each
 * positive vector and denies each negative one with its stated reason; jose accepts the positive
 * ones too. The file is loaded when this module loads: a missing or malformed file fails the
 * suite, it never skips it.
 */
import { createPrivateKey, createPublicKey, type JsonWebKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { type JWK, jwtVerify } from 'jose';
import { importRecordKeys } from './keys.js';
import { type ProofAlgorithm, ProofError } from './proof.js';
import { decodeProof } from './proof-decode.js';
import { signProof } from './proof-sign.js';
import { ProofSigner } from './proof-signer.js';
import { ACCEPTED_ALGORITHMS, verifyProof } from './proof-verify.js';
import { formatRecord, type KeyType, parseRecordSet } from './record.js';

const VECTORS_FILE = new URL('../test-vectors/proofs.json', import.meta.url);
const DESIGN_FILE = new URL('../../../DESIGN.md', import.meta.url);
/** The vector DESIGN §3 shows inline. */
const INLINE_VECTOR = 'ed25519-eddsa-minimal';

interface VectorKey {
  kid: string;
  keyType: KeyType;
  privateJwk: { kty: string; crv: string; d: string; x: string; y?: string };
  publicKey: string;
  record: string;
}

interface SignInputs {
  algorithm: ProofAlgorithm;
  iss: string;
  aud: string | string[];
  iat: number;
  lifetime: number;
  jti: string;
  body?: string;
  method?: string;
  url?: string;
}

interface Vector {
  name: string;
  kid: string;
  /** Signer inputs; absent when the token was built by hand (`construction`). */
  sign?: SignInputs;
  construction?: string;
  deterministic: boolean;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  token: string;
  identity: string;
  record: string;
  verify: { now: number; audience: string; body?: string; method?: string; url?: string };
  expect: { valid: true } | { valid: false; reason: string };
}

interface VectorFile {
  verifier: { maxLifetime: number; clockSkew: number };
  rfc8037A4: { kid: string; signingInput: string; signature: string };
  keys: VectorKey[];
  vectors: Vector[];
}

/** Reads and shape-checks the file; throws (failing the suite) on anything unexpected. */
const loadVectors = (): VectorFile => {
  const file: unknown = JSON.parse(readFileSync(VECTORS_FILE, 'utf8'));
  const fail = (what: string): never => {
    throw new Error(`${VECTORS_FILE.pathname}: ${what}`);
  };
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject(file) || !Array.isArray(file.keys) || !Array.isArray(file.vectors)) {
    return fail('must be an object with keys and vectors');
  }
  if (!isObject(file.verifier) || !isObject(file.rfc8037A4)) return fail('needs verifier and rfc8037A4');
  for (const key of file.keys) {
    if (!isObject(key) || typeof key.kid !== 'string' || !isObject(key.privateJwk)) fail('bad key entry');
    if (typeof key.record !== 'string' || typeof key.publicKey !== 'string')
      fail(`key ${key.kid}: no record`);
    if (key.keyType !== 'ed25519' && key.keyType !== 'p256') fail(`key ${key.kid}: bad keyType`);
  }
  const names = new Set<string>();
  for (const vector of file.vectors) {
    if (!isObject(vector) || typeof vector.name !== 'string') return fail('bad vector entry');
    if (names.has(vector.name)) fail(`vector ${vector.name} appears twice`);
    names.add(vector.name);
    for (const field of ['kid', 'token', 'identity', 'record'] as const) {
      if (typeof vector[field] !== 'string') fail(`vector ${vector.name}: ${field} must be a string`);
    }
    if (typeof vector.deterministic !== 'boolean') fail(`vector ${vector.name}: deterministic`);
    if (!isObject(vector.header) || !isObject(vector.claims)) fail(`vector ${vector.name}: header, claims`);
    if (!isObject(vector.sign) && typeof vector.construction !== 'string') {
      fail(`vector ${vector.name}: needs sign inputs or a construction`);
    }
    const { verify, expect: outcome } = vector;
    if (!isObject(verify) || typeof verify.now !== 'number' || typeof verify.audience !== 'string') {
      fail(`vector ${vector.name}: verify needs now and audience`);
    }
    if (!isObject(outcome) || typeof outcome.valid !== 'boolean') fail(`vector ${vector.name}: expect`);
    if (isObject(outcome) && outcome.valid === false && typeof outcome.reason !== 'string') {
      fail(`vector ${vector.name}: a negative vector needs a reason`);
    }
  }
  return file as unknown as VectorFile;
};

const file = loadVectors();
const keyOf = (kid: string): VectorKey => {
  const key = file.keys.find((candidate) => candidate.kid === kid);
  if (key === undefined) throw new Error(`no key ${kid} in the vector file`);
  return key;
};
const positives = file.vectors.filter((vector) => vector.expect.valid);
const negatives = file.vectors.filter((vector) => !vector.expect.valid);
const signed = file.vectors.filter(
  (vector): vector is Vector & { sign: SignInputs } => vector.sign !== undefined,
);

/** `signProof`/`ProofSigner` request options of a vector's sign inputs. */
const requestOf = (inputs: SignInputs) => ({
  aud: inputs.aud,
  now: inputs.iat,
  lifetime: inputs.lifetime,
  jti: inputs.jti,
  ...(inputs.body === undefined ? {} : { body: inputs.body }),
  ...(inputs.method === undefined ? {} : { method: inputs.method }),
  ...(inputs.url === undefined ? {} : { url: inputs.url }),
});

const signingInputOf = (token: string): string => token.slice(0, token.lastIndexOf('.'));
const segmentText = (segment: string | undefined): string =>
  Buffer.from(segment ?? '', 'base64url').toString('utf8');

/** The key a callee would select for this vector: its record parsed and imported, by header kid. */
const recordKeyOf = (vector: Vector) => {
  const set = parseRecordSet(vector.identity, [vector.record]);
  expect(set.problems).toEqual([]);
  const { keys, rejected } = importRecordKeys(set.keys);
  expect(rejected).toEqual([]);
  const key = keys.get(decodeProof(vector.token).header.kid);
  if (key === undefined) throw new Error(`${vector.name}: the record has no key for the header kid`);
  return key;
};

const verifyVector = (vector: Vector) =>
  verifyProof(decodeProof(vector.token), {
    key: recordKeyOf(vector),
    audience: vector.verify.audience,
    now: vector.verify.now,
    maxLifetime: file.verifier.maxLifetime,
    clockSkew: file.verifier.clockSkew,
    ...(vector.verify.body === undefined ? {} : { body: vector.verify.body }),
    ...(vector.verify.method === undefined ? {} : { method: vector.verify.method }),
    ...(vector.verify.url === undefined ? {} : { url: vector.verify.url }),
  });

describe('the vector file', () => {
  it('covers both Ed25519 names and ES256, with and without bh/htm/htu, aud as string and array', () => {
    const algs = (list: Vector[]) => new Set(list.map((vector) => vector.header.alg));
    expect(algs(positives)).toEqual(new Set(['EdDSA', 'Ed25519', 'ES256']));
    for (const alg of ['EdDSA', 'Ed25519', 'ES256']) {
      const ofAlg = positives.filter((vector) => vector.header.alg === alg);
      expect(ofAlg.some((vector) => vector.claims.bh !== undefined)).toBe(true);
      expect(ofAlg.some((vector) => vector.claims.bh === undefined && vector.claims.htu === undefined)).toBe(
        true,
      );
    }
    expect(
      positives.some((vector) => vector.claims.htm !== undefined && vector.claims.htu !== undefined),
    ).toBe(true);
    expect(positives.some((vector) => typeof vector.claims.aud === 'string')).toBe(true);
    expect(positives.some((vector) => Array.isArray(vector.claims.aud))).toBe(true);
    const reasons = new Set(negatives.map((vector) => (vector.expect.valid ? '' : vector.expect.reason)));
    for (const reason of ['bad_signature', 'wrong_audience', 'expired', 'bad_alg', 'body_mismatch']) {
      expect(reasons).toContain(reason);
    }
  });

  it.each(file.keys)('key $kid: its record is formatRecord of the public half of its private JWK', (key) => {
    const publicKey = createPublicKey(createPrivateKey({ key: key.privateJwk as JsonWebKey, format: 'jwk' }));
    const published =
      key.keyType === 'ed25519'
        ? Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64')
        : publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(published).toBe(key.publicKey);
    expect(
      formatRecord({
        service: 'billing',
        environment: 'prod',
        kid: key.kid,
        keyType: key.keyType,
        publicKey: published,
      }),
    ).toBe(key.record);
  });

  it('the rfc8037-a1 key is RFC 8037 A.1: it reproduces the signature of A.4', () => {
    const { kid, signingInput, signature } = file.rfc8037A4;
    const privateKey = createPrivateKey({ key: keyOf(kid).privateJwk as JsonWebKey, format: 'jwk' });
    expect(sign(null, Buffer.from(signingInput), privateKey).toString('base64url')).toBe(signature);
  });

  it.each(file.vectors)(
    '$name: header and claims are the token segments, JSON without whitespace',
    (vector) => {
      const [header, claims] = vector.token.split('.');
      expect(segmentText(header)).toBe(JSON.stringify(vector.header));
      expect(segmentText(claims)).toBe(JSON.stringify(vector.claims));
      expect(vector.record).toBe(keyOf(vector.kid).record);
      expect(vector.deterministic).toBe(keyOf(vector.kid).keyType === 'ed25519');
    },
  );

  it(`DESIGN §3 shows the vector ${INLINE_VECTOR} as it is in the file`, () => {
    const design = readFileSync(DESIGN_FILE, 'utf8');
    const vector = file.vectors.find((candidate) => candidate.name === INLINE_VECTOR);
    if (vector === undefined) throw new Error(`no vector ${INLINE_VECTOR}`);
    expect(design).toContain(vector.token);
    expect(design).toContain(vector.record);
    expect(design).toContain(keyOf(vector.kid).privateJwk.d);
    expect(design).toContain('packages/core/test-vectors/proofs.json');
  });
});

describe('our signers reproduce the vectors from their inputs', () => {
  it.each(signed)('$name: signProof (jose)', async (vector) => {
    const key = keyOf(vector.kid);
    const token = await signProof({
      privateKey: key.privateJwk as JWK,
      kid: vector.kid,
      iss: vector.sign.iss,
      algorithm: vector.sign.algorithm,
      ...requestOf(vector.sign),
    });
    if (vector.deterministic) expect(token).toBe(vector.token);
    else expect(signingInputOf(token)).toBe(signingInputOf(vector.token));
  });

  it.each(signed)('$name: ProofSigner (node:crypto)', (vector) => {
    const key = keyOf(vector.kid);
    const signer = new ProofSigner({
      privateKey: key.privateJwk as JsonWebKey,
      kid: vector.kid,
      iss: vector.sign.iss,
      algorithm: vector.sign.algorithm,
    });
    const token = signer.sign(requestOf(vector.sign));
    if (vector.deterministic) expect(token).toBe(vector.token);
    else expect(signingInputOf(token)).toBe(signingInputOf(vector.token));
  });
});

describe('our verifier, with the vector record, agrees with every vector', () => {
  it.each(positives)('$name is accepted', (vector) => {
    expect(verifyVector(vector)).toEqual(vector.claims);
  });

  it.each(negatives)('$name is denied with its reason', (vector) => {
    let denial: unknown;
    try {
      verifyVector(vector);
    } catch (error) {
      denial = error;
    }
    expect(denial).toBeInstanceOf(ProofError);
    expect((denial as ProofError).reason).toBe(vector.expect.valid ? 'accepted' : vector.expect.reason);
  });

  it.each(positives)('$name is accepted by jose.jwtVerify too', async (vector) => {
    const key = recordKeyOf(vector);
    if (key.keyObject === undefined) throw new Error(`${vector.name}: revoked key`);
    const { payload, protectedHeader } = await jwtVerify(vector.token, key.keyObject, {
      audience: vector.verify.audience,
      currentDate: new Date(vector.verify.now * 1000),
      clockTolerance: file.verifier.clockSkew,
      typ: 'nhi+jwt',
      algorithms: [...ACCEPTED_ALGORITHMS[key.keyType]],
    });
    expect(payload).toEqual(vector.claims);
    expect(protectedHeader).toEqual(vector.header);
  });
});
