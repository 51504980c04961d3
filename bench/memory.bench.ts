/**
 * Memory, each figure against a baseline taken in the same run:
 * - heap per cached identity record with 1, 5 and 20 keys: identity-resolve's caches (the
 *   resolver's answer cache and the parsed-identity cache with its `KeyObject`s, both inside one
 *   `IdentityDirectory`) after resolving N distinct names through a real resolver on the loopback
 *   test DNS server; heapUsed + arrayBuffers after a forced GC, minus the same with the caches
 *   empty, per record, against the record's published TXT bytes;
 * - both 10 000-entry caches filled past their bounds (more names than entries, records big
 *   enough for the resolver's 16 MiB byte budget to bind), against that byte budget;
 * - RSS of a warm function: a fresh `node` process imports the http-api-callee bundle and serves
 *   N invocations (DNS and Secrets Manager on loopback), against the Middy + Powertools baseline
 *   bundle of the cold-start suite serving the same events.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { formatRecord, type NhiLogger, type NhiMetrics } from '@nhi-dns/core';
import type { TestIdentity } from '@nhi-dns/core/test-support';
import { IdentityDirectory } from '@nhi-dns/identity-resolve';
import { createResolver, RESOLVER_DEFAULTS, type Resolver } from '@nhi-dns/resolver';
import { forcedGc, startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import { bundleExample } from '../examples/bundle.js';
import { apiEvent, BODY, CALLEE, createCallers, startChainFixture, ZONE } from './lib/chain-fixture.js';
import { runProbe } from './lib/child-probe.js';
import {
  type BenchContext,
  type BenchSuite,
  type Figure,
  figure,
  measurement,
  singleValue,
} from './lib/figure.js';
import { bundleExampleBaseDir, findRepoRoot } from './lib/repo-root.js';
import { round, summarise } from './lib/stats.js';

/** Counts, full and quick. */
const SIZES = {
  full: { perRecordNames: 1000, fillNames: 10_500, fillKeys: 5, processes: 3, invocations: 2000 },
  quick: { perRecordNames: 40, fillNames: 200, fillKeys: 5, processes: 1, invocations: 30 },
};
/** 1 000 names of 20 keys stay within the resolver's 16 MiB byte budget (about 1 500 fit). */
const KEY_COUNTS = [1, 5, 20] as const;
const MIB = 1024 * 1024;
/** Lookups in flight while filling the caches (the resolver is single-flight per name, not global). */
const CONCURRENCY = 16;

/** Logger and metrics that do nothing: their own buffers must not count as cache memory. */
const SILENT_LOGGER: NhiLogger = { debug() {}, info() {}, warn() {}, error() {} } as unknown as NhiLogger;
const SILENT_METRICS = (() => {
  const emitter = { addDimension: () => emitter, addMetric: () => emitter };
  return {
    addMetric() {},
    singleMetric: () => emitter,
    publishStoredMetrics() {},
    hasStoredMetrics: () => false,
  } as unknown as NhiMetrics;
})();

/** heapUsed + arrayBuffers (TXT bytes live in Buffers) and RSS, after a full GC. */
const memoryNow = (server?: TestDnsServer): { heap: number; rss: number } => {
  const gc = forcedGc;
  if (gc === undefined) throw new Error('memory: no forced GC (run node with --expose-gc)');
  // The test server remembers every query; that log is not the caches' memory.
  if (server !== undefined) server.queries.length = 0;
  gc();
  gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed + usage.arrayBuffers, rss: usage.rss };
};

/** Published Ed25519 keys (`p=`) to build records from; reused across names, never deduplicated once parsed. */
const keyPool = (count: number): string[] =>
  Array.from({ length: count }, () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    return Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64');
  });

/** `names` identities `m<i>k<keys>.prod.<zone>`, each with `keys` NHI1 RRs (kids k0..), as TXT records. */
const identityRecords = (names: number, keys: number, pool: readonly string[]) =>
  Array.from({ length: names }, (_, i) => {
    const service = `m${i}k${keys}`;
    const rrs = Array.from({ length: keys }, (_, k) =>
      formatRecord({
        service,
        environment: 'prod',
        kid: `k${k}`,
        keyType: 'ed25519',
        publicKey: pool[(i * keys + k) % pool.length] ?? '',
      }),
    );
    return { name: `${service}.prod.${ZONE}`, rrs };
  });

/** identity-resolve's lookup path (resolver cache + parsed-identity cache) on a fresh resolver. */
const directoryOn = (server: TestDnsServer): { directory: IdentityDirectory; resolver: Resolver } => {
  const resolver = createResolver({ servers: [server.server] });
  const directory = new IdentityDirectory({
    zone: ZONE,
    resolver,
    dnssec: true,
    deadlineMargin: 0,
    unknownKidRefreshInterval: 30,
    telemetry: () => ({ logger: SILENT_LOGGER, metrics: SILENT_METRICS, ownsMetrics: false }),
  });
  return { directory, resolver };
};

/** Resolves every name through `directory`, `CONCURRENCY` at a time; each must yield keys. */
const resolveAll = async (directory: IdentityDirectory, names: readonly string[]): Promise<void> => {
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++]!;
      const resolved = await directory.resolve(name, undefined, 'no_record');
      if (resolved.keys.size === 0) throw new Error(`no keys for ${name}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
};

/** Names still in the resolver's cache: probed newest first, up to the first miss (LRU order). */
const cachedEntries = async (resolver: Resolver, names: readonly string[]): Promise<number> => {
  let kept = 0;
  for (let i = names.length - 1; i >= 0; i--) {
    const result = await resolver.resolveTxt(names[i]!, { dnssec: true });
    if (result.outcome !== 'hit') break;
    kept++;
  }
  return kept;
};

/** A loopback DNS server answering every identity's TXT RRset (TTL 300 s). */
const serveIdentities = (identities: ReturnType<typeof identityRecords>): Promise<TestDnsServer> =>
  startTestDnsServer({
    zone: ZONE,
    records: identities.flatMap(({ name, rrs }) =>
      rrs.map((data) => ({ name, type: 'TXT' as const, ttl: 300, data })),
    ),
  });

/** Heap per cached record with 1, 5 and 20 keys. */
const perRecordFigures = async (context: BenchContext, pool: readonly string[]): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  const figures: Figure[] = [];
  for (const keys of KEY_COUNTS) {
    // One more name than measured: the first lookup allocates what any lookup needs once.
    const identities = identityRecords(size.perRecordNames + 1, keys, pool);
    const server = await serveIdentities(identities);
    try {
      const { directory, resolver } = directoryOn(server);
      const [first, ...rest] = identities.map((identity) => identity.name);
      await resolveAll(directory, [first!]);
      context.log(`memory: ${rest.length} records with ${keys} key(s)`);
      const before = memoryNow(server);
      await resolveAll(directory, rest);
      const after = memoryNow(server);
      const kept = await cachedEntries(resolver, rest);
      if (kept !== rest.length)
        throw new Error(`memory: only ${kept} of ${rest.length} answers stayed cached`);
      const perRecord = (after.heap - before.heap) / rest.length;
      const published = identities[1]!.rrs.reduce((bytes, rr) => bytes + Buffer.byteLength(rr), 0);
      figures.push(
        figure({
          id: `memoryPerRecord${keys}Keys`,
          title: `Memory per cached identity record, ${keys} key${keys === 1 ? '' : 's'}`,
          subject: singleValue('heap + ArrayBuffers per cached record', 'bytes', Math.round(perRecord)),
          baseline: singleValue(
            `the record's TXT bytes (${keys} RR${keys === 1 ? '' : 's'})`,
            'bytes',
            published,
          ),
          ratioOf: 'subject/baseline',
          details: {
            records: rest.length,
            emptyCachesHeapMB: round(before.heap / MIB),
            tcpFallbacks: resolver.stats.tcpFallbacks,
          },
          method: `${rest.length} distinct names resolved through IdentityDirectory (identity-resolve's resolver cache + parsed-identity cache with imported KeyObjects) from the loopback test DNS server; (heapUsed + arrayBuffers after forced GC) minus the same with the caches empty, per record. KeyObjects' native (OpenSSL) memory is outside heapUsed (the full-cache figure's rssDeltaMB shows it); RSS per record in this shared process is noise.`,
        }),
      );
    } finally {
      await server.stop();
    }
  }
  return figures;
};

/** Both caches past their entry bound, records big enough that the resolver's byte budget binds. */
const fullCacheFigure = async (context: BenchContext, pool: readonly string[]): Promise<Figure> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  const identities = identityRecords(size.fillNames + 1, size.fillKeys, pool);
  const server = await serveIdentities(identities);
  try {
    const { directory, resolver } = directoryOn(server);
    const [first, ...rest] = identities.map((identity) => identity.name);
    await resolveAll(directory, [first!]);
    context.log(`memory: filling the caches with ${rest.length} names of ${size.fillKeys} keys`);
    const before = memoryNow(server);
    await resolveAll(directory, rest);
    const full = memoryNow(server);
    const kept = await cachedEntries(resolver, rest);
    // What the resolver's own cache holds: freed by clear() (TXT strings the parsed cache shares stay).
    resolver.clear();
    const withoutResolver = memoryNow(server);
    const budgetMB = RESOLVER_DEFAULTS.maxBytes / MIB;
    const totalMB = (full.heap - before.heap) / MIB;
    return figure({
      id: 'memoryFullCaches',
      title: `Memory of full caches: ${rest.length} names of ${size.fillKeys} keys vs the resolver's byte budget`,
      subject: singleValue('heap + ArrayBuffers of both caches, full', 'MB', round(totalMB)),
      baseline: singleValue('resolver maxBytes (default)', 'MB', budgetMB),
      ratioOf: 'subject/baseline',
      details: {
        namesResolved: rest.length,
        resolverEntriesKept: kept,
        resolverMaxEntries: RESOLVER_DEFAULTS.maxEntries,
        parsedEntriesKept: Math.min(rest.length, 10_000),
        resolverBudgetPerEntryBytes: kept === 0 ? 0 : Math.round(RESOLVER_DEFAULTS.maxBytes / kept),
        resolverShareMB: round((full.heap - withoutResolver.heap) / MIB),
        parsedCacheShareMB: round((withoutResolver.heap - before.heap) / MIB),
        rssDeltaMB: round((full.rss - before.rss) / MIB),
        ...(context.quick ? { note: 'quick run: caches not full' } : {}),
      },
      method: `More distinct names than the 10 000 entries of either cache, through one IdentityDirectory; (heapUsed + arrayBuffers after forced GC) minus the same before, in MiB. The resolver's share is what resolver.clear() frees; the rest is the parsed-identity cache (10 000 entries and an estimated 16 MiB, KeyObjects' native memory counted in that estimate but not in this heap figure).`,
    });
  } finally {
    await server.stop();
  }
};

/**
 * Child process: imports a bundle, serves the events in order, prints memoryUsage after GC.
 * Written at run time beside the bundles so that it loads nothing from the repository.
 */
const PROBE = `import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [bundle, eventsFile, outFile] = process.argv.slice(2);
const events = JSON.parse(readFileSync(eventsFile, 'utf8'));
const usage = () => { globalThis.gc(); globalThis.gc(); const m = process.memoryUsage(); return { rss: m.rss, heap: m.heapUsed + m.arrayBuffers, external: m.external }; };
const atStart = usage();
const { handler } = await import(pathToFileURL(bundle).href);
const afterImport = usage();
let ok = 0;
for (let i = 0; i < events.length; i++) {
  const context = { functionName: 'ledger', awsRequestId: 'r' + i, getRemainingTimeInMillis: () => 3000 };
  const result = await handler(events[i], context);
  if (result && result.statusCode === 200) ok++;
}
writeFileSync(outFile, JSON.stringify({ atStart, afterImport, warm: usage(), ok }));
process.exit(0);
`;

interface ProbeResult {
  readonly atStart: { rss: number; heap: number };
  readonly afterImport: { rss: number; heap: number };
  readonly warm: { rss: number; heap: number };
  readonly ok: number;
}

/** Runs the probe on `bundle` in a fresh `node --expose-gc` (asynchronously: the servers are in this process). */
const probe = (probeFile: string, bundle: string, eventsFile: string, env: Record<string, string>) =>
  runProbe<ProbeResult>(['--expose-gc', probeFile, bundle, eventsFile], env);

/** RSS of a warm callee vs the Middy + Powertools baseline, fresh processes alternating. */
const warmRssFigure = async (context: BenchContext, caller: TestIdentity): Promise<Figure> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  const repoRoot = findRepoRoot();
  const examplesDir = bundleExampleBaseDir();
  const example = (path: string) => relative(examplesDir, join(repoRoot, path));
  const outRoot = join(repoRoot, '.tmp', 'bench', 'memory');
  mkdirSync(outRoot, { recursive: true });
  context.log('memory: bundling');
  const callee = await bundleExample(example('examples/http-api-callee'), {
    outDir: join(outRoot, 'callee'),
  });
  const baseline = await bundleExample(example('bench'), {
    entry: 'cold-start/baseline-handler.ts',
    outDir: join(outRoot, 'baseline'),
  });
  const probeFile = join(outRoot, 'probe.mjs');
  writeFileSync(probeFile, PROBE);
  // One set of events for every process: each process has its own replay store.
  const events = [];
  for (let i = 0; i < size.invocations; i++) {
    events.push(apiEvent(await caller.sign({ aud: CALLEE, body: BODY, method: 'POST', lifetime: 300 })));
  }
  const eventsFile = join(outRoot, 'events.json');
  writeFileSync(eventsFile, JSON.stringify(events));

  const fixture = await startChainFixture([caller]);
  try {
    const env = {
      PATH: process.env.PATH ?? '',
      NHI_ZONE: ZONE,
      NHI_SELF: CALLEE,
      NHI_ALLOW: caller.name,
      NHI_ENVIRONMENT: 'prod',
      NHI_DNS_SERVERS: fixture.dns.server,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: fixture.secretsManager.endpoint,
      AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: '1',
    };
    context.log(
      `memory: warm RSS, ${size.processes} fresh processes per bundle, ${size.invocations} invocations each`,
    );
    const runs = { callee: [] as ProbeResult[], baseline: [] as ProbeResult[] };
    for (let i = 0; i < size.processes; i++) {
      runs.baseline.push(await probe(probeFile, baseline.file, eventsFile, env));
      runs.callee.push(await probe(probeFile, callee.file, eventsFile, env));
    }
    for (const [name, results] of Object.entries(runs)) {
      const failed = results.find((result) => result.ok !== size.invocations);
      if (failed !== undefined)
        throw new Error(`memory: ${name} answered ${failed.ok} of ${size.invocations} with 200`);
    }
    const mb = (results: readonly ProbeResult[], pick: (result: ProbeResult) => number) =>
      summarise(results.map((result) => pick(result) / MIB));
    const medianMB = (results: readonly ProbeResult[], pick: (result: ProbeResult) => number) =>
      round(mb(results, pick).median);
    return figure({
      id: 'memoryWarmRss',
      title: `RSS of a warm function after ${size.invocations} invocations vs a Middy + Powertools function`,
      subject: measurement(
        'http-api-callee bundle, warm',
        'MB',
        mb(runs.callee, (r) => r.warm.rss),
      ),
      baseline: measurement(
        'middy + Powertools Logger/Metrics bundle, warm',
        'MB',
        mb(runs.baseline, (r) => r.warm.rss),
      ),
      ratioOf: 'subject/baseline',
      details: {
        calleeRssAfterImportMB: medianMB(runs.callee, (r) => r.afterImport.rss),
        baselineRssAfterImportMB: medianMB(runs.baseline, (r) => r.afterImport.rss),
        nodeRssAtStartMB: medianMB(runs.baseline, (r) => r.atStart.rss),
        calleeHeapWarmMB: medianMB(runs.callee, (r) => r.warm.heap),
        baselineHeapWarmMB: medianMB(runs.baseline, (r) => r.warm.heap),
      },
      method: `A fresh node --expose-gc process per run imports the bundle (esbuild, minified, AWS SDK bundled) and serves ${size.invocations} API Gateway v2 events (a new proof each; DNS and Secrets Manager on loopback in the parent, logs to /dev/null); process.memoryUsage() after GC, median of ${size.processes} processes per bundle, alternating. The baseline (bench/cold-start/baseline-handler.ts) serves the same events.`,
    });
  } finally {
    await fixture.stop();
  }
};

const run = async (context: BenchContext): Promise<Figure[]> => {
  const pool = keyPool(64);
  const [caller] = createCallers(1);
  if (caller === undefined) throw new Error('no caller');
  return [
    ...(await perRecordFigures(context, pool)),
    await fullCacheFigure(context, pool),
    await warmRssFigure(context, caller),
  ];
};

/** Heap per cached record, full caches, and the RSS of a warm function. */
export const memoryBench: BenchSuite = { name: 'memory', run };
