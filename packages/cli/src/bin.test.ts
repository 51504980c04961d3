import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));

describe('bin (bundled and spawned)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nhi-dns-bin-'));
  const outfile = join(dir, 'nhi-dns.mjs');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints help and exits 0; exits 2 on a usage error', async () => {
    await build({
      entryPoints: [join(here, 'bin.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      logLevel: 'silent',
      // Some SDK dependencies are CommonJS and call require().
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
    const help = await run(process.execPath, [outfile, '--help']);
    expect(help.stdout).toContain('Usage: nhi-dns');
    expect(help.stdout).toContain('rotate');
    await expect(run(process.execPath, [outfile, 'publish'])).rejects.toMatchObject({ code: 2 });
  }, 60_000);
});
