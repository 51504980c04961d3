/**
 * N processes racing for the same jti against one engine: claim-racer.ts is bundled once (as
 * scripts/run-ts.mjs bundles: workspace packages from source, registry packages from
 * node_modules), then spawned N times. Each round writes the same order to every racer's stdin
 * back to back (the start barrier: every racer waits, warmed up, for that line) and collects
 * one answer from each.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { RaceAnswer, RaceOrder } from './claim-racer.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Bundles claim-racer.ts into .tmp/dynamodb/ and returns the bundle's path. */
export const bundleRacer = async (): Promise<string> => {
  const outDir = join(REPO_ROOT, '.tmp', 'dynamodb');
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'claim-racer.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./claim-racer.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    logLevel: 'warning',
    plugins: [
      {
        name: 'external-registry-packages',
        setup(pluginBuild) {
          pluginBuild.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@nhi-dns/') ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  return outfile;
};

interface Racer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: Interface;
  /** Resolvers waiting for the racer's next line, in order. */
  readonly waiting: Array<(line: string) => void>;
  readonly queued: string[];
  stderr: string;
}

/** The racers of one run. */
export interface RacerPool {
  readonly size: number;
  /** Sends `orders[i]` to racer i (one shared order when given one), all back to back; resolves with every answer. */
  race(orders: RaceOrder | readonly RaceOrder[]): Promise<RaceAnswer[]>;
  /** Closes every racer's stdin and waits until each has exited. */
  close(): Promise<void>;
}

const nextLine = (racer: Racer, timeoutMs: number): Promise<string> => {
  const queued = racer.queued.shift();
  if (queued !== undefined) return Promise.resolve(queued);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(`racer ${racer.child.pid} silent for ${timeoutMs} ms; stderr: ${racer.stderr.trim()}`),
      );
    }, timeoutMs);
    racer.waiting.push((line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
};

/** Spawns `size` racers of `bundle` against `endpoint`/`tableName` and waits until all are warmed up. */
export const startRacers = async (
  bundle: string,
  size: number,
  endpoint: string,
  tableName: string,
): Promise<RacerPool> => {
  const racers: Racer[] = Array.from({ length: size }, (_, index) => {
    const child = spawn(process.execPath, [bundle, endpoint, tableName, `racer-${index}`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const racer: Racer = {
      child,
      lines: createInterface({ input: child.stdout }),
      waiting: [],
      queued: [],
      stderr: '',
    };
    child.stderr.on('data', (chunk: Buffer) => {
      racer.stderr += chunk.toString('utf8');
    });
    racer.lines.on('line', (line) => {
      const waiter = racer.waiting.shift();
      if (waiter === undefined) racer.queued.push(line);
      else waiter(line);
    });
    return racer;
  });
  const exits = racers.map(
    ({ child }) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      }),
  );
  const close = async () => {
    for (const { child } of racers) child.stdin.end();
    const timer = setTimeout(() => {
      for (const { child } of racers) if (child.exitCode === null) child.kill('SIGKILL');
    }, 5_000);
    await Promise.all(exits);
    clearTimeout(timer);
  };
  try {
    const ready = await Promise.all(racers.map((racer) => nextLine(racer, 20_000)));
    for (const line of ready) {
      if (JSON.parse(line).ready !== true) throw new Error(`racer not ready: ${line}`);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    size,
    race: async (orders) => {
      const answers = racers.map((racer) => nextLine(racer, 10_000));
      // The barrier: every racer is blocked on its stdin; these writes release them together.
      racers.forEach(({ child }, index) => {
        const order = Array.isArray(orders) ? orders[index] : orders;
        child.stdin.write(`${JSON.stringify(order)}\n`);
      });
      return (await Promise.all(answers)).map((line) => JSON.parse(line) as RaceAnswer);
    },
    close,
  };
};

/** Most claims of `answers` in flight at one instant (1 = none overlapped). */
export const peakOverlap = (answers: readonly RaceAnswer[]): number => {
  const edges = answers.flatMap(({ start, end }) => [
    { at: start, delta: 1 },
    { at: end, delta: -1 },
  ]);
  // Ends sort before starts at the same instant: touching is not overlapping.
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let peak = 0;
  for (const { delta } of edges) {
    open += delta;
    peak = Math.max(peak, open);
  }
  return peak;
};
