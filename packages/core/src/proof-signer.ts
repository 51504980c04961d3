import { createECDH, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { NhiError } from './errors.js';
import type { Jwk } from './jwk.js';
import { canonicalName } from './names.js';
import { PROOF_TYPE, type ProofAlgorithm } from './proof.js';
import {
  algorithmOf,
  buildClaims,
  checkSigningKid,
  chooseAlgorithm,
  DEFAULT_PROOF_LIFETIME,
  invalidOptions,
  type ProofRequest,
} from './proof-sign.js';

/** Options of {@link ProofSigner}. */
export interface ProofSignerOptions {
  /**
   * The private key: a `KeyObject`, or a private JWK (as `nhi-dns keygen` stores it). A JWK's
   * public members (`x`, `y`) must match its private part `d`.
   */
  privateKey: KeyObject | Jwk;
  /** `kid` of the matching public key in the caller's identity record. */
  kid: string;
  /** Caller identity name (canonicalised once). */
  iss: string;
  /** Header `alg`; default `EdDSA` for Ed25519, `ES256` for P-256 (see `signProof`). */
  algorithm?: ProofAlgorithm;
  /** Seconds until `exp` when a request names no `lifetime`. Default 60. */
  lifetime?: number;
}

const invalidKey = (message: string, cause?: unknown): NhiError =>
  new NhiError('invalid_signing_key', message, cause === undefined ? undefined : { cause });

const isKeyObject = (value: unknown): value is KeyObject =>
  typeof value === 'object' && value !== null && typeof (value as KeyObject).asymmetricKeyType === 'string';

/**
 * The public key of a private key, derived from its private scalar alone. For Ed25519 node
 * recomputes it from the seed; for P-256 node keeps whatever point `x`/`y` a JWK gave it, so it
 * is computed here by scalar multiplication (ECDH).
 */
const derivedPublicKey = (key: KeyObject): KeyObject => {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || typeof jwk.d !== 'string') return createPublicKey(key);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(jwk.d, 'base64url'));
  const point = ecdh.getPublicKey();
  const derived = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
  const given = createPublicKey(key).export({ format: 'jwk' });
  const computed = derived.export({ format: 'jwk' });
  if (given.x !== computed.x || given.y !== computed.y) {
    throw invalidKey('privateKey: its public point does not belong to its private scalar');
  }
  return derived;
};

/** Imports a JWK once and proves that its public members belong to its private part. */
const importJwk = (jwk: Jwk): KeyObject => {
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.d !== 'string') {
    throw invalidKey('privateKey must be a private key (a JWK needs d)');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: jwk, format: 'jwk' });
  } catch (error) {
    // Node's message may quote the key; keep only the class name.
    throw invalidKey(`privateKey does not import (${error instanceof Error ? error.name : 'error'})`, error);
  }
  if (key.asymmetricKeyType === 'ed25519') {
    const derived = createPublicKey(key).export({ format: 'jwk' });
    if (derived.x !== jwk.x) {
      throw invalidKey('privateKey: the public members of the JWK do not belong to its private part');
    }
  }
  return key;
};

/**
 * Signs proofs (DESIGN §3) with one private key imported once, on `node:crypto`: the header
 * segment is encoded once, and each proof costs one JSON encoding, one SHA-256 when a body is
 * bound, and one `crypto.sign`. The tokens are byte for byte those `signProof` (`jose`) makes
 * for the same claims, and `jose` verifies them (the tests hold both).
 *
 * @example
 * const signer = new ProofSigner({ privateKey: jwk, kid: jwk.kid, iss: 'billing.prod.auth.example.com' });
 * const token = signer.sign({ aud: 'ledger.prod.auth.example.com', method: 'POST', url, body });
 */
export class ProofSigner {
  /** Key id named by every proof. */
  readonly kid: string;
  /** Canonical caller identity. */
  readonly iss: string;
  /** Header `alg` of every proof. */
  readonly algorithm: ProofAlgorithm;
  /** The public half of the key: what the identity record must publish under {@link kid}. */
  readonly publicKey: KeyObject;
  readonly #privateKey: KeyObject;
  readonly #headerSegment: string;
  readonly #digest: string | null;
  readonly #lifetime: number;

  /**
   * @throws {NhiError} `invalid_signing_key` for a key that is not an Ed25519 or P-256 private
   *   key (or a JWK whose halves disagree), `invalid_proof_options` for a bad kid, iss or
   *   algorithm.
   */
  constructor(options: ProofSignerOptions) {
    const { privateKey } = options;
    const key = isKeyObject(privateKey) ? privateKey : importJwk(privateKey);
    const keyDefault = algorithmOf(key);
    if (keyDefault === undefined) throw invalidKey('privateKey must be an Ed25519 or P-256 private key');
    this.algorithm = chooseAlgorithm(keyDefault, options.algorithm);
    this.kid = checkSigningKid(options.kid);
    if (typeof options.iss !== 'string' || options.iss === '')
      throw invalidOptions('iss must be an identity name');
    this.iss = canonicalName(options.iss);
    this.publicKey = derivedPublicKey(key);
    this.#privateKey = key;
    // Member order as jose writes it, so both signers produce the same bytes.
    this.#headerSegment = Buffer.from(
      JSON.stringify({ alg: this.algorithm, kid: this.kid, typ: PROOF_TYPE }),
    ).toString('base64url');
    this.#digest = keyDefault === 'ES256' ? 'sha256' : null;
    this.#lifetime = options.lifetime ?? DEFAULT_PROOF_LIFETIME;
    if (!Number.isSafeInteger(this.#lifetime) || this.#lifetime <= 0) {
      throw invalidOptions('lifetime must be a positive integer');
    }
    Object.freeze(this);
  }

  /**
   * Signs one proof.
   * @returns the compact JWS, to send as `Authorization: NHI <token>` or in an envelope.
   * @throws {NhiError} `invalid_proof_options` for a bad audience, lifetime, method, URL or jti.
   */
  sign(request: ProofRequest): string {
    const claims = buildClaims(request, this.iss, this.#lifetime);
    const signingInput = `${this.#headerSegment}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const signature = sign(
      this.#digest,
      Buffer.from(signingInput),
      this.#digest === null ? this.#privateKey : { key: this.#privateKey, dsaEncoding: 'ieee-p1363' },
    );
    return `${signingInput}.${signature.toString('base64url')}`;
  }
}
