/**
 * `npm run fuzz`: every parser that sees untrusted bytes, at volume, then a spoofing soak.
 *
 *   npm run fuzz -- [--runs 100000] [--seed N] [--target dns-reply] [--soak-seconds 20]
 *
 * Each target runs `--runs` fast-check cases (seeded; a failure prints the seed and path to
 * replay it with `--seed`). Exit code 1 on any broken invariant or forged answer accepted.
 */
import { runSpoofingSoak } from './spoofing.js';
import { FUZZ_TARGETS, runTarget } from './targets/index.js';

interface Arguments {
  runs: number;
  seed: number;
  targets: string[];
  soakSeconds: number;
}

const parseArguments = (argv: readonly string[]): Arguments => {
  const parsed: Arguments = { runs: 100_000, seed: Date.now() % 2 ** 31, targets: [], soakSeconds: 20 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const number = Number(value);
    if (flag === '--target' && value !== undefined) parsed.targets.push(value);
    else if (flag === '--runs' && Number.isSafeInteger(number) && number > 0) parsed.runs = number;
    else if (flag === '--seed' && Number.isSafeInteger(number)) parsed.seed = number;
    else if (flag === '--soak-seconds' && Number.isFinite(number) && number >= 0) parsed.soakSeconds = number;
    else throw new Error(`unknown or invalid argument ${flag} ${value ?? ''}`);
  }
  const known = new Set(FUZZ_TARGETS.map((target) => target.name));
  for (const name of parsed.targets) if (!known.has(name)) throw new Error(`unknown target ${name}`);
  return parsed;
};

const main = async (): Promise<number> => {
  const args = parseArguments(process.argv.slice(2));
  const selected = FUZZ_TARGETS.filter((t) => args.targets.length === 0 || args.targets.includes(t.name));
  console.log(`fuzz: ${args.runs} cases per target, seed ${args.seed}`);
  let failed = false;
  const started = performance.now();
  for (const target of selected) {
    const t0 = performance.now();
    try {
      await runTarget(target, { numRuns: args.runs, seed: args.seed });
      const seconds = (performance.now() - t0) / 1000;
      console.log(
        `  ok    ${target.name.padEnd(12)} ${args.runs} cases in ${seconds.toFixed(1)} s  (${target.description})`,
      );
    } catch (error) {
      failed = true;
      console.log(`  FAIL  ${target.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (args.targets.length === 0 && args.soakSeconds > 0) {
    const report = await runSpoofingSoak({ durationMs: args.soakSeconds * 1000, concurrency: 8 });
    const ok = report.forgedAccepted === 0;
    failed ||= !ok;
    console.log(
      `  ${ok ? 'ok  ' : 'FAIL'}  spoofing     ${report.forgedSent.total} forged replies ` +
        `(random ID ${report.forgedSent.randomId}, wrong question ${report.forgedSent.wrongQuestion}, ` +
        `wrong port ${report.forgedSent.wrongPort}) against ${report.queries} queries ` +
        `for ${report.lookups} lookups (${report.failures} failed); ` +
        `${report.repliesDropped} dropped, ${report.forgedAccepted} accepted`,
    );
  }
  const total = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`fuzz: ${failed ? 'FAILED' : 'passed'} in ${total} s`);
  return failed ? 1 : 0;
};

process.exitCode = await main();
