import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { DnsRecord } from '../types.js';
import { parseTrustAnchors, type TrustAnchor } from './trust-anchor.js';
import { DnssecValidator, type SignedAnswer } from './validator.js';
import { dnskeyRdata } from './wire.js';
import { answerOf, dsOf, makeKey, nodataOf, record, rrsigOver, type TestKey } from './zone.test-helper.js';

const PARENT = 'nhi.test';
const CHILD = 'auth.nhi.test';
const NAME = `billing.prod.${CHILD}`;
const TXT = [record(NAME, 'TXT', [Buffer.from('v=NHI1; k=ed25519; kid=k1; p=AAAA')])];

// Keys are costly to make (RSA): once per file.
const parentKsk = makeKey(8, 257);
const parentZsk = makeKey(13, 256);
const childKsk = makeKey(13, 257);
const childZsk = makeKey(13, 256);
const stranger = makeKey(13, 256);
const edKey = makeKey(15, 257);

const dnskeyRrset = (zone: string, keys: readonly TestKey[]): DnsRecord[] =>
  keys.map((key) => record(zone, 'DNSKEY', key.dnskey, 3600));

const anchorOf = (zone: string, key: TestKey): TrustAnchor[] => {
  const ds = dsOf(zone, key);
  return parseTrustAnchors([
    `${zone}. IN DS ${ds.keyTag} ${ds.algorithm} ${ds.digestType} ${ds.digest.toString('hex')}`,
  ]);
};

const soa = (mname: string, rname: string, serial: number): DnsRecord =>
  record(`svc.${CHILD}`, 'SOA', {
    mname,
    rname,
    serial,
    refresh: 7200,
    retry: 3600,
    expire: 1_209_600,
    minimum: 300,
  });
const naptr = (regexp: string, replacement: string): DnsRecord =>
  record(`svc.${CHILD}`, 'NAPTR', {
    order: 100,
    preference: 10,
    flags: 'U',
    services: 'E2U+sip',
    regexp,
    replacement,
  });

/** A signed two-level world: nhi.test (anchor) → auth.nhi.test → the TXT at NAME. */
const world = () => {
  const answers = new Map<string, SignedAnswer>();
  const set = (name: string, type: string, answer: SignedAnswer) => answers.set(`${type} ${name}`, answer);
  const parentKeys = dnskeyRrset(PARENT, [parentKsk, parentZsk]);
  set(PARENT, 'DNSKEY', answerOf(parentKeys, [rrsigOver(parentKeys, parentKsk, PARENT)]));
  const childDs = [record(CHILD, 'DS', dsOf(CHILD, childKsk), 3600)];
  set(CHILD, 'DS', answerOf(childDs, [rrsigOver(childDs, parentZsk, PARENT)]));
  const childKeys = dnskeyRrset(CHILD, [childKsk, childZsk]);
  set(CHILD, 'DNSKEY', answerOf(childKeys, [rrsigOver(childKeys, childKsk, CHILD)]));
  const queries: string[] = [];
  let clock = Date.now();
  const validator = (anchors: readonly TrustAnchor[] = anchorOf(PARENT, parentKsk)) =>
    new DnssecValidator({
      anchors,
      now: () => clock,
      query: async (name, type) => {
        queries.push(`${type} ${name}`);
        return answers.get(`${type} ${name}`) ?? nodataOf();
      },
    });
  return {
    set,
    queries,
    validator,
    advance: (ms: number) => {
      clock += ms;
    },
    txt: (records: readonly DnsRecord[] = TXT, signatures = [rrsigOver(TXT, childZsk, CHILD)]) =>
      answerOf(records, signatures),
  };
};

describe('DnssecValidator', () => {
  it('says secure for a chain that verifies from the anchor (RSA/SHA-256 → ECDSA P-256)', async () => {
    const lab = world();
    const verdict = await lab.validator().validate(NAME, lab.txt());
    expect(verdict).toMatchObject({ status: 'secure' });
    expect(verdict.reason).toContain(`signed by ${CHILD} key ${childZsk.tag}`);
    expect(lab.queries).toEqual([`DS ${CHILD}`, `DNSKEY ${PARENT}`, `DNSKEY ${CHILD}`]);
  });

  it('keeps validated zone keys: a second name in the zone costs no chain query', async () => {
    const lab = world();
    const validator = lab.validator();
    await validator.validate(NAME, lab.txt());
    const other = [record(`ledger.prod.${CHILD}`, 'TXT', [Buffer.from('v=NHI1')])];
    lab.queries.length = 0;
    const verdict = await validator.validate(
      other[0]!.name,
      answerOf(other, [rrsigOver(other, childZsk, CHILD)]),
    );
    expect(verdict.status).toBe('secure');
    expect(lab.queries).toEqual([]);
  });

  it('prepares the zone that holds a name that is no zone apex, so a first lookup sends no chain query', async () => {
    const lab = world();
    const validator = lab.validator();
    // prod.auth.nhi.test has no DNSKEY RRset: the identities live in the auth.nhi.test zone.
    await expect(validator.prepare(`prod.${CHILD}`)).resolves.toBe('secure');
    expect(lab.queries).toEqual([
      `DNSKEY prod.${CHILD}`,
      `DNSKEY ${CHILD}`,
      `DS ${CHILD}`,
      `DNSKEY ${PARENT}`,
      `DNSKEY ${CHILD}`,
    ]);
    lab.queries.length = 0;
    expect((await validator.validate(NAME, lab.txt())).status).toBe('secure');
    expect(lab.queries).toEqual([]);
  });

  it('accepts a DNSKEY trust anchor, and Ed25519 (algorithm 15)', async () => {
    const lab = world();
    const zone = 'ed.nhi.test';
    const keys = dnskeyRrset(zone, [edKey]);
    lab.set(zone, 'DNSKEY', answerOf(keys, [rrsigOver(keys, edKey, zone)]));
    const txt = [record(`a.b.${zone}`, 'TXT', [Buffer.from('x')])];
    const anchors = parseTrustAnchors([
      `${zone}. 3600 IN DNSKEY 257 3 15 ${edKey.dnskey.key.toString('base64')}`,
    ]);
    const verdict = await lab
      .validator(anchors)
      .validate(txt[0]!.name, answerOf(txt, [rrsigOver(txt, edKey, zone)]));
    expect(verdict.status).toBe('secure');
  });

  it.each([
    [
      'a forged TXT with the old RRSIG',
      (lab: ReturnType<typeof world>) =>
        lab.txt([record(NAME, 'TXT', [Buffer.from('v=NHI1; k=ed25519; kid=k1; p=BBBB')])]),
      /does not verify/,
    ],
    [
      'an expired RRSIG',
      (lab: ReturnType<typeof world>) =>
        lab.txt(TXT, [rrsigOver(TXT, childZsk, CHILD, { inception: 1_000_000, expiration: 1_000_100 })]),
      /validity period/,
    ],
    [
      'an RRSIG not yet valid',
      (lab: ReturnType<typeof world>) =>
        lab.txt(TXT, [
          rrsigOver(TXT, childZsk, CHILD, {
            inception: 4_000_000_000 % 2 ** 32,
            expiration: 4_100_000_000 % 2 ** 32,
          }),
        ]),
      /validity period/,
    ],
    [
      'an RRSIG by a key not in the DNSKEY set',
      (lab: ReturnType<typeof world>) => lab.txt(TXT, [rrsigOver(TXT, stranger, CHILD)]),
      /does not hold/,
    ],
    [
      'signatures stripped (a downgrade)',
      (lab: ReturnType<typeof world>) => lab.txt(TXT, []),
      /has no RRSIG/,
    ],
    [
      'a wildcard-expanded answer',
      (lab: ReturnType<typeof world>) => lab.txt(TXT, [rrsigOver(TXT, childZsk, CHILD, { labels: 4 })]),
      /wildcard-expanded/,
    ],
    [
      'an RRSIG whose signer does not hold the name',
      (lab: ReturnType<typeof world>) => lab.txt(TXT, [rrsigOver(TXT, childZsk, 'other.nhi.test')]),
      /does not hold it/,
    ],
  ])('says bogus for %s', async (_case, answer, reason) => {
    const lab = world();
    const verdict = await lab.validator().validate(NAME, answer(lab));
    expect(verdict.status).toBe('bogus');
    expect(verdict.reason).toMatch(reason);
  });

  it('says bogus when the parent DS matches no DNSKEY, or is missing without proof', async () => {
    const lab = world();
    const wrongDs = [record(CHILD, 'DS', dsOf(CHILD, stranger), 3600)];
    lab.set(CHILD, 'DS', answerOf(wrongDs, [rrsigOver(wrongDs, parentZsk, PARENT)]));
    expect(await lab.validator().validate(NAME, lab.txt())).toMatchObject({
      status: 'bogus',
      reason: expect.stringMatching(/no DNSKEY of auth.nhi.test matches/),
    });
    const none = world();
    none.set(CHILD, 'DS', nodataOf());
    expect((await none.validator().validate(NAME, none.txt())).status).toBe('bogus');
  });

  it('says bogus when the DS RRset or the DNSKEY RRset is not signed by the right key', async () => {
    const lab = world();
    const childDs = [record(CHILD, 'DS', dsOf(CHILD, childKsk), 3600)];
    // Signed by the child itself, not by its parent.
    lab.set(CHILD, 'DS', answerOf(childDs, [rrsigOver(childDs, childKsk, CHILD)]));
    expect((await lab.validator().validate(NAME, lab.txt())).status).toBe('bogus');
    const other = world();
    const keys = dnskeyRrset(CHILD, [childKsk, childZsk]);
    // Signed by the ZSK, which no DS names.
    other.set(CHILD, 'DNSKEY', answerOf(keys, [rrsigOver(keys, childZsk, CHILD)]));
    expect((await other.validator().validate(NAME, other.txt())).status).toBe('bogus');
  });

  it('says secure during a KSK rollover (two KSKs, DS of the new one) and with a ZSK that is new', async () => {
    const lab = world();
    const newKsk = makeKey(13, 257);
    const newZsk = makeKey(13, 256);
    const keys = dnskeyRrset(CHILD, [childKsk, newKsk, childZsk, newZsk]);
    lab.set(
      CHILD,
      'DNSKEY',
      answerOf(keys, [rrsigOver(keys, childKsk, CHILD), rrsigOver(keys, newKsk, CHILD)]),
    );
    const childDs = [record(CHILD, 'DS', dsOf(CHILD, newKsk), 3600)];
    lab.set(CHILD, 'DS', answerOf(childDs, [rrsigOver(childDs, parentZsk, PARENT)]));
    const verdict = await lab.validator().validate(NAME, lab.txt(TXT, [rrsigOver(TXT, newZsk, CHILD)]));
    expect(verdict.status).toBe('secure');
  });

  it('says insecure below a delegation that a signed NSEC proves has no DS', async () => {
    const lab = world();
    const nsec = [record(CHILD, 'NSEC', { nextDomain: `z.${PARENT}`, rrtypes: ['NS', 'RRSIG', 'NSEC'] }, 60)];
    lab.set(CHILD, 'DS', nodataOf([...nsec, rrsigOver(nsec, parentZsk, PARENT)]));
    const verdict = await lab.validator().validate(NAME, lab.txt(TXT, []));
    expect(verdict).toMatchObject({ status: 'insecure', reason: expect.stringMatching(/without DS/) });
    // The same NSEC unsigned proves nothing: bogus.
    const unsigned = world();
    unsigned.set(CHILD, 'DS', nodataOf(nsec));
    expect((await unsigned.validator().validate(NAME, unsigned.txt(TXT, []))).status).toBe('bogus');
    // An NSEC at the cut signed by the child itself is not the parent's proof (and must not make
    // the child's key fetch wait on itself).
    const selfSigned = world();
    selfSigned.set(CHILD, 'DS', nodataOf([...nsec, rrsigOver(nsec, childZsk, CHILD)]));
    expect((await selfSigned.validator().validate(NAME, selfSigned.txt())).status).toBe('bogus');
  });

  it('says insecure for a zone whose DS names only unsupported algorithms, and outside every anchor', async () => {
    const lab = world();
    const childDs = [record(CHILD, 'DS', { ...dsOf(CHILD, childKsk), algorithm: 16 }, 3600)];
    lab.set(CHILD, 'DS', answerOf(childDs, [rrsigOver(childDs, parentZsk, PARENT)]));
    expect((await lab.validator().validate(NAME, lab.txt())).status).toBe('insecure');
    const elsewhere = [record('a.example.com', 'TXT', [Buffer.from('x')])];
    expect((await world().validator().validate('a.example.com', answerOf(elsewhere))).status).toBe(
      'insecure',
    );
  });

  it('validates every CNAME of a chain', async () => {
    const lab = world();
    const alias = record(`alias.${CHILD}`, 'CNAME', NAME);
    const signed = answerOf(TXT, [rrsigOver(TXT, childZsk, CHILD), rrsigOver([alias], childZsk, CHILD)], {
      aliases: [alias],
    });
    expect((await lab.validator().validate(alias.name, signed)).status).toBe('secure');
    const unsignedAlias = answerOf(TXT, [rrsigOver(TXT, childZsk, CHILD)], { aliases: [alias] });
    expect((await lab.validator().validate(alias.name, unsignedAlias)).status).toBe('bogus');
  });

  it('says secure for RRsets whose RDATA names arrive in other letter case than signed (RFC 4034 §6.2), bogus when changed', async () => {
    const lab = world();
    const validator = lab.validator();
    const owner = `svc.${CHILD}`;
    const rrsets: Array<[string, DnsRecord[], DnsRecord[], DnsRecord[]]> = [
      [
        // Two exchanges of one preference: their canonical order is by the lower-cased names.
        'MX',
        [
          record(owner, 'MX', { preference: 10, exchange: `a.${CHILD}` }),
          record(owner, 'MX', { preference: 10, exchange: `b.${CHILD}` }),
        ],
        [
          record(owner, 'MX', { preference: 10, exchange: `a.${CHILD}` }),
          record(owner, 'MX', { preference: 10, exchange: `B.Auth.NHI.test` }),
        ],
        [
          record(owner, 'MX', { preference: 10, exchange: `a.${CHILD}` }),
          record(owner, 'MX', { preference: 10, exchange: `c.${CHILD}` }),
        ],
      ],
      [
        'SRV',
        [record(owner, 'SRV', { priority: 1, weight: 5, port: 443, target: `api.${CHILD}` })],
        [record(owner, 'SRV', { priority: 1, weight: 5, port: 443, target: 'API.Auth.nhi.TEST' })],
        [record(owner, 'SRV', { priority: 1, weight: 5, port: 8443, target: `api.${CHILD}` })],
      ],
      [
        'SOA',
        [soa(`ns1.${CHILD}`, `hostmaster.${CHILD}`, 1)],
        [soa('NS1.Auth.nhi.test', 'HostMaster.AUTH.nhi.test', 1)],
        [soa(`ns1.${CHILD}`, `hostmaster.${CHILD}`, 2)],
      ],
      [
        'NAPTR',
        [naptr('!^.*$!sip:info@example.com!', `sip.${CHILD}`)],
        [naptr('!^.*$!sip:info@example.com!', 'SIP.Auth.Nhi.Test')],
        // The regexp is no name: its case is signed as it is.
        [naptr('!^.*$!sip:INFO@example.com!', `sip.${CHILD}`)],
      ],
      [
        'RP',
        [record(owner, 'RP', { mbox: `admin.${CHILD}`, txt: `info.${CHILD}` })],
        [record(owner, 'RP', { mbox: 'Admin.Auth.nhi.test', txt: 'INFO.auth.NHI.test' })],
        [record(owner, 'RP', { mbox: `root.${CHILD}`, txt: `info.${CHILD}` })],
      ],
    ];
    for (const [type, signed, received, changed] of rrsets) {
      const signatures = [rrsigOver(signed, childZsk, CHILD)];
      expect([type, (await validator.validate(owner, answerOf(received, signatures))).status]).toEqual([
        type,
        'secure',
      ]);
      const verdict = await validator.validate(owner, answerOf(changed, signatures));
      expect([type, verdict.status, verdict.reason]).toEqual([
        type,
        'bogus',
        expect.stringMatching(/does not verify/),
      ]);
    }
    // NSEC's next name is signed in the case the zone has it (RFC 6840 §5.1), not lower-cased.
    const nsec = [record(NAME, 'NSEC', { nextDomain: `Zeta.${CHILD}`, rrtypes: ['TXT', 'RRSIG', 'NSEC'] })];
    const nsecSignature = [rrsigOver(nsec, childZsk, CHILD)];
    expect((await validator.validate(NAME, answerOf(nsec, nsecSignature))).status).toBe('secure');
    const folded = [record(NAME, 'NSEC', { nextDomain: `zeta.${CHILD}`, rrtypes: ['TXT', 'RRSIG', 'NSEC'] })];
    expect((await validator.validate(NAME, answerOf(folded, nsecSignature))).status).toBe('bogus');
  });

  it('says bogus, and does not throw, for raw RDATA whose name is compressed (AFSDB, as dns-packet hands it out)', async () => {
    const lab = world();
    const validator = lab.validator();
    const owner = `cell.${CHILD}`;
    const afsdb = (rdata: Buffer) => [record(owner, 'AFSDB', rdata)];
    const host = (text: string) =>
      Buffer.concat([
        Buffer.from([0, 1]),
        ...text.split('.').map((label) => Buffer.from([label.length, ...Buffer.from(label)])),
        Buffer.from([0]),
      ]);
    const signatures = [rrsigOver(afsdb(host(`afs.${CHILD}`)), childZsk, CHILD)];
    expect(
      (await validator.validate(owner, answerOf(afsdb(host('AFS.Auth.NHI.test')), signatures))).status,
    ).toBe('secure');
    const compressed = Buffer.from([0, 1, 3, ...Buffer.from('afs'), 0xc0, 0x0c]);
    expect(await validator.validate(owner, answerOf(afsdb(compressed), signatures))).toMatchObject({
      status: 'bogus',
      reason: expect.stringMatching(/without a canonical form/),
    });
  });

  it("verifies RFC 8080 §6.1's Ed25519 example (as Errata 4935 corrects it) with the MX exchange in upper case", async () => {
    // Published values: the key pair (tag 3613), its DS, and the RRSIG of
    // `example.com. 3600 IN MX 10 mail.example.com.`; Ed25519 is deterministic, so this
    // signature checks our canonical form against the one its authors' signer used.
    const zone = 'example.com';
    const publicKey = Buffer.from('l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=', 'base64');
    const seed = Buffer.from('ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=', 'base64');
    const key: TestKey = {
      dnskey: { flags: 257, algorithm: 15, key: publicKey },
      privateKey: createPrivateKey({
        key: {
          kty: 'OKP',
          crv: 'Ed25519',
          x: publicKey.toString('base64url'),
          d: seed.toString('base64url'),
        },
        format: 'jwk',
      }),
      tag: 3613,
    };
    const times = { inception: 1_438_207_200, expiration: 1_440_021_600 };
    const keys = dnskeyRrset(zone, [key]);
    const anchors = parseTrustAnchors([
      `${zone}. IN DS 3613 15 2 3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b`,
    ]);
    const validator = new DnssecValidator({
      anchors,
      now: () => 1_439_000_000_000,
      query: async (name, type) =>
        name === zone && type === 'DNSKEY' ? answerOf(keys, [rrsigOver(keys, key, zone, times)]) : nodataOf(),
    });
    const rrsig = record(zone, 'RRSIG', {
      typeCovered: 'MX',
      algorithm: 15,
      labels: 2,
      originalTTL: 3600,
      ...times,
      keyTag: 3613,
      signersName: 'example.com.',
      signature: Buffer.from(
        'oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==',
        'base64',
      ),
    });
    const mx = (exchange: string, preference = 10) => [record(zone, 'MX', { preference, exchange }, 3600)];
    for (const exchange of ['mail.example.com', 'MAIL.Example.COM.']) {
      expect([exchange, (await validator.validate(zone, answerOf(mx(exchange), [rrsig]))).status]).toEqual([
        exchange,
        'secure',
      ]);
    }
    expect((await validator.validate(zone, answerOf(mx('MAIL.Example.COM', 20), [rrsig]))).status).toBe(
      'bogus',
    );
    expect((await validator.validate(zone, answerOf(mx('mail2.example.com'), [rrsig]))).status).toBe('bogus');
  });

  it('bounds a verdict by the earliest signature expiry and revalidates keys after it', async () => {
    const lab = world();
    const soon = Math.floor(Date.now() / 1000) + 120;
    const verdict = await lab
      .validator()
      .validate(NAME, lab.txt(TXT, [rrsigOver(TXT, childZsk, CHILD, { expiration: soon })]));
    expect(verdict.status).toBe('secure');
    expect(verdict.validUntil).toBeLessThanOrEqual(soon * 1000);
  });

  it('never says secure for a mutated signed answer (fuzz)', async () => {
    const lab = world();
    const validator = lab.validator();
    const good = rrsigOver(TXT, childZsk, CHILD);
    const goodData = good.data as { signature: Buffer; labels: number; keyTag: number; originalTTL: number };
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          part: fc.constantFrom('signature', 'txt', 'labels', 'keyTag', 'originalTTL', 'owner'),
          index: fc.nat(),
          bit: fc.integer({ min: 0, max: 7 }),
        }),
        async ({ part, index, bit }) => {
          let records = TXT;
          let data: Record<string, unknown> = { ...goodData };
          let owner = NAME;
          if (part === 'signature') {
            const signature = Buffer.from(goodData.signature);
            signature[index % signature.length]! ^= 1 << bit;
            data = { ...data, signature };
          } else if (part === 'txt') {
            const text = Buffer.from((TXT[0]!.data as Buffer[])[0]!);
            text[index % text.length]! ^= 1 << bit;
            records = [record(NAME, 'TXT', [text])];
          } else if (part === 'owner') {
            owner = `x${index % 10}.${NAME}`;
            records = [record(owner, 'TXT', TXT[0]!.data)];
          } else {
            data = { ...data, [part]: ((goodData[part] as number) ^ (1 << bit)) >>> 0 };
          }
          const signature = record(owner, 'RRSIG', data);
          const verdict = await validator.validate(owner, answerOf(records, [signature]));
          expect(verdict.status).not.toBe('secure');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never trusts a DNSKEY RRset with a planted key, whatever is mutated in the DS', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 0, max: 7 }), async (index, bit) => {
        const lab = world();
        const ds = dsOf(CHILD, childKsk);
        const digest = Buffer.from(ds.digest);
        digest[index % digest.length]! ^= 1 << bit;
        const childDs = [record(CHILD, 'DS', { ...ds, digest }, 3600)];
        lab.set(CHILD, 'DS', answerOf(childDs, [rrsigOver(childDs, parentZsk, PARENT)]));
        expect((await lab.validator().validate(NAME, lab.txt())).status).toBe('bogus');
      }),
      { numRuns: 50 },
    );
    expect(dnskeyRdata(childKsk.dnskey).length).toBe(4 + 64);
  });
});
