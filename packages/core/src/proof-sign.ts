import { randomBytes } from 'node:crypto';
import { type CryptoKey, type JWK, type KeyObject, SignJWT } from 'jose';
import { bodyHash } from './body-hash.js';
import { NhiError } from './errors.js';
import { canonicalName } from './names.js';
import { PROOF_TYPE, type ProofAlgorithm, type ProofClaims } from './proof.js';
import { MAX_JTI_LENGTH, MIN_JTI_LENGTH } from './proof-verify.js';
import { KID_PATTERN } from './record.js';

/** Default of {@link SignProofOptions.lifetime}, seconds: short, replay-checked proofs. */
export const DEFAULT_PROOF_LIFETIME = 60;
const HTTP_METHOD = /^[A-Za-z]{1,32}$/;

/** Options of {@link signProof}. */
export interface SignProofOptions {
  /** The caller's private key: Ed25519 (signs EdDSA) or P-256 (signs ES256). */
  privateKey: KeyObject | CryptoKey | JWK;
  /** `kid` of the matching public key in the caller's identity record. */
  kid: string;
  /** Caller identity name (canonicalised). */
  iss: string;
  /** Callee identity name, or several (canonicalised). */
  aud: string | string[];
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

const invalidOptions = (message: string): NhiError => new NhiError('invalid_proof_options', message);

const isPlainRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/** The algorithm a private key signs with, or `undefined` for any other key. */
const algorithmOf = (key: unknown): ProofAlgorithm | undefined => {
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

/** Builds the claims; every check fails before anything is signed. */
const buildClaims = (options: SignProofOptions): ProofClaims => {
  const { iss, aud, body, method, url } = options;
  if (typeof iss !== 'string' || iss === '') throw invalidOptions('iss must be an identity name');
  const audiences = typeof aud === 'string' ? [aud] : aud;
  if (
    !Array.isArray(audiences) ||
    audiences.length === 0 ||
    audiences.some((a) => typeof a !== 'string' || a === '')
  ) {
    throw invalidOptions('aud must be an identity name or a non-empty list of them');
  }
  const iat = options.now === undefined ? Math.floor(Date.now() / 1000) : positiveSeconds(options.now, 'now');
  const lifetime = positiveSeconds(options.lifetime ?? DEFAULT_PROOF_LIFETIME, 'lifetime');
  const jti = options.jti ?? randomBytes(16).toString('base64url');
  if (typeof jti !== 'string' || jti.length < MIN_JTI_LENGTH || jti.length > MAX_JTI_LENGTH) {
    throw invalidOptions(`jti must be ${MIN_JTI_LENGTH}..${MAX_JTI_LENGTH} characters`);
  }
  const claims: ProofClaims = {
    iss: canonicalName(iss),
    aud: typeof aud === 'string' ? canonicalName(aud) : audiences.map(canonicalName),
    iat,
    exp: iat + lifetime,
    jti,
  };
  if (body !== undefined) claims.bh = bodyHash(body);
  if (method !== undefined) {
    if (!HTTP_METHOD.test(method)) throw invalidOptions('method must be an HTTP method name');
    claims.htm = method.toUpperCase();
  }
  if (url !== undefined) {
    if (!URL.canParse(url)) throw invalidOptions('url must be an absolute URL');
    const parsed = new URL(url);
    parsed.hash = '';
    claims.htu = parsed.href;
  }
  return claims;
};

/**
 * Signs a proof (DESIGN §3) with `jose`: header `{ alg, kid, typ: 'nhi+jwt' }`, the algorithm
 * taken from the key (Ed25519 → EdDSA, P-256 → ES256), claims `iss`, `aud`, `iat`, `exp`,
 * `jti`, and `bh`/`htm`/`htu` when `body`/`method`/`url` are given.
 *
 * @returns the compact JWS, to send as `Authorization: NHI <token>` (see `proofHeaders`).
 * @throws {NhiError} `invalid_signing_key` for a key that is not an Ed25519 or P-256 private
 *   key, `invalid_proof_options` for any other bad option.
 */
export const signProof = async (options: SignProofOptions): Promise<string> => {
  const alg = algorithmOf(options.privateKey);
  if (alg === undefined) {
    throw new NhiError('invalid_signing_key', 'privateKey must be an Ed25519 or P-256 private key');
  }
  if (typeof options.kid !== 'string' || !KID_PATTERN.test(options.kid)) {
    throw invalidOptions('kid must be 1..64 characters [A-Za-z0-9._-]');
  }
  const claims = buildClaims(options);
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
