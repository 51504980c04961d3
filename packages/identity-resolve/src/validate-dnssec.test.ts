import middy from '@middy/core';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import type { DnssecStatus } from '@nhi-dns/resolver';
import { createTableResolver, startTestDnsServer } from '@nhi-dns/resolver/test-support';
import type { Context } from 'aws-lambda';
import identityResolve, { type IdentityResolveContext } from './index.js';

const ZONE = 'auth.example.com';
const billing = createTestIdentity(`billing.prod.${ZONE}`);
const context = { getRemainingTimeInMillis: () => 5000 } as unknown as Context;

const tableWith = (dnssec?: DnssecStatus) =>
  createTableResolver(new Map([[billing.name, [billing.strings]]]), dnssec === undefined ? {} : { dnssec });

/** Runs one caller-mode invocation; returns what the handler saw, or the denial. */
const invoke = async (options: Parameters<typeof identityResolve>[0]) => {
  let seen: IdentityResolveContext | undefined;
  const handler = middy(async (_event: unknown, ctx: Context) => {
    seen = ctx as unknown as IdentityResolveContext;
    return 'ok';
  }).use(identityResolve(options));
  const event = { nhiProof: await billing.sign({ aud: `ledger.prod.${ZONE}` }) };
  const out = captureOutput();
  try {
    return { result: await handler(event, context), seen, out };
  } catch (error) {
    return { error: error as Error & { reason?: string; statusCode?: number }, seen, out };
  } finally {
    out.restore();
  }
};

describe('identityResolve with validateDnssec (in-process DNSSEC)', () => {
  it('prepares the zone at creation and puts the verdict on the resolved caller', async () => {
    for (const status of ['secure', 'insecure'] as const) {
      const resolver = tableWith(status);
      const run = await invoke({ zone: ZONE, resolver, validateDnssec: true });
      expect(resolver.prepared).toEqual([ZONE]);
      expect(run.result).toBe('ok');
      expect(run.seen?.nhi).toMatchObject({ name: billing.name, dnssec: status, ad: true });
    }
  });

  it('denies a bogus record with dnssec_bogus (401), logged and counted, without calling the handler', async () => {
    const run = await invoke({ zone: ZONE, resolver: tableWith('bogus'), validateDnssec: true });
    expect(run.seen).toBeUndefined();
    expect(run.error).toMatchObject({ name: 'IdentityError', reason: 'dnssec_bogus', statusCode: 401 });
    expect(run.out.json()).toContainEqual(
      expect.objectContaining({
        message: 'identity denied',
        'nhi.reason': 'dnssec_bogus',
        'nhi.detail': 'table verdict bogus',
      }),
    );
    expect(run.out.emf()).toContainEqual(expect.objectContaining({ Reason: 'dnssec_bogus', AuthFailure: 1 }));
  });

  it('without validateDnssec, neither validates nor reports a verdict', async () => {
    const resolver = tableWith('bogus');
    const run = await invoke({ zone: ZONE, resolver });
    expect(run.result).toBe('ok');
    expect(resolver.prepared).toEqual([]);
    expect(run.seen?.nhi?.dnssec).toBeUndefined();
  });

  it('fails closed on an unsigned answer under the default root anchors (no chain of trust)', async () => {
    // A real resolver with the IANA root anchors, in front of a server that signs nothing and
    // says the root has no keys: the record has no RRSIG and nothing proves its zone unsigned,
    // so it is bogus, never insecure.
    const dns = await startTestDnsServer({
      zone: ZONE,
      records: [{ name: billing.name, type: 'TXT', ttl: 60, data: billing.strings }],
    });
    try {
      const run = await invoke({ zone: ZONE, resolver: { servers: [dns.server] }, validateDnssec: true });
      expect(run.seen).toBeUndefined();
      expect(run.error).toMatchObject({ reason: 'dnssec_bogus', statusCode: 401 });
      expect(dns.queries.map((query) => `${query.type} ${query.name || '.'}`)).toEqual(
        expect.arrayContaining(['TXT billing.prod.auth.example.com', 'DNSKEY .']),
      );
      // The validator's own queries are DNS lookups too: logged and counted like the TXT one.
      expect(run.out.json()).toContainEqual(
        expect.objectContaining({ message: 'dnssec chain lookup', 'nhi.name': '.', 'dns.type': 'DNSKEY' }),
      );
      expect(run.out.emf()).toContainEqual(
        expect.objectContaining({ DnsLookup: 1, Outcome: expect.any(String) }),
      );
    } finally {
      await dns.stop();
    }
  });

  it('refuses, at creation, a resolver that cannot validate and trust anchors that do not parse', () => {
    const invalid = (message: RegExp) =>
      expect.objectContaining({ reason: 'invalid_config', message: expect.stringMatching(message) });
    expect(() => identityResolve({ zone: ZONE, resolver: tableWith(), validateDnssec: true })).toThrow(
      invalid(/validateDnssec needs a resolver that validates/),
    );
    expect(() =>
      identityResolve({
        zone: ZONE,
        resolver: {},
        validateDnssec: true,
        trustAnchors: ['example. IN DS 1 2'],
      }),
    ).toThrow(invalid(/trustAnchors/));
    expect(() => identityResolve({ zone: ZONE, validateDnssec: 'yes' as never })).toThrow(
      invalid(/option 'validateDnssec' is 'yes'/),
    );
    expect(() => identityResolve({ zone: ZONE, trustAnchors: 'example. IN DS' as never })).toThrow(
      invalid(/option 'trustAnchors'/),
    );
  });
});
