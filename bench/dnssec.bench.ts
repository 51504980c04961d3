/**
 * Cost of in-process DNSSEC validation (`resolveTxt(name, { validate: true })`), on zones knot
 * signs (Ed25519 KSK + ZSK) and serves on loopback, each against a baseline in the same run:
 * - cold zone: the first validated lookup in a zone never seen (TXT + the zone's DNSKEY, two
 *   signature checks), ours straight at knot, against unbound's own validation of a name in another
 *   never-seen zone (stub → unbound → knot, AD required), alternating zone by zone;
 * - cold name in a prepared zone: one query and one signature check, against a non-validating
 *   cold lookup of the same kind of name (one query);
 * - warm: a validated cache hit against a plain cache hit (the verdict is kept beside the answer).
 */
import { createResolver, type TxtResult } from '@nhi-dns/resolver';
import { type DnsLab, startDnsLab } from '../integration-tests/src/lab/index.js';
import { type BenchContext, type BenchSuite, type Figure, figure, measurement } from './lib/figure.js';
import { interleave } from './lib/measure.js';
import { summarise } from './lib/stats.js';

const SIZES = {
  full: { zones: 60, names: 300, hitRounds: 10, hitCalls: 5000 },
  quick: { zones: 6, names: 20, hitRounds: 2, hitCalls: 500 },
};
const RECORD =
  'v=NHI1; svc=billing; env=prod; kid=k1; k=ed25519; p=GtQxKjw8_tXmRBc0kg9Uv1v6zZmzaWwzFZCmnQmcUHA';
/** The zone whose names the cold-name and warm figures use. */
const HOME = 'home.nhi.test';

const zoneName = (index: number): string => `z${index}.nhi.test`;

const expectSecure = (result: TxtResult): void => {
  if (result.dnssec !== 'secure')
    throw new Error(`expected secure, got ${result.dnssec}: ${result.dnssecReason}`);
};

const run = async (context: BenchContext): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  const names = Array.from({ length: 2 * size.names }, (_, i) => `n${i}.${HOME}`);
  context.log(`dnssec: starting knot + unbound with ${size.zones + 1} signed zones`);
  const lab: DnsLab = await startDnsLab({
    recordTtl: 300,
    zones: [
      {
        origin: HOME,
        security: 'signed',
        records: [`billing.prod.${HOME}`, ...names].map((name) => ({ name, strings: [RECORD] })),
      },
      ...Array.from({ length: size.zones }, (_, i) => ({
        origin: zoneName(i),
        security: 'signed' as const,
        records: [{ name: `billing.prod.${zoneName(i)}`, strings: [RECORD] }],
      })),
    ],
  });
  try {
    const anchors = [...lab.trustAnchors];
    // One resolver for the whole run: the zones it has not seen are cold, as at a cold start.
    const ours = createResolver({ servers: [lab.authoritativeServer], trustAnchors: anchors, timeout: 2000 });
    const stub = createResolver({ servers: [lab.resolverServer], timeout: 2000 });
    let queries = 0;
    const countQueries = (event: { outcome: string }) => {
      if (event.outcome !== 'hit') queries++;
    };
    ours.on('lookup', countQueries);

    context.log(`dnssec: ${size.zones / 2} cold zones per side, alternating`);
    let nextZone = 0;
    const coldQueries: number[] = [];
    const coldZone = await interleave(
      {
        ours: async () => {
          const before = queries;
          expectSecure(await ours.resolveTxt(`billing.prod.${zoneName(nextZone++)}`, { validate: true }));
          coldQueries.push(queries - before);
        },
        unbound: async () => {
          const result = await stub.resolveTxt(`billing.prod.${zoneName(nextZone++)}`, { dnssec: true });
          if (!result.ad) throw new Error('unbound did not validate');
        },
      },
      { rounds: size.zones / 2 - 1, callsPerRound: 1, warmupCalls: 1 },
    );

    context.log(`dnssec: ${size.names} cold names in a prepared zone per side`);
    if ((await ours.prepareValidation?.(HOME)) !== 'secure') throw new Error(`${HOME} is not secure`);
    const plain = createResolver({ servers: [lab.authoritativeServer], timeout: 2000 });
    let nextName = 0;
    const nameQueries: number[] = [];
    const coldName = await interleave(
      {
        validated: async () => {
          const before = queries;
          expectSecure(await ours.resolveTxt(names[nextName++]!, { validate: true }));
          nameQueries.push(queries - before);
        },
        plain: async () => {
          const result = await plain.resolveTxt(names[nextName++]!, { dnssec: true });
          if (result.records.length !== 1) throw new Error('plain lookup found no record');
        },
      },
      { rounds: size.names - 10, callsPerRound: 1, warmupCalls: 10 },
    );

    context.log('dnssec: warm, validated hit vs plain hit');
    // As identity-resolve runs it: no lookup listener (it reads the results).
    ours.off('lookup', countQueries);
    // One resolver for both sides (same cache): validating lookups have cache
    // entries of their own, so each side hits its own entry.
    const cached = `billing.prod.${HOME}`;
    expectSecure(await ours.resolveTxt(cached, { validate: true }));
    await ours.resolveTxt(cached, { dnssec: true });
    const sentBefore = ours.stats.queriesSent;
    const warm = await interleave(
      {
        validated: () => ours.resolveTxt(cached, { validate: true }),
        plain: () => ours.resolveTxt(cached, { dnssec: true }),
      },
      { rounds: size.hitRounds, callsPerRound: size.hitCalls },
    );
    if (ours.stats.queriesSent !== sentBefore) throw new Error('warm lookups reached the network');

    const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;
    return [
      figure({
        id: 'dnssecColdZone',
        title: 'DNSSEC: first validated lookup in a new zone vs unbound',
        subject: measurement('ours: TXT + DNSKEY from knot, validated here', 'µs', summarise(coldZone.ours)),
        baseline: measurement(
          'unbound validating (stub → unbound → knot)',
          'µs',
          summarise(coldZone.unbound),
        ),
        ratioOf: 'subject/baseline',
        details: { oursQueriesPerLookup: median(coldQueries), zonesPerSide: coldZone.ours.length },
        method:
          'Each lookup in a zone neither side has seen (knot signs every zone with Ed25519 KSK + ZSK at load; both trust the KSKs). Ours asks knot directly and checks the RRSIGs itself; unbound asks knot and validates, we require AD. Alternating zone by zone.',
      }),
      figure({
        id: 'dnssecColdName',
        title: 'DNSSEC: validated cold lookup in a prepared zone vs a plain one',
        subject: measurement(
          'resolveTxt validate, new name, zone keys cached',
          'µs',
          summarise(coldName.validated),
        ),
        baseline: measurement('resolveTxt, new name, no validation', 'µs', summarise(coldName.plain)),
        ratioOf: 'subject/baseline',
        details: { queriesPerLookup: median(nameQueries) },
        method:
          'After prepareValidation(zone), every name unique: the validated lookup sends one query (the TXT) and checks one signature; the plain one sends one query.',
      }),
      figure({
        id: 'dnssecWarm',
        title: 'DNSSEC: validated cache hit vs plain cache hit',
        subject: measurement('resolveTxt validate, cache hit', 'µs', summarise(warm.validated)),
        baseline: measurement('resolveTxt, cache hit', 'µs', summarise(warm.plain)),
        ratioOf: 'subject/baseline',
        target: { comparison: '<=', value: 1.1 },
        method:
          'One cached name on one resolver, timed call by call, interleaved: resolveTxt with validate (the verdict is stored beside the cached answer) against resolveTxt with the DO bit.',
      }),
    ];
  } finally {
    await lab.stop();
  }
};

/** Cold and warm cost of in-process DNSSEC validation. */
export const dnssecBench: BenchSuite = { name: 'dnssec', run };
