// Child process of the cold-invocation benchmark: imports one bundle (its handler is built at
// module scope, as in Lambda's init phase), then serves one event, as the first invocation of a
// new execution environment does, and writes how long each part took to the file named last.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [bundle, eventFile, outFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const started = performance.now();
const { handler } = await import(pathToFileURL(bundle).href);
const imported = performance.now();
const context = { functionName: 'ledger', awsRequestId: 'cold', getRemainingTimeInMillis: () => 3000 };
const result = await handler(event, context);
const answered = performance.now();
writeFileSync(
  outFile,
  JSON.stringify({
    importMs: imported - started,
    firstInvokeMs: answered - imported,
    totalMs: answered - started,
    statusCode: result?.statusCode,
  }),
);
// Leave at once: background work (a refresh, a socket) must not count, nor hold the process.
process.exit(0);
