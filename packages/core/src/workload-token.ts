/**
 * The WIMSE profile of nhi-dns (DESIGN §3a): a workload identity token (WIT, `wit+jwt`) signed by
 * a key of the workload's DNS record (in practice one held in AWS KMS), which confirms a key that
 * lives minutes (`cnf.jwk`), and per-request workload proof tokens (WPT, `wpt+jwt`) signed with
 * that short-lived key and bound to the WIT by its hash (`wth`).
 *
 * @module
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { decodeBase64url } from './base64url.js';
import { NhiError } from './errors.js';
import { ed25519VerificationKey, type VerificationKey } from './keys.js';
import { canonicalName, splitIdentityLabels } from './names.js';
import type { DecodedProof, ProofClaims } from './proof.js';
import { isDecodedProof } from './proof-decode.js';
import {
  buildClaims,
  checkSigningKid,
  DEFAULT_PROOF_LIFETIME,
  invalidOptions,
  type ProofRequest,
  randomJti,
} from './proof-sign.js';
import {
  ALGORITHM_BY_KEY_TYPE,
  checkRequestClaims,
  checkSignedBy,
  deny,
  MAX_JTI_LENGTH,
  MIN_JTI_LENGTH,
  type RequestClaimOptions,
  settingsOf,
} from './proof-verify.js';
import type { KeyType } from './record.js';

/** `typ` of a workload identity token (draft-ietf-wimse-workload-creds). */
export const WIT_TYPE = 'wit+jwt';
/** `typ` of a workload proof token (draft-ietf-wimse-wpt). */
export const WPT_TYPE = 'wpt+jwt';
/** HTTP header that carries the WIT (lower case, as Lambda's HTTP events name headers). */
export const WORKLOAD_IDENTITY_TOKEN_HEADER = 'workload-identity-token';
/** HTTP header that carries the WPT. */
export const WORKLOAD_PROOF_TOKEN_HEADER = 'workload-proof-token';
/** Default lifetime of a WIT a signer asks for, seconds (one hour, as STS web identity tokens). */
export const DEFAULT_WIT_LIFETIME = 3600;
/** Longest WIT lifetime a signer may ask for and a verifier accepts, seconds (a day). */
export const MAX_WIT_LIFETIME = 86_400;

const WIT_TYPES: ReadonlySet<string> = new Set([WIT_TYPE, `application/${WIT_TYPE}`]);
const WPT_TYPES: ReadonlySet<string> = new Set([WPT_TYPE, `application/${WPT_TYPE}`]);
/** The only confirmation key type: signers make Ed25519 keys, so nothing else is ever needed. */
const CNF_KEY_TYPE: KeyType = 'ed25519';
const WORKLOAD_URI_PREFIX = 'wimse://';

/**
 * The WIMSE workload identifier (`sub`) of an identity name: `billing.prod.auth.example.com` is
 * `wimse://auth.example.com/prod/billing` (trust domain = the zone, then environment and
 * service). One mapping, both ways, so a WIMSE verifier reads a URI and the DNS lookup still
 * starts from the name.
 * @throws {NhiError} `invalid_proof_options` for a name that is not `<service>.<env>.<zone>`.
 */
export const workloadUri = (name: string): string => {
  const labels = splitIdentityLabels(name);
  if (labels === undefined) throw invalidOptions('an identity name is <service>.<environment>.<zone>');
  const zone = canonicalName(name).split('.').slice(2).join('.');
  return `${WORKLOAD_URI_PREFIX}${zone}/${labels.environment}/${labels.service}`;
};

/** The identity name of a workload identifier made by {@link workloadUri}; `undefined` for any other string. */
export const identityNameOfWorkloadUri = (uri: string): string | undefined => {
  if (typeof uri !== 'string' || !uri.startsWith(WORKLOAD_URI_PREFIX)) return undefined;
  const [zone, environment, service, ...rest] = uri.slice(WORKLOAD_URI_PREFIX.length).split('/');
  if (zone === undefined || environment === undefined || service === undefined || rest.length > 0)
    return undefined;
  const name = `${service}.${environment}.${zone}`;
  return splitIdentityLabels(name) === undefined || workloadUri(name) !== uri ? undefined : name;
};

/** base64url SHA-256 of a token's ASCII: a WPT's `wth`, and the key under which a verified WIT is remembered. */
export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('base64url');

/** What a WIT states, for {@link witSigningInput}. */
export interface WitRequest {
  /** The workload's identity name: `iss`, and (as {@link workloadUri}) `sub`. */
  name: string;
  /** `kid` of the signing key in the workload's record. */
  kid: string;
  /** Type of the signing key, which fixes `alg` (DESIGN §3). */
  keyType: KeyType;
  /** The short-lived Ed25519 public key the WIT confirms (`cnf.jwk`). */
  confirmationKey: KeyObject;
  /** Seconds until `exp`. Default {@link DEFAULT_WIT_LIFETIME}, at most {@link MAX_WIT_LIFETIME}. */
  lifetime?: number;
  /** Issue time, Unix seconds. Default now. */
  now?: number;
  /** Unique id; default 16 random bytes, base64url. */
  jti?: string;
}

/**
 * The bytes a WIT's signature covers (`<header>.<claims>`, base64url JSON), for a signer that
 * signs elsewhere (AWS KMS: `MessageType: RAW`). Finish with {@link assembleWit}.
 * @throws {NhiError} `invalid_proof_options` for a bad name, kid, key or lifetime.
 */
export const witSigningInput = (
  request: WitRequest,
): { signingInput: string; claims: Readonly<Record<string, unknown>> } => {
  const kid = checkSigningKid(request.kid);
  const { confirmationKey } = request;
  if (confirmationKey?.asymmetricKeyType !== 'ed25519' || confirmationKey.type !== 'public') {
    throw invalidOptions('confirmationKey must be an Ed25519 public key');
  }
  const lifetime = request.lifetime ?? DEFAULT_WIT_LIFETIME;
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0 || lifetime > MAX_WIT_LIFETIME) {
    throw invalidOptions(`WIT lifetime must be 1..${MAX_WIT_LIFETIME} seconds`);
  }
  const iss = canonicalName(request.name);
  const iat = request.now ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(iat) || iat <= 0) throw invalidOptions('now must be a positive integer');
  const jti = request.jti ?? randomJti();
  if (typeof jti !== 'string' || jti.length < MIN_JTI_LENGTH || jti.length > MAX_JTI_LENGTH) {
    throw invalidOptions(`jti must be ${MIN_JTI_LENGTH}..${MAX_JTI_LENGTH} characters`);
  }
  const { x } = confirmationKey.export({ format: 'jwk' });
  const claims = {
    iss,
    sub: workloadUri(iss),
    iat,
    exp: iat + lifetime,
    jti,
    cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x, alg: ALGORITHM_BY_KEY_TYPE[CNF_KEY_TYPE] } },
  };
  const header = { alg: ALGORITHM_BY_KEY_TYPE[request.keyType], kid, typ: WIT_TYPE };
  const signingInput = `${segment(header)}.${segment(claims)}`;
  return { signingInput, claims };
};

/**
 * The compact WIT from its signing input and signature: 64 raw bytes (Ed25519; ES256 as r||s,
 * RFC 7518 §3.4: convert a DER signature with {@link ecdsaDerToJose} first).
 * @throws {NhiError} `invalid_signing_key` for a signature of another size.
 */
export const assembleWit = (signingInput: string, signature: Uint8Array): string => {
  if (signature.length !== 64) throw new NhiError('invalid_signing_key', 'a WIT signature is 64 bytes');
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
};

/**
 * An ECDSA signature in DER (`SEQUENCE { INTEGER r, INTEGER s }`, what AWS KMS `Sign` returns
 * for `ECDSA_SHA_256`) as JOSE's fixed-size r||s (RFC 7518 §3.4), 32 bytes each for P-256.
 * @throws {NhiError} `invalid_signing_key` for anything that is not such a DER signature.
 */
export const ecdsaDerToJose = (der: Uint8Array, size = 32): Buffer => {
  const bad = (): never => {
    throw new NhiError('invalid_signing_key', 'not a DER ECDSA signature');
  };
  const bytes = Buffer.from(der);
  // Short-form lengths only: a P-256 signature is at most 72 bytes.
  if (bytes.length < 8 || bytes[0] !== 0x30 || bytes[1] !== bytes.length - 2) bad();
  const out = Buffer.alloc(size * 2);
  let offset = 2;
  for (const half of [0, 1]) {
    if (bytes[offset] !== 0x02) bad();
    const length = bytes[offset + 1] ?? 0;
    let value = bytes.subarray(offset + 2, offset + 2 + length);
    if (length === 0 || value.length !== length) bad();
    // DER integers are signed: a leading 0x00 only keeps a high bit from reading as negative.
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    if (value.length > size) bad();
    value.copy(out, half * size + size - value.length);
    offset += 2 + length;
  }
  if (offset !== bytes.length) bad();
  return out;
};

const segment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Options of {@link WorkloadProofSigner}. */
export interface WorkloadProofSignerOptions {
  /** The WIT whose `cnf.jwk` is the public half of {@link privateKey}. */
  wit: string;
  /** The short-lived Ed25519 private key. Never logged, exported or sent. */
  privateKey: KeyObject;
  /** Seconds until a WPT's `exp` when a request names no `lifetime`. Default 60. */
  lifetime?: number;
}

/**
 * Signs per-request workload proof tokens with the short-lived key a WIT confirms: one Ed25519
 * signature in `node:crypto`, like {@link ProofSigner}. WPT claims: `aud`, `iat`, `exp`, `jti`,
 * `wth` (WIMSE's), `bh`, `htm`, `htu` (ours, DESIGN §3a).
 */
export class WorkloadProofSigner {
  /** The WIT to send beside every WPT of this signer. */
  readonly wit: string;
  /** The WIT's `iss`: the workload's identity name. */
  readonly iss: string;
  /** The WIT's `exp`, Unix seconds: the signer's WPTs are refused from then on. */
  readonly expiresAt: number;
  readonly #privateKey: KeyObject;
  readonly #wth: string;
  readonly #lifetime: number;

  /**
   * @throws {NhiError} `invalid_signing_key` when `privateKey` is not an Ed25519 private key or
   *   is not the key the WIT confirms; `invalid_proof_options` for an unreadable WIT or lifetime.
   */
  constructor(options: WorkloadProofSignerOptions) {
    const { wit, privateKey } = options;
    if (privateKey?.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') {
      throw new NhiError('invalid_signing_key', 'privateKey must be an Ed25519 private key');
    }
    const claims = witClaimsUnverified(wit);
    const cnf = confirmationJwk(claims);
    if (cnf === undefined || typeof claims.iss !== 'string' || !Number.isSafeInteger(claims.exp)) {
      throw invalidOptions('wit must be a workload identity token with iss, exp and cnf.jwk');
    }
    const { x } = privateKey.export({ format: 'jwk' });
    if (x !== cnf.x) throw new NhiError('invalid_signing_key', 'privateKey is not the key the WIT confirms');
    this.wit = wit;
    this.iss = claims.iss;
    this.expiresAt = claims.exp as number;
    this.#privateKey = privateKey;
    this.#wth = tokenHash(wit);
    this.#lifetime = options.lifetime ?? DEFAULT_PROOF_LIFETIME;
    if (!Number.isSafeInteger(this.#lifetime) || this.#lifetime <= 0) {
      throw invalidOptions('lifetime must be a positive integer');
    }
    Object.freeze(this);
  }

  /**
   * Signs one WPT.
   * @returns the compact JWS, to send as `Workload-Proof-Token` beside `Workload-Identity-Token`.
   * @throws {NhiError} `invalid_proof_options` for a bad audience, lifetime, method, URL or jti.
   */
  sign(request: ProofRequest): string {
    // WIMSE's WPT names no issuer: the WIT does.
    const claims = buildClaims(request, null, this.#lifetime);
    claims.wth = this.#wth;
    const signingInput = `${WPT_HEADER_SEGMENT}.${segment(claims)}`;
    return `${signingInput}.${sign(null, Buffer.from(signingInput), this.#privateKey).toString('base64url')}`;
  }
}

/** Options of {@link mintWorkloadIdentity}. */
export interface MintWorkloadIdentityOptions extends Omit<WitRequest, 'confirmationKey'> {
  /**
   * Signs the WIT's signing input with the record key and returns the 64-byte JOSE signature
   * (AWS KMS `Sign` with `MessageType: RAW`; a P-256 DER answer through {@link ecdsaDerToJose}).
   */
  sign: (signingInput: Uint8Array) => Promise<Uint8Array>;
  /** Default lifetime of the WPTs, seconds. Default 60. */
  proofLifetime?: number;
}

/**
 * Mints a workload identity: a fresh Ed25519 key pair in memory, a WIT for its public half signed
 * by `sign` (one remote signature), and the {@link WorkloadProofSigner} that signs WPTs with the
 * private half. The one way every caller (identity-sign, the CLI) makes a WIT.
 * @throws {NhiError} `invalid_proof_options` for bad WIT inputs; whatever `sign` throws.
 */
export const mintWorkloadIdentity = async (
  options: MintWorkloadIdentityOptions,
): Promise<WorkloadProofSigner> => {
  const { sign: signRemotely, proofLifetime, ...request } = options;
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const { signingInput } = witSigningInput({ ...request, confirmationKey: publicKey });
  const signature = await signRemotely(Buffer.from(signingInput));
  const wit = assembleWit(signingInput, signature);
  return new WorkloadProofSigner({
    wit,
    privateKey,
    ...(proofLifetime === undefined ? {} : { lifetime: proofLifetime }),
  });
};

const WPT_HEADER_SEGMENT = segment({ alg: ALGORITHM_BY_KEY_TYPE[CNF_KEY_TYPE], typ: WPT_TYPE });

/** The claims of a WIT, not verified: only for a signer checking its own token. */
const witClaimsUnverified = (wit: string): Record<string, unknown> => {
  const parts = typeof wit === 'string' ? wit.split('.') : [];
  const bytes = parts.length === 3 ? decodeBase64url(parts[1] ?? '') : undefined;
  try {
    const value: unknown = bytes === undefined ? undefined : JSON.parse(bytes.toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // falls through: not a token
  }
  throw invalidOptions('wit must be a compact JWS');
};

/** `cnf.jwk` of a WIT's claims when it is an Ed25519 public JWK, else `undefined`. */
const confirmationJwk = (
  claims: Readonly<Record<string, unknown>>,
): { x: string; alg?: unknown } | undefined => {
  const cnf = claims.cnf as { jwk?: Record<string, unknown> } | undefined;
  const jwk = typeof cnf === 'object' && cnf !== null ? cnf.jwk : undefined;
  if (typeof jwk !== 'object' || jwk === null || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') return undefined;
  if (typeof jwk.x !== 'string' || jwk.d !== undefined) return undefined;
  return { x: jwk.x, alg: jwk.alg };
};

/** A WIT that has passed {@link verifyWorkloadIdentity}. */
export interface VerifiedWorkloadIdentity {
  /** The workload's canonical identity name (`iss`). */
  readonly iss: string;
  /** `exp` of the WIT, Unix seconds. */
  readonly expiresAt: number;
  /** `jti` of the WIT. */
  readonly jti: string;
  /** The record key that signed the WIT (its `kid`, custody, certificate pin, attributes). */
  readonly issuerKey: VerificationKey;
  /** The short-lived key the WIT confirms: every WPT must be signed by it. */
  readonly confirmationKey: VerificationKey;
  /** `alg` the confirmation key is bound to, when `cnf.jwk` names one. */
  readonly confirmationAlgorithm: string | undefined;
  /** base64url SHA-256 of the WIT: a WPT's `wth` must equal it. */
  readonly hash: string;
}

/** Options of {@link verifyWorkloadIdentity}. */
export interface VerifyWorkloadIdentityOptions {
  /** The issuer's record key named by the WIT's `kid`. */
  key: VerificationKey;
  /** Current time, Unix seconds. Default now. */
  now?: number;
  /** Tolerated clock difference, seconds. Default 60. */
  clockSkew?: number;
  /** Longest accepted WIT lifetime, seconds. Default and ceiling {@link MAX_WIT_LIFETIME}. */
  maxLifetime?: number;
}

/**
 * Verifies a decoded WIT (DESIGN §3a) against the issuer's record key. Checks, in order, each
 * with its own reason: `revoked_key`, `expired_key`, `bad_typ` (`wit+jwt`: a proof of any other
 * kind is not a WIT), `bad_alg`, `bad_signature`, claim types and `sub` = the workload URI of
 * `iss` (`malformed_proof`), `not_yet_valid`, `expired`, `lifetime_too_long`, and `cnf.jwk`: an
 * Ed25519 public key that is not small-order or non-canonical, bound to `EdDSA`/`Ed25519` if it
 * names an `alg` (`bad_alg` otherwise), else `malformed_proof`.
 *
 * @throws {ProofError} with the reason of the first failed check.
 */
export const verifyWorkloadIdentity = (
  wit: DecodedProof,
  options: VerifyWorkloadIdentityOptions,
): VerifiedWorkloadIdentity => {
  const maxLifetime = Math.min(options.maxLifetime ?? MAX_WIT_LIFETIME, MAX_WIT_LIFETIME);
  const { now, clockSkew } = settingsOf({ ...options, maxLifetime });
  if (!isDecodedProof(wit)) deny('malformed_proof', 'WIT was not produced by decodeProof');
  checkSignedBy(wit, options.key, now, WIT_TYPES, WIT_TYPE);
  const { iss, sub, iat, exp, jti, nbf } = wit.claims;
  if (
    !Number.isSafeInteger(iat) ||
    !Number.isSafeInteger(exp) ||
    (nbf !== undefined && !Number.isSafeInteger(nbf)) ||
    exp < iat
  ) {
    deny('malformed_proof', 'WIT iat, exp (not before iat) and nbf must be integer Unix seconds');
  }
  if (typeof jti !== 'string' || jti.length < MIN_JTI_LENGTH || jti.length > MAX_JTI_LENGTH) {
    deny('malformed_proof', `WIT jti must be ${MIN_JTI_LENGTH}..${MAX_JTI_LENGTH} characters`);
  }
  if (typeof sub !== 'string' || identityNameOfWorkloadUri(sub) !== iss) {
    deny('malformed_proof', 'WIT sub must be the workload URI of its iss');
  }
  if (iat > now + clockSkew || (nbf !== undefined && (nbf as number) > now + clockSkew)) {
    deny('not_yet_valid', 'WIT is issued in the future');
  }
  if (exp <= now - clockSkew) deny('expired', 'WIT is expired');
  if (exp - iat > maxLifetime) deny('lifetime_too_long', `WIT lifetime exceeds ${maxLifetime} s`);
  const jwk = confirmationJwk(wit.claims);
  if (jwk === undefined) deny('malformed_proof', 'WIT cnf.jwk must be an Ed25519 public key');
  const accepted: readonly unknown[] = ['EdDSA', 'Ed25519'];
  if (jwk.alg !== undefined && !accepted.includes(jwk.alg)) deny('bad_alg', 'WIT cnf.jwk alg must be EdDSA');
  const raw = decodeBase64url(jwk.x);
  const confirmationKey = raw === undefined ? undefined : ed25519VerificationKey(raw, 'cnf');
  if (confirmationKey === undefined) deny('malformed_proof', 'WIT cnf.jwk is not a usable Ed25519 key');
  return Object.freeze({
    iss,
    expiresAt: exp,
    jti,
    issuerKey: options.key,
    confirmationKey,
    confirmationAlgorithm: typeof jwk.alg === 'string' ? jwk.alg : undefined,
    hash: tokenHash(wit.token),
  });
};

/** Options of {@link verifyWorkloadProof}: a request proof's, less the key (the WIT names it). */
export interface VerifyWorkloadProofOptions extends RequestClaimOptions {
  /** Current time, Unix seconds. Default now. */
  now?: number;
  /** Longest accepted `exp - iat` of the WPT, seconds. Default 300. */
  maxLifetime?: number;
  /** Tolerated clock difference, seconds. Default 60. */
  clockSkew?: number;
}

/**
 * Verifies a decoded WPT against the WIT it claims (DESIGN §3a). Checks, in order: `bad_typ`
 * (`wpt+jwt`), `bad_alg` (Ed25519 only, and the `alg` `cnf.jwk` names when it names one),
 * `bad_signature` (by the confirmed key), `wth` = the WIT's hash (`wrong_token`: this proof was
 * made for another WIT), the WIT still valid now (`expired`), then the request claims as an NHI1
 * proof's (`verifyProof`'s order: audience, times, lifetime, jti, body, method and URL).
 *
 * @returns the WPT's claims with `iss` set to the WIT's (replay stores key on `iss` + `jti`).
 * @throws {ProofError} with the reason of the first failed check.
 */
export const verifyWorkloadProof = (
  wpt: DecodedProof,
  identity: VerifiedWorkloadIdentity,
  options: VerifyWorkloadProofOptions,
): ProofClaims => {
  const settings = settingsOf(options);
  if (!isDecodedProof(wpt)) deny('malformed_proof', 'WPT was not produced by decodeWorkloadProof');
  // A JWK's alg restricts the key to that algorithm identifier (RFC 7517 §4.4), so EdDSA and
  // RFC 9864's Ed25519, the same signature, are not interchangeable here.
  const bound = identity.confirmationAlgorithm;
  if (bound !== undefined && wpt.header.alg !== bound) {
    deny('bad_alg', `WPT alg must be ${bound}, as cnf.jwk says`);
  }
  checkSignedBy(wpt, identity.confirmationKey, settings.now, WPT_TYPES, WPT_TYPE);
  if (wpt.claims.wth !== identity.hash) deny('wrong_token', 'WPT wth does not match the WIT');
  if (identity.expiresAt <= settings.now - settings.clockSkew) deny('expired', 'WIT is expired');
  // The WIT names the workload: a WPT may repeat its iss or sub, never name another.
  if (wpt.claims.iss !== undefined && wpt.claims.iss !== identity.iss) {
    deny('wrong_token', 'WPT iss does not match the WIT');
  }
  if (wpt.claims.sub !== undefined && wpt.claims.sub !== workloadUri(identity.iss)) {
    deny('wrong_token', 'WPT sub does not match the WIT');
  }
  const claims = checkRequestClaims(wpt.claims, options, settings);
  return { ...claims, iss: identity.iss };
};
