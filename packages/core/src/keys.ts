import { createPublicKey, type KeyObject } from 'node:crypto';
import type { IdentityRecord, KeyCustody, KeyType } from './record.js';

/**
 * One key of a caller's identity record, ready for `verifyProof`: the `KeyObject` is created
 * once per DNS answer, never per request.
 */
export interface VerificationKey {
  /** `kid=` of the record. */
  readonly kid: string;
  /** `k=` of the record: fixes the only algorithm a proof may use with this key. */
  readonly keyType: KeyType;
  /** The public key; `undefined` when the record revokes the key. */
  readonly keyObject: KeyObject | undefined;
  /**
   * The 32 raw bytes of an `ed25519` key (the record's `p=`, as `keyObject` holds them), for the
   * optional native verifier (`native-ed25519.ts`): copied once at import so that a request does
   * no conversion. `undefined` for `p256` and revoked keys, and on keys built by hand (the
   * verifier then uses `node:crypto`). The verifier trusts these bytes: never write to them.
   */
  readonly rawPublicKey?: Uint8Array | undefined;
  /** True when the record publishes an empty `p=`. */
  readonly revoked: boolean;
  /** `exp=` of the record (Unix seconds): from that second on the key is unusable. */
  readonly expiresAt?: number;
  /**
   * `x5t-s256=` of the record: base64url SHA-256 of the client certificate the key's holder
   * presents over mutual TLS, when the record pins one.
   */
  readonly certThumbprint?: string;
  /** `kc=` of the record: `kms` when the private half never leaves AWS KMS (DESIGN §2). */
  readonly keyCustody?: KeyCustody;
  /** `x-NAME=` attributes of the record. */
  readonly attributes: Readonly<Record<string, string>>;
}

/**
 * A read-only view of a `Map`. Imported keys are cached per DNS answer and shared by every
 * invocation that hits it: a handler that deleted a key (or a test that set one) must not
 * change what later requests are verified against. The view has no way to change the map.
 */
class ReadonlyKeyMap<K, V> implements ReadonlyMap<K, V> {
  readonly #map: Map<K, V>;

  constructor(map: Map<K, V>) {
    this.#map = map;
    Object.freeze(this);
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  keys(): MapIterator<K> {
    return this.#map.keys();
  }

  values(): MapIterator<V> {
    return this.#map.values();
  }

  entries(): MapIterator<[K, V]> {
    return this.#map.entries();
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.#map) callback.call(thisArg, value, key, this);
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map[Symbol.iterator]();
  }
}

/** Result of {@link importRecordKeys}. */
export interface ImportedRecordKeys {
  /** Usable and revoked keys, by `kid`; read-only (shared across invocations). */
  readonly keys: ReadonlyMap<string, VerificationKey>;
  /** Kids left out: Node could not import the key, or the kid appeared more than once. */
  readonly rejected: string[];
}

/**
 * Ed25519 public keys anyone can sign for: the 8 points of small order and their non-canonical
 * encodings (libsodium's blocklist). A signature with S = 0 verifies for such a key under some
 * verifiers (node:crypto on OpenSSL 3.0 accepts about one message in eight), so a record that
 * publishes one is refused at import, whatever verifier runs later.
 */
const SMALL_ORDER_ED25519 = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
]);

/** True when the 32-byte encoding's y (low 255 bits, little-endian) is ≥ p = 2^255 − 19. */
const isNonCanonicalEd25519 = (key: Buffer): boolean => {
  if ((key[31]! & 0x7f) !== 0x7f || key[0]! < 0xed) return false;
  for (let i = 1; i < 31; i++) if (key[i] !== 0xff) return false;
  return true;
};

const toKeyObject = (keyType: KeyType, der: Buffer): KeyObject => {
  if (keyType === 'ed25519' && (SMALL_ORDER_ED25519.has(der.toString('hex')) || isNonCanonicalEd25519(der))) {
    throw new Error('weak ed25519 key');
  }
  if (keyType === 'ed25519' && der.length !== 32) throw new Error('ed25519 key is not 32 bytes');
  // Ed25519 as a JWK: OpenSSL 3 decodes a DER SPKI through its decoder framework, about 8x slower
  // (Node 20 here: 13 vs 101 µs), and this runs for every key of every DNS answer, and every WIT.
  const keyObject =
    keyType === 'ed25519'
      ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: der.toString('base64url') }, format: 'jwk' })
      : createPublicKey({ key: der, format: 'der', type: 'spki' });
  const expected = keyType === 'ed25519' ? 'ed25519' : 'ec';
  if (keyObject.asymmetricKeyType !== expected) throw new Error('key type mismatch');
  if (keyType === 'p256' && keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('not a P-256 key');
  }
  return keyObject;
};

/**
 * A {@link VerificationKey} for 32 raw Ed25519 public-key bytes that no record publishes (the key
 * a workload identity token confirms, DESIGN §3a), with the record keys' checks: `undefined` for
 * a key of the wrong size, a small-order or a non-canonical one.
 */
export const ed25519VerificationKey = (raw: Uint8Array, kid: string): VerificationKey | undefined => {
  if (raw.length !== 32) return undefined;
  let keyObject: KeyObject;
  try {
    keyObject = toKeyObject('ed25519', Buffer.from(raw));
  } catch {
    return undefined;
  }
  return Object.freeze({
    kid,
    keyType: 'ed25519',
    keyObject,
    rawPublicKey: new Uint8Array(raw),
    revoked: false,
    attributes: Object.freeze({}),
  });
};

/**
 * Builds {@link VerificationKey}s from parsed records (see `parseRecordSet`). Never throws:
 * a key Node cannot import (e.g. a P-256 point off the curve) is left out and its kid
 * reported in `rejected`; so are kids that appear more than once (ambiguous, fail closed).
 */
export const importRecordKeys = (records: readonly IdentityRecord[]): ImportedRecordKeys => {
  const keys = new Map<string, VerificationKey>();
  const rejected: string[] = [];
  const seen = new Set<string>();
  for (const record of records) {
    if (seen.has(record.kid)) {
      if (keys.delete(record.kid)) rejected.push(record.kid);
      continue;
    }
    seen.add(record.kid);
    const revoked = record.publicKey === '';
    let keyObject: KeyObject | undefined;
    let rawPublicKey: Uint8Array | undefined;
    if (!revoked) {
      try {
        const der = Buffer.from(record.publicKey, 'base64');
        keyObject = toKeyObject(record.keyType, der);
        // Its own copy: `der` may be a slice of Node's shared Buffer pool.
        if (record.keyType === 'ed25519' && der.length === 32) rawPublicKey = new Uint8Array(der);
      } catch {
        rejected.push(record.kid);
        continue;
      }
    }
    keys.set(
      record.kid,
      Object.freeze({
        kid: record.kid,
        keyType: record.keyType,
        keyObject,
        // Always present (maybe undefined): one object shape for the verifier's property read.
        rawPublicKey,
        revoked,
        attributes: Object.isFrozen(record.attributes)
          ? record.attributes
          : Object.freeze({ ...record.attributes }),
        ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }),
        ...(record.certThumbprint === undefined ? {} : { certThumbprint: record.certThumbprint }),
        ...(record.keyCustody === undefined ? {} : { keyCustody: record.keyCustody }),
      }),
    );
  }
  return { keys: new ReadonlyKeyMap(keys), rejected };
};
