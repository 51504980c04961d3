import { canonicalAddress, parseServer } from './servers.js';

describe('parseServer', () => {
  it('parses every documented spelling', () => {
    expect(parseServer('127.0.0.1', 53)).toEqual({
      address: '127.0.0.1',
      port: 53,
      family: 4,
      label: '127.0.0.1:53',
    });
    expect(parseServer('127.0.0.1:5353', 53)).toMatchObject({ port: 5353, label: '127.0.0.1:5353' });
    expect(parseServer('::1', 53)).toEqual({ address: '::1', port: 53, family: 6, label: '[::1]:53' });
    expect(parseServer('[::1]:5353', 53)).toMatchObject({ address: '::1', port: 5353, label: '[::1]:5353' });
    expect(parseServer('[2001:DB8:0:0::1]', 5300)).toMatchObject({ address: '2001:db8::1', port: 5300 });
    expect(parseServer({ address: '10.0.0.2' }, 5353)).toMatchObject({ port: 5353 });
    expect(parseServer({ address: '::1', port: 8053 }, 53)).toMatchObject({ label: '[::1]:8053' });
  });

  it('rejects what is not an IP address and port', () => {
    for (const bad of ['dns.google', '1.2.3', '[::1', '::1:53:xx', '', '[dns]:53']) {
      expect(() => parseServer(bad, 53)).toThrow(TypeError);
    }
    for (const bad of ['127.0.0.1:0', '127.0.0.1:65536', '[::1]:99999']) {
      expect(() => parseServer(bad, 53)).toThrow(RangeError);
    }
    expect(() => parseServer({ address: '::1', port: 1.5 }, 53)).toThrow(RangeError);
    expect(() => parseServer(null as unknown as string, 53)).toThrow(TypeError);
  });
});

describe('canonicalAddress', () => {
  it('compresses IPv6 as RFC 5952 says and leaves IPv4 alone', () => {
    expect(canonicalAddress('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalAddress('FE80::0001%eth0')).toBe('fe80::1%eth0');
    expect(canonicalAddress('192.0.2.1')).toBe('192.0.2.1');
  });
});
