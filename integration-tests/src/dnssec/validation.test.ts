// Our in-process DNSSEC validator held against unbound and delv, on chains signed by knot and
// ldns-signzone (signers no one here wrote), one broken child zone per row of the verdict table.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestIdentity } from '@nhi-dns/core/test-support';
import { createResolver, type LookupEvent, type Resolver } from '@nhi-dns/resolver';
import {
  type DelvAnswer,
  type DnssecChild,
  type DnssecLab,
  type DnssecToolPaths,
  delvVerdict,
  type ExternalVerdict,
  locateDnssecTools,
  startDnssecLab,
  type TxtRecord,
  type UnboundAnswer,
  unboundVerdict,
} from '../lab/index.js';

const PARENT = 'nhi.test';

/** An identity record at `name` (content is irrelevant to DNSSEC, but realistic). */
const identityAt = (name: string, owner = name): TxtRecord => ({
  name: owner,
  strings: createTestIdentity(name).strings,
});

/** One row of the verdict table: a child zone broken in one way, and what each validator must say. */
interface Case {
  readonly title: string;
  /** The zone this case adds to the lab (rows without one query a name of another row's zone). */
  readonly child?: DnssecChild;
  /** Name queried (TXT). */
  readonly name: string;
  readonly ours: ExternalVerdict;
  readonly unbound: ExternalVerdict;
  readonly delv: ExternalVerdict;
  /** What our `dnssecReason` must say: a verdict for the wrong reason is no pass. */
  readonly reason: RegExp;
  /** The zone holding `name`, when it is not the last three labels. */
  readonly zone?: string;
  /** Our verdict straight at knot, when it differs from the one through unbound (see the note). */
  readonly oursAtKnot?: string;
  /** Ask unbound (dig) first and wait, so that our answer comes from its cache with TTLs decremented. */
  readonly fromUnboundCache?: boolean;
  /** Why validators disagree, for the table. */
  readonly note?: string;
}

const zone = (label: string) => `${label}.${PARENT}`;
const name = (label: string) => `billing.prod.${zone(label)}`;
const records = (label: string) => [identityAt(name(label))];
/** Three RRs at one name, of different lengths (two keys in rotation and a short marker). */
const rotationSet = (origin: string): TxtRecord[] => {
  const owner = `queue.prod.${origin}`;
  const next = identityAt(owner);
  return [
    identityAt(owner),
    { name: owner, strings: ['v=1'] },
    { ...next, strings: [...next.strings, 'note=rotating'] },
  ];
};

const CASES: readonly Case[] = [
  {
    title: '1. valid chain (knot, Ed25519)',
    child: {
      origin: zone('valid'),
      signing: { signer: 'knot' },
      records: [
        ...records('valid'),
        ...rotationSet(zone('valid')),
        identityAt(`cached.prod.${zone('valid')}`),
      ],
      extraLines: [
        `alias-p256.prod.${zone('valid')}. 300 IN CNAME ${name('p256')}.`,
        `alias-forged.prod.${zone('valid')}. 300 IN CNAME ${name('forged')}.`,
        `alias-unsigned.prod.${zone('valid')}. 300 IN CNAME ${name('unsigned')}.`,
      ],
    },
    name: name('valid'),
    reason: /signed by valid\.nhi\.test key \d+/,
    ours: 'secure',
    unbound: 'secure',
    delv: 'secure',
  },
  {
    title: '1b. valid chain (ldns, RSA/SHA-256, DS SHA-384)',
    child: {
      origin: zone('rsa'),
      signing: { signer: 'ldns', algorithm: 'RSASHA256', digestType: 4 },
      records: records('rsa'),
    },
    name: name('rsa'),
    reason: /signed by rsa\.nhi\.test key \d+/,
    ours: 'secure',
    unbound: 'secure',
    delv: 'secure',
  },
  {
    title: '1c. valid chain (ldns, ECDSA P-256)',
    child: {
      origin: zone('p256'),
      signing: { signer: 'ldns', algorithm: 'ECDSAP256SHA256' },
      records: [...records('p256'), ...rotationSet(zone('p256'))],
    },
    name: name('p256'),
    reason: /signed by p256\.nhi\.test key \d+/,
    ours: 'secure',
    unbound: 'secure',
    delv: 'secure',
  },
  {
    title: '1d. RRset of 3 TXT RRs, canonical order (knot)',
    name: `queue.prod.${zone('valid')}`,
    reason: /signed by valid\.nhi\.test key \d+/,
    ours: 'secure',
    unbound: 'secure',
    delv: 'secure',
  },
  {
    title: '1e. RRset of 3 TXT RRs, canonical order (ldns)',
    name: `queue.prod.${zone('p256')}`,
    reason: /signed by p256\.nhi\.test key \d+/,
    ours: 'secure',
    unbound: 'secure',
    delv: 'secure',
  },
  {
    title: "1f. answer from unbound's cache (TTLs decremented, RRSIG original TTL kept)",
    name: `cached.prod.${zone('valid')}`,
    fromUnboundCache: true,
    reason: /signed by valid\.nhi\.test key \d+/,
    ours: 'secure',
    unbound: 'secure',
    delv: 'secure',
  },
  {
    title: '2. forged TXT, original RRSIG kept',
    child: {
      origin: zone('forged'),
      // records() makes a fresh identity (a new key) each time: the forgery differs from what was signed.
      signing: { signer: 'ldns', fault: { kind: 'forged-txt', records: records('forged') } },
      records: records('forged'),
    },
    name: name('forged'),
    reason: /does not verify/,
    ours: 'bogus',
    unbound: 'bogus',
    delv: 'bogus',
  },
  {
    title: '3. expired TXT RRSIG (ldns-signzone -i/-e in 2020)',
    child: {
      origin: zone('expired'),
      signing: { signer: 'ldns', fault: { kind: 'expired-txt' } },
      records: records('expired'),
    },
    name: name('expired'),
    reason: /outside its validity period/,
    ours: 'bogus',
    unbound: 'bogus',
    delv: 'bogus',
  },
  {
    title: '3b. whole child zone signed in 2020 (DNSKEY RRSIG expired too)',
    child: {
      origin: zone('stale'),
      signing: { signer: 'ldns', fault: { kind: 'expired-zone' } },
      records: records('stale'),
    },
    name: name('stale'),
    reason: /DNSKEY RRset of stale\.nhi\.test is not signed by a key the DS/,
    ours: 'bogus',
    unbound: 'bogus',
    delv: 'bogus',
  },
  {
    title: '3c. TXT RRSIG not yet valid (inception in 30 days)',
    child: {
      origin: zone('future'),
      signing: { signer: 'ldns', fault: { kind: 'future-txt' } },
      records: records('future'),
    },
    name: name('future'),
    reason: /outside its validity period/,
    ours: 'bogus',
    unbound: 'bogus',
    delv: 'bogus',
  },
  {
    title: '4. TXT RRSIG by a ZSK not in the DNSKEY set',
    child: {
      origin: zone('foreign'),
      signing: { signer: 'ldns', fault: { kind: 'foreign-key-txt' } },
      records: records('foreign'),
    },
    name: name('foreign'),
    reason: /names key \d+, which the DNSKEY RRset of foreign\.nhi\.test does not hold/,
    ours: 'bogus',
    unbound: 'bogus',
    delv: 'bogus',
  },
  {
    title: '5. parent DS matches no DNSKEY of the child',
    child: {
      origin: zone('dsmismatch'),
      signing: { signer: 'ldns', fault: { kind: 'ds-mismatch' } },
      records: records('dsmismatch'),
    },
    name: name('dsmismatch'),
    reason: /no DNSKEY of dsmismatch\.nhi\.test matches the DS/,
    ours: 'bogus',
    unbound: 'bogus',
    delv: 'bogus',
  },
  {
    title: '6. downgrade: RRSIGs stripped, parent keeps DS',
    child: {
      origin: zone('stripped'),
      signing: { signer: 'ldns', fault: { kind: 'stripped' } },
      records: records('stripped'),
    },
    name: name('stripped'),
    reason: /has no RRSIG, but its zone is signed/,
    ours: 'bogus',
    unbound: 'bogus',
    delv: 'bogus',
  },
  {
    title: '7. wildcard-expanded answer (`*.prod` TXT, knot)',
    child: {
      origin: zone('wild'),
      signing: { signer: 'knot' },
      records: [identityAt(name('wild'), `*.prod.${zone('wild')}`)],
    },
    name: name('wild'),
    reason: /wildcard-expanded answer/,
    ours: 'bogus',
    unbound: 'secure',
    delv: 'secure',
    note: 'divergence by design: identity records are never wildcards, ours refuses expanded answers',
  },
  {
    title: '8. KSK rollover: two KSKs sign DNSKEY, DS (SHA-384) of the new one only',
    child: {
      origin: zone('rollover'),
      signing: { signer: 'ldns', digestType: 4, fault: { kind: 'rollover', signedBy: 'both', dsOf: 'new' } },
      records: records('rollover'),
    },
    name: name('rollover'),
    reason: /signed by rollover\.nhi\.test key \d+/,
    ours: 'secure',
    unbound: 'secure',
    delv: 'secure',
  },
  {
    title: '8b. KSK rollover: two KSKs published, only the new one signs DNSKEY, DS of the new one',
    child: {
      origin: zone('rolled'),
      signing: { signer: 'ldns', fault: { kind: 'rollover', signedBy: 'new', dsOf: 'new' } },
      records: records('rolled'),
    },
    name: name('rolled'),
    reason: /signed by rolled\.nhi\.test key \d+/,
    ours: 'secure',
    unbound: 'secure',
    delv: 'secure',
  },
  {
    title: '8c. broken rollover: only the new KSK signs DNSKEY, parent DS still of the old one',
    child: {
      origin: zone('misrolled'),
      signing: { signer: 'ldns', fault: { kind: 'rollover', signedBy: 'new', dsOf: 'old' } },
      records: records('misrolled'),
    },
    name: name('misrolled'),
    reason:
      /DNSKEY RRset of misrolled\.nhi\.test is not signed by a key the DS of misrolled\.nhi\.test names/,
    ours: 'bogus',
    unbound: 'bogus',
    delv: 'bogus',
  },
  {
    title: '9. delegation without DS (unsigned child)',
    child: { origin: zone('unsigned'), signing: { signer: 'none' }, records: records('unsigned') },
    name: name('unsigned'),
    reason: /unsigned\.nhi\.test is delegated without DS \(NSEC proof\)/,
    ours: 'insecure',
    unbound: 'insecure',
    delv: 'insecure',
  },
  {
    title: '9b. delegation without DS under an NSEC3-signed child (ldns -n)',
    child: {
      origin: zone('nsec3'),
      signing: { signer: 'ldns', nsec3: true },
      records: records('nsec3'),
      unsignedDelegations: [{ label: 'plain', records: [identityAt(`billing.prod.plain.${zone('nsec3')}`)] }],
    },
    name: `billing.prod.plain.${zone('nsec3')}`,
    zone: `plain.${zone('nsec3')}`,
    reason: /has no RRSIG, but its zone is signed/,
    ours: 'bogus',
    unbound: 'insecure',
    delv: 'insecure',
    note: 'divergence (fails closed): ours proves a delegation without DS by NSEC only, not NSEC3',
  },
  {
    title: '10. child signed only with algorithm 14 (ECDSA P-384), DS in parent',
    child: {
      origin: zone('p384'),
      signing: { signer: 'ldns', algorithm: 'ECDSAP384SHA384' },
      records: records('p384'),
    },
    name: name('p384'),
    reason: /names no supported algorithm/,
    ours: 'insecure',
    unbound: 'secure',
    delv: 'secure',
    note: 'divergence by design: ours supports algorithms 8, 13, 15 only; an unsupported one is insecure, never secure',
  },
  {
    title: '10b. DS with digest type 1 (SHA-1) only',
    child: { origin: zone('sha1'), signing: { signer: 'ldns', digestType: 1 }, records: records('sha1') },
    name: name('sha1'),
    reason: /the DS of sha1\.nhi\.test names no supported algorithm or digest/,
    ours: 'insecure',
    unbound: 'secure',
    delv: 'secure',
    note: 'divergence by design: ours accepts DS digest types 2 and 4 only; an unsupported digest is insecure, never secure',
  },
  {
    title: '11a. CNAME in a signed zone to a name in another signed zone',
    name: `alias-p256.prod.${zone('valid')}`,
    // The reason of a secure chain names its first RRset.
    reason: /CNAME alias-p256\.prod\.valid\.nhi\.test signed by valid\.nhi\.test/,
    ours: 'secure',
    oursAtKnot: 'no verdict (nodata)',
    unbound: 'secure',
    delv: 'secure',
    note: 'at knot: an authoritative server does not chase a CNAME into another zone, so there is no TXT to validate',
  },
  {
    title: '11b. CNAME in a signed zone to the forged TXT',
    name: `alias-forged.prod.${zone('valid')}`,
    reason: /does not verify/,
    ours: 'bogus',
    oursAtKnot: 'no verdict (nodata)',
    unbound: 'bogus',
    delv: 'bogus',
    note: 'at knot: as 11a',
  },
  {
    title: '11c. CNAME in a signed zone to a name in the unsigned child',
    name: `alias-unsigned.prod.${zone('valid')}`,
    reason: /unsigned\.nhi\.test is delegated without DS/,
    ours: 'insecure',
    oursAtKnot: 'no verdict (nodata)',
    unbound: 'insecure',
    delv: 'insecure',
    note: 'at knot: as 11a',
  },
];

/** What each validator said about one case, for the table. */
interface Row {
  readonly testCase: Case;
  readonly zoneStatus: string;
  readonly ours: string;
  readonly oursReason: string;
  readonly oursAtKnot: string;
  readonly unbound: UnboundAnswer;
  /** unbound's own reason for a bogus verdict (its log). */
  readonly unboundReason: string | undefined;
  readonly delv: DelvAnswer;
}

/** Our verdict on a name, or the lookup's error. */
const ourVerdict = async (resolver: Resolver, queried: string) => {
  try {
    const result = await resolver.resolveTxt(queried, { validate: true });
    return {
      status: result.dnssec ?? `no verdict (${result.outcome})`,
      reason: result.dnssecReason ?? '',
      ttl: result.ttl,
    };
  } catch (error) {
    return { status: 'error', reason: error instanceof Error ? error.message : String(error), ttl: 0 };
  }
};

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const renderTable = (rows: readonly Row[]): string =>
  [
    '| case | queried | signer | ours (via unbound, CD) | ours (straight at knot) | unbound (DO) | delv | note |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => {
      const signer = CHILD_SIGNERS.get(row.testCase.zone ?? zoneOf(row.testCase.name)) ?? '';
      const unbound = `${row.unbound.verdict} (${row.unbound.status}${row.unbound.ad ? ', AD' : ''})`;
      return `| ${[
        row.testCase.title,
        `\`${row.testCase.name}\``,
        signer,
        `**${row.ours}** (zone: ${row.zoneStatus}) ${row.oursReason}`,
        row.oursAtKnot === row.ours ? 'same' : row.oursAtKnot,
        unbound +
          (row.unbound.ede === undefined ? '' : ` EDE ${row.unbound.ede}`) +
          (row.unboundReason === undefined ? '' : `: ${row.unboundReason}`),
        `${row.delv.verdict} (${row.delv.detail})`,
        row.testCase.note ?? '',
      ]
        .map(cell)
        .join(' | ')} |`;
    }),
  ].join('\n');

const CHILD_SIGNERS = new Map<string, string>();
/** The child zone holding a queried name (the last three labels). */
const zoneOf = (queried: string): string => queried.split('.').slice(-3).join('.');

describe('DNSSEC verdicts: ours against unbound and delv, on chains signed by knot and ldns-signzone', () => {
  let lab: DnssecLab;
  let tools: DnssecToolPaths;
  let viaUnbound: Resolver;
  let atKnot: Resolver;
  let startedIn = 0;
  const rows: Row[] = [];

  beforeAll(async () => {
    tools = locateDnssecTools();
    const started = performance.now();
    lab = await startDnssecLab({ parent: PARENT, children: CASES.flatMap(({ child }) => child ?? []) });
    startedIn = performance.now() - started;
    for (const child of lab.children) CHILD_SIGNERS.set(child.origin, child.signer);
    const options = { trustAnchors: [...lab.trustAnchors], timeoutMs: 2_000, attempts: 1 };
    viaUnbound = createResolver({ ...options, servers: [lab.resolverServer] });
    atKnot = createResolver({ ...options, servers: [lab.authoritativeServer] });
  }, 120_000);

  afterAll(async () => {
    await lab?.stop();
    if (rows.length > 0) {
      const order = new Map(CASES.map((testCase, index) => [testCase, index]));
      rows.sort((a, b) => (order.get(a.testCase) ?? 0) - (order.get(b.testCase) ?? 0));
      console.log(`DNSSEC verdicts (lab up in ${Math.round(startedIn)} ms):\n\n${renderTable(rows)}\n`);
    }
  });

  it.each(CASES.map((testCase) => [testCase.title, testCase] as const))('%s', async (_title, testCase) => {
    if (testCase.fromUnboundCache === true) {
      await unboundVerdict(tools.dig, lab.resolverServer, testCase.name);
      await new Promise((resume) => setTimeout(resume, 1_100));
    }
    const zoneStatus = await viaUnbound
      .prepareValidation?.(testCase.zone ?? zoneOf(testCase.name))
      .catch((error: unknown) => `error: ${error instanceof Error ? error.message : String(error)}`);
    const ours = await ourVerdict(viaUnbound, testCase.name);
    const oursAtKnot = await ourVerdict(atKnot, testCase.name);
    const unbound = await unboundVerdict(tools.dig, lab.resolverServer, testCase.name);
    const unboundReason = unbound.verdict === 'bogus' ? await lab.unboundFailure(testCase.name) : undefined;
    const delv = await delvVerdict(tools.delv, lab.resolverServer, lab.delvAnchorFile, PARENT, testCase.name);
    rows.push({
      testCase,
      zoneStatus: String(zoneStatus),
      ours: ours.status,
      oursReason: ours.reason,
      oursAtKnot: oursAtKnot.status,
      unbound,
      unboundReason,
      delv,
    });
    expect({
      ours: ours.status,
      oursAtKnot: oursAtKnot.status,
      unbound: unbound.verdict,
      delv: delv.verdict,
    }).toEqual({
      ours: testCase.ours,
      oursAtKnot: testCase.oursAtKnot ?? testCase.ours,
      unbound: testCase.unbound,
      delv: testCase.delv,
    });
    expect(ours.reason).toMatch(testCase.reason);
    // From unbound's cache the TTLs are below the RRSIG's original TTL (300), which must be used.
    if (testCase.fromUnboundCache === true) expect(ours.ttl).toBeLessThan(300);
    // unbound's SERVFAIL must be its validator's (EDE 6), not a lame delegation or a timeout.
    if (testCase.unbound === 'bogus') expect(unbound.ede).toMatch(/^6 \(DNSSEC Bogus\)/);
  });

  it('costs one query for a new name once the zone is prepared, none for a repeat', async () => {
    const resolver = createResolver({ servers: [lab.resolverServer], trustAnchors: [...lab.trustAnchors] });
    const events: LookupEvent[] = [];
    resolver.on('lookup', (event) => events.push(event));
    expect(await resolver.prepareValidation?.(zone('valid'))).toBe('secure');

    events.length = 0;
    let sent = resolver.stats.queriesSent;
    const first = await resolver.resolveTxt(name('valid'), { validate: true });
    expect(first.dnssec).toBe('secure');
    expect(resolver.stats.queriesSent - sent).toBe(1);
    expect(events.map(({ type, outcome }) => `${type} ${outcome}`)).toEqual(['TXT miss']);

    events.length = 0;
    sent = resolver.stats.queriesSent;
    const again = await resolver.resolveTxt(name('valid'), { validate: true });
    expect(again.dnssec).toBe('secure');
    expect(resolver.stats.queriesSent - sent).toBe(0);
    expect(events.map(({ type, outcome }) => `${type} ${outcome}`)).toEqual(['TXT hit']);
  });
});
