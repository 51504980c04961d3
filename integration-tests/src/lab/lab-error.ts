/**
 * Why the DNS lab could not do what a test asked. Tests fail with it (never skip), so its
 * message says what to do: install the tools, or which daemon said what.
 */
export class LabError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabError';
  }
}
