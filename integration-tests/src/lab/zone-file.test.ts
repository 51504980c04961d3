import { describe, expect, it } from '@jest/globals';
import { presentTxtString, renderZoneFile } from './zone-file.js';

describe('presentTxtString', () => {
  it('quotes and escapes quotes, backslashes and non-ASCII bytes', () => {
    expect(presentTxtString('v=NHI1; a="b"\\c')).toBe('"v=NHI1; a=\\"b\\"\\\\c"');
    expect(presentTxtString('é')).toBe('"\\195\\169"');
  });
});

describe('renderZoneFile', () => {
  it('writes SOA, NS, glue and one line per TXT RR with its TTL', () => {
    const text = renderZoneFile({
      origin: 'auth.nhi.test',
      serial: 7,
      recordTtl: 2,
      records: [
        { name: 'a.prod.auth.nhi.test', strings: ['v=NHI1; ', 'kid=k1'] },
        { name: 'B.prod.auth.nhi.test.', strings: ['v=NHI1'], ttl: 30 },
      ],
    });
    expect(text.split('\n')).toEqual([
      '$ORIGIN auth.nhi.test.',
      '@ 60 IN SOA ns1.auth.nhi.test. hostmaster.auth.nhi.test. 7 3600 600 86400 1',
      '@ 60 IN NS ns1.auth.nhi.test.',
      'ns1 60 IN A 127.0.0.1',
      'a.prod.auth.nhi.test. 2 IN TXT "v=NHI1; " "kid=k1"',
      'b.prod.auth.nhi.test. 30 IN TXT "v=NHI1"',
      '',
    ]);
  });

  it('refuses records outside the zone and strings over 255 bytes', () => {
    const zone = { origin: 'auth.nhi.test', serial: 1 };
    expect(() =>
      renderZoneFile({ ...zone, records: [{ name: 'x.evilauth.nhi.test', strings: [] }] }),
    ).toThrow(RangeError);
    expect(() =>
      renderZoneFile({ ...zone, records: [{ name: 'a.b.auth.nhi.test', strings: ['x'.repeat(256)] }] }),
    ).toThrow(/256 bytes/);
  });
});
