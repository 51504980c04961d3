import {
  createPublicKey,
  generateKeyPair as generateNodeKeyPair,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { ALGORITHM_BY_KEY_TYPE, type KeyType, KID_PATTERN } from '@nhi-dns/core';
import { CliError, EXIT_CODE, usageError } from './errors.js';
import { checkKid } from './validation.js';

const generateKeyPairAsync = promisify(generateNodeKeyPair);

/** JWS algorithm of each key type (DESIGN §3): core's table, re-exported for CLI users. */
export const JWS_ALGORITHM = ALGORITHM_BY_KEY_TYPE;

/** The private signing key as stored in Secrets Manager: a private JWK plus `kid` and `alg`. */
export interface SigningKeyJwk extends JsonWebKey {
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
 * Derives the published key from a stored private JWK (its public members `x`/`y`), after
 * checking that it is an Ed25519 or P-256 signing key with a valid `kid`.
 *
 * @throws {CliError} `bad_secret` naming what is wrong, never echoing the value.
 */
export const publishedKeyFromJwk = (jwk: unknown): PublishedKey => {
  const fail = (detail: string): never => {
    throw new CliError(
      'bad_secret',
      `the signing-key secret is not a usable JWK: ${detail}`,
      EXIT_CODE.other,
    );
  };
  if (typeof jwk !== 'object' || jwk === null) return fail('not a JSON object');
  const { kty, crv, kid, x, y } = jwk as Record<string, unknown>;
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) return fail('kid missing or invalid');
  let keyType: KeyType;
  if (kty === 'OKP' && crv === 'Ed25519') keyType = 'ed25519';
  else if (kty === 'EC' && crv === 'P-256') keyType = 'p256';
  else return fail('only Ed25519 (OKP) and P-256 (EC) keys are supported');
  if (typeof x !== 'string' || (keyType === 'p256' && typeof y !== 'string'))
    return fail('public part missing');
  try {
    const publicJwk = keyType === 'ed25519' ? { kty, crv, x } : { kty, crv, x, y };
    const publicKey = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' });
    return { kid, keyType, publicKey: encodePublicKey(keyType, publicKey) };
  } catch {
    return fail('public part is not a valid point');
  }
};
