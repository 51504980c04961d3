/**
 * The facts about AWS KMS signing keys that every nhi-dns caller of KMS shares (the CLI that
 * creates and publishes them, identity-sign that signs with them, the deploy paths): which key
 * spec and signing algorithm serve each record key type, and how a KMS key names its record key.
 * Strings only: no AWS SDK import here.
 */
import type { KeyType } from './record.js';

/** KMS key spec and `Sign` algorithm of each record key type (`MessageType: RAW`: KMS hashes). */
export const KMS_KEY_SPECS = Object.freeze({
  ed25519: Object.freeze({ keySpec: 'ECC_NIST_EDWARDS25519', signingAlgorithm: 'ED25519_SHA_512' }),
  p256: Object.freeze({ keySpec: 'ECC_NIST_P256', signingAlgorithm: 'ECDSA_SHA_256' }),
} as const satisfies Record<KeyType, { keySpec: string; signingAlgorithm: string }>);

/** The record key type of a KMS key spec; `undefined` for a spec that cannot sign for an identity. */
export const keyTypeOfKmsKeySpec = (keySpec: string | undefined): KeyType | undefined =>
  (Object.keys(KMS_KEY_SPECS) as KeyType[]).find((type) => KMS_KEY_SPECS[type].keySpec === keySpec);

const KEY_UUID = /^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * The record `kid` of a KMS key: `kms-` and its key id, from a key id or key ARN. Derived, never
 * chosen: a signer that knows its key knows its kid, and an alias moved to the next key moves the
 * kid with it. `undefined` for anything else (an alias names no key by itself).
 */
export const kidOfKmsKey = (keyIdOrArn: string): string | undefined => {
  const keyId = keyIdOrArn.includes(':key/') ? keyIdOrArn.slice(keyIdOrArn.indexOf(':key/') + 5) : keyIdOrArn;
  return KEY_UUID.test(keyId) ? `kms-${keyId}` : undefined;
};

/** The alias of a workload's KMS signing key: `alias/nhi/<env>/<service>`. */
export const kmsAliasName = (service: string, environment: string): string =>
  `alias/nhi/${environment}/${service}`;
