/**
 * The WIMSE profile's test vectors (packages/core/test-vectors/workload-tokens.json, DESIGN §3a),
 * held to the code in both directions: witSigningInput/assembleWit and WorkloadProofSigner
 * reproduce every Ed25519 token byte for byte from the vector's inputs (the file was written by
 * scripts/generate-workload-vectors.mjs, but nothing here trusts that script), and
 * verifyWorkloadIdentity + verifyWorkloadProof, with the vector's records parsed and imported as a
 * callee does, give each vector's outcome; jose verifies every accepted pair with its typ checks.
 * The file is read when this module loads: a missing or malformed file fails the suite, it never
 * skips it.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { errors, importJWK, jwtVerify } from 'jose';
import type { Jwk } from './jwk.js';
import { importRecordKeys, type VerificationKey } from './keys.js';
import { ProofError } from './proof.js';
import { decodeProof, decodeWorkloadProof } from './proof-decode.js';
import { ACCEPTED_ALGORITHMS } from './proof-verify.js';
import { formatRecord, type KeyType, parseRecordSet } from './record.js';
import {
  assembleWit,
  tokenHash,
  verifyWorkloadIdentity,
  verifyWorkloadProof,
  WorkloadProofSigner,
  witSigningInput,
  workloadUri,
} from './workload-token.js';

const VECTORS_FILE = new URL('../test-vectors/workload-tokens.json', import.meta.url);

interface VectorKey {
  kid: string;
  keyType: KeyType;
  privateJwk: Jwk & { d: string; x: string };
  publicKey: string;
  record?: string;
}

interface WitInputs {
  name: string;
  kid: string;
  keyType: KeyType;
  /** kid in `keys` of the confirmed key. */
  confirmationKey: string;
  iat: number;
  lifetime: number;
  jti: string;
}

interface WptInputs {
  /** The WIT the signer held, when it is not the vector's. */
  wit?: string;
  aud: string | string[];
  iat: number;
  lifetime: number;
  jti: string;
  body?: string;
  method?: string;
  url?: string;
}

interface Token<Inputs> {
  signedBy: string;
  sign?: Inputs;
  construction?: string;
  deterministic: boolean;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  token: string;
}

interface Vector {
  name: string;
  identity: string;
  records: string[];
  wit: Token<WitInputs>;
  wpt: Token<WptInputs>;
  verify: { now: number; audience: string; body?: string; method?: string; url?: string };
  expect: { valid: true; claims: Record<string, unknown> } | { valid: false; reason: string };
}

interface VectorFile {
  description: string;
  verifier: { clockSkew: number; maxLifetime: number; maxWitLifetime: number };
  keys: VectorKey[];
  vectors: Vector[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads and shape-checks the file; throws (failing the suite) on anything unexpected. */
const loadVectors = (): VectorFile => {
  const file: unknown = JSON.parse(readFileSync(VECTORS_FILE, 'utf8'));
  const fail = (what: string): never => {
    throw new Error(`${VECTORS_FILE.pathname}: ${what}`);
  };
  if (!isObject(file) || typeof file.description !== 'string') return fail('needs a description');
  if (!Array.isArray(file.keys) || !Array.isArray(file.vectors) || !isObject(file.verifier)) {
    return fail('needs verifier, keys and vectors');
  }
  for (const setting of ['clockSkew', 'maxLifetime', 'maxWitLifetime']) {
    if (!Number.isSafeInteger(file.verifier[setting])) fail(`verifier.${setting} must be an integer`);
  }
  const kids = new Set<string>();
  for (const key of file.keys) {
    if (!isObject(key) || typeof key.kid !== 'string' || !isObject(key.privateJwk)) fail('bad key entry');
    if (key.keyType !== 'ed25519' && key.keyType !== 'p256') fail(`key ${key.kid}: bad keyType`);
    kids.add(key.kid);
  }
  const names = new Set<string>();
  const checkToken = (name: string, part: string, token: unknown) => {
    if (!isObject(token) || typeof token.token !== 'string' || !kids.has(String(token.signedBy))) {
      fail(`vector ${name}: ${part} needs token and a signedBy of keys`);
    }
    if (!isObject(token) || !isObject(token.header) || !isObject(token.claims)) {
      return fail(`vector ${name}: ${part} header, claims`);
    }
    if (typeof token.deterministic !== 'boolean') fail(`vector ${name}: ${part}.deterministic`);
    if (!isObject(token.sign) && typeof token.construction !== 'string') {
      fail(`vector ${name}: ${part} needs sign inputs or a construction`);
    }
  };
  for (const vector of file.vectors) {
    if (!isObject(vector) || typeof vector.name !== 'string') return fail('bad vector entry');
    if (names.has(vector.name)) fail(`vector ${vector.name} appears twice`);
    names.add(vector.name);
    if (typeof vector.identity !== 'string' || !Array.isArray(vector.records)) {
      fail(`vector ${vector.name}: identity and records`);
    }
    checkToken(vector.name, 'wit', vector.wit);
    checkToken(vector.name, 'wpt', vector.wpt);
    const { verify: inputs, expect: outcome } = vector;
    if (!isObject(inputs) || typeof inputs.now !== 'number' || typeof inputs.audience !== 'string') {
      fail(`vector ${vector.name}: verify needs now and audience`);
    }
    if (!isObject(outcome) || typeof outcome.valid !== 'boolean')
      return fail(`vector ${vector.name}: expect`);
    if (outcome.valid ? !isObject(outcome.claims) : typeof outcome.reason !== 'string') {
      fail(`vector ${vector.name}: expect needs claims (valid) or a reason`);
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
const privateKeyOf = (kid: string): KeyObject =>
  createPrivateKey({ key: keyOf(kid).privateJwk, format: 'jwk' });
const positives = file.vectors.filter((vector) => vector.expect.valid);
const negatives = file.vectors.filter((vector) => !vector.expect.valid);
const reasonOfVector = (vector: Vector): string => (vector.expect.valid ? 'accepted' : vector.expect.reason);
/** Every token of the file, WIT or WPT, named for test titles. */
const tokens = file.vectors.flatMap((vector) => [
  { name: `${vector.name} wit`, part: vector.wit as Token<unknown> },
  { name: `${vector.name} wpt`, part: vector.wpt as Token<unknown> },
]);
const signedWits = file.vectors.filter(
  (vector): vector is Vector & { wit: { sign: WitInputs } } => vector.wit.sign !== undefined,
);
const signedWpts = file.vectors.filter(
  (vector): vector is Vector & { wpt: { sign: WptInputs } } => vector.wpt.sign !== undefined,
);

const signingInputOf = (token: string): string => token.slice(0, token.lastIndexOf('.'));
const signatureOf = (token: string): Buffer =>
  Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
const segmentText = (segment: string | undefined): string =>
  Buffer.from(segment ?? '', 'base64url').toString('utf8');

/** The key a callee selects for the vector's WIT: its records parsed and imported, by header kid. */
const recordKeyOf = (vector: Vector): VerificationKey => {
  const set = parseRecordSet(vector.identity, vector.records);
  expect(set.problems).toEqual([]);
  const { keys, rejected } = importRecordKeys(set.keys);
  expect(rejected).toEqual([]);
  const key = keys.get(decodeProof(vector.wit.token).header.kid);
  if (key === undefined) throw new Error(`${vector.name}: the records have no key for the WIT's kid`);
  return key;
};

/** What a callee does with the two headers: the WIT against the record, then the WPT against the WIT. */
const verifyVector = (vector: Vector) => {
  const { now, audience, body, method, url } = vector.verify;
  const { clockSkew, maxLifetime, maxWitLifetime } = file.verifier;
  const identity = verifyWorkloadIdentity(decodeProof(vector.wit.token), {
    key: recordKeyOf(vector),
    now,
    clockSkew,
    maxLifetime: maxWitLifetime,
  });
  return verifyWorkloadProof(decodeWorkloadProof(vector.wpt.token), identity, {
    audience,
    now,
    clockSkew,
    maxLifetime,
    ...(body === undefined ? {} : { body }),
    ...(method === undefined ? {} : { method }),
    ...(url === undefined ? {} : { url }),
  });
};

const outcomeOf = (vector: Vector): string => {
  try {
    const claims = verifyVector(vector);
    expect(claims).toEqual(vector.expect.valid ? vector.expect.claims : undefined);
    return 'accepted';
  } catch (error) {
    if (error instanceof ProofError) return error.reason;
    throw error;
  }
};

describe('the vector file', () => {
  it('covers Ed25519 and ES256 WITs, a bound WPT, kc=kms, and every denial of the attack list', () => {
    expect(new Set(positives.map((vector) => vector.wit.header.alg))).toEqual(new Set(['EdDSA', 'ES256']));
    expect(
      positives.some((vector) => vector.wpt.claims.bh !== undefined && vector.wpt.claims.htu !== undefined),
    ).toBe(true);
    expect(positives.some((vector) => vector.wpt.claims.bh === undefined)).toBe(true);
    expect(positives.some((vector) => vector.records.some((record) => record.endsWith('; kc=kms')))).toBe(
      true,
    );
    const reasons = negatives.map(reasonOfVector);
    for (const reason of [
      'bad_signature',
      'expired',
      'revoked_key',
      'wrong_token',
      'bad_typ',
      'bad_alg',
      'lifetime_too_long',
      'malformed_proof',
      'body_mismatch',
    ]) {
      expect(reasons).toContain(reason);
    }
    // Both ways for the ones the brief names twice: a WIT and a WPT by a stranger; typ both ways.
    const named = (prefix: string) => negatives.filter((vector) => vector.name.startsWith(prefix)).length;
    expect(named('neg-wit-signed-by-stranger') + named('neg-wpt-signed-by-stranger')).toBe(2);
    expect(named('neg-typ-wit-as-wpt') + named('neg-typ-wpt-as-wit')).toBe(2);
    expect(file.verifier).toEqual({ clockSkew: 60, maxLifetime: 300, maxWitLifetime: 86_400 });
  });

  it('the record key is RFC 8037 A.1, the cnf and stranger keys RFC 8032 7.1 tests 2 and 3', () => {
    const rawPublic = (kid: string) => Buffer.from(keyOf(kid).publicKey, 'base64').toString('hex');
    expect(keyOf('rfc8037-a1').privateJwk.x).toBe('11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo');
    expect(rawPublic('cnf-rfc8032-test2')).toBe(
      '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    );
    expect(rawPublic('stranger-rfc8032-test3')).toBe(
      'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    );
  });

  it.each(file.keys)('key $kid: publicKey (and record) are of the public half of its private JWK', (key) => {
    const publicKey = createPublicKey(privateKeyOf(key.kid));
    const published =
      key.keyType === 'ed25519'
        ? Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64')
        : publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(published).toBe(key.publicKey);
    if (key.record === undefined) return;
    expect(
      formatRecord({
        service: 'billing',
        environment: 'prod',
        kid: key.kid,
        keyType: key.keyType,
        publicKey: published,
        ...(key.record.includes('; kc=kms') ? { keyCustody: 'kms' as const } : {}),
      }),
    ).toBe(key.record);
  });

  it.each(tokens)(
    '$name: header and claims are its segments, and signedBy made its signature',
    ({ part }) => {
      const [header, claims] = part.token.split('.');
      expect(segmentText(header)).toBe(JSON.stringify(part.header));
      expect(segmentText(claims)).toBe(JSON.stringify(part.claims));
      const signer = keyOf(part.signedBy);
      expect(part.deterministic).toBe(signer.keyType === 'ed25519');
      const input = Buffer.from(signingInputOf(part.token));
      if (part.deterministic) {
        // Ed25519 is deterministic: the exact signature, not only a valid one.
        expect(sign(null, input, privateKeyOf(part.signedBy)).toString('base64url')).toBe(
          signatureOf(part.token).toString('base64url'),
        );
      } else {
        const key = { key: createPublicKey(privateKeyOf(part.signedBy)), dsaEncoding: 'ieee-p1363' as const };
        expect(verify('sha256', input, key, signatureOf(part.token))).toBe(true);
      }
    },
  );

  it.each(file.vectors)('$name: wth is the hash of the WIT the WPT was made for', (vector) => {
    if (vector.wpt.claims.wth === undefined) {
      expect(vector.wpt.construction).toBeDefined(); // the WIT sent as a WPT has none
      return;
    }
    expect(vector.wpt.claims.wth).toBe(tokenHash(vector.wpt.sign?.wit ?? vector.wit.token));
  });
});

describe('our signing code reproduces the vectors from their inputs', () => {
  it.each(signedWits)('$name: witSigningInput gives the WIT signing input; assembleWit the WIT', (vector) => {
    const inputs = vector.wit.sign;
    const { signingInput, claims } = witSigningInput({
      name: inputs.name,
      kid: inputs.kid,
      keyType: inputs.keyType,
      confirmationKey: createPublicKey(privateKeyOf(inputs.confirmationKey)),
      now: inputs.iat,
      lifetime: inputs.lifetime,
      jti: inputs.jti,
    });
    expect(signingInput).toBe(signingInputOf(vector.wit.token));
    expect(claims).toEqual(vector.wit.claims);
    expect(claims.sub).toBe(workloadUri(inputs.name));
    // As a KMS caller finishes it: the raw signature over the signing input, appended.
    const raw = vector.wit.deterministic
      ? sign(null, Buffer.from(signingInput), privateKeyOf(vector.wit.signedBy))
      : signatureOf(vector.wit.token);
    expect(assembleWit(signingInput, raw)).toBe(vector.wit.token);
  });

  it.each(signedWpts)('$name: WorkloadProofSigner makes the WPT', (vector) => {
    const { wit, aud, iat, lifetime, jti, body, method, url } = vector.wpt.sign;
    const witToken = wit ?? vector.wit.token;
    const cnf = (decodeProof(witToken).claims.cnf as { jwk: { x: string } }).jwk.x;
    const confirmed = file.keys.find((key) => key.keyType === 'ed25519' && key.privateJwk.x === cnf);
    if (confirmed === undefined) throw new Error(`${vector.name}: no key of the file is the WIT's cnf`);
    const signer = new WorkloadProofSigner({ wit: witToken, privateKey: privateKeyOf(confirmed.kid) });
    const token = signer.sign({
      aud,
      now: iat,
      lifetime,
      jti,
      ...(body === undefined ? {} : { body }),
      ...(method === undefined ? {} : { method }),
      ...(url === undefined ? {} : { url }),
    });
    // A WPT signed by another key (signedBy) has the signer's bytes up to the signature.
    if (vector.wpt.signedBy === confirmed.kid) expect(token).toBe(vector.wpt.token);
    else expect(signingInputOf(token)).toBe(signingInputOf(vector.wpt.token));
  });
});

describe('our verifier, with the vector records, gives every outcome', () => {
  it.each(positives)('$name is accepted, with the WPT claims and the WIT iss', (vector) => {
    expect(outcomeOf(vector)).toBe('accepted');
  });

  it.each(negatives)('$name is denied with its reason', (vector) => {
    expect(outcomeOf(vector)).toBe(reasonOfVector(vector));
  });

  it('the kc=kms record key imports with its custody', () => {
    const vector = positives.find((candidate) => candidate.wit.header.kid === 'rfc8037-a1');
    if (vector === undefined) throw new Error('no accepted vector with the rfc8037-a1 WIT');
    expect(recordKeyOf(vector).keyCustody).toBe('kms');
  });
});

describe('jose agrees', () => {
  const at = (vector: Vector) => ({
    currentDate: new Date(vector.verify.now * 1000),
    clockTolerance: file.verifier.clockSkew,
  });

  it.each(positives)(
    '$name: jwtVerify accepts the WIT (typ wit+jwt) and the WPT (typ wpt+jwt)',
    async (vector) => {
      const key = recordKeyOf(vector);
      if (key.keyObject === undefined) throw new Error(`${vector.name}: revoked key`);
      const wit = await jwtVerify(vector.wit.token, key.keyObject, {
        ...at(vector),
        typ: 'wit+jwt',
        algorithms: [...ACCEPTED_ALGORITHMS[key.keyType]],
        maxTokenAge: file.verifier.maxWitLifetime,
      });
      expect(wit.payload).toEqual(vector.wit.claims);
      expect(wit.protectedHeader).toEqual(vector.wit.header);
      const cnf = (wit.payload.cnf as { jwk: Record<string, string> }).jwk;
      const wpt = await jwtVerify(vector.wpt.token, await importJWK(cnf, cnf.alg), {
        ...at(vector),
        typ: 'wpt+jwt',
        audience: vector.verify.audience,
        algorithms: [cnf.alg ?? 'EdDSA'],
        maxTokenAge: file.verifier.maxLifetime,
      });
      expect(wpt.payload).toEqual(vector.wpt.claims);
      expect(wpt.payload.wth).toBe(tokenHash(vector.wit.token));
    },
  );

  const typConfusions = negatives.filter((vector) => reasonOfVector(vector) === 'bad_typ');
  it.each(typConfusions)(
    '$name: jwtVerify with the expected typ refuses it though its signature verifies',
    async (vector) => {
      const key = recordKeyOf(vector);
      if (key.keyObject === undefined) throw new Error(`${vector.name}: revoked key`);
      // The token in the wrong place is the one the record key signed: typ alone tells them apart.
      const asWit = vector.wit.header.typ !== 'wit+jwt';
      const token = asWit ? vector.wit.token : vector.wpt.token;
      const refusal = await jwtVerify(token, key.keyObject, {
        ...at(vector),
        typ: asWit ? 'wit+jwt' : 'wpt+jwt',
      })
        .then(() => undefined)
        .catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(errors.JWTClaimValidationFailed);
      expect((refusal as InstanceType<typeof errors.JWTClaimValidationFailed>).claim).toBe('typ');
    },
  );
});
