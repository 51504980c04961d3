/**
 * Cold start of the http-api-callee Lambda: its minified esbuild bundle (with and without the AWS
 * SDK external, as the Node.js runtime provides SDK v3) and the time a fresh Node process takes to
 * import it and build the handler, against a bundle of only `@middy/core` + Powertools Logger and
 * Metrics built the same way (bench/cold-start/baseline-handler.ts). Median of N processes each,
 * alternating between bundles.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  apiEvent,
  BODY,
  CALLEE,
  createCallers,
  startChainFixture,
} from '../../../bench/lib/chain-fixture.js';
import { runProbe } from '../../../bench/lib/child-probe.js';
import {
  type BenchContext,
  type BenchSuite,
  type Figure,
  figure,
  measurement,
  singleValue,
} from '../../../bench/lib/figure.js';
import { bundleExampleBaseDir, findRepoRoot } from '../../../bench/lib/repo-root.js';
import { round, summarise } from '../../../bench/lib/stats.js';
import { bundleExample } from '../../bundle.js';
import { LOCAL_EXTENSION_TOKEN } from '../../demo/src/local-secrets-manager.js';

const SIZES = { full: { processes: 20 }, quick: { processes: 3 } };

/** Environment the callee reads at init; the DNS and Secrets Manager endpoints are closed loopback ports. */
const CHILD_ENV = {
  PATH: process.env.PATH ?? '',
  NHI_ZONE: 'auth.example.com',
  NHI_SELF: 'ledger.prod.auth.example.com',
  NHI_ALLOW: 'billing.prod.auth.example.com',
  NHI_ENVIRONMENT: 'prod',
  NHI_DNS_SERVERS: '127.0.0.1:9',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9',
  AWS_SDK_JS_SUPPRESS_NODE_VERSION_WARNING: '1',
  // As every other suite but native-verify: node:crypto, so that loading sodium-native (a root
  // devDependency here, an optional peer for users) does not count in the first request.
  NHI_ED25519: 'node',
};

/** Milliseconds to import `bundle` in a fresh Node process. */
const importOnce = (repoRoot: string, bundle: string, env: Record<string, string> = {}): number => {
  const child = spawnSync(process.execPath, [join(repoRoot, 'bench/cold-start/import-probe.mjs'), bundle], {
    env: { ...CHILD_ENV, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (child.status !== 0) throw new Error(`import of ${bundle} failed: ${child.stderr.slice(0, 500)}`);
  const line = child.stdout.trim().split('\n').pop() ?? '';
  return (JSON.parse(line) as { importMs: number }).importMs;
};

/** What bench/cold-start/invoke-probe.mjs reports for one fresh process. */
interface ColdInvocation {
  readonly importMs: number;
  readonly firstInvokeMs: number;
  readonly totalMs: number;
  readonly statusCode?: number;
}

/** The bundles the cold-invocation figures compare. */
interface ColdInvocationBundles {
  readonly callee: string;
  readonly calleeSdkExternal: string;
  readonly baseline: string;
  readonly baselineSdkExternal: string;
  readonly baselineExtension: string;
}

/**
 * Init plus the first invocation, as a new execution environment serves its first request: a
 * fresh process imports the bundle and answers one signed API Gateway event. The callee resolves
 * the caller's record (one query to the loopback DNS server), verifies the proof and reads its
 * secret (Secrets Manager through the SDK, or the Parameters and Secrets extension's protocol,
 * both served on loopback by this process); each baseline reads the same secret the same way.
 */
const coldInvocationFigures = async (
  context: BenchContext,
  repoRoot: string,
  bundles: ColdInvocationBundles,
  processes: number,
): Promise<Figure[]> => {
  const [caller] = createCallers(1);
  if (caller === undefined) throw new Error('no caller');
  const fixture = await startChainFixture([caller]);
  try {
    // Every process has its own replay store, so one proof serves them all.
    const eventFile = join(repoRoot, '.tmp', 'bench', 'bundles', 'cold-invocation-event.json');
    writeFileSync(
      eventFile,
      JSON.stringify(apiEvent(await caller.sign({ aud: CALLEE, body: BODY, method: 'POST' }))),
    );
    const env = {
      ...CHILD_ENV,
      NHI_ALLOW: caller.name,
      NHI_DNS_SERVERS: fixture.dns.server,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: fixture.secretsManager.endpoint,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(fixture.secretsManager.port),
      AWS_SESSION_TOKEN: LOCAL_EXTENSION_TOKEN,
    };
    const probeFile = join(repoRoot, 'bench/cold-start/invoke-probe.mjs');
    const invoke = async (bundle: string, extra: Record<string, string> = {}) => {
      const result = await runProbe<ColdInvocation>([probeFile, bundle, eventFile], { ...env, ...extra });
      if (result.statusCode !== 200)
        throw new Error(`cold invocation of ${bundle} answered ${result.statusCode}`);
      return result;
    };
    context.log(`cold start: init + first invocation, ${processes} fresh processes per bundle`);
    const runs = {
      calleeSdk: [] as ColdInvocation[],
      calleeExtension: [] as ColdInvocation[],
      baseline: [] as ColdInvocation[],
      baselineSdk: [] as ColdInvocation[],
      baselineExtension: [] as ColdInvocation[],
    };
    await invoke(bundles.baseline); // warms the OS file cache, untimed
    for (let i = 0; i < processes; i++) {
      runs.baseline.push(await invoke(bundles.baseline));
      runs.calleeSdk.push(await invoke(bundles.calleeSdkExternal));
      runs.baselineSdk.push(await invoke(bundles.baselineSdkExternal));
      runs.calleeExtension.push(await invoke(bundles.calleeSdkExternal, { NHI_SECRETS_SOURCE: 'extension' }));
      runs.baselineExtension.push(await invoke(bundles.baselineExtension));
    }
    const total = (label: string, results: readonly ColdInvocation[]) =>
      measurement(label, 'ms', summarise(results.map((result) => result.totalMs)));
    const medianOf = (results: readonly ColdInvocation[], pick: (result: ColdInvocation) => number) =>
      round(summarise(results.map(pick)).median, 2);
    /** Import and first-request medians of both sides, flat (the report prints scalars). */
    const split = (subject: readonly ColdInvocation[], baseline: readonly ColdInvocation[]) => ({
      subjectImportMs: medianOf(subject, (result) => result.importMs),
      subjectFirstRequestMs: medianOf(subject, (result) => result.firstInvokeMs),
      baselineImportMs: medianOf(baseline, (result) => result.importMs),
      baselineFirstRequestMs: medianOf(baseline, (result) => result.firstInvokeMs),
    });
    const method = (what: string) =>
      `${what} A fresh node process per sample (bench/cold-start/invoke-probe.mjs): performance.now() from before import() of the bundle to the first answer; DNS, Secrets Manager and the extension protocol on loopback in the bench process (examples/demo/src/local-secrets-manager.ts). Median of ${processes}, bundles alternating.`;
    const extensionSubject = total(
      'http-api-callee, extension source, SDK external: init + first request',
      runs.calleeExtension,
    );
    return [
      figure({
        id: 'coldInvocationSdk',
        title:
          'Cold invocation (init + first request), SDK source, vs Middy + Powertools reading the secret with the SDK',
        subject: total('http-api-callee, SDK source, SDK external: init + first request', runs.calleeSdk),
        baseline: total(
          'middy + Powertools + SecretsManagerClient GetSecretValue, SDK external: init + first request',
          runs.baselineSdk,
        ),
        ratioOf: 'subject/baseline',
        target: { comparison: '<=', value: 1.1 },
        details: split(runs.calleeSdk, runs.baselineSdk),
        method: method(
          "Both bundles as the SAM template deploys them: the SDK external, loaded from node_modules as the Node.js runtime provides it (a bundled SDK would also carry the DynamoDB client of the callee's optional replay store). The callee prefetches its secret at init and resolves the caller (one DNS query) and verifies the proof on the first request; the baseline creates its client at init and calls GetSecretValue on the first request.",
        ),
      }),
      figure({
        id: 'coldInvocationExtension',
        title: 'Cold invocation (init + first request), extension source, vs the Middy + Powertools bundle',
        subject: extensionSubject,
        baseline: total('middy + Powertools Logger/Metrics bundle: init + first request', runs.baseline),
        ratioOf: 'subject/baseline',
        target: { comparison: '<=', value: 1.3 },
        details: split(runs.calleeExtension, runs.baseline),
        method: method(
          'The callee as deployed on the Node.js runtime with NHI_SECRETS_SOURCE=extension (SDK external, never loaded): nothing is fetched at init (the extension answers only during an invocation), so the first request resolves the caller, verifies the proof and reads the secret from the extension. The baseline reads no secret.',
        ),
      }),
      figure({
        id: 'coldInvocationExtensionPeer',
        title:
          'Cold invocation (init + first request), extension source, vs Middy + Powertools reading the secret from the extension',
        subject: extensionSubject,
        baseline: total(
          'middy + Powertools, secret from the extension on the first request: init + first request',
          runs.baselineExtension,
        ),
        ratioOf: 'subject/baseline',
        details: split(runs.calleeExtension, runs.baselineExtension),
        method: method(
          'What nhi-dns adds to a function that already reads its secret through the extension (bench/cold-start/baseline-extension-handler.ts, one node:http GET to the extension on the first request); no target set by the issue.',
        ),
      }),
    ];
  } finally {
    await fixture.stop();
  }
};

const run = async (context: BenchContext): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  context.log('cold start: bundling');
  const repoRoot = findRepoRoot();
  // bundleExample resolves `<example>/<entry>` from its own folder, which moves when bundled.
  const examplesDir = bundleExampleBaseDir();
  const example = (path: string) => relative(examplesDir, join(repoRoot, path));
  const outRoot = join(repoRoot, '.tmp', 'bench', 'bundles');
  const callee = await bundleExample(example('examples/http-api-callee'), {
    outDir: join(outRoot, 'callee'),
  });
  const calleeSdkExternal = await bundleExample(example('examples/http-api-callee'), {
    externalAwsSdk: true,
    outDir: join(outRoot, 'callee-sdk-external'),
  });
  // The baseline goes through the same esbuild settings as the example.
  const baseline = await bundleExample(example('bench'), {
    entry: 'cold-start/baseline-handler.ts',
    outDir: join(outRoot, 'baseline'),
  });

  const baselineSdk = await bundleExample(example('bench'), {
    entry: 'cold-start/baseline-sdk-handler.ts',
    outDir: join(outRoot, 'baseline-sdk'),
  });
  const baselineSdkExternal = await bundleExample(example('bench'), {
    entry: 'cold-start/baseline-sdk-handler.ts',
    externalAwsSdk: true,
    outDir: join(outRoot, 'baseline-sdk-external'),
  });
  const baselineExtension = await bundleExample(example('bench'), {
    entry: 'cold-start/baseline-extension-handler.ts',
    outDir: join(outRoot, 'baseline-extension'),
  });

  context.log(`cold start: ${size.processes} fresh processes per bundle`);
  const samples = {
    callee: [] as number[],
    calleeSdkExternal: [] as number[],
    baseline: [] as number[],
    baselineSdk: [] as number[],
    calleeExtension: [] as number[],
    calleeExtensionSdkExternal: [] as number[],
  };
  importOnce(repoRoot, baseline.file); // warms the OS file cache, untimed
  for (let i = 0; i < size.processes; i++) {
    samples.baseline.push(importOnce(repoRoot, baseline.file));
    samples.callee.push(importOnce(repoRoot, callee.file));
    samples.calleeSdkExternal.push(importOnce(repoRoot, calleeSdkExternal.file));
    samples.baselineSdk.push(importOnce(repoRoot, baselineSdk.file));
    samples.calleeExtension.push(importOnce(repoRoot, callee.file, { NHI_SECRETS_SOURCE: 'extension' }));
    samples.calleeExtensionSdkExternal.push(
      importOnce(repoRoot, calleeSdkExternal.file, { NHI_SECRETS_SOURCE: 'extension' }),
    );
  }
  const baselineImport = measurement(
    'middy + Powertools Logger/Metrics bundle',
    'ms',
    summarise(samples.baseline),
  );
  const baselineSize = singleValue('middy + Powertools Logger/Metrics bundle', 'bytes', baseline.bytes);
  const invocation = await coldInvocationFigures(
    context,
    repoRoot,
    {
      callee: callee.file,
      calleeSdkExternal: calleeSdkExternal.file,
      baseline: baseline.file,
      baselineSdkExternal: baselineSdkExternal.file,
      baselineExtension: baselineExtension.file,
    },
    size.processes,
  );
  const method = (what: string) =>
    `${what} Bundles: esbuild, minified ESM, node20 target (examples/bundle.ts). Import time: performance.now() around import() of the bundle in a fresh node process (handler built at module scope), median of ${size.processes}, bundles alternating.`;
  return [
    figure({
      id: 'coldStartImport',
      title: 'Cold start: import + build handler (AWS SDK bundled)',
      subject: measurement('http-api-callee bundle', 'ms', summarise(samples.callee)),
      baseline: baselineImport,
      ratioOf: 'subject/baseline',
      target: { comparison: '<=', value: 1.3 },
      method: method('AWS SDK (Secrets Manager client) inside the bundle.'),
    }),
    figure({
      id: 'coldStartImportSdkExternal',
      title: 'Cold start: import + build handler (AWS SDK external)',
      subject: measurement(
        'http-api-callee bundle, SDK from node_modules',
        'ms',
        summarise(samples.calleeSdkExternal),
      ),
      baseline: baselineImport,
      ratioOf: 'subject/baseline',
      target: { comparison: '<=', value: 1.3 },
      method: method(
        '@aws-sdk/* and @smithy/* external, loaded from node_modules as the Lambda runtime provides them.',
      ),
    }),
    figure({
      id: 'coldStartImportVsSdkBaseline',
      title: 'Cold start: import + build handler vs a baseline that also creates a Secrets Manager client',
      subject: measurement('http-api-callee bundle', 'ms', summarise(samples.callee)),
      baseline: measurement(
        'middy + Powertools + SecretsManagerClient bundle',
        'ms',
        summarise(samples.baselineSdk),
      ),
      ratioOf: 'subject/baseline',
      details: { baselineBytes: baselineSdk.bytes },
      method: method(
        'What nhi-dns adds to a function that already reads a secret (bench/cold-start/baseline-sdk-handler.ts); no target set by the issue.',
      ),
    }),
    figure({
      id: 'coldStartImportExtension',
      title: 'Cold start: import + build handler, secrets from the Parameters and Secrets extension',
      subject: measurement(
        'http-api-callee bundle, NHI_SECRETS_SOURCE=extension',
        'ms',
        summarise(samples.calleeExtension),
      ),
      baseline: baselineImport,
      ratioOf: 'subject/baseline',
      target: { comparison: '<=', value: 1.3 },
      method: method(
        "The same bundle (SDK inside) with secrets-inject's source 'extension': the SDK, imported on first use only, is never evaluated at init.",
      ),
    }),
    figure({
      id: 'coldStartImportExtensionSdkExternal',
      title: 'Cold start: import + build handler, extension source, AWS SDK external',
      subject: measurement(
        'http-api-callee bundle, SDK external, NHI_SECRETS_SOURCE=extension',
        'ms',
        summarise(samples.calleeExtensionSdkExternal),
      ),
      baseline: baselineImport,
      ratioOf: 'subject/baseline',
      target: { comparison: '<=', value: 1.3 },
      details: {
        bundleBytes: calleeSdkExternal.bytes,
        bundleRatioToBaseline: Number((calleeSdkExternal.bytes / baseline.bytes).toFixed(2)),
      },
      method: method(
        'As deployed on the Node.js runtime (SDK provided, so external) with the extension as the secrets source: the SDK is never loaded.',
      ),
    }),
    figure({
      id: 'bundleSize',
      title: 'Bundle size (AWS SDK bundled)',
      subject: singleValue('http-api-callee bundle', 'bytes', callee.bytes),
      baseline: baselineSize,
      ratioOf: 'subject/baseline',
      method: method('Size of the minified bundle.'),
    }),
    figure({
      id: 'bundleSizeSdkExternal',
      title: 'Bundle size (AWS SDK external)',
      subject: singleValue('http-api-callee bundle', 'bytes', calleeSdkExternal.bytes),
      baseline: baselineSize,
      ratioOf: 'subject/baseline',
      target: { comparison: '<=', value: 2 },
      method: method(
        "Size of the minified bundle without @aws-sdk/* and @smithy/*, as deployed with the extension source (the issue's target: at most twice the Middy + Powertools bundle).",
      ),
    }),
    ...invocation,
  ];
};

/** Bundle size and cold-start import figures. */
export const coldStartBench: BenchSuite = { name: 'cold-start', run };
