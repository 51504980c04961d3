#!/usr/bin/env node
// Builds dist/vendor/dns-packet.js: dns-packet (CommonJS) bundled once into an ES module, so that
// users' bundlers never meet its `require('buffer')`. esbuild turns such a require inside an ESM
// bundle into a call that throws "Dynamic require of "buffer" is not supported" at import; here
// `buffer` is aliased to an ES module that re-exports Node's own, which esbuild can hoist to a
// static `import`. Sources and tests import `#dns-packet`, which maps to the real package there
// (package.json "imports", condition `source`) and to this file in the published build.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(packageDir, 'package.json'));
const versionOf = (name) => JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
const outfile = join(packageDir, 'dist', 'vendor', 'dns-packet.js');
mkdirSync(dirname(outfile), { recursive: true });
await build({
  stdin: {
    contents: "export { default } from 'dns-packet';",
    resolveDir: packageDir,
    loader: 'js',
  },
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  alias: { buffer: join(packageDir, 'scripts', 'buffer-esm.js') },
  banner: {
    js: `// dns-packet ${versionOf('dns-packet')} (MIT, github.com/mafintosh/dns-packet) and @leichtgewicht/ip-codec (MIT), bundled as an ES module by scripts/vendor-dns-packet.mjs.`,
  },
  logLevel: 'error',
});
