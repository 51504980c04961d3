// Test helpers shared by this package's `serverless package` test and the serverless-offline
// round trip in integration-tests: a Serverless service directory with this plugin installed
// (bundled from its sources) and the real Serverless v3 CLI run in it without an AWS account.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** The plugin's sources bundled into one ES module (workspace packages from source, the rest external). */
export const bundlePlugin = async (outfile: string): Promise<void> => {
  await build({
    entryPoints: [join(here, 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    logLevel: 'warning',
    plugins: [
      {
        name: 'external-registry-packages',
        setup(pluginBuild) {
          pluginBuild.onResolve({ filter: /^#dns-packet$/ }, () => ({ path: 'dns-packet', external: true }));
          pluginBuild.onResolve({ filter: /^[^./#]/ }, (args) =>
            args.path.startsWith('@nhi-dns/') ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
};

/**
 * Makes `plugins: [serverless-nhi-dns]` resolve from `serviceDir`'s node_modules, as after
 * `npm install`, to the bundle at `bundleFile`.
 */
export const installPlugin = (serviceDir: string, bundleFile: string): void => {
  const dir = join(serviceDir, 'node_modules', 'serverless-nhi-dns');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'serverless-nhi-dns', version: '0.0.0-test', type: 'module', main: 'index.js' }),
  );
  writeFileSync(
    join(dir, 'index.js'),
    `export { default } from ${JSON.stringify(pathToFileURL(bundleFile).href)};\n`,
  );
};

/** Path of the Serverless v3 CLI this workspace installs. */
export const serverlessBin = (): string =>
  join(dirname(createRequire(import.meta.url).resolve('serverless/package.json')), 'bin/serverless.js');

/**
 * Environment for the Serverless CLI: no account, none of the machine's credentials (example
 * keys), a fresh HOME, no telemetry or notifications.
 */
export const serverlessEnv = (home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '',
  HOME: home,
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  CI: '1',
  ...extra,
});
