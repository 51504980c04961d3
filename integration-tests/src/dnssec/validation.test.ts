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
  readonly child: DnssecChild;
  /** Name queried (TXT). */
  readonly name: string;
  readonly ours: ExternalVerdict;
  readonly unbound: ExternalVerdict;
  readonly delv: ExternalVerdict;
  /** What our `dnssecReason` must say: a verdict for the wrong reason is no pass. */
  readonly reason: RegExp;
  /** Why validators disagree, for the table. */
  readonly note?: string;
}

const zone = (label: string) => `${label}.${PARENT}`;
const name = (label: string) => `billing.prod.${zone(label)}`;
const records = (label: string) => [identityAt(name(label))];

const CASES: readonly Case[] = [
  {
    title: '1. valid chain (knot, Ed25519)',
    child: { origin: zone('valid'), signing: { signer: 'knot' }, records: records('valid') },
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
      records: records('p256'),
    },
    name: name('p256'),
    reason: /signed by p256\.nhi\.test key \d+/,
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
    return { status: result.dnssec ?? `no verdict (${result.outcome})`, reason: result.dnssecReason ?? '' };
  } catch (error) {
    return { status: 'error', reason: error instanceof Error ? error.message : String(error) };
  }
};

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const renderTable = (rows: readonly Row[]): string =>
  [
    '| case | queried | signer | ours (via unbound, CD) | ours (straight at knot) | unbound (DO) | delv | note |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => {
      const signer = CHILD_SIGNERS.get(row.testCase.child.origin) ?? '';
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
    lab = await startDnssecLab({ parent: PARENT, children: CASES.map(({ child }) => child) });
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
    const zoneStatus = await viaUnbound
      .prepareValidation?.(testCase.child.origin)
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
      oursAtKnot: testCase.ours,
      unbound: testCase.unbound,
      delv: testCase.delv,
    });
    expect(ours.reason).toMatch(testCase.reason);
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
