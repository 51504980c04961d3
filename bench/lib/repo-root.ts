import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: the nearest folder up from this module holding DESIGN.md. Works from the
 * sources and from the single bundle scripts/run-ts.mjs writes to .tmp/run/.
 */
export const findRepoRoot = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'DESIGN.md'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('repository root (DESIGN.md) not found');
    dir = parent;
  }
  return dir;
};

/**
 * Directory `examples/bundle.ts` resolves examples from: its own folder when run from source,
 * the bundle's folder when scripts/run-ts.mjs bundled everything into one file.
 */
export const bundleExampleBaseDir = (): string => {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith(join('bench', 'lib')) ? join(findRepoRoot(), 'examples') : here;
};
