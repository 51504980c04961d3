/**
 * Bundles an example into a Lambda deployment artifact with esbuild, as a team would deploy it:
 * one minified ESM file, workspace packages taken from their sources, Node 20+ target.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const examplesDir = dirname(fileURLToPath(import.meta.url));

/** Options of {@link bundleExample}. */
export interface BundleOptions {
  /** Keep `@aws-sdk/*` out of the bundle (the Lambda Node.js runtime ships SDK v3). Default `false`. */
  externalAwsSdk?: boolean;
  /** Output directory. Default `<repo>/.tmp/bundles/<example>`. */
  outDir?: string;
  /** Entry file inside the example. Default `src/handler.ts`. */
  entry?: string;
}

/** A built bundle: where it is and how big. */
export interface Bundle {
  readonly file: string;
  readonly bytes: number;
}

/** Bundles `examples/<example>/src/handler.ts` and returns the file and its size. */
export const bundleExample = async (example: string, options: BundleOptions = {}): Promise<Bundle> => {
  const outDir =
    options.outDir ??
    join(
      examplesDir,
      '..',
      '.tmp',
      'bundles',
      `${example}${options.externalAwsSdk === true ? '-sdk-external' : ''}`,
    );
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'index.mjs');
  await build({
    entryPoints: [join(examplesDir, example, options.entry ?? 'src/handler.ts')],
    outfile: file,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    external: options.externalAwsSdk === true ? ['@aws-sdk/*', '@smithy/*'] : [],
    // CommonJS dependencies (dns-packet, parts of the AWS SDK) call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __nhiCreateRequire } from 'node:module'; const require = __nhiCreateRequire(import.meta.url);",
    },
    logLevel: 'error',
    legalComments: 'none',
  });
  return { file, bytes: statSync(file).size };
};
