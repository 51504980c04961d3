import { jest } from '@jest/globals';

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
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    }),
  );
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
      for (const spy of spies) spy.mockRestore();
    },
  };
};
