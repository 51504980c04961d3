import { decodeBase64url } from './base64url.js';
import { rememberBounded } from './bounded-memo.js';
import {
  type DecodedProof,
  MAX_PROOF_BYTES,
  PROOF_TYPE,
  type ProofClaims,
  ProofError,
  type ProofHeader,
} from './proof.js';

/** Strict UTF-8, as `jose` decodes: invalid byte sequences are errors, not U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A proof made by {@link decodeProof}. The private brand lets `verifyProof` refuse look-alike
 * objects, as a WeakSet of proofs would, without a weak collection entry per request.
 */
class BrandedProof implements DecodedProof {
  readonly #brand = true;
  readonly header: Readonly<ProofHeader>;
  readonly claims: Readonly<ProofClaims>;
  readonly token: string;
  readonly signingInput: Buffer;
  readonly signature: Buffer;

  constructor(
    header: Readonly<ProofHeader>,
    claims: Readonly<ProofClaims>,
    token: string,
    signingInput: Buffer,
    signature: Buffer,
  ) {
    this.header = header;
    this.claims = claims;
    this.token = token;
    this.signingInput = signingInput;
    this.signature = signature;
    Object.freeze(this);
  }

  /** True for instances of this class only (a private field cannot be forged). */
  static is(value: object): boolean {
    return #brand in value && value.#brand;
  }
}

/** True when `proof` was returned by {@link decodeProof} in this process. */
export const isDecodedProof = (proof: unknown): boolean =>
  typeof proof === 'object' && proof !== null && BrandedProof.is(proof);

/**
 * Headers decoded recently, by their base64url segment: a caller's proofs share one header
 * (`alg`, `kid`, `typ`), so a warm function decodes and checks each header once. Values are
 * frozen and checked; bounded, oldest first out.
 */
const headerCache = new Map<string, Readonly<ProofHeader>>();
const HEADER_CACHE_ENTRIES = 64;
/** Longest header segment cached: real ones are ~80 characters; junk is decoded but not kept. */
const MAX_CACHED_HEADER_LENGTH = 256;

const malformed = (message: string): ProofError => new ProofError('malformed_proof', message);

/** Decodes one segment to a plain JSON object; `undefined` when it is anything else. */
const decodeJsonObject = (segment: string): Record<string, unknown> | undefined => {
  const bytes = decodeBase64url(segment);
  if (bytes === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
};

/**
 * Splits and decodes a compact JWS proof WITHOUT verifying it, to learn `iss` and `kid`
 * (DESIGN §4.2). Nothing decoded here may be trusted before `verifyProof` succeeds.
 *
 * Checks, in order: size (before any parsing), three canonical base64url segments, header
 * and claims are JSON objects, `alg`/`typ` are strings and there is no `crit` header
 * (no extension is understood, RFC 7515 §4.1.11), `kid` and `iss` are strings.
 * Workload identity tokens (DESIGN §3a) decode the same way.
 *
 * @throws {ProofError} `proof_too_large` over {@link MAX_PROOF_BYTES}, `bad_typ` without a string
 *   `typ`, `malformed_proof` otherwise.
 */
export const decodeProof = (token: string): DecodedProof => {
  const proof = decodeCompactJws(token);
  if (typeof proof.header.kid !== 'string') throw malformed('kid must be a string');
  if (typeof proof.claims.iss !== 'string') throw malformed('iss must be a string');
  return proof;
};

/**
 * Decodes a WIMSE workload proof token (DESIGN §3a) WITHOUT verifying it: as {@link decodeProof},
 * except that `kid` and `iss` are not needed (the key is the one the identity token confirms).
 * @throws {ProofError} as {@link decodeProof}.
 */
export const decodeWorkloadProof = (token: string): DecodedProof => decodeCompactJws(token);

const decodeCompactJws = (token: string): DecodedProof => {
  if (typeof token !== 'string') throw malformed('proof must be a string');
  // Characters, not bytes: a non-ASCII token is malformed anyway (base64url is ASCII).
  if (token.length > MAX_PROOF_BYTES) throw new ProofError('proof_too_large', 'proof is larger than 8 KiB');
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  if (firstDot < 0 || secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) {
    throw malformed('proof must be a compact JWS of three segments');
  }
  const headerSegment = token.slice(0, firstDot);
  const header = headerCache.get(headerSegment) ?? decodeHeader(headerSegment);
  const claims = decodeJsonObject(token.slice(firstDot + 1, secondDot));
  if (claims === undefined) throw malformed('proof claims are not a base64url JSON object');
  const signature = decodeBase64url(token.slice(secondDot + 1));
  if (signature === undefined) throw malformed('proof signature is not base64url');
  if (Array.isArray(claims.aud)) Object.freeze(claims.aud);

  return new BrandedProof(
    header,
    Object.freeze(claims) as ProofClaims,
    token,
    Buffer.from(token.slice(0, secondDot), 'latin1'),
    signature,
  );
};

/**
 * Decodes and checks a header segment, and keeps it in {@link headerCache}.
 * @throws {ProofError} as {@link decodeProof}.
 */
const decodeHeader = (segment: string): Readonly<ProofHeader> => {
  const header = decodeJsonObject(segment);
  if (header === undefined) throw malformed('proof header is not a base64url JSON object');
  if (typeof header.alg !== 'string' || header.alg === '') throw malformed('alg must be a string');
  if (header.kid !== undefined && typeof header.kid !== 'string') throw malformed('kid must be a string');
  // A missing or non-string typ is the same cause as a wrong one: one reason for operators.
  if (typeof header.typ !== 'string') throw new ProofError('bad_typ', `typ must be ${PROOF_TYPE}`);
  if (header.crit !== undefined) throw malformed('crit header extensions are not supported');
  const frozen = Object.freeze(header) as unknown as ProofHeader;
  if (segment.length <= MAX_CACHED_HEADER_LENGTH) {
    rememberBounded(headerCache, segment, frozen, HEADER_CACHE_ENTRIES);
  }
  return frozen;
};
