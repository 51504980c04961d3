/** AWS error names that mean "slow down and try again": the request was not applied. */
export const RETRYABLE_ERROR_NAMES: ReadonlySet<string> = new Set([
  // Route 53: per-account rate limit (5 requests/s per account for most APIs, with bursts).
  'Throttling',
  // Secrets Manager and most JSON-protocol services.
  'ThrottlingException',
  // Route 53: another change to the same hosted zone is still PENDING.
  'PriorRequestNotComplete',
]);

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** Attempts in total, the first included. Default `8`. */
  readonly maxAttempts?: number;
  /** Ceiling of the first backoff, in milliseconds. Default `500`. */
  readonly baseDelayMs?: number;
  /** Largest backoff, in milliseconds. Default `20_000` (a pending Route 53 change can take a minute). */
  readonly maxDelayMs?: number;
  /** Waits `ms` milliseconds; injectable so that tests do not wait. Default: `setTimeout`. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Uniform random number in `[0, 1)`. Default `Math.random`. */
  readonly random?: () => number;
  /** Called before each backoff, e.g. to tell the operator why the command is waiting. */
  readonly onRetry?: (event: { attempt: number; delayMs: number; errorName: string }) => void;
}

/** Default `sleep` of {@link withRetry}. */
export const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** True when `error` is a throttling or "prior request" error worth retrying. */
export const isRetryableAwsError = (error: unknown): boolean =>
  error instanceof Error && RETRYABLE_ERROR_NAMES.has(error.name);

/**
 * Runs `operation`, retrying it on {@link RETRYABLE_ERROR_NAMES} with exponential backoff and
 * full jitter (a uniform delay in `[0, min(maxDelay, base * 2^n)]`), so that pipelines that
 * hit one account at the same time spread out instead of retrying in lockstep. Any other error,
 * or the last throttling error once `maxAttempts` is spent, is rethrown unchanged.
 */
export const withRetry = async <T>(operation: () => Promise<T>, options: RetryOptions = {}): Promise<T> => {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 8);
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 20_000;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= maxAttempts || !isRetryableAwsError(error)) throw error;
      const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.floor(random() * ceiling);
      options.onRetry?.({ attempt, delayMs, errorName: (error as Error).name });
      await sleep(delayMs);
    }
  }
};
