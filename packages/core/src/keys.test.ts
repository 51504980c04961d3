import { verify } from 'node:crypto';
import { importRecordKeys } from './keys.js';
import { type IdentityRecord, parseRecordSet } from './record.js';
import { createTestIdentity } from './test-support/test-identity.js';

const NAME = 'orders.prod.auth.example.com';
const recordsOf = (...texts: string[]): readonly IdentityRecord[] => parseRecordSet(NAME, texts).keys;

describe('importRecordKeys', () => {
  it('imports Ed25519 and P-256 keys once into KeyObjects that verify', () => {
    const ed = createTestIdentity(NAME, { kid: 'ed', attributes: { tier: 'pci' }, expiresAt: 1_900_000_000 });
    const ec = createTestIdentity(NAME, { kid: 'ec', keyType: 'p256', attributes: { tier: 'pci' } });
    const { keys, rejected } = importRecordKeys(recordsOf(ed.record, ec.record));
    expect(rejected).toEqual([]);
    expect(keys.get('ed')).toMatchObject({
      kid: 'ed',
      keyType: 'ed25519',
      revoked: false,
      expiresAt: 1_900_000_000,
      attributes: { tier: 'pci' },
    });
    expect(keys.get('ec')).toMatchObject({ kid: 'ec', keyType: 'p256', revoked: false });
    expect(keys.get('ec')).not.toHaveProperty('expiresAt');
    const data = Buffer.from('data');
    const edKey = keys.get('ed')?.keyObject;
    expect(edKey?.asymmetricKeyType).toBe('ed25519');
    expect(verify(null, data, edKey!, Buffer.alloc(64))).toBe(false);
    expect(keys.get('ec')?.keyObject?.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('carries the pinned client certificate of a key (x5t-s256)', () => {
    const ed = createTestIdentity(NAME);
    const pin = Buffer.alloc(32, 1).toString('base64url');
    const { keys } = importRecordKeys(recordsOf(ed.recordWith({ certThumbprint: pin })));
    expect(keys.get('k1')?.certThumbprint).toBe(pin);
    expect(importRecordKeys(recordsOf(ed.record)).keys.get('k1')).not.toHaveProperty('certThumbprint');
  });

  it('keeps a revoked key, without a KeyObject', () => {
    const ed = createTestIdentity(NAME, { kid: 'old' });
    const { keys } = importRecordKeys(recordsOf(ed.recordWith({ publicKey: '' })));
    expect(keys.get('old')).toMatchObject({ revoked: true, keyObject: undefined });
  });

  it('leaves out, and reports, a P-256 point that is not on the curve', () => {
    const offCurve = Buffer.concat([
      Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
      Buffer.alloc(65, 4),
    ]).toString('base64');
    const ec = createTestIdentity(NAME, { kid: 'bad', keyType: 'p256' });
    const good = createTestIdentity(NAME, { kid: 'good' });
    const { keys, rejected } = importRecordKeys(
      recordsOf(ec.recordWith({ publicKey: offCurve }), good.record),
    );
    expect(rejected).toEqual(['bad']);
    expect([...keys.keys()]).toEqual(['good']);
  });

  it('leaves out Ed25519 keys anyone can sign for: small-order points and non-canonical encodings', () => {
    const weak = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000', // the identity
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // y = p + 1, sign bit
    ];
    const good = createTestIdentity(NAME, { kid: 'good' });
    const texts = weak.map((hex, i) =>
      createTestIdentity(NAME, { kid: `w${i}` }).recordWith({
        publicKey: Buffer.from(hex, 'hex').toString('base64'),
      }),
    );
    const { keys, rejected } = importRecordKeys(recordsOf(...texts, good.record));
    expect(rejected).toEqual(weak.map((_, i) => `w${i}`));
    expect([...keys.keys()]).toEqual(['good']);
  });

  it('rejects every copy of a kid given twice (ambiguous)', () => {
    const a = createTestIdentity(NAME, { kid: 'same' });
    const b = createTestIdentity(NAME, { kid: 'same' });
    const records = [...recordsOf(a.record), ...recordsOf(b.record), ...recordsOf(a.record)];
    const { keys, rejected } = importRecordKeys(records);
    expect(keys.size).toBe(0);
    expect(rejected).toEqual(['same']);
  });

  it('never throws, whatever the key bytes', () => {
    const record: IdentityRecord = {
      service: 'orders',
      environment: 'prod',
      kid: 'x',
      keyType: 'p256',
      publicKey: 'AAAA',
      attributes: {},
    };
    const imported = importRecordKeys([
      record,
      { ...record, kid: 'y', keyType: 'ed25519', publicKey: '@@@' },
    ]);
    expect([...imported.keys]).toEqual([]);
    expect(imported.rejected).toEqual(['x', 'y']);
  });

  it('hands out keys that no invocation can change (they are shared through the cache)', () => {
    const ed = createTestIdentity('orders.prod.auth.example.com', { attributes: { tier: 'pci' } });
    const { set } = { set: parseRecordSet(ed.name, [ed.strings]) };
    const { keys } = importRecordKeys(set.keys);
    const key = keys.get('k1');
    expect(key).toBeDefined();
    expect(() => {
      (key?.attributes as Record<string, string>).tier = 'public';
    }).toThrow(TypeError);
    expect(() => {
      (key as { revoked: boolean }).revoked = true;
    }).toThrow(TypeError);
    expect('delete' in keys).toBe(false);
    expect('set' in keys).toBe(false);
    expect(Object.isFrozen(set.attributes)).toBe(true);
    expect(keys.get('k1')?.attributes.tier).toBe('pci');
  });
});
