import { randomFillSync } from 'node:crypto';
import { type CryptoKey, type JWK, type KeyObject, SignJWT } from 'jose';
import { bodyHash } from './body-hash.js';
import { NhiError } from './errors.js';
import { canonicalName } from './names.js';
import { PROOF_TYPE, type ProofAlgorithm, type ProofClaims } from './proof.js';
import { MAX_JTI_LENGTH, MIN_JTI_LENGTH } from './proof-verify.js';
import { KID_PATTERN } from './record.js';

/** Bytes of a default `jti`. */
const JTI_BYTES = 16;
/**
 * Random bytes drawn in blocks: one `randomFillSync` per 256 proofs instead of one
 * `randomBytes` call per proof (3 µs each here). Each slice is used once, never reused.
 */
const jtiPool = Buffer.alloc(JTI_BYTES * 256);
let jtiOffset = jtiPool.length;

/** A fresh 16-byte random `jti`, base64url (22 characters). */
export const randomJti = (): string => {
  if (jtiOffset === jtiPool.length) {
    randomFillSync(jtiPool);
    jtiOffset = 0;
  }
  const jti = jtiPool.toString('base64url', jtiOffset, jtiOffset + JTI_BYTES);
  jtiOffset += JTI_BYTES;
  return jti;
};

/** Default of {@link SignProofOptions.lifetime}, seconds: short, replay-checked proofs. */
export const DEFAULT_PROOF_LIFETIME = 60;
const HTTP_METHOD = /^[A-Za-z]{1,32}$/;

/** What one proof binds: everything of {@link SignProofOptions} but the key and issuer. */
export interface ProofRequest {
  /** Callee identity name, or several (canonicalised). */
  aud: string | readonly string[];
  /** Request body to bind with `bh`; omit to leave `bh` out. */
  body?: string | Uint8Array;
  /** HTTP method to bind with `htm` (upper-cased). */
  method?: string;
  /** URL to bind with `htu` (normalised by `new URL()`, fragment dropped). */
  url?: string;
  /** Seconds until `exp`. Default 60; verifiers refuse more than their `maxLifetime` (300). */
  lifetime?: number;
  /** Issue time, Unix seconds. Default now. */
  now?: number;
  /** Proof id. Default 16 random bytes, base64url (22 characters). */
  jti?: string;
}

/** Options of {@link signProof}. */
export interface SignProofOptions extends ProofRequest {
  /** The caller's private key: Ed25519 (signs EdDSA) or P-256 (signs ES256). */
  privateKey: KeyObject | CryptoKey | JWK;
  /** `kid` of the matching public key in the caller's identity record. */
  kid: string;
  /** Caller identity name (canonicalised). */
  iss: string;
  /**
   * Header `alg`. Default from the key: `EdDSA` for Ed25519 (`Ed25519`, RFC 9864's name, on
   * request), `ES256` for P-256. A name the key type does not allow is `invalid_proof_options`.
   */
  algorithm?: ProofAlgorithm;
}

/** @internal */
export const invalidOptions = (message: string): NhiError => new NhiError('invalid_proof_options', message);

const isPlainRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/** The default algorithm a private key signs with, or `undefined` for any other key. @internal */
export const algorithmOf = (key: unknown): ProofAlgorithm | undefined => {
  if (!isPlainRecord(key)) return undefined;
  // Node KeyObject
  if (typeof key.asymmetricKeyType === 'string') {
    if (key.type !== 'private') return undefined;
    if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
    const details = key.asymmetricKeyDetails as { namedCurve?: string } | undefined;
    return key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1' ? 'ES256' : undefined;
  }
  // WebCrypto CryptoKey
  if (isPlainRecord(key.algorithm)) {
    if (key.type !== 'private') return undefined;
    const { name, namedCurve } = key.algorithm;
    if (name === 'Ed25519') return 'EdDSA';
    return name === 'ECDSA' && namedCurve === 'P-256' ? 'ES256' : undefined;
  }
  // JWK: must hold the private part `d`
  if (typeof key.d !== 'string') return undefined;
  if (key.kty === 'OKP' && key.crv === 'Ed25519') return 'EdDSA';
  return key.kty === 'EC' && key.crv === 'P-256' ? 'ES256' : undefined;
};

const positiveSeconds = (value: number, name: string): number => {
  if (!Number.isSafeInteger(value) || value <= 0) throw invalidOptions(`${name} must be a positive integer`);
  return value;
};

/**
 * The header `alg` for a key whose default is `keyDefault`, honouring an explicit `algorithm`.
 * @internal
 */
export const chooseAlgorithm = (keyDefault: ProofAlgorithm, algorithm: unknown): ProofAlgorithm => {
  if (algorithm === undefined) return keyDefault;
  const allowed: readonly unknown[] = keyDefault === 'ES256' ? ['ES256'] : ['EdDSA', 'Ed25519'];
  if (!allowed.includes(algorithm)) {
    throw invalidOptions(`algorithm must be ${allowed.join(' or ')} for this key`);
  }
  return algorithm as ProofAlgorithm;
};

/** @internal Checks a kid before anything is signed. */
export const checkSigningKid = (kid: unknown): string => {
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) {
    throw invalidOptions('kid must be 1..64 characters [A-Za-z0-9._-]');
  }
  return kid;
};

/**
 * Builds the claims of a proof in the order every nhi-dns signer writes them (iss, aud, iat,
 * exp, jti, bh, htm, htu); every check fails before anything is signed. `iss` null leaves it
 * out (a WIMSE proof token: its WIT names the caller).
 * @internal
 */
export const buildClaims = (
  options: ProofRequest,
  iss: string | null,
  defaultLifetime = DEFAULT_PROOF_LIFETIME,
): ProofClaims => {
  const { aud, body, method, url } = options;
  if (iss !== null && (typeof iss !== 'string' || iss === ''))
    throw invalidOptions('iss must be an identity name');
  const audiences = typeof aud === 'string' ? [aud] : aud;
  if (
    !Array.isArray(audiences) ||
    audiences.length === 0 ||
    audiences.some((a) => typeof a !== 'string' || a === '')
  ) {
    throw invalidOptions('aud must be an identity name or a non-empty list of them');
  }
  const iat = options.now === undefined ? Math.floor(Date.now() / 1000) : positiveSeconds(options.now, 'now');
  const lifetime = positiveSeconds(options.lifetime ?? defaultLifetime, 'lifetime');
  const jti = options.jti ?? randomJti();
  if (typeof jti !== 'string' || jti.length < MIN_JTI_LENGTH || jti.length > MAX_JTI_LENGTH) {
    throw invalidOptions(`jti must be ${MIN_JTI_LENGTH}..${MAX_JTI_LENGTH} characters`);
  }
  const canonicalAud = typeof aud === 'string' ? canonicalName(aud) : audiences.map(canonicalName);
  // Two literals, not a spread without iss: a WPT (iss null) is signed per request, and a
  // rest/spread copy is a measurable share of that (DESIGN §3a).
  const claims: ProofClaims =
    iss === null
      ? ({ aud: canonicalAud, iat, exp: iat + lifetime, jti } as ProofClaims)
      : { iss: canonicalName(iss), aud: canonicalAud, iat, exp: iat + lifetime, jti };
  if (body !== undefined) claims.bh = bodyHash(body);
  if (method !== undefined) {
    if (!HTTP_METHOD.test(method)) throw invalidOptions('method must be an HTTP method name');
    claims.htm = method.toUpperCase();
  }
  if (url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalidOptions('url must be an absolute URL');
    }
    parsed.hash = '';
    claims.htu = parsed.href;
  }
  return claims;
};

/**
 * Signs a proof (DESIGN §3) with `jose`: header `{ alg, kid, typ: 'nhi+jwt' }`, the algorithm
 * taken from the key (Ed25519 → EdDSA, or Ed25519 with `algorithm`; P-256 → ES256), claims `iss`, `aud`, `iat`, `exp`,
 * `jti`, and `bh`/`htm`/`htu` when `body`/`method`/`url` are given.
 * For many proofs with one key, {@link ProofSigner} signs the same bytes on `node:crypto`
 * without a per-call key import.
 *
 * @returns the compact JWS, to send as `Authorization: NHI <token>` (see `proofHeaders`).
 * @throws {NhiError} `invalid_signing_key` for a key that is not an Ed25519 or P-256 private
 *   key, `invalid_proof_options` for any other bad option.
 */
export const signProof = async (options: SignProofOptions): Promise<string> => {
  const keyDefault = algorithmOf(options.privateKey);
  if (keyDefault === undefined) {
    throw new NhiError('invalid_signing_key', 'privateKey must be an Ed25519 or P-256 private key');
  }
  const alg = chooseAlgorithm(keyDefault, options.algorithm);
  checkSigningKid(options.kid);
  const claims = buildClaims(options, options.iss);
  try {
    return await new SignJWT(claims)
      .setProtectedHeader({ alg, kid: options.kid, typ: PROOF_TYPE })
      .sign(options.privateKey);
  } catch (error) {
    // jose's message may describe the key; keep only its class name.
    const kind = error instanceof Error ? error.name : 'error';
    throw new NhiError('invalid_signing_key', `signing failed (${kind})`, { cause: error });
  }
};
