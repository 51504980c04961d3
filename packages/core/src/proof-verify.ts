import { verify as cryptoVerify } from 'node:crypto';
import { bodyHash } from './body-hash.js';
import type { VerificationKey } from './keys.js';
import { nativeEd25519 } from './native-ed25519.js';
import { type DecodedProof, PROOF_TYPE, type ProofAlgorithm, type ProofClaims, ProofError } from './proof.js';
import { isDecodedProof } from './proof-decode.js';
import type { KeyType } from './record.js';

/** Default of {@link VerifyProofOptions.maxLifetime}, seconds (DESIGN §3). */
export const DEFAULT_MAX_LIFETIME = 300;
/** Default of {@link VerifyProofOptions.clockSkew}, seconds (DESIGN §3). */
export const DEFAULT_CLOCK_SKEW = 60;
/** Shortest and longest `jti` accepted (DESIGN §3). */
export const MIN_JTI_LENGTH = 16;
export const MAX_JTI_LENGTH = 128;

/**
 * The algorithm name signers emit for each record key type (DESIGN §3). `EdDSA` stays the
 * emitted name for Ed25519 in 0.x: verifiers before 0.2 accept only it, and callers and callees
 * upgrade independently.
 */
export const ALGORITHM_BY_KEY_TYPE = Object.freeze({
  ed25519: 'EdDSA',
  p256: 'ES256',
} as const satisfies Record<KeyType, ProofAlgorithm>);

/**
 * Every algorithm name a record key type accepts; the key type, never the token, fixes the
 * algorithm (DESIGN §3). Ed25519 keys accept `EdDSA` and its fully-specified name `Ed25519`
 * (RFC 9864, which deprecates `EdDSA`); both mean the same signature.
 */
export const ACCEPTED_ALGORITHMS: Readonly<Record<KeyType, readonly ProofAlgorithm[]>> = {
  ed25519: Object.freeze(['EdDSA', 'Ed25519'] as const),
  p256: Object.freeze(['ES256'] as const),
};

/** Both algorithms produce 64-byte signatures (Ed25519; ES256 as raw r||s, RFC 7518 §3.4). */
const SIGNATURE_BYTES = 64;
/** `typ` values that name an NHI1 proof (RFC 7515 §4.1.9: `application/` may be left out). */
const PROOF_TYPES: ReadonlySet<string> = new Set([PROOF_TYPE, `application/${PROOF_TYPE}`]);

/** Options of {@link verifyProof}. */
export interface VerifyProofOptions {
  /** The caller's key selected by `header.kid` (the caller of this function reports `unknown_kid`). */
  key: VerificationKey;
  /** Canonical callee name: `aud` must equal it or be an array containing it. */
  audience: string;
  /** Current time, Unix seconds. Default `Math.floor(Date.now() / 1000)`. */
  now?: number;
  /** Longest accepted `exp - iat`, seconds. Default 300. */
  maxLifetime?: number;
  /** Tolerated clock difference with the caller, seconds. Default 60. */
  clockSkew?: number;
  /**
   * Request body bytes (base64-decoded already), or a function returning them, called only once
   * the signature has verified and only when the proof has `bh`: an unauthenticated caller must
   * not make the function decode a large body. `undefined` means the event carries no bytes to
   * hash (not an empty body): a proof with `bh` is then `body_mismatch`.
   */
  body?: string | Uint8Array | (() => string | Uint8Array | undefined);
  /** When true a proof without `bh` is `body_mismatch`. Default false. */
  requireBodyHash?: boolean;
  /** Request method; checked against `htm` when present (case-insensitive). */
  method?: string;
  /**
   * Request URL as received (raw path); checked against `htu` when present. Both are compared as
   * scheme, host and path (`new URL()` normalised, query and fragment dropped, as DPoP's `htu`,
   * RFC 9449 §4.3); a request path with dot segments (`/x/../pay`, `/%2e/pay`) is refused.
   */
  url?: string;
}

/** Throws the denial: every check above ends here. */
export function deny(reason: ProofError['reason'], message: string): never {
  throw new ProofError(reason, message);
}

const isUnixSeconds = (value: unknown): value is number => Number.isSafeInteger(value);

const isAudience = (aud: unknown): aud is string | string[] =>
  typeof aud === 'string' ||
  (Array.isArray(aud) && aud.length > 0 && aud.every((member) => typeof member === 'string'));

const isOptionalString = (value: unknown): value is string | undefined =>
  value === undefined || typeof value === 'string';

/** Scheme, host and path of a URL (no query, no fragment), or `undefined` when not a URL. */
const normaliseUrl = (url: string | undefined): string | undefined => {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
};

/**
 * True when the path of `url`, as the request carried it (before any normalisation), holds a dot
 * segment: `.` or `..`, plain or percent-encoded (`%2e`), also across encoded or back slashes.
 * `new URL()` removes them, so `/x/../pay` would match a proof for `/pay` while an application
 * routing on the raw path serves `/x/../pay` as it sees fit. Signers use it to refuse, before
 * sending, a URL the verifier would refuse.
 */
export const hasDotSegment = (url: string): boolean => {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return false;
  const end = url.search(/[?#]/);
  const path = url.slice(start, end < 0 ? undefined : end).replace(/%2e/gi, '.');
  return path.split(/\/|\\|%2f|%5c/i).some((segment) => segment === '.' || segment === '..');
};

const checkSettings = (now: number, maxLifetime: number, clockSkew: number): void => {
  // A bad setting is a programming error, but it must still deny rather than accept.
  if (!isUnixSeconds(now) || !isUnixSeconds(maxLifetime) || !isUnixSeconds(clockSkew)) {
    throw new TypeError('verifyProof: now, maxLifetime and clockSkew must be integers (seconds)');
  }
  if (maxLifetime <= 0 || clockSkew < 0) {
    throw new TypeError('verifyProof: maxLifetime must be > 0 and clockSkew >= 0');
  }
};

const verifySignature = (proof: DecodedProof, key: VerificationKey): boolean => {
  const { keyObject } = key;
  if (keyObject === undefined || proof.signature.length !== SIGNATURE_BYTES) return false;
  try {
    if (key.keyType !== 'ed25519') {
      return cryptoVerify(
        'sha256',
        proof.signingInput,
        { key: keyObject, dsaEncoding: 'ieee-p1363' },
        proof.signature,
      );
    }
    // libsodium when installed (about 0.7x the cost): it refuses every edge case OpenSSL refuses,
    // and more, so it never accepts what node:crypto would not (DESIGN §3, native verifier).
    const { rawPublicKey } = key;
    const native = nativeEd25519();
    return native === undefined || rawPublicKey === undefined
      ? cryptoVerify(null, proof.signingInput, keyObject, proof.signature)
      : native(proof.signature, proof.signingInput, rawPublicKey);
  } catch {
    // e.g. a key whose type does not match keyType: never valid.
    return false;
  }
};

/**
 * Verifies a decoded proof's signature and claims (DESIGN §3) with `node:crypto` and the
 * record's `KeyObject`: one `crypto.verify`, no JSON re-parsing, no key import. Ed25519
 * signatures go to libsodium instead when the optional peer `sodium-native` is installed
 * (unless `NHI_ED25519=node`; see `native-ed25519.ts`).
 *
 * Checks, in this order, each failing with its own reason: `revoked_key`, `expired_key`,
 * `bad_typ`, `bad_alg` (the key type fixes the algorithm: EdDSA or Ed25519 for ed25519,
 * ES256 for p256), `bad_signature`, claim types (`malformed_proof`), `wrong_audience`,
 * `not_yet_valid` (`iat` or `nbf` after now + skew), `expired` (`exp` ≤ now − skew),
 * `lifetime_too_long`, `jti` length (`malformed_proof`), `body_mismatch`, then `htm`/`htu`
 * (`wrong_audience`: they bind the request target).
 * Replay is not checked here: claim the `jti` in a `ReplayStore` afterwards.
 *
 * @returns the verified claims.
 * @throws {ProofError} with the reason of the first failed check.
 * @throws {TypeError} for invalid `now`, `maxLifetime` or `clockSkew` options.
 */
export const verifyProof = (proof: DecodedProof, options: VerifyProofOptions): ProofClaims => {
  const settings = settingsOf(options);
  if (!isDecodedProof(proof)) deny('malformed_proof', 'proof was not produced by decodeProof');
  checkSignedBy(proof, options.key, settings.now, PROOF_TYPES, PROOF_TYPE);
  return checkRequestClaims(proof.claims, options, settings);
};

/** `now`, `maxLifetime` and `clockSkew` with their defaults, checked. */
export interface VerifySettings {
  readonly now: number;
  readonly maxLifetime: number;
  readonly clockSkew: number;
}

/**
 * The time settings of a verification with their defaults, checked.
 * @throws {TypeError} for invalid `now`, `maxLifetime` or `clockSkew`.
 */
export const settingsOf = (options: {
  now?: number | undefined;
  maxLifetime?: number | undefined;
  clockSkew?: number | undefined;
}): VerifySettings => {
  const {
    now = Math.floor(Date.now() / 1000),
    maxLifetime = DEFAULT_MAX_LIFETIME,
    clockSkew = DEFAULT_CLOCK_SKEW,
  } = options;
  checkSettings(now, maxLifetime, clockSkew);
  return { now, maxLifetime, clockSkew };
};

/**
 * The checks every signed token of ours shares, in order: `revoked_key`, `expired_key`, `bad_typ`
 * (one of `types`, compared as RFC 7515 §4.1.9 says), `bad_alg` (the key type fixes it),
 * `bad_signature`.
 * @throws {ProofError} with the reason of the first failed check.
 */
export const checkSignedBy = (
  token: DecodedProof,
  key: VerificationKey,
  now: number,
  types: ReadonlySet<string>,
  typeName: string,
): void => {
  if (key.revoked || key.keyObject === undefined) deny('revoked_key', 'key is revoked');
  if (key.expiresAt !== undefined && key.expiresAt <= now) deny('expired_key', 'key is past its exp');
  const { header } = token;
  if (!types.has(header.typ.toLowerCase())) deny('bad_typ', `typ must be ${typeName}`);
  const accepted = ACCEPTED_ALGORITHMS[key.keyType];
  if (!accepted.includes(header.alg as ProofAlgorithm)) {
    deny('bad_alg', `alg must be ${accepted.join(' or ')} for a ${key.keyType} key`);
  }
  if (!verifySignature(token, key)) deny('bad_signature', 'signature does not verify');
};

/** The request-binding options of {@link checkRequestClaims}: {@link VerifyProofOptions} less the key. */
export type RequestClaimOptions = Omit<VerifyProofOptions, 'key' | 'now' | 'maxLifetime' | 'clockSkew'>;

/**
 * The claim checks of a request proof (an NHI1 proof, or a WIMSE proof token), in order: claim
 * types (`malformed_proof`), `wrong_audience`, `not_yet_valid` (`iat` or `nbf` after now + skew),
 * `expired` (`exp` ≤ now − skew), `lifetime_too_long`, `jti` length (`malformed_proof`),
 * `body_mismatch`, then `htm`/`htu` (`wrong_audience`: they bind the request target).
 * Run only after the signature has verified.
 * @throws {ProofError} with the reason of the first failed check.
 */
export const checkRequestClaims = (
  claims: Readonly<Record<string, unknown>>,
  options: RequestClaimOptions,
  { now, maxLifetime, clockSkew }: VerifySettings,
): ProofClaims => {
  const { audience } = options;
  const { aud, iat, exp, nbf, jti, bh, htm, htu } = claims;
  if (!isAudience(aud)) deny('malformed_proof', 'aud must be a string or a non-empty array of strings');
  if (!isUnixSeconds(iat) || !isUnixSeconds(exp) || (nbf !== undefined && !isUnixSeconds(nbf))) {
    deny('malformed_proof', 'iat, exp and nbf must be integer Unix seconds');
  }
  if (typeof jti !== 'string') deny('malformed_proof', 'jti must be a string');
  if (!isOptionalString(bh) || !isOptionalString(htm) || !isOptionalString(htu)) {
    deny('malformed_proof', 'bh, htm and htu must be strings');
  }
  if (typeof aud === 'string' ? aud !== audience : !aud.includes(audience)) {
    deny('wrong_audience', 'aud does not name this function');
  }
  if (iat > now + clockSkew || (nbf !== undefined && nbf > now + clockSkew)) {
    deny('not_yet_valid', 'proof is issued in the future');
  }
  if (exp <= now - clockSkew) deny('expired', 'proof is expired');
  if (exp - iat > maxLifetime) deny('lifetime_too_long', `proof lifetime exceeds ${maxLifetime} s`);
  if (jti.length < MIN_JTI_LENGTH || jti.length > MAX_JTI_LENGTH) {
    deny('malformed_proof', `jti must be ${MIN_JTI_LENGTH}..${MAX_JTI_LENGTH} characters`);
  }
  if (bh === undefined) {
    if (options.requireBodyHash === true) deny('body_mismatch', 'proof must carry bh');
  } else {
    const bytes = typeof options.body === 'function' ? options.body() : options.body;
    // No bytes to hash is not the empty body: bh must never silently cover something other
    // than the payload the handler receives (DESIGN §3, "Transports").
    if (bytes === undefined) deny('body_mismatch', 'the event carries no bytes bh can cover');
    if (bh !== bodyHash(bytes)) deny('body_mismatch', 'bh does not match the request body');
  }
  if (htm !== undefined && htm.toUpperCase() !== options.method?.toUpperCase()) {
    deny('wrong_audience', 'htm does not match the request method');
  }
  if (htu !== undefined) {
    if (options.url !== undefined && hasDotSegment(options.url)) {
      deny('wrong_audience', 'request path holds dot segments, which htu cannot bind');
    }
    const expected = normaliseUrl(options.url);
    if (expected === undefined || normaliseUrl(htu) !== expected) {
      deny('wrong_audience', 'htu does not match the request URL');
    }
  }
  return claims as ProofClaims;
};
