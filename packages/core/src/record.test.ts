import fc from 'fast-check';
import { NhiError } from './errors.js';
import {
  formatRecord,
  type IdentityRecordInput,
  MAX_TXT_STRING_BYTES,
  parseRecord,
  parseRecordSet,
  splitTxtStrings,
} from './record.js';

const NAME = 'billing.prod.auth.example.com';
const KEY = Buffer.alloc(32, 7).toString('base64');
const P256_KEY = Buffer.concat([
  Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
  Buffer.alloc(65, 4),
]).toString('base64');
/** An `x5t#S256` value: base64url SHA-256 of some DER. */
const PIN = Buffer.alloc(32, 9).toString('base64url');
const rr = (extra = '') => `v=NHI1; svc=billing; env=prod; kid=k1; p=${KEY}${extra}`;

const expectInvalid = (text: string | string[], problem: string, name = NAME) => {
  const result = parseRecord(text, name);
  expect(result).toMatchObject({ status: 'invalid', problem });
};

describe('parseRecord', () => {
  it('parses a minimal record with ed25519 as the default key type', () => {
    expect(parseRecord(rr(), NAME)).toEqual({
      status: 'valid',
      record: {
        service: 'billing',
        environment: 'prod',
        kid: 'k1',
        keyType: 'ed25519',
        publicKey: KEY,
        attributes: {},
      },
    });
  });

  it('reads k, exp and x- attributes', () => {
    const result = parseRecord(`${rr()}; k=ed25519; exp=1893456000; x-tier=pci; x-team=payments`, NAME);
    expect(result).toMatchObject({
      status: 'valid',
      record: { expiresAt: 1893456000, attributes: { tier: 'pci', team: 'payments' } },
    });
  });

  it('accepts a P-256 SPKI key and rejects a wrong-length one', () => {
    expect(parseRecord(`v=NHI1; svc=billing; env=prod; kid=a; k=p256; p=${P256_KEY}`, NAME).status).toBe(
      'valid',
    );
    expectInvalid(`v=NHI1; svc=billing; env=prod; kid=a; k=p256; p=${KEY}`, 'bad_key');
    expectInvalid(`v=NHI1; svc=billing; env=prod; kid=a; k=ed25519; p=${P256_KEY}`, 'bad_key');
  });

  it('reads the pinned client certificate of a key (x5t-s256), and rejects one that is not a SHA-256', () => {
    expect(parseRecord(`${rr()}; x5t-s256=${PIN}`, NAME)).toMatchObject({
      status: 'valid',
      record: { certThumbprint: PIN, attributes: {} },
    });
    for (const bad of [
      Buffer.alloc(32, 9).toString('base64'), // padded base64, not base64url
      Buffer.alloc(20, 9).toString('base64url'), // SHA-1 (JOSE's x5t)
      Buffer.alloc(48, 9).toString('base64url'), // SHA-384
      `${PIN.slice(0, 42)}B`, // non-canonical last character
      '',
    ]) {
      expectInvalid(`${rr()}; x5t-s256=${bad}`, 'bad_cert');
    }
    expectInvalid(`${rr()}; x5t-s256=${PIN}; x5t-s256=${PIN}`, 'duplicate_tag');
  });

  it('treats an empty p= as a revoked key, still valid', () => {
    expect(parseRecord('v=NHI1; svc=billing; env=prod; kid=k1; p=', NAME)).toMatchObject({
      status: 'valid',
      record: { publicKey: '' },
    });
  });

  it('ignores whitespace around tags and values, and a trailing semicolon', () => {
    const result = parseRecord(
      ` v = NHI1 ;svc=billing;\tenv = prod ; kid=k1 ; p = ${KEY} ; x-a = b c ;`,
      NAME,
    );
    expect(result).toMatchObject({ status: 'valid', record: { attributes: { a: 'b c' } } });
  });

  it('ignores unknown tags', () => {
    expect(parseRecord(`${rr()}; future=1; t=y`, NAME).status).toBe('valid');
  });

  it('concatenates multiple character-strings with nothing between them', () => {
    const text = rr('; x-tier=pci');
    const parts = [text.slice(0, 10), text.slice(10, 40), text.slice(40)];
    expect(parseRecord(parts, NAME)).toMatchObject({
      status: 'valid',
      record: { attributes: { tier: 'pci' } },
    });
    expect(
      parseRecord(
        parts.map((part) => Buffer.from(part)),
        NAME,
      ).status,
    ).toBe('valid');
  });

  it('ignores RRs of another version or of no NHI format at all', () => {
    expect(parseRecord(rr().replace('NHI1', 'NHI2'), NAME)).toEqual({ status: 'ignored' });
    expect(parseRecord('google-site-verification=abc', NAME)).toEqual({ status: 'ignored' });
    expect(parseRecord('v=spf1 include:_spf.example.com ~all', NAME)).toEqual({ status: 'ignored' });
    expect(parseRecord('', NAME)).toEqual({ status: 'ignored' });
  });

  it('rejects an RR where v is not the first tag', () => {
    expectInvalid(`svc=billing; v=NHI1; env=prod; kid=k1; p=${KEY}`, 'v_not_first');
  });

  it('rejects a duplicated tag, known or attribute', () => {
    expectInvalid(`${rr()}; kid=k2`, 'duplicate_tag');
    expectInvalid(`${rr()}; x-a=1; x-a=1`, 'duplicate_tag');
  });

  it('rejects an RR missing a required tag', () => {
    for (const tag of ['svc', 'env', 'kid', 'p']) {
      const text = rr()
        .split('; ')
        .filter((part) => !part.startsWith(`${tag}=`))
        .join('; ');
      expectInvalid(text, 'missing_tag');
    }
  });

  it('rejects svc/env that do not match the name', () => {
    expectInvalid(rr(), 'name_mismatch', 'billing.dev.auth.example.com');
    expectInvalid(rr(), 'name_mismatch', 'ledger.prod.auth.example.com');
    expectInvalid(rr(), 'name_mismatch', 'billing.prod');
  });

  it('compares names in canonical form', () => {
    expect(parseRecord(rr(), 'BILLING.Prod.auth.example.com.').status).toBe('valid');
  });

  it('rejects bad kid, key type, base64 and exp', () => {
    expectInvalid(rr().replace('kid=k1', 'kid=../etc'), 'bad_kid');
    expectInvalid(rr().replace('kid=k1', `kid=${'a'.repeat(65)}`), 'bad_kid');
    expectInvalid(`${rr()}; k=rsa`, 'bad_key_type');
    expectInvalid(rr().replace(KEY, 'not*base64'), 'bad_key');
    expectInvalid(`${rr()}; exp=tomorrow`, 'bad_exp');
    expectInvalid(`${rr()}; exp=-1`, 'bad_exp');
    expectInvalid(`${rr()}; x-Bad=1`, 'malformed');
  });

  it('rejects an RR longer than 4096 bytes', () => {
    expectInvalid(rr(`; x-pad=${'a'.repeat(4096)}`), 'too_long');
  });

  it('rejects non-ASCII and control characters in values', () => {
    expectInvalid(rr('; x-a=caf\u00e9'), 'malformed');
    expectInvalid(rr('; x-a=a\u0000b'), 'malformed');
  });
});

describe('key custody (kc)', () => {
  it('reads kc=kms, and treats a custody it does not know as no statement (the key stays usable)', () => {
    expect(parseRecord(`${rr()}; kc=kms`, NAME)).toMatchObject({
      status: 'valid',
      record: { keyCustody: 'kms' },
    });
    const unknown = parseRecord(`${rr()}; kc=hsm`, NAME);
    expect(unknown.status).toBe('valid');
    expect(unknown.status === 'valid' && 'keyCustody' in unknown.record).toBe(false);
  });

  it('writes kc after x5t-s256 and reads it back; refuses a custody it does not know', () => {
    const input: IdentityRecordInput = {
      service: 'billing',
      environment: 'prod',
      kid: 'k1',
      publicKey: KEY,
      certThumbprint: PIN,
      keyCustody: 'kms',
    };
    const text = formatRecord(input);
    expect(text).toBe(`v=NHI1; svc=billing; env=prod; kid=k1; k=ed25519; p=${KEY}; x5t-s256=${PIN}; kc=kms`);
    expect(parseRecord(text, NAME)).toMatchObject({ status: 'valid', record: { keyCustody: 'kms' } });
    expect(() => formatRecord({ ...input, keyCustody: 'hsm' as 'kms' })).toThrow(/kc must be one of kms/);
  });
});

describe('parseRecordSet', () => {
  const key = (kid: string, extra = '') => `v=NHI1; svc=billing; env=prod; kid=${kid}; p=${KEY}${extra}`;

  it('returns every valid key, skips foreign RRs and reports invalid ones', () => {
    const set = parseRecordSet(NAME, [key('a'), 'hello', key('b'), 'v=NHI1; svc=x; env=prod; kid=c; p=']);
    expect(set.keys.map((k) => k.kid)).toEqual(['a', 'b']);
    expect(set.problems).toEqual([{ index: 3, problem: 'name_mismatch', detail: expect.any(String) }]);
  });

  it('rejects both RRs that share a kid', () => {
    const set = parseRecordSet(NAME, [key('a'), key('a', '; x-tier=1'), key('b')]);
    expect(set.keys.map((k) => k.kid)).toEqual(['b']);
    expect(set.problems.map((p) => [p.index, p.problem])).toEqual([
      [0, 'duplicate_kid'],
      [1, 'duplicate_kid'],
    ]);
  });

  it('keeps only the attributes every key agrees on', () => {
    const set = parseRecordSet(NAME, [
      key('a', '; x-tier=pci; x-team=1'),
      key('b', '; x-tier=pci; x-team=2'),
    ]);
    expect(set.attributes).toEqual({ tier: 'pci' });
    expect(parseRecordSet(NAME, []).attributes).toEqual({});
  });
});

describe('formatRecord', () => {
  it('formats the record of DESIGN §2', () => {
    expect(
      formatRecord({
        service: 'billing',
        environment: 'prod',
        kid: 'k2026-11',
        publicKey: KEY,
        attributes: { tier: 'pci' },
      }),
    ).toBe(`v=NHI1; svc=billing; env=prod; kid=k2026-11; k=ed25519; p=${KEY}; x-tier=pci`);
  });

  it('writes the pin after exp and before the attributes', () => {
    expect(
      formatRecord({
        service: 'billing',
        environment: 'prod',
        kid: 'k1',
        publicKey: KEY,
        expiresAt: 1893456000,
        certThumbprint: PIN,
        attributes: { tier: 'pci' },
      }),
    ).toBe(
      `v=NHI1; svc=billing; env=prod; kid=k1; k=ed25519; p=${KEY}; exp=1893456000; x5t-s256=${PIN}; x-tier=pci`,
    );
  });

  it('refuses fields that would not parse back', () => {
    const base: IdentityRecordInput = { service: 'billing', environment: 'prod', kid: 'k1', publicKey: KEY };
    const bad: IdentityRecordInput[] = [
      { ...base, service: 'Billing' },
      { ...base, environment: 'a.b' },
      { ...base, kid: 'k 1' },
      { ...base, publicKey: 'xyz' },
      { ...base, expiresAt: 1.5 },
      { ...base, attributes: { 'bad name': 'x' } },
      { ...base, attributes: { ok: 'semi;colon' } },
      { ...base, attributes: { ok: ' padded' } },
      { ...base, attributes: { pad: 'a'.repeat(5000) } },
      { ...base, certThumbprint: Buffer.alloc(32).toString('base64') },
      { ...base, certThumbprint: 'not-a-thumbprint' },
    ];
    for (const input of bad) expect(() => formatRecord(input)).toThrow(NhiError);
  });
});

describe('splitTxtStrings', () => {
  it('splits into strings of at most 255 bytes that concatenate back', () => {
    const text = 'x'.repeat(600);
    const parts = splitTxtStrings(text);
    expect(parts.map((p) => p.length)).toEqual([255, 255, 90]);
    expect(parts.join('')).toBe(text);
    expect(splitTxtStrings('')).toEqual(['']);
  });

  it('never cuts a UTF-8 character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), (text) => {
        const parts = splitTxtStrings(text);
        expect(parts.join('')).toBe(text);
        for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(MAX_TXT_STRING_BYTES);
      }),
    );
  });
});

describe('properties', () => {
  const label = fc.stringMatching(/^[a-z0-9-]{1,63}$/);
  const value = fc.stringMatching(/^[\x21-\x3a\x3c-\x7e]{1,20}( [\x21-\x3a\x3c-\x7e]{1,20}){0,2}$/);
  const record = fc.record(
    {
      service: label,
      environment: label,
      kid: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
      keyType: fc.constantFrom('ed25519' as const, 'p256' as const),
      revoked: fc.boolean(),
      keyBytes: fc.uint8Array({ minLength: 65, maxLength: 65 }),
      expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
      certThumbprint: fc.option(
        fc
          .uint8Array({ minLength: 32, maxLength: 32 })
          .map((bytes) => Buffer.from(bytes).toString('base64url')),
        { nil: undefined },
      ),
      attributes: fc.dictionary(label, value, { maxKeys: 5 }),
    },
    { requiredKeys: ['service', 'environment', 'kid', 'keyType', 'revoked', 'keyBytes', 'attributes'] },
  );

  it('format → split → parse returns the same record', () => {
    fc.assert(
      fc.property(record, (r) => {
        const publicKey = r.revoked
          ? ''
          : r.keyType === 'ed25519'
            ? Buffer.from(r.keyBytes.subarray(0, 32)).toString('base64')
            : P256_KEY.slice(0, 0) +
              Buffer.concat([Buffer.from(P256_KEY, 'base64').subarray(0, 26), r.keyBytes]).toString('base64');
        const input: IdentityRecordInput = { ...r, publicKey };
        const strings = splitTxtStrings(formatRecord(input));
        const parsed = parseRecord(strings, `${r.service}.${r.environment}.zone.example`);
        expect(parsed).toEqual({
          status: 'valid',
          record: {
            service: r.service,
            environment: r.environment,
            kid: r.kid,
            keyType: r.keyType,
            publicKey,
            attributes: r.attributes,
            ...(r.expiresAt === undefined ? {} : { expiresAt: r.expiresAt }),
            ...(r.certThumbprint === undefined ? {} : { certThumbprint: r.certThumbprint }),
          },
        });
      }),
    );
  });

  it('parsing random and mutated input never throws', () => {
    const mutated = fc
      .tuple(fc.nat(200), fc.string({ maxLength: 8 }))
      .map(([at, insert]) => rr('; x-tier=pci').slice(0, at) + insert + rr('; x-tier=pci').slice(at + 1));
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), mutated, fc.uint8Array({ maxLength: 300 })),
        (input) => {
          const result = parseRecord(typeof input === 'string' ? input : [input], NAME);
          expect(['valid', 'ignored', 'invalid']).toContain(result.status);
          if (result.status === 'valid') expect(result.record.service).toBe('billing');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
