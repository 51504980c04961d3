import { readFileSync } from 'node:fs';

/**
 * The version of `@nhi-dns/cli`, read from its own `package.json` (one directory above both
 * `src/` and `dist/`) when asked for, so that it can never disagree with the published package.
 * Read lazily: importing the CLI does no I/O.
 *
 * @throws {Error} when the manifest cannot be read or has no version (a broken install).
 */
export const packageVersion = (): string => {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const version = (manifest as { version?: unknown } | null)?.version;
  if (typeof version !== 'string' || version === '')
    throw new Error('package.json of @nhi-dns/cli has no version');
  return version;
};
