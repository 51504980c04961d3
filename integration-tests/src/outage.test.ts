// The authoritative server goes down: lookups time out, the chain fails closed with
// dns_failure, and only a resolver configured with `staleTtl` keeps serving the last answer.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestIdentity } from '@nhi-dns/core/test-support';
import { createResolver, DnsError, type LookupEvent, type Resolver } from '@nhi-dns/resolver';
import { type DnsLab, startDnsLab } from './lab/index.js';
import { apiGatewayEvent } from './support/http-event.js';
import { protectedHandler } from './support/protected-handler.js';

const ZONE = 'auth.nhi.test';
const SELF = `ledger.prod.${ZONE}`;
const TTL = 1;
const billing = createTestIdentity(`billing.prod.${ZONE}`);

let lab: DnsLab;
/** Fails closed: no serve-stale. */
let strictResolver: Resolver;
/** Serves an expired answer for up to 60 s when upstream fails (RFC 8767). */
let staleResolver: Resolver;
const staleEvents: LookupEvent[] = [];

const resolverOptions = () => ({ servers: [lab.resolverServer], timeout: 500, attempts: 1 });
const chainWith = (resolver: Resolver) =>
  protectedHandler({ zone: ZONE, self: SELF, resolver, requireDnssec: true });
const proof = () => billing.sign({ aud: SELF });

beforeAll(async () => {
  lab = await startDnsLab({
    recordTtl: TTL,
    zones: [
      { origin: ZONE, security: 'signed', records: [{ name: billing.name, strings: billing.strings }] },
    ],
  });
  strictResolver = createResolver(resolverOptions());
  staleResolver = createResolver({ ...resolverOptions(), staleTtl: 60 });
  staleResolver.on('lookup', (event) => staleEvents.push(event));
});

afterAll(async () => {
  await lab?.stop();
});

describe('an outage of the authoritative server', () => {
  beforeAll(async () => {
    // Both resolvers cache the record while knot still answers.
    for (const resolver of [strictResolver, staleResolver]) {
      const warm = await chainWith(resolver)(apiGatewayEvent(await proof()));
      if (warm.response.statusCode !== 200) throw new Error(`warm-up denied: ${warm.response.body}`);
    }
    await lab.stopAuthoritative();
    // unbound hands out its copy with TTL 0 right at expiry: wait until every cache is past it.
    await new Promise((resume) => setTimeout(resume, (TTL + 1) * 1000 + 200));
  });

  it('times out at the stopped server itself', async () => {
    const direct = createResolver({ servers: [lab.authoritativeServer], timeout: 300, attempts: 2 });
    const failure = await direct.resolveTxt(billing.name).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DnsError);
    expect(failure).toMatchObject({ reason: 'timeout', attempts: 2 });
  });

  it('times out through unbound and denies with dns_failure (503, Retry-After) without serve-stale', async () => {
    const events: LookupEvent[] = [];
    strictResolver.on('lookup', (event) => events.push(event));
    const result = await chainWith(strictResolver)(apiGatewayEvent(await proof()));
    expect(result.response.statusCode).toBe(503);
    expect(result.reason).toBe('dns_failure');
    expect(result.response.headers).toMatchObject({ 'Retry-After': expect.any(String) });
    expect(events).toEqual([expect.objectContaining({ outcome: 'timeout', server: lab.resolverServer })]);
    expect(result.emf.some((blob) => blob.Outcome === 'timeout')).toBe(true);
    expect(result.emf.some((blob) => blob.Reason === 'dns_failure')).toBe(true);
  });

  it('serves the stale answer when staleTtl allows it, and the caller is accepted', async () => {
    staleEvents.length = 0;
    const result = await chainWith(staleResolver)(apiGatewayEvent(await proof()));
    expect(result.response.statusCode).toBe(200);
    expect(result.body).toMatchObject({ caller: billing.name, source: 'stale', ad: true });
    expect(staleEvents).toEqual([expect.objectContaining({ outcome: 'stale' })]);
    expect(staleResolver.stats.staleServed).toBe(1);
  });
});
