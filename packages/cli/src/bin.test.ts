import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));

describe('bin (bundled and spawned)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nhi-dns-bin-'));
  // Laid out as installed: dist/ next to package.json, which --version reads at run time.
  const outfile = join(dir, 'dist', 'nhi-dns.mjs');
  mkdirSync(join(dir, 'dist'));
  copyFileSync(join(here, '..', 'package.json'), join(dir, 'package.json'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints help and its version and exits 0; exits 2 on a usage error', async () => {
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
    const { version } = JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8'));
    const printed = await run(process.execPath, [outfile, '--version']);
    expect(printed.stdout).toBe(`${version}\n`);
    await expect(
      run(process.execPath, [
        outfile,
        'check',
        '--service',
        'a',
        '--env',
        'b',
        '--zone',
        'c',
        '--server',
        'nonsense',
      ]),
    ).rejects.toMatchObject({ code: 2 });
  }, 60_000);
});
