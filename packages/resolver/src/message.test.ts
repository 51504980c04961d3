import dnsPacket from '#dns-packet';
import { prepareQuery } from './message.js';

/** dns-packet's wire form of a name: the oracle for ours. */
const nameCodec = (dnsPacket as unknown as { name: { encode(name: string): Buffer } }).name;

describe('prepareQuery', () => {
  it("puts the name in DNS 0x20 case, with a wire form that is dns-packet's encoding of it", () => {
    for (const name of ['billing.prod.auth.example.com', 'a', '0-1.2-3', 'x.y-z.example', '']) {
      const query = prepareQuery({ name, type: 'TXT', dnssec: false }, true);
      expect(query.wireName.toLowerCase()).toBe(name);
      expect(query.exactName).toEqual(nameCodec.encode(query.wireName || '.'));
      expect(query.packet.questions?.[0]?.name).toBe(query.wireName);
    }
  });

  it("chooses each letter's case and each ID by crypto-random bits", () => {
    const name = 'billing.prod.auth.example.com';
    let upper = 0;
    let letters = 0;
    const ids = new Set<number>();
    const names = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const query = prepareQuery({ name, type: 'TXT', dnssec: false }, true);
      for (const char of query.wireName) {
        if (/[a-z]/i.test(char)) {
          letters++;
          if (char !== char.toLowerCase()) upper++;
        }
      }
      ids.add(query.id);
      names.add(query.wireName);
      expect(query.id).toBeGreaterThanOrEqual(0);
      expect(query.id).toBeLessThan(0x10000);
    }
    // 50 000 fair bits: 50 % ± 1 % (about 4.5 standard deviations).
    expect(upper / letters).toBeGreaterThan(0.49);
    expect(upper / letters).toBeLessThan(0.51);
    // 25 bits per name: 2 000 draws collide about 0.06 times on average.
    expect(names.size).toBeGreaterThan(1990);
    // 2 000 draws of 16 bits: about 30 collisions are expected, not hundreds.
    expect(ids.size).toBeGreaterThan(1900);
  });

  it('sends the name as given, compared case-insensitively, without 0x20', () => {
    const query = prepareQuery({ name: 'billing.prod.auth.example.com', type: 'TXT', dnssec: true }, false);
    expect(query.wireName).toBe('billing.prod.auth.example.com');
    expect(query.exactName).toBeUndefined();
  });
});
