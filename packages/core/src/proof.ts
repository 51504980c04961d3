import { type DenialReason, NhiError, type NhiErrorOptions } from './errors.js';

/** The `typ` header of every proof (DESIGN §3), so a proof is never mistaken for another JWT. */
export const PROOF_TYPE = 'nhi+jwt';

/** Tokens longer than this are rejected before any parsing (DESIGN §3). */
export const MAX_PROOF_BYTES = 8192;

/**
 * JWS algorithms a proof may use, each tied to one record key type (`k=`): `EdDSA` and
 * `Ed25519` (RFC 9864's fully-specified name) for ed25519, `ES256` for p256.
 */
export type ProofAlgorithm = 'EdDSA' | 'Ed25519' | 'ES256';

/** The protected header of a proof as decoded: every field is a string. */
export interface ProofHeader {
  /** `EdDSA`, `Ed25519` or `ES256`; checked against the record key type by `verifyProof`. */
  alg: string;
  /** Key id: selects the key in the caller's identity record. */
  kid: string;
  /** Must be `nhi+jwt` (compared as RFC 7515 §4.1.9 says: case-insensitive, `application/` optional). */
  typ: string;
}

/**
 * The claims of a proof (DESIGN §3). Before `verifyProof` returns them, only `iss` is known
 * to be a string: the other types are checked after the signature.
 */
export interface ProofClaims {
  /** Caller identity name. */
  iss: string;
  /** Callee identity name, or an array containing it. */
  aud: string | string[];
  /** Issued at, Unix seconds. */
  iat: number;
  /** Expiry, Unix seconds. */
  exp: number;
  /** Unique id (16..128 characters), replay-checked until `exp`. */
  jti: string;
  /** Optional base64url SHA-256 of the request body. */
  bh?: string;
  /** Optional HTTP method binding. */
  htm?: string;
  /** Optional HTTP URL binding. */
  htu?: string;
  [claim: string]: unknown;
}

/** A proof split and decoded by `decodeProof`, not yet verified. Header and claims are frozen. */
export interface DecodedProof {
  readonly header: Readonly<ProofHeader>;
  readonly claims: Readonly<ProofClaims>;
  /** The compact JWS as received. Never log it: it is a bearer credential until `exp`. */
  readonly token: string;
  /** ASCII bytes of `<header>.<payload>`: what the signature covers. */
  readonly signingInput: Buffer;
  /** The decoded signature bytes. */
  readonly signature: Buffer;
}

/**
 * A proof was refused. `reason` is one of the closed, caller-safe {@link DenialReason}s; the
 * message names the failed rule but never carries the token, key material or signature.
 */
export class ProofError extends NhiError<DenialReason> {
  constructor(reason: DenialReason, message: string, options?: NhiErrorOptions) {
    super(reason, message, options);
    this.name = 'ProofError';
  }
}
