import fc from 'fast-check';

/**
 * One fuzz target: an arbitrary of untrusted input and the invariants every input must keep.
 * `check` throws (an `Error` naming the broken invariant) when an invariant fails; the runner
 * and the `*.fuzz.test.ts` jest tests feed it the same arbitrary, at different volumes.
 */
export interface FuzzTarget<T = unknown> {
  /** Short stable name, used on the command line (`npm run fuzz -- --target <name>`). */
  readonly name: string;
  /** What the target feeds and to what. */
  readonly description: string;
  /** Untrusted inputs: random, structured and mutated from real samples (called after `prepare`). */
  arbitrary(): fc.Arbitrary<T>;
  /** One-time setup before the first case (keys, signed samples). */
  prepare?(): Promise<void>;
  /** Runs one input through the parser(s) and asserts the invariants. */
  check(input: T): void | Promise<void>;
}

/**
 * Longest one case may take. Parsers run synchronously, so a hang cannot be interrupted; a
 * case that takes this long on a loaded machine is a denial-of-service finding in itself.
 */
export const CASE_BUDGET_MS = 1000;

/** Raised when an invariant does not hold; the message names it (never key material). */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolation';
  }
}

/** Throws {@link InvariantViolation} with `message` unless `condition` holds. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}

/** Wraps a target's check with the per-case time bound. */
export const timedCheck =
  <T>(target: FuzzTarget<T>) =>
  async (input: T): Promise<void> => {
    const started = performance.now();
    await target.check(input);
    const elapsed = performance.now() - started;
    invariant(elapsed < CASE_BUDGET_MS, `${target.name}: one case took ${elapsed.toFixed(0)} ms`);
  };

/** Runs `target` for `numRuns` cases with fast-check (seeded: a failure prints its seed and path). */
export const runTarget = async <T>(
  target: FuzzTarget<T>,
  parameters: { numRuns: number; seed?: number },
): Promise<void> => {
  await target.prepare?.();
  await fc.assert(fc.asyncProperty(target.arbitrary(), timedCheck(target)), {
    numRuns: parameters.numRuns,
    ...(parameters.seed === undefined ? {} : { seed: parameters.seed }),
    // Shrinking a failure of a 100 000-case run may take long; a clear seed and path is enough.
    endOnFailure: true,
  });
};
