// Child process of the cold-start benchmark: imports one bundle (which builds its handler at
// module scope, as Lambda's init phase does) and prints the milliseconds that took.
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const started = performance.now();
const module = await import(pathToFileURL(process.argv[2]).href);
const importMs = performance.now() - started;
if (typeof module.handler !== 'function') throw new Error('bundle exports no handler');
process.stdout.write(`${JSON.stringify({ importMs, sinceProcessStartMs: performance.now() })}\n`);
// Leave at once: a prefetch still in flight must not count, nor hold the process.
process.exit(0);
