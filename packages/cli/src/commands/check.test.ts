import { formatRecord } from '@nhi-dns/core';
import { createResolver } from '@nhi-dns/resolver';
import { startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import { fakeAws, NAME, NOW_MS, TARGET } from '../fake-aws.test-helper.js';
import { generateSigningKey } from '../keys.js';
import { formatTxtValue } from '../txt-presentation.js';
import { check } from './check.js';

const NOW_S = NOW_MS / 1000;
const base = { service: 'billing', environment: 'prod', zone: 'auth.example.com' };

let dns: TestDnsServer;
beforeAll(async () => {
  dns = await startTestDnsServer({ zone: 'auth.example.com' });
});
afterAll(async () => {
  await dns.stop();
});

const resolver = () => createResolver({ servers: [dns.server], cache: false, timeout: 500, attempts: 1 });
const text = (
  kid: string,
  publicKey: string,
  extra: { expiresAt?: number; service?: string; keyType?: 'ed25519' | 'p256' } = {},
) => formatRecord({ service: extra.service ?? 'billing', environment: 'prod', kid, publicKey, ...extra });

describe('check (against the loopback DNS server)', () => {
  it('passes when DNS publishes exactly what Route 53 holds', async () => {
    const key = await generateSigningKey('p256', 'k1');
    const rr = text('k1', key.publicKey, { keyType: 'p256' });
    dns.setRecords([
      { name: NAME, type: 'TXT', ttl: 300, data: rr },
      { name: NAME, type: 'TXT', data: 'v=spf1 -all' },
    ]);
    const aws = fakeAws();
    aws.setTxt(NAME, [formatTxtValue(rr), '"v=spf1 -all"']);
    const result = await check(
      { ...base, hostedZoneId: TARGET.hostedZoneId, kid: 'k1' },
      { resolver: resolver(), route53: aws.route53, now: () => NOW_MS },
    );
    expect(result).toMatchObject({ ok: true, problems: [], dns: { keys: [{ kid: 'k1', keyType: 'p256' }] } });
  });

  it('fails when Route 53 holds a key DNS does not show yet', async () => {
    const a = await generateSigningKey('ed25519', 'a');
    const b = await generateSigningKey('ed25519', 'b');
    dns.setRecords([{ name: NAME, type: 'TXT', data: text('a', a.publicKey) }]);
    const aws = fakeAws();
    aws.setTxt(NAME, [formatTxtValue(text('a', a.publicKey)), formatTxtValue(text('b', b.publicKey))]);
    const result = await check(
      { ...base, hostedZoneId: TARGET.hostedZoneId, kid: 'b' },
      { resolver: resolver(), route53: aws.route53, now: () => NOW_MS },
    );
    expect(result.ok).toBe(false);
    expect(result.problems.map((problem) => problem.code).sort()).toEqual([
      'kid_not_usable',
      'route53_mismatch',
    ]);
  });

  it('reports a missing record, revoked/expired keys, a wrong service and a missing AD bit', async () => {
    const key = await generateSigningKey('ed25519', 'a');
    dns.setRecords([]);
    const missing = await check(base, { resolver: resolver(), now: () => NOW_MS });
    expect(missing.problems.map((problem) => problem.code)).toEqual(['no_record']);

    dns.setRecords([
      { name: NAME, type: 'TXT', data: text('a', '') },
      { name: NAME, type: 'TXT', data: text('b', key.publicKey, { expiresAt: NOW_S - 1 }) },
      { name: NAME, type: 'TXT', data: text('c', key.publicKey, { service: 'payroll' }) },
    ]);
    const bad = await check({ ...base, requireDnssec: true }, { resolver: resolver(), now: () => NOW_MS });
    expect(bad.problems.map((problem) => problem.code)).toEqual([
      'invalid_rr',
      'no_usable_key',
      'dnssec_required',
    ]);
    expect(bad.problems[0]?.detail).toContain('name_mismatch');
  });

  it("reports a DNS failure as a problem with the resolver's typed reason, not an exception", async () => {
    dns.setBehaviour({ rcode: 'SERVFAIL' });
    try {
      const result = await check(base, { resolver: resolver(), now: () => NOW_MS });
      expect(result).toMatchObject({ ok: false, problems: [{ code: 'dns_failure', reason: 'servfail' }] });
      expect(result.problems[0]?.detail).toMatch(/^lookup failed: servfail/);
    } finally {
      dns.setBehaviour({ rcode: undefined });
    }
  });

  it('gives an untyped resolver failure the closed-set reason dns_failure, never an error class name', async () => {
    const failing = { resolveTxt: async () => Promise.reject(new TypeError('socket exploded')) };
    const result = await check(base, { resolver: failing, now: () => NOW_MS });
    expect(result.problems).toEqual([
      { code: 'dns_failure', reason: 'dns_failure', detail: 'lookup failed: dns_failure (socket exploded)' },
    ]);
  });

  it('always asks for DNSSEC (DO bit), so AD is reported truthfully without --require-dnssec', async () => {
    const key = await generateSigningKey('ed25519', 'a');
    dns.setRecords([{ name: NAME, type: 'TXT', data: text('a', key.publicKey) }]);
    dns.setBehaviour({ ad: true });
    try {
      const result = await check(base, { resolver: resolver(), now: () => NOW_MS });
      expect(dns.queries.at(-1)).toMatchObject({ name: NAME, dnssec: true });
      expect(result).toMatchObject({ ok: true, dns: { ad: true } });
    } finally {
      dns.setBehaviour({ ad: false });
    }
    // Without AD, only --require-dnssec turns it into a problem.
    expect((await check(base, { resolver: resolver(), now: () => NOW_MS })).ok).toBe(true);
    const required = await check(
      { ...base, requireDnssec: true },
      { resolver: resolver(), now: () => NOW_MS },
    );
    expect(required.problems.map((problem) => problem.code)).toEqual(['dnssec_required']);
  });

  it('refuses bad options before asking DNS', async () => {
    const lookups: string[] = [];
    const spy = {
      resolveTxt: async (name: string) => {
        lookups.push(name);
        return { records: [], ttl: 0, ad: false, outcome: 'nxdomain' };
      },
    };
    await expect(
      check({ ...base, environment: 'PROD' }, { resolver: spy, now: () => NOW_MS }),
    ).rejects.toThrow(expect.objectContaining({ exitCode: 2 }));
    await expect(
      check({ ...base, hostedZoneId: 'not-an-id!' }, { resolver: spy, now: () => NOW_MS }),
    ).rejects.toThrow(expect.objectContaining({ exitCode: 2 }));
    expect(lookups).toEqual([]);
  });
});
