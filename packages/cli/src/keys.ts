import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateNodeKeyPair,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { ALGORITHM_BY_KEY_TYPE, type Jwk, type KeyType, KID_PATTERN } from '@nhi-dns/core';
import { CliError, EXIT_CODE, type ExitCode, usageError } from './errors.js';
import { checkKid } from './validation.js';

const generateKeyPairAsync = promisify(generateNodeKeyPair);

/** JWS algorithm of each key type (DESIGN §3): core's table, re-exported for CLI users. */
export const JWS_ALGORITHM = ALGORITHM_BY_KEY_TYPE;

/** The private signing key as stored in Secrets Manager: a private JWK plus `kid` and `alg`. */
export interface SigningKeyJwk extends Jwk {
  readonly kid: string;
  readonly alg: 'EdDSA' | 'ES256';
  readonly use: 'sig';
}

/** A public key in the form the identity record publishes (`k=`, `p=`). */
export interface PublishedKey {
  readonly kid: string;
  readonly keyType: KeyType;
  /** Base64: the raw 32 bytes for ed25519, the SPKI DER for p256. */
  readonly publicKey: string;
  /** `x5t-s256=`: the API Gateway mTLS client certificate pinned to this key (render, deploy plugins). */
  readonly certThumbprint?: string;
}

/** A fresh key pair: its public half for DNS, its private half for Secrets Manager. */
export interface GeneratedSigningKey extends PublishedKey {
  readonly privateJwk: SigningKeyJwk;
}

/** Parses `--alg`. @throws {CliError} usage error for anything but `ed25519` or `p256`. */
export const parseKeyType = (value: string): KeyType => {
  if (value === 'ed25519' || value === 'p256') return value;
  throw usageError(`--alg must be ed25519 or p256, not ${JSON.stringify(value)}`);
};

/**
 * Default key id: `k` and the UTC creation time to the second (`k20261125T151300Z`). Sorting
 * kids sorts keys by age, and operators can read the age of a key in DNS at a glance.
 */
export const defaultKid = (nowMs: number): string =>
  `k${new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}`;

/** Encodes the public half of a key for the `p=` tag. */
export const encodePublicKey = (keyType: KeyType, publicKey: KeyObject): string => {
  if (keyType === 'p256') return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.x === undefined) throw new CliError('bad_key', 'ed25519 key has no public part', EXIT_CODE.other);
  return Buffer.from(jwk.x, 'base64url').toString('base64');
};

/** Generates an Ed25519 or P-256 key pair on `node:crypto`. */
export const generateSigningKey = async (keyType: KeyType, kid: string): Promise<GeneratedSigningKey> => {
  const { publicKey, privateKey } =
    keyType === 'ed25519'
      ? await generateKeyPairAsync('ed25519')
      : await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const privateJwk: SigningKeyJwk = {
    ...privateKey.export({ format: 'jwk' }),
    kid: checkKid(kid),
    alg: JWS_ALGORITHM[keyType],
    use: 'sig',
  };
  return { kid, keyType, publicKey: encodePublicKey(keyType, publicKey), privateJwk };
};

/**
 * Fingerprint of a public key: SHA-256 over the bytes of its `p=` value (raw 32 bytes for
 * ed25519, SPKI DER for p256), base64url. Anyone can recompute it from `dig TXT` output.
 */
export const publicKeyFingerprint = (key: Pick<PublishedKey, 'publicKey'>): string =>
  createHash('sha256').update(Buffer.from(key.publicKey, 'base64')).digest('base64url');

/**
 * Whether the public members of a private JWK (`x`, and `y` for P-256) are the public key of its
 * private member `d`. The public key is derived from `d` alone: for Ed25519 through node's key
 * import (which recomputes it from the seed), for P-256 by scalar multiplication (ECDH), since
 * node's import of an EC JWK keeps whatever `x`/`y` it is given.
 */
const publicPartMatches = (jwk: Record<string, unknown>, keyType: KeyType): boolean => {
  const { d, x, y } = jwk;
  if (typeof d !== 'string') return false;
  try {
    if (keyType === 'ed25519') {
      const derived = createPublicKey(
        createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x } as Jwk, format: 'jwk' }),
      ).export({ format: 'jwk' });
      return derived.x === x;
    }
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(d, 'base64url'));
    const point = ecdh.getPublicKey();
    return (
      point.subarray(1, 33).toString('base64url') === x && point.subarray(33, 65).toString('base64url') === y
    );
  } catch {
    return false;
  }
};

/**
 * Where a private JWK was read from, for the errors of {@link publishedKeyFromJwk} and
 * {@link signingKeyFromJwk}: how messages name it, and the reason and exit code of a value that
 * is not a usable JWK (an inconsistent one is always `key_mismatch`, exit code 4).
 */
export interface JwkSource {
  /** E.g. `the signing-key secret`, `--key-file ./billing.jwk`. */
  readonly name: string;
  readonly badReason: string;
  readonly badExitCode: ExitCode;
}

/** The default {@link JwkSource}: the workload's signing-key secret (`bad_secret`, exit code 4). */
export const SIGNING_KEY_SECRET: JwkSource = {
  name: 'the signing-key secret',
  badReason: 'bad_secret',
  badExitCode: EXIT_CODE.other,
};

/**
 * Derives the published key from a stored private JWK (its public members `x`/`y`), after
 * checking that it is an Ed25519 or P-256 signing key with a valid `kid` and, when it carries
 * a private part `d`, that `x`/`y` are the public key of `d` (see {@link signingKeyFromJwk}).
 *
 * @throws {CliError} `bad_secret` (or `source.badReason`) naming what is wrong, never echoing
 * the value; `key_mismatch` when the public part is not the private part's.
 */
export const publishedKeyFromJwk = (jwk: unknown, source: JwkSource = SIGNING_KEY_SECRET): PublishedKey => {
  const fail = (detail: string): never => {
    throw new CliError(source.badReason, `${source.name} is not a usable JWK: ${detail}`, source.badExitCode);
  };
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return fail('not a JSON object');
  const { kty, crv, kid, x, y } = jwk as Record<string, unknown>;
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) return fail('kid missing or invalid');
  let keyType: KeyType;
  if (kty === 'OKP' && crv === 'Ed25519') keyType = 'ed25519';
  else if (kty === 'EC' && crv === 'P-256') keyType = 'p256';
  else return fail('only Ed25519 (OKP) and P-256 (EC) keys are supported');
  if (typeof x !== 'string' || (keyType === 'p256' && typeof y !== 'string'))
    return fail('public part missing');
  let published: PublishedKey;
  try {
    const publicJwk = keyType === 'ed25519' ? { kty, crv, x } : { kty, crv, x, y };
    const publicKey = createPublicKey({ key: publicJwk as Jwk, format: 'jwk' });
    published = { kid, keyType, publicKey: encodePublicKey(keyType, publicKey) };
  } catch {
    return fail('public part is not a valid point');
  }
  if ('d' in jwk && !publicPartMatches(jwk as Record<string, unknown>, keyType)) {
    throw new CliError(
      'key_mismatch',
      `${source.name}: key ${kid} is inconsistent: its public part (x${keyType === 'p256' ? '/y' : ''}) ` +
        'is not the public key of its private part (d); refusing to publish or use it',
      EXIT_CODE.other,
    );
  }
  return published;
};

/**
 * Reads a stored private signing JWK: {@link publishedKeyFromJwk}, and it must carry its private
 * part `d`, whose public key must be the published one. Publishing a public key taken from
 * `x`/`y` without this check would let whoever wrote the secret pair someone else's public key
 * with their own private key.
 *
 * @throws {CliError} `bad_secret` (or `source.badReason`: not a usable private JWK),
 * `key_mismatch` (public part is not the private part's, exit code 4).
 */
export const signingKeyFromJwk = (
  jwk: unknown,
  source: JwkSource = SIGNING_KEY_SECRET,
): GeneratedSigningKey => {
  const published = publishedKeyFromJwk(jwk, source);
  if (typeof (jwk as { d?: unknown }).d !== 'string') {
    throw new CliError(
      source.badReason,
      `${source.name} is not a usable JWK: private part (d) missing`,
      source.badExitCode,
    );
  }
  return { ...published, privateJwk: jwk as SigningKeyJwk };
};
