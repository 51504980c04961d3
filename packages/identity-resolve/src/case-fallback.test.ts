import middy from '@middy/core';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import { createResolver } from '@nhi-dns/resolver';
import { startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import type { Context } from 'aws-lambda';
import { DNS_0X20_VARIABLE, DNS_SERVERS_VARIABLE, defaultResolverOptions } from './directory.js';
import identityResolve from './index.js';

const ZONE = 'auth.example.com';
const billing = createTestIdentity(`billing.prod.${ZONE}`);
const ledger = createTestIdentity(`ledger.prod.${ZONE}`);
const context = { getRemainingTimeInMillis: () => 5000 } as unknown as Context;
const WARNING = 'dns server does not preserve letter case (DNS 0x20): case randomisation off for it';

let dns: TestDnsServer;
beforeAll(async () => {
  dns = await startTestDnsServer({
    zone: ZONE,
    records: [
      { name: billing.name, type: 'TXT', data: billing.strings },
      { name: ledger.name, type: 'TXT', data: ledger.strings },
    ],
  });
  // A forwarder that rebuilds the question in lower case (AdGuard Home, NetBird, routedns).
  dns.setBehaviour({ lowerCaseQuestion: true });
});
afterAll(() => dns.stop());

const capture = async <T>(work: () => Promise<T>) => {
  const out = captureOutput();
  try {
    return { value: await work(), out };
  } finally {
    out.restore();
  }
};

const served = (resolver: Parameters<typeof identityResolve>[0]['resolver']) =>
  middy(async () => 'served').use(identityResolve({ zone: ZONE, ...(resolver ? { resolver } : {}) }));

describe('a DNS server that does not preserve letter case (DNS 0x20)', () => {
  it('serves callers behind it, warns once per server and counts DnsCaseFallback', async () => {
    const resolver = createResolver({ servers: [dns.server] });
    const handler = served(resolver);
    const started = performance.now();
    const first = await capture(async () =>
      handler({ nhiProof: await billing.sign({ aud: ledger.name }) }, context),
    );
    // Answered at one extra exchange, not after the timeouts (2 × 1 s) that used to end in 503.
    expect(performance.now() - started).toBeLessThan(500);
    expect(first.value).toBe('served');
    expect(first.out.json().filter((entry) => entry.message === WARNING)).toEqual([
      expect.objectContaining({ level: 'WARN', 'dns.server': dns.server, 'nhi.name': billing.name }),
    ]);
    expect(first.out.emf()).toContainEqual(expect.objectContaining({ DnsCaseFallback: 1 }));
    // The server is remembered: the next caller's lookup goes in lower case, with nothing to report.
    const before = dns.queries.length;
    const second = await capture(async () =>
      handler({ nhiProof: await ledger.sign({ aud: billing.name }) }, context),
    );
    expect(second.value).toBe('served');
    expect(dns.queries.slice(before).map((query) => `${query.transport} ${query.wireName}`)).toEqual([
      `udp ${ledger.name}`,
    ]);
    expect(second.out.json().some((entry) => entry.message === WARNING)).toBe(false);
    expect(second.out.emf().some((doc) => 'DnsCaseFallback' in doc)).toBe(false);
  });
});

describe(`${DNS_0X20_VARIABLE}`, () => {
  it('turns DNS 0x20 off in the default resolver with off, and accepts only on or off', () => {
    expect(defaultResolverOptions({})).toEqual({});
    expect(defaultResolverOptions({ [DNS_0X20_VARIABLE]: '' })).toEqual({});
    expect(defaultResolverOptions({ [DNS_0X20_VARIABLE]: 'off' })).toEqual({ caseRandomization: false });
    expect(defaultResolverOptions({ [DNS_0X20_VARIABLE]: ' OFF ' })).toEqual({ caseRandomization: false });
    expect(defaultResolverOptions({ [DNS_0X20_VARIABLE]: 'on' })).toEqual({ caseRandomization: true });
    expect(
      defaultResolverOptions({
        [DNS_SERVERS_VARIABLE]: '10.0.0.2, 127.0.0.1:5353',
        [DNS_0X20_VARIABLE]: 'off',
      }),
    ).toEqual({ servers: ['10.0.0.2', '127.0.0.1:5353'], caseRandomization: false });
    expect(() => defaultResolverOptions({ [DNS_0X20_VARIABLE]: 'no' })).toThrow(
      'NHI_DNS_0X20 must be on or off, not "no"',
    );
  });

  it('reaches the shared default resolver: names go in lower case, nothing to fall back from', async () => {
    const saved = { servers: process.env[DNS_SERVERS_VARIABLE], caps: process.env[DNS_0X20_VARIABLE] };
    process.env[DNS_SERVERS_VARIABLE] = dns.server;
    try {
      // A typo fails at creation, as a bad server does, and creates no shared resolver.
      process.env[DNS_0X20_VARIABLE] = 'of';
      expect(() => served(undefined)).toThrow(
        expect.objectContaining({ reason: 'invalid_config', message: expect.stringMatching(/NHI_DNS_0X20/) }),
      );
      process.env[DNS_0X20_VARIABLE] = 'off';
      const handler = served(undefined);
      const before = dns.queries.length;
      const result = await capture(async () =>
        handler({ nhiProof: await billing.sign({ aud: ledger.name }) }, context),
      );
      expect(result.value).toBe('served');
      expect(dns.queries.slice(before).map((query) => `${query.transport} ${query.wireName}`)).toEqual([
        `udp ${billing.name}`,
      ]);
      expect(result.out.json().some((entry) => entry.message === WARNING)).toBe(false);
    } finally {
      for (const [variable, value] of [
        [DNS_SERVERS_VARIABLE, saved.servers],
        [DNS_0X20_VARIABLE, saved.caps],
      ] as const) {
        if (value === undefined) delete process.env[variable];
        else process.env[variable] = value;
      }
    }
  });
});
