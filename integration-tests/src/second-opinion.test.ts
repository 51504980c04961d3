// The resolver against real servers: every answer checked against Node's own resolver
// (c-ares), through unbound (validating) and straight from knot (authoritative).
import { Resolver as NodeResolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';
import { createResolver, DnsError, type LookupEvent, type Resolver } from '@nhi-dns/resolver';
import { type DnsLab, startDnsLab, type TxtRecord } from './lab/index.js';

const SIGNED = 'auth.nhi.test';
const UNSIGNED = 'plain.nhi.test';
const TAMPERED = 'broken.nhi.test';

const txt = (identity: TestIdentity): TxtRecord => ({ name: identity.name, strings: identity.strings });

const billing = createTestIdentity(`billing.prod.${SIGNED}`, { attributes: { tier: 'pci' } });
const reports = createTestIdentity(`reports.dev.${SIGNED}`, { keyType: 'p256', kid: 'p1' });
// A record longer than one 255-byte character-string.
const longRecord = createTestIdentity(`archive.prod.${SIGNED}`, { attributes: { note: 'n'.repeat(300) } });
// Two keys at one name, as during a rotation.
const rotating = createTestIdentity(`queue.prod.${SIGNED}`, { kid: 'old' });
const rotatingNext = createTestIdentity(`queue.prod.${SIGNED}`, { kid: 'new' });
// Twelve P-256 keys at one name: about 2.5 KB of TXT, more than the 1232-byte EDNS payload.
const FLEET = `fleet.prod.${SIGNED}`;
const fleet = Array.from({ length: 12 }, (_, index) =>
  createTestIdentity(FLEET, { keyType: 'p256', kid: `k${index}` }),
);
const plain = createTestIdentity(`billing.prod.${UNSIGNED}`);
const untouched = createTestIdentity(`good.prod.${TAMPERED}`);
const victim = createTestIdentity(`bad.prod.${TAMPERED}`);
const attacker = createTestIdentity(`bad.prod.${TAMPERED}`);

/** Not NHI1, with characters that need escaping in a zone file: must come back byte for byte. */
const ODD_NAME = `misc.prod.${SIGNED}`;
const oddRecord: TxtRecord = { name: ODD_NAME, strings: ['v=spf1 -all', 'say "hi" \\ ok;', ''] };

const signedRecords: TxtRecord[] = [
  txt(billing),
  { name: billing.name, strings: ['unrelated=1'] },
  txt(reports),
  txt(longRecord),
  txt(rotating),
  txt(rotatingNext),
  ...fleet.map(txt),
  oddRecord,
];

/** Names whose answers validate (or are insecure) and must match Node's. */
const ANSWERED = [
  billing.name,
  reports.name,
  longRecord.name,
  rotating.name,
  FLEET,
  ODD_NAME,
  plain.name,
  untouched.name,
];

/** Order-independent form of a TXT RRset. */
const normalised = (records: readonly (readonly string[])[]): string[] =>
  records.map((strings) => JSON.stringify(strings)).sort();

let lab: DnsLab;

beforeAll(async () => {
  lab = await startDnsLab({
    zones: [
      { origin: SIGNED, security: 'signed', records: signedRecords },
      { origin: UNSIGNED, security: 'unsigned', records: [txt(plain)] },
      {
        origin: TAMPERED,
        security: 'tampered',
        records: [txt(untouched), txt(victim)],
        tamperedRecords: [txt(attacker)],
      },
    ],
  });
});

afterAll(async () => {
  await lab?.stop();
});

const nodeResolverFor = (server: string): NodeResolver => {
  const resolver = new NodeResolver({ timeout: 2000, tries: 2 });
  resolver.setServers([server]);
  return resolver;
};

/** A fresh resolver (empty cache) that records its lookup events. */
const resolverFor = (server: string): { resolver: Resolver; events: LookupEvent[] } => {
  const events: LookupEvent[] = [];
  const resolver = createResolver({ servers: [server], timeout: 2000, attempts: 2 });
  resolver.on('lookup', (event) => events.push(event));
  return { resolver, events };
};

describe.each([
  ['unbound (validating resolver)', () => lab.resolverServer],
  ['knot (authoritative server)', () => lab.authoritativeServer],
])('answers from %s', (_label, server) => {
  it('equal dns.promises.Resolver for every record', async () => {
    const { resolver } = resolverFor(server());
    const node = nodeResolverFor(server());
    for (const name of ANSWERED) {
      const ours = await resolver.resolveTxt(name, { dnssec: true });
      const theirs = await node.resolveTxt(name);
      expect({ name, records: normalised(ours.records) }).toEqual({ name, records: normalised(theirs) });
      expect(ours.rcode).toBe('NOERROR');
      expect(ours.records.length).toBeGreaterThan(0);
    }
  });

  it('agree with dns.promises.Resolver on NXDOMAIN and NODATA', async () => {
    const { resolver } = resolverFor(server());
    const node = nodeResolverFor(server());
    const missing = await resolver.resolveTxt(`nobody.prod.${SIGNED}`, { dnssec: true });
    expect(missing).toMatchObject({ rcode: 'NXDOMAIN', outcome: 'nxdomain', records: [] });
    await expect(node.resolveTxt(`nobody.prod.${SIGNED}`)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    // ns1 has an A record and no TXT.
    const empty = await resolver.resolveTxt(`ns1.${SIGNED}`, { dnssec: true });
    expect(empty).toMatchObject({ rcode: 'NOERROR', outcome: 'nodata', records: [] });
    await expect(node.resolveTxt(`ns1.${SIGNED}`)).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('retry a truncated UDP answer over TCP for a 12-key RRset', async () => {
    const { resolver, events } = resolverFor(server());
    const answer = await resolver.resolveTxt(FLEET, { dnssec: true });
    expect(normalised(answer.records)).toEqual(normalised(fleet.map((identity) => identity.strings)));
    expect(answer.records.flat().join('').length).toBeGreaterThan(1232);
    expect(resolver.stats.tcpFallbacks).toBe(1);
    expect(answer.attempts).toBe(2);
    expect(events).toEqual([expect.objectContaining({ name: FLEET, outcome: 'miss', attempts: 2 })]);
    expect(normalised(await nodeResolverFor(server()).resolveTxt(FLEET))).toEqual(normalised(answer.records));
  });
});

describe('DNSSEC through unbound', () => {
  it('sets AD for the signed zone, including its NXDOMAIN, and not for the unsigned one', async () => {
    const { resolver } = resolverFor(lab.resolverServer);
    expect((await resolver.resolveTxt(billing.name, { dnssec: true })).ad).toBe(true);
    expect((await resolver.resolveTxt(FLEET, { dnssec: true })).ad).toBe(true);
    expect((await resolver.resolveTxt(`nobody.prod.${SIGNED}`, { dnssec: true })).ad).toBe(true);
    expect((await resolver.resolveTxt(untouched.name, { dnssec: true })).ad).toBe(true);
    const insecure = await resolver.resolveTxt(plain.name, { dnssec: true });
    expect(insecure.ad).toBe(false);
    expect(insecure.records).toEqual([plain.strings]);
  });

  it('never sets AD from the authoritative server, which does not validate', async () => {
    const { resolver } = resolverFor(lab.authoritativeServer);
    expect((await resolver.resolveTxt(billing.name, { dnssec: true })).ad).toBe(false);
  });

  it('turns a record with a broken signature into SERVFAIL, for us and for Node alike', async () => {
    const { resolver, events } = resolverFor(lab.resolverServer);
    const failure = await resolver.resolveTxt(victim.name, { dnssec: true }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DnsError);
    expect(failure).toMatchObject({ reason: 'servfail', rcode: 'SERVFAIL' });
    expect(events).toEqual([expect.objectContaining({ outcome: 'servfail', ad: false })]);
    await expect(nodeResolverFor(lab.resolverServer).resolveTxt(victim.name)).rejects.toMatchObject({
      code: 'ESERVFAIL',
    });
    // SERVFAIL is an error, not an answer: nothing is cached, the next lookup asks again.
    await expect(resolver.resolveTxt(victim.name, { dnssec: true })).rejects.toMatchObject({
      reason: 'servfail',
    });
    expect(resolver.stats.cacheHits).toBe(0);
  });

  it('serves the forged record as is from the authoritative server: validation is what catches it', async () => {
    const { resolver } = resolverFor(lab.authoritativeServer);
    const forged = await resolver.resolveTxt(victim.name, { dnssec: true });
    expect(forged.records).toEqual([attacker.strings]);
  });
});
