import { describe, expect, it } from '@jest/globals';
import type { DnsRecord } from '../types.js';
import { canonicalRdata } from './wire.js';
import { record } from './zone.test-helper.js';

/** A name on the wire, uncompressed, in the case given (the root label last). */
const name = (text: string): Buffer =>
  Buffer.concat([
    ...text
      .split('.')
      .filter(Boolean)
      .map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'ascii')])),
    Buffer.from([0]),
  ]);
const u16 = (value: number): Buffer => Buffer.from([value >> 8, value & 0xff]);
const u32 = (value: number): Buffer =>
  Buffer.from([value >>> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff]);
const text = (value: string): Buffer =>
  Buffer.concat([Buffer.from([value.length]), Buffer.from(value, 'ascii')]);
/** Octets that read as upper-case ASCII letters, in fields that are not names. */
const LETTERS = Buffer.from('ABCDEFGHIJKLMNOPQR', 'ascii');
const at = (type: string, data: unknown): DnsRecord => record('Host.Example.com', type, data);

/** Each case: what it is, the record as received, its canonical RDATA. */
type Case = readonly [string, DnsRecord, Buffer];

const LOWER_CASED: readonly Case[] = [
  // Types dns-packet decodes: their names are re-encoded uncompressed, then lower-cased.
  ['NS', at('NS', 'NS1.Example.COM'), name('ns1.example.com')],
  ['CNAME', at('CNAME', 'Target.Example.com'), name('target.example.com')],
  ['PTR', at('PTR', 'Host.Example.com'), name('host.example.com')],
  ['DNAME', at('DNAME', 'Other.Example'), name('other.example')],
  [
    'MX',
    at('MX', { preference: 10, exchange: 'Mail.Example.COM' }),
    Buffer.concat([u16(10), name('mail.example.com')]),
  ],
  [
    'SOA (MNAME and RNAME; the counters as they are)',
    at('SOA', {
      mname: 'NS1.Example.com',
      rname: 'HostMaster.Example.com',
      serial: 0x41424344,
      refresh: 7200,
      retry: 3600,
      expire: 1_209_600,
      minimum: 300,
    }),
    Buffer.concat([
      name('ns1.example.com'),
      name('hostmaster.example.com'),
      u32(0x41424344),
      u32(7200),
      u32(3600),
      u32(1_209_600),
      u32(300),
    ]),
  ],
  [
    'SRV',
    at('SRV', { priority: 1, weight: 0x4142, port: 5060, target: 'SIP.Example.com' }),
    Buffer.concat([u16(1), u16(0x4142), u16(5060), name('sip.example.com')]),
  ],
  [
    'NAPTR (the replacement; flags, services and regexp are not names)',
    at('NAPTR', {
      order: 100,
      preference: 10,
      flags: 'U',
      services: 'E2U+sip',
      regexp: '!^.*$!sip:Info@Example.COM!',
      replacement: 'Next.Example.com',
    }),
    Buffer.concat([
      u16(100),
      u16(10),
      text('U'),
      text('E2U+sip'),
      text('!^.*$!sip:Info@Example.COM!'),
      name('next.example.com'),
    ]),
  ],
  [
    'RP',
    at('RP', { mbox: 'Admin.Example.com', txt: 'Info.Example.COM' }),
    Buffer.concat([name('admin.example.com'), name('info.example.com')]),
  ],
  [
    "RRSIG (the signer's name; the signature as it is)",
    at('RRSIG', {
      typeCovered: 'MX',
      algorithm: 13,
      labels: 2,
      originalTTL: 3600,
      expiration: 0x41424344,
      inception: 0x45464748,
      keyTag: 0x494a,
      signersName: 'Example.COM',
      signature: LETTERS,
    }),
    Buffer.concat([
      u16(15),
      Buffer.from([13, 2]),
      u32(3600),
      u32(0x41424344),
      u32(0x45464748),
      u16(0x494a),
      name('example.com'),
      LETTERS,
    ]),
  ],
  // Types dns-packet hands out as the RDATA octets received (`UNKNOWN_<code>` where it has no
  // mnemonic): a walk over their fields finds the names.
  ['MD', at('UNKNOWN_3', name('Mail.Example')), name('mail.example')],
  ['MF', at('UNKNOWN_4', name('Mail.Example')), name('mail.example')],
  ['MB', at('UNKNOWN_7', name('Box.Example')), name('box.example')],
  ['MG', at('UNKNOWN_8', name('Group.Example')), name('group.example')],
  ['MR', at('UNKNOWN_9', name('Rename.Example')), name('rename.example')],
  [
    'MINFO',
    at('UNKNOWN_14', Buffer.concat([name('Owner.Example'), name('Errors.Example')])),
    Buffer.concat([name('owner.example'), name('errors.example')]),
  ],
  [
    'AFSDB',
    at('AFSDB', Buffer.concat([u16(0x4142), name('AFS.Example')])),
    Buffer.concat([u16(0x4142), name('afs.example')]),
  ],
  [
    'RT',
    at('UNKNOWN_21', Buffer.concat([u16(0x4142), name('Relay.Example')])),
    Buffer.concat([u16(0x4142), name('relay.example')]),
  ],
  [
    'KX',
    at('KX', Buffer.concat([u16(0x4142), name('KX.Example')])),
    Buffer.concat([u16(0x4142), name('kx.example')]),
  ],
  [
    'PX',
    at('UNKNOWN_26', Buffer.concat([u16(0x4142), name('Map822.Example'), name('MapX400.Example')])),
    Buffer.concat([u16(0x4142), name('map822.example'), name('mapx400.example')]),
  ],
  [
    "SIG (the signer's name after 18 fixed octets; the signature as it is)",
    at('SIG', Buffer.concat([LETTERS, name('Example.COM'), LETTERS])),
    Buffer.concat([LETTERS, name('example.com'), LETTERS]),
  ],
  [
    'NXT (the next name; its type bitmap as it is)',
    at('UNKNOWN_30', Buffer.concat([name('Next.Example'), LETTERS.subarray(0, 4)])),
    Buffer.concat([name('next.example'), LETTERS.subarray(0, 4)]),
  ],
  [
    'A6 with a prefix length of 64 (8 octets of suffix, then the prefix name)',
    at('UNKNOWN_38', Buffer.concat([Buffer.from([64]), LETTERS.subarray(0, 8), name('Prefix.Example')])),
    Buffer.concat([Buffer.from([64]), LETTERS.subarray(0, 8), name('prefix.example')]),
  ],
  [
    'A6 with a prefix length of 128 (no suffix, the prefix name)',
    at('UNKNOWN_38', Buffer.concat([Buffer.from([128]), name('Prefix.Example')])),
    Buffer.concat([Buffer.from([128]), name('prefix.example')]),
  ],
  [
    'A6 with a prefix length of 0 (a whole address, no name)',
    at('UNKNOWN_38', Buffer.concat([Buffer.from([0]), LETTERS.subarray(0, 16)])),
    Buffer.concat([Buffer.from([0]), LETTERS.subarray(0, 16)]),
  ],
];

/**
 * Not lower-cased: NSEC's next name (RFC 6840 §5.1), HINFO (no name in it), and any type the list
 * does not name (RFC 3597 §7: opaque RDATA).
 */
const AS_THEY_ARE: readonly Case[] = [
  [
    'NSEC, next name as it is',
    at('NSEC', { nextDomain: 'Next.Example.com', rrtypes: ['A'] }),
    Buffer.concat([name('Next.Example.com'), Buffer.from([0, 1, 0x40])]),
  ],
  [
    'HINFO, as it is',
    at('HINFO', { cpu: 'INTEL', os: 'LINUX' }),
    Buffer.concat([text('INTEL'), text('LINUX')]),
  ],
  ['an unlisted type, as it is', at('UNKNOWN_65280', name('Opaque.Example')), name('Opaque.Example')],
];

const expectCanonical = (cases: readonly Case[]): void => {
  for (const [what, given, canonical] of cases) {
    expect([what, canonicalRdata(given).toString('hex')]).toEqual([what, canonical.toString('hex')]);
  }
};

describe('canonicalRdata (RFC 4034 §6.2, as RFC 6840 §5.1 amends it)', () => {
  it('lower-cases the names inside the RDATA of every type on the list, and nothing else in it', () => {
    expectCanonical(LOWER_CASED);
  });

  it("keeps NSEC's next name, HINFO and the RDATA of unlisted types as they are", () => {
    expectCanonical(AS_THEY_ARE);
  });

  it('throws for raw RDATA whose names cannot be put in canonical form, and never changes its input', () => {
    const compressed = Buffer.concat([u16(1), Buffer.from([0xc0, 0x0c])]);
    expect(() => canonicalRdata(at('AFSDB', compressed))).toThrow(/compression pointer or an extended label/);
    // An extended label type (0b01) is no plain label either.
    expect(() => canonicalRdata(at('UNKNOWN_9', Buffer.from([0x41, 0])))).toThrow(
      /compression pointer or an extended label/,
    );
    expect(() => canonicalRdata(at('UNKNOWN_21', Buffer.from([0])))).toThrow(/ends inside/);
    expect(() => canonicalRdata(at('UNKNOWN_3', Buffer.from([3, 0x41, 0x42])))).toThrow(/ends inside/);
    expect(() => canonicalRdata(at('UNKNOWN_38', Buffer.from([129])))).toThrow(/prefix length/);
    const raw = Buffer.concat([u16(1), name('AFS.Example')]);
    const copy = Buffer.from(raw);
    canonicalRdata(at('AFSDB', raw));
    expect(raw.equals(copy)).toBe(true);
  });
});
