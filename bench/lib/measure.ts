/** Timing loops shared by the benchmarks: one sample per call, in microseconds. */

/** Microseconds since `start` (a `process.hrtime.bigint()` reading). */
export const microsSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1000;

/** A function to time: sync or async. `index` lets a candidate consume pre-built inputs. */
export type Candidate = (index: number) => unknown;

/** Options of {@link interleave}. */
export interface InterleaveOptions {
  /** Rounds; each round runs every candidate `callsPerRound` times in turn. */
  rounds: number;
  callsPerRound: number;
  /** Untimed calls of each candidate before the first round (JIT warm-up). Default `callsPerRound`. */
  warmupCalls?: number;
}

/**
 * Times every candidate call by call, rounds interleaved across candidates so that drift in the
 * machine's load (other engineers' tests share the 2 cores) hits every candidate alike.
 * Each candidate receives a running index (0, 1, 2, ... over warm-up and timed calls), so that
 * candidates that must not repeat an input (a proof can be used once) can index pre-built ones.
 * @returns µs per call, per candidate name.
 */
export const interleave = async <Names extends string>(
  candidates: Record<Names, Candidate>,
  options: InterleaveOptions,
): Promise<Record<Names, number[]>> => {
  const names = Object.keys(candidates) as Names[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Names, number[]>;
  const next = Object.fromEntries(names.map((name) => [name, 0])) as Record<Names, number>;
  const call = (name: Names): unknown => candidates[name](next[name]++);
  for (const name of names) {
    for (let i = 0; i < (options.warmupCalls ?? options.callsPerRound); i++) {
      const result = call(name);
      if (result instanceof Promise) await result;
    }
  }
  for (let round = 0; round < options.rounds; round++) {
    for (const name of names) {
      const bucket = samples[name];
      for (let i = 0; i < options.callsPerRound; i++) {
        const start = process.hrtime.bigint();
        const result = call(name);
        if (result instanceof Promise) await result;
        bucket.push(microsSince(start));
      }
    }
  }
  return samples;
};
