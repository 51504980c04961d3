#!/usr/bin/env node
// Runs a TypeScript entry point without a build step: esbuild bundles it (workspace packages
// resolved to their sources through the `source` export condition) into .tmp/ and Node runs it.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs <entry.ts> [args...]');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = join(root, '.tmp', 'run');
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, `${basename(entry, '.ts')}.mjs`);
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['source'],
  sourcemap: 'inline',
  logLevel: 'warning',
  // Workspace packages are bundled from source; registry packages stay external and load from
  // node_modules as they would in production.
  plugins: [
    {
      name: 'external-registry-packages',
      setup(pluginBuild) {
        // The resolver's `#dns-packet` alias means the dns-packet package in source form.
        pluginBuild.onResolve({ filter: /^#dns-packet$/ }, () => ({ path: 'dns-packet', external: true }));
        pluginBuild.onResolve({ filter: /^[^./#]/ }, (args) =>
          args.path.startsWith('@nhi-dns/') ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});
const result = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
