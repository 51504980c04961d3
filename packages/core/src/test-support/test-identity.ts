import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { canonicalName, splitIdentityLabels } from '../names.js';
import { type SignProofOptions, signProof } from '../proof-sign.js';
import { formatRecord, type KeyType, splitTxtStrings } from '../record.js';

/** A workload identity for tests, demos and benchmarks: a key pair and its NHI1 record. */
export interface TestIdentity {
  readonly name: string;
  readonly kid: string;
  readonly keyType: KeyType;
  readonly privateKey: KeyObject;
  /** Base64 public key as published in `p=`. */
  readonly publicKey: string;
  /** The record text, and the same split into ≤255-byte character-strings. */
  readonly record: string;
  readonly strings: string[];
  /** Signs a proof from this identity; `aud` is required, the rest defaults to signProof's. */
  sign(
    options: Omit<SignProofOptions, 'privateKey' | 'kid' | 'iss'> &
      Partial<Pick<SignProofOptions, 'kid' | 'iss'>>,
  ): Promise<string>;
  /** This identity's record with other fields (a revocation: `{ publicKey: '' }`). */
  recordWith(overrides: {
    publicKey?: string;
    expiresAt?: number;
    attributes?: Record<string, string>;
    kid?: string;
    /** `x5t-s256=`: the pinned client certificate's thumbprint (see `certThumbprint`). */
    certThumbprint?: string;
  }): string;
}

/** Raw 32-byte Ed25519 or SPKI DER P-256 public key in base64, as `p=` carries it. */
const publishedKey = (publicKey: KeyObject, keyType: KeyType): string =>
  keyType === 'ed25519'
    ? Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64')
    : publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

/** Creates a fresh identity with a new key pair. */
export const createTestIdentity = (
  name: string,
  options: { kid?: string; keyType?: KeyType; attributes?: Record<string, string>; expiresAt?: number } = {},
): TestIdentity => {
  const keyType = options.keyType ?? 'ed25519';
  const kid = options.kid ?? 'k1';
  const canonical = canonicalName(name);
  const labels = splitIdentityLabels(canonical);
  if (labels === undefined) throw new Error(`not an identity name: ${name}`);
  const pair =
    keyType === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey = publishedKey(pair.publicKey, keyType);
  const recordWith: TestIdentity['recordWith'] = (overrides) =>
    formatRecord({
      service: labels.service,
      environment: labels.environment,
      kid: overrides.kid ?? kid,
      keyType,
      publicKey: overrides.publicKey ?? publicKey,
      ...((overrides.expiresAt ?? options.expiresAt) === undefined
        ? {}
        : { expiresAt: overrides.expiresAt ?? options.expiresAt }),
      attributes: overrides.attributes ?? options.attributes ?? {},
      ...(overrides.certThumbprint === undefined ? {} : { certThumbprint: overrides.certThumbprint }),
    });
  const record = recordWith({});
  return {
    name: canonical,
    kid,
    keyType,
    privateKey: pair.privateKey,
    publicKey,
    record,
    strings: splitTxtStrings(record),
    sign: (signOptions) => signProof({ privateKey: pair.privateKey, kid, iss: canonical, ...signOptions }),
    recordWith,
  };
};
