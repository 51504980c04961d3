/** Lines written to stdout and stderr while capturing, and a way to stop. */
export interface CapturedOutput {
  /** Every non-empty line written so far. */
  readonly lines: string[];
  /** Lines that parse as JSON (Powertools log lines and EMF blobs). */
  json(): Array<Record<string, unknown>>;
  /** EMF blobs only (entries with `_aws`). */
  emf(): Array<Record<string, unknown>>;
  restore(): void;
}

/**
 * Captures what Powertools writes: its Logger and Metrics print through their own `Console`
 * on `process.stdout` (info, EMF) and `process.stderr` (warnings, errors), so spying on
 * `console.log` sees nothing.
 */
export const captureOutput = (): CapturedOutput => {
  const lines: string[] = [];
  // Plain patching rather than jest spies, so demos and benchmarks can use it too.
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      lines.push(
        ...(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()).split('\n').filter(Boolean),
      );
      return true;
    }) as typeof stream.write;
  }
  const json = () =>
    lines.flatMap((line) => {
      try {
        const value: unknown = JSON.parse(line);
        return typeof value === 'object' && value !== null ? [value as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  return {
    lines,
    json,
    emf: () => json().filter((entry) => '_aws' in entry),
    restore: () => {
      streams.forEach((stream, i) => {
        stream.write = originals[i] ?? stream.write;
      });
    },
  };
};
