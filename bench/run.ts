/**
 * `npm run bench [-- --quick] [-- --only <suite>[,<suite>]]`: runs every `*.bench.ts` suite in
 * this process (cold starts spawn their own), then writes `bench/results.json` and
 * `bench/results.md`. `--quick` uses small counts to prove the benchmarks work (CI) and exits 0
 * unless one throws; it does not judge speed. Quick and `--only` runs write to `.tmp/bench/` so
 * that the published figures stay.
 */
import { mkdirSync, writeFileSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { selectEd25519Backend } from '@nhi-dns/core';
import { burstBench } from '../examples/http-api-callee/src/burst.bench.js';
import { chainBench } from '../examples/http-api-callee/src/chain.bench.js';
import { coldStartBench } from '../examples/http-api-callee/src/cold-start.bench.js';
import { dnssecBench } from './dnssec.bench.js';
import { dynamodbBench } from './dynamodb.bench.js';
import type { BenchContext, BenchSuite, Figure } from './lib/figure.js';
import { findRepoRoot } from './lib/repo-root.js';
import { type BenchResults, machineInfo, renderMarkdown } from './lib/report.js';
import { memoryBench } from './memory.bench.js';
import { nativeVerifyBench } from './native-verify.bench.js';
import { peersBench } from './peers.bench.js';
import { recordsBench } from './records.bench.js';
import { resolverBench } from './resolver.bench.js';
import { signingBench } from './signing.bench.js';
import { workloadTokenBench } from './workload-token.bench.js';

/** Every suite, in run order. */
const SUITES: readonly BenchSuite[] = [
  resolverBench,
  dnssecBench,
  chainBench,
  burstBench,
  coldStartBench,
  signingBench,
  workloadTokenBench,
  nativeVerifyBench,
  recordsBench,
  dynamodbBench,
  peersBench,
  memoryBench,
];

const parseArgs = (argv: readonly string[]) => {
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').split(',').filter(Boolean) : undefined;
  const unknown = (only ?? []).filter((name) => !SUITES.some((suite) => suite.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown suite ${unknown.join(', ')}; known: ${SUITES.map((s) => s.name).join(', ')}`);
  }
  return { quick: argv.includes('--quick'), only };
};

// Progress goes straight to fd 2: the benchmarks silence process.stdout/stderr while timing.
const log = (message: string) => {
  writeSync(2, `[bench] ${message}\n`);
};

const main = async (): Promise<number> => {
  const { quick, only } = parseArgs(process.argv.slice(2));
  // Floors and peers are timed with node:crypto's verify: so is ours, unless a suite says
  // otherwise (native-verify measures the optional sodium-native verifier against it).
  selectEd25519Backend('node');
  const started = Date.now();
  const context: BenchContext = { quick, log };
  const figures: Figure[] = [];
  const errors: Record<string, string> = {};
  for (const suite of SUITES) {
    if (only !== undefined && !only.includes(suite.name)) continue;
    log(`${suite.name}: start`);
    const suiteStarted = Date.now();
    try {
      figures.push(...(await suite.run(context)));
    } catch (error) {
      errors[suite.name] = error instanceof Error ? error.message : String(error);
      log(`${suite.name}: FAILED ${errors[suite.name]}`);
      if (error instanceof Error && error.stack !== undefined) log(error.stack);
    }
    log(`${suite.name}: ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`);
  }
  const results: BenchResults = {
    startedAt: new Date(started).toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 100) / 10,
    quick,
    machine: machineInfo(),
    figures,
    errors,
  };
  // Only a full run replaces the published bench/results.*; quick and partial runs go to .tmp/bench/.
  const repoRoot = findRepoRoot();
  const outDir = quick || only !== undefined ? join(repoRoot, '.tmp', 'bench') : join(repoRoot, 'bench');
  mkdirSync(outDir, { recursive: true });
  const stem = quick ? 'results.quick' : only === undefined ? 'results' : 'results.partial';
  const markdown = renderMarkdown(results);
  writeFileSync(join(outDir, `${stem}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, `${stem}.md`), markdown);
  process.stdout.write(markdown);
  log(`wrote ${relative(repoRoot, join(outDir, stem))}.{json,md} in ${results.durationSeconds} s`);
  return Object.keys(errors).length === 0 ? 0 : 1;
};

process.exitCode = await main();
