/** Options of {@link eventually}. */
export interface EventuallyOptions {
  /** Give up after this many ms. */
  timeoutMs: number;
  /** Pause between attempts, ms. Default 100. */
  intervalMs?: number;
}

/** The value that satisfied the predicate, and when. */
export interface Eventually<T> {
  value: T;
  /** Milliseconds from the call to the satisfying attempt. */
  elapsedMs: number;
  /** Attempts made, the satisfying one included. */
  attempts: number;
}

/**
 * Repeats `attempt` until `done(value)` holds, for changes that show only once a TTL ran out.
 * @throws {Error} with the last value when `timeoutMs` passes first.
 */
export const eventually = async <T>(
  attempt: () => Promise<T>,
  done: (value: T) => boolean,
  options: EventuallyOptions,
): Promise<Eventually<T>> => {
  const started = Date.now();
  for (let attempts = 1; ; attempts++) {
    const value = await attempt();
    const elapsedMs = Date.now() - started;
    if (done(value)) return { value, elapsedMs, attempts };
    if (elapsedMs >= options.timeoutMs) {
      throw new Error(
        `not done after ${elapsedMs} ms and ${attempts} attempts; last: ${JSON.stringify(value)}`,
      );
    }
    await new Promise((resume) => setTimeout(resume, options.intervalMs ?? 100));
  }
};
