/**
 * The wall-clock time (ms since epoch) by which I/O for this invocation must be done: the Lambda's
 * remaining time less `marginMs`, so a slow dependency is given up on (and the request denied)
 * before Lambda kills the invocation. `undefined` when the context cannot tell (tests, non-Lambda).
 */
export const lambdaDeadline = (context: unknown, marginMs: number): number | undefined => {
  const remaining = (
    context as { getRemainingTimeInMillis?: () => number } | undefined
  )?.getRemainingTimeInMillis?.();
  return typeof remaining === 'number' && Number.isFinite(remaining)
    ? Date.now() + Math.max(remaining - marginMs, 0)
    : undefined;
};
