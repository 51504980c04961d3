// A tiny in-process DNSSEC signer for unit tests: keys, RRSIGs and DS records made with
// node:crypto through this package's own canonical form. The independent oracle is the
// integration lab (knot and ldns sign, unbound and delv judge); this one makes the fuzz and the
// edge cases cheap.
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { DnsRecord } from '../types.js';
import type { SignedAnswer } from './validator.js';
import {
  canonicalNameWire,
  type DnskeyData,
  type DsData,
  dnskeyRdata,
  keyTag,
  labelCount,
  type RrsigData,
  signedData,
} from './wire.js';

/** A DNSKEY and its private half. */
export interface TestKey {
  readonly dnskey: DnskeyData;
  readonly privateKey: KeyObject;
  readonly tag: number;
}

/** Makes a zone key: 257 (KSK) or 256 (ZSK) of algorithm 8, 13 or 15. */
export const makeKey = (algorithm: 8 | 13 | 15, flags = 257): TestKey => {
  let key: Buffer;
  let privateKey: KeyObject;
  if (algorithm === 15) {
    const pair = generateKeyPairSync('ed25519');
    privateKey = pair.privateKey;
    key = Buffer.from(pair.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  } else if (algorithm === 13) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    privateKey = pair.privateKey;
    const jwk = pair.publicKey.export({ format: 'jwk' });
    key = Buffer.concat([Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
  } else {
    const pair = generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 65537 });
    privateKey = pair.privateKey;
    const jwk = pair.publicKey.export({ format: 'jwk' });
    const e = Buffer.from(jwk.e ?? '', 'base64url');
    key = Buffer.concat([Buffer.from([e.length]), e, Buffer.from(jwk.n ?? '', 'base64url')]);
  }
  const dnskey = { flags, algorithm, key };
  return { dnskey, privateKey, tag: keyTag(dnskey) };
};

/** A DS (SHA-256) of `key` at `owner`. */
export const dsOf = (owner: string, key: TestKey): DsData => ({
  keyTag: key.tag,
  algorithm: key.dnskey.algorithm,
  digestType: 2,
  digest: createHash('sha256').update(canonicalNameWire(owner)).update(dnskeyRdata(key.dnskey)).digest(),
});

/** A record as the resolver hands it out. */
export const record = (name: string, type: string, data: unknown, ttl = 300): DnsRecord =>
  Object.freeze({ name, type, ttl, data });

/** Times of a signature, Unix seconds. */
export interface SignatureTimes {
  inception?: number;
  expiration?: number;
  /** RRSIG labels; default the owner's label count. */
  labels?: number;
}

/** An RRSIG over `rrset` (owner and type from its first record) by `key` of `signer`. */
export const rrsigOver = (
  rrset: readonly DnsRecord[],
  key: TestKey,
  signer: string,
  times: SignatureTimes = {},
): DnsRecord => {
  const first = rrset[0]!;
  const now = Math.floor(Date.now() / 1000);
  const unsigned: RrsigData = {
    typeCovered: first.type,
    algorithm: key.dnskey.algorithm,
    labels: times.labels ?? labelCount(first.name),
    originalTTL: first.ttl,
    expiration: times.expiration ?? now + 86_400,
    inception: times.inception ?? now - 3600,
    keyTag: key.tag,
    signersName: signer,
    signature: Buffer.alloc(0),
  };
  const data = signedData(unsigned, first.name, rrset);
  const algorithm = key.dnskey.algorithm;
  const signature =
    algorithm === 15
      ? sign(null, data, key.privateKey)
      : algorithm === 13
        ? sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', data, key.privateKey);
  return record(first.name, 'RRSIG', { ...unsigned, signature });
};

/** A positive answer. */
export const answerOf = (
  answers: readonly DnsRecord[],
  signatures: readonly DnsRecord[] = [],
  extra: Partial<SignedAnswer> = {},
): SignedAnswer => ({ kind: 'answer', answers, aliases: [], signatures, authority: [], ttl: 300, ...extra });

/** A NODATA answer with authority records. */
export const nodataOf = (authority: readonly DnsRecord[] = []): SignedAnswer => ({
  kind: 'nodata',
  answers: [],
  aliases: [],
  signatures: [],
  authority,
  ttl: 60,
});
