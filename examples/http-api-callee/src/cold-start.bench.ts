/**
 * Cold start of the http-api-callee Lambda: its minified esbuild bundle (with and without the AWS
 * SDK external, as the Node.js runtime provides SDK v3) and the time a fresh Node process takes to
 * import it and build the handler, against a bundle of only `@middy/core` + Powertools Logger and
 * Metrics built the same way (bench/cold-start/baseline-handler.ts). Median of N processes each,
 * alternating between bundles.
 */
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import {
  type BenchContext,
  type BenchSuite,
  type Figure,
  figure,
  measurement,
  singleValue,
} from '../../../bench/lib/figure.js';
import { bundleExampleBaseDir, findRepoRoot } from '../../../bench/lib/repo-root.js';
import { summarise } from '../../../bench/lib/stats.js';
import { bundleExample } from '../../bundle.js';

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
      method: method('Size of the minified bundle without @aws-sdk/* and @smithy/*.'),
    }),
  ];
};

/** Bundle size and cold-start import figures. */
export const coldStartBench: BenchSuite = { name: 'cold-start', run };
