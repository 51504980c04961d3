/**
 * Runs a probe script in a fresh `node` process without blocking this one (the loopback servers
 * the probe calls live here), and returns the JSON it wrote to the file named by its last argument.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Milliseconds a probe may run before it is killed (and the benchmark fails). */
const PROBE_TIMEOUT_MS = 120_000;

/**
 * Spawns `node <args...> <outFile>` with `env` (stdout ignored: the handlers under test log
 * there) and resolves to the parsed contents of `outFile`; rejects with the first 500 characters
 * of stderr when the process fails.
 */
export const runProbe = <T>(args: readonly string[], env: Record<string, string>): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const outFile = join(tmpdir(), `nhi-probe-${process.pid}-${process.hrtime.bigint()}.json`);
    const child = spawn(process.execPath, [...args, outFile], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill(), PROBE_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0)
        return reject(new Error(`probe ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`));
      try {
        resolve(JSON.parse(readFileSync(outFile, 'utf8')) as T);
      } catch (error) {
        reject(error);
      } finally {
        rmSync(outFile, { force: true });
      }
    });
  });
