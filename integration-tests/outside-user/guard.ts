/**
 * The outside-user guard (issue 12): does what a Lambda author outside this repo does, and fails
 * when any step breaks. Packs every publishable package, installs the tarballs into scratch apps
 * outside the workspace (no links, no path mappings), once with `@middy/core` 6 and once with 7,
 * writes README's Quick start handler verbatim, typechecks it (strict NodeNext, with and without
 * `skipLibCheck`), bundles it with plain esbuild (ESM, CJS, and SAM's esbuild defaults) and invokes
 * each bundle against a loopback DNS server and a loopback Secrets Manager stand-in.
 *
 * Run: `node scripts/run-ts.mjs integration-tests/outside-user/guard.ts` (after `npm ci`).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateAliasCommand, CreateKeyCommand, GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  decodeProof,
  decodeWorkloadProof,
  formatRecord,
  importRecordKeys,
  kidOfKmsKey,
  parseRecordSet,
  verifyWorkloadIdentity,
  verifyWorkloadProof,
} from '@nhi-dns/core';
import { startTestDnsServer } from '@nhi-dns/resolver/test-support';
import { exportJWK, SignJWT } from 'jose';
import { startLocalSecretsManager } from '../../examples/demo/src/local-secrets-manager.js';
import { startMoto } from '../src/lab/moto.js';
import { checkTarball } from './tarball.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const started = Date.now();
const failures: string[] = [];
const step = (message: string) =>
  console.log(`\n--- ${message} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
const check = (ok: boolean, what: string) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const run = (command: string, args: string[], cwd: string) =>
  spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });

/**
 * Packages used where stacks are defined, not inside a function: packed and checked like the
 * others, but not installed into the Lambda apps (their peers, aws-cdk-lib and serverless, are
 * big and no handler imports them).
 */
const DEPLOY_TIME_PACKAGES = new Set(['@nhi-dns/cdk', 'serverless-nhi-dns']);

const ZONE = 'auth.example.com';
const CALLER = `billing.prod.${ZONE}`;
const CALLEE = `ledger.prod.${ZONE}`;

/** The `ts` blocks of README's Quick start, exactly as the README shows them: callee, then caller. */
const quickStartBlocks = (readme: string): string[] => {
  const section = readme.split(/^## /m).find((part) => part.startsWith('Quick start')) ?? '';
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
};

/** The README's Quick start handler (the callee), exactly as the README shows it. */
export const quickStartFromReadme = (readme: string): string => {
  const [callee] = quickStartBlocks(readme);
  if (callee === undefined) throw new Error('README.md has no ```ts block under "## Quick start"');
  return callee;
};

/** The README's Quick start caller (identity-sign), the second `ts` block. */
export const callerQuickStartFromReadme = (readme: string): string => {
  const [, caller] = quickStartBlocks(readme);
  if (caller === undefined || !caller.includes('@nhi-dns/identity-sign')) {
    throw new Error('README.md has no identity-sign caller block under "## Quick start"');
  }
  return caller;
};

/** One request the capture server received. */
interface CapturedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** A loopback HTTP server that keeps each request and answers 200 `ok`. */
async function startCaptureServer() {
  const received: CapturedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

step('build and pack the publishable packages');
execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
const work = mkdtempSync(join(tmpdir(), 'nhi-outside-'));
const tarballDir = join(work, 'tarballs');
mkdirSync(tarballDir);
const packageDirs = readdirSync(join(root, 'packages')).filter((name) => {
  const manifest = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
  return manifest.private !== true;
});
const tarballs: Record<string, string> = {};
for (const dir of packageDirs) {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tarballDir], {
    cwd: join(root, 'packages', dir),
    encoding: 'utf8',
  });
  const [packed] = JSON.parse(out) as [{ name: string; filename: string; files: { path: string }[] }];
  tarballs[packed.name] = join(tarballDir, packed.filename);
  for (const problem of checkTarball(
    packed.files.map((file) => file.path),
    tarballs[packed.name]!,
  )) {
    check(false, `${packed.name}: ${problem}`);
  }
  check(true, `${packed.name} packed (${packed.files.length} files)`);
}

// A caller key and its record; the proofs are signed with jose, as a caller outside nhi-dns would.
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const rawPublicKey = Buffer.from((await exportJWK(publicKey)).x!, 'base64url').toString('base64');
const dns = await startTestDnsServer({
  zone: ZONE,
  records: [
    {
      name: CALLER,
      type: 'TXT',
      data: formatRecord({ service: 'billing', environment: 'prod', kid: 'k1', publicKey: rawPublicKey }),
    },
  ],
});
// The README's caller signs with a KMS key: moto's KMS (P-256; moto has no Ed25519 keys) holds it
// under the alias the README names, and the caller's record publishes it as keygen --kms does.
const moto = await startMoto();
const kms = new KMSClient(moto.clientConfig);
const kmsKey = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
const kmsKeyId = kmsKey.KeyMetadata?.KeyId ?? '';
await kms.send(new CreateAliasCommand({ AliasName: 'alias/nhi/prod/billing', TargetKeyId: kmsKeyId }));
const { PublicKey: kmsPublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: kmsKeyId }));
const kmsKid = kidOfKmsKey(kmsKeyId) ?? '';
const callerRecords = [
  formatRecord({ service: 'billing', environment: 'prod', kid: 'k1', publicKey: rawPublicKey }),
  formatRecord({
    service: 'billing',
    environment: 'prod',
    kid: kmsKid,
    keyType: 'p256',
    publicKey: Buffer.from(kmsPublicKey ?? []).toString('base64'),
    keyCustody: 'kms',
  }),
];
for (const data of callerRecords.slice(1)) dns.addRecord({ name: CALLER, type: 'TXT', data });
// The caller's key where `nhi-dns keygen` stores it, for the README's caller block.
const callerJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA', use: 'sig' };
const secretsManager = await startLocalSecretsManager({
  '/prod/ledger/db': '{"username":"ledger"}',
  '/prod/nhi/billing/signing-key': JSON.stringify(callerJwk),
});
/** The callee's side of the caller check: the requests the README's caller sends. */
const ledger = await startCaptureServer();
const sign = (aud: string) =>
  new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'nhi+jwt' })
    .setIssuer(CALLER)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(privateKey);
const httpEvent = (authorization?: string) => ({
  version: '2.0',
  routeKey: 'POST /pay',
  rawPath: '/pay',
  rawQueryString: '',
  headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
  requestContext: {
    domainName: 'api.example.com',
    http: { method: 'POST', path: '/pay', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'guard' },
    requestId: 'r1',
    stage: '$default',
  },
  body: '{"amount":1}',
  isBase64Encoded: false,
});

const invokeScript = join(work, 'invoke.mjs');
writeFileSync(
  invokeScript,
  `// Loads a bundle as Lambda's Node.js runtime would and calls its handler once per event.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
const [bundle, eventsFile, resultsFile] = process.argv.slice(2);
const mod = bundle.endsWith('.cjs') ? createRequire(import.meta.url)(bundle) : await import(bundle);
const events = JSON.parse(readFileSync(eventsFile, 'utf8'));
const results = [];
for (const [index, event] of events.entries()) {
  const context = {
    awsRequestId: 'req-' + index, functionName: 'ledger', functionVersion: '$LATEST', memoryLimitInMB: '512',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ledger', logGroupName: '/aws/lambda/ledger',
    logStreamName: 's', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 10000,
    done() {}, fail() {}, succeed() {},
  };
  process.stdout.write('@@invocation ' + index + '\\n');
  try {
    results.push({ response: await mod.handler(event, context) });
  } catch (error) {
    results.push({ error: { name: error.name, reason: error.reason, statusCode: error.statusCode, message: error.message } });
  }
}
writeFileSync(resultsFile, JSON.stringify(results));
process.exit(0); // as Lambda freezes the sandbox: open keep-alive sockets must not hold the guard
`,
);

interface Outcome {
  response?: { statusCode?: number; headers?: Record<string, string>; body?: string };
  error?: { name?: string; reason?: string; statusCode?: number };
}

/** Invokes a bundle with the guard's events; returns the outcomes and what it wrote to stdout. */
const invoke = async (app: string, bundle: string, given?: unknown[]) => {
  const events = given ?? [httpEvent(`NHI ${await sign(CALLEE)}`), httpEvent(), { payload: { amount: 1 } }];
  const eventsFile = join(app, 'events.json');
  const resultsFile = join(app, 'results.json');
  writeFileSync(eventsFile, JSON.stringify(events));
  // Asynchronous: the DNS server and the Secrets Manager stand-in answer from this process.
  const child = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'node',
      [invokeScript, bundle, eventsFile, resultsFile],
      { cwd: app, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => resolve({ status: error === null ? 0 : 1, stdout, stderr }),
    );
  });
  if (child.status !== 0) return { outcomes: [] as Outcome[], stdout: child.stdout, stderr: child.stderr };
  return {
    outcomes: JSON.parse(readFileSync(resultsFile, 'utf8')) as Outcome[],
    stdout: child.stdout,
    stderr: child.stderr,
  };
};

const awsEnv = {
  NHI_ENVIRONMENT: 'prod',
  NHI_DNS_SERVERS: dns.server,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
  AWS_ENDPOINT_URL_KMS: moto.endpoint,
  NHI_SELF: CALLER,
  LEDGER_URL: ledger.url,
};
Object.assign(process.env, awsEnv);

const handlerSource = quickStartFromReadme(readFileSync(join(root, 'README.md'), 'utf8'));
const typesNodeMajor = 22;
/** The Quick start without secrets-inject (so without the AWS SDK): our packages alone. */
const identityOnlyHandler = handlerSource
  .replace(/^import secretsInject.*\n/m, '')
  .replace(/^\s*\.use\(secretsInject\(.*\n/m, '')
  .replace(/const { caller, secrets } = context;.*/, 'const { caller } = context;');
if (identityOnlyHandler.includes('secretsInject') || identityOnlyHandler.includes('{ caller, secrets }'))
  throw new Error('could not derive the identity-only handler from README');
const callerSource = callerQuickStartFromReadme(readFileSync(join(root, 'README.md'), 'utf8'));

/**
 * Verifies a request the README's caller sent as the callee would: the WIT against the caller's
 * KMS key in its record, the WPT against the WIT's key, audience, method, URL and body.
 */
const verifyCallerRequest = (request: CapturedRequest): string => {
  const wit = String(request.headers['workload-identity-token'] ?? '');
  const wpt = String(request.headers['workload-proof-token'] ?? '');
  const key = importRecordKeys(parseRecordSet(CALLER, callerRecords).keys).keys.get(kmsKid);
  if (key === undefined) return 'the caller record did not import';
  if (key.keyCustody !== 'kms') return 'the caller key is not marked kc=kms';
  try {
    const identity = verifyWorkloadIdentity(decodeProof(wit), { key });
    const claims = verifyWorkloadProof(decodeWorkloadProof(wpt), identity, {
      audience: CALLEE,
      method: request.method,
      url: `${ledger.url}${request.url}`,
      body: request.body,
      requireBodyHash: true,
    });
    return claims.iss === CALLER ? 'ok' : `iss ${claims.iss}`;
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
};

try {
  for (const middy of [7, 6]) {
    const app = join(work, `app-middy${middy}`);
    step(`Middy ${middy}: fresh app, npm install of the tarballs`);
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify(
        {
          name: `outside-app-middy${middy}`,
          private: true,
          type: 'module',
          dependencies: {
            '@middy/core': `^${middy}`,
            '@middy/http-error-handler': `^${middy}`,
            ...Object.fromEntries(
              Object.entries(tarballs)
                .filter(([name]) => !DEPLOY_TIME_PACKAGES.has(name))
                .map(([name, file]) => [name, `file:${file}`]),
            ),
          },
          devDependencies: { '@types/node': `^${typesNodeMajor}` },
        },
        null,
        2,
      ),
    );
    const install = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], app);
    check(
      install.status === 0,
      `Middy ${middy}: npm install${install.status === 0 ? '' : `\n${install.stderr}`}`,
    );
    if (install.status !== 0) continue;
    writeFileSync(join(app, 'src', 'handler.ts'), handlerSource);
    writeFileSync(join(app, 'src', 'identity-only.ts'), identityOnlyHandler);
    writeFileSync(join(app, 'src', 'caller.ts'), callerSource);

    // The pinned matrix (the repo's TypeScript, @types/node of the oldest Node we run), then what a
    // newcomer's `npm install -D typescript @types/node` picks today: the newest of both, which
    // once broke our declarations while the pinned legs stayed green.
    const toolchains: { label: string; tsc: string }[] = [
      {
        label: `TypeScript ${run(bin('tsc'), ['--version'], app).stdout.trim().replace('Version ', '')}, @types/node ^${typesNodeMajor}`,
        tsc: bin('tsc'),
      },
    ];
    const latest = join(app, 'latest-toolchain');
    mkdirSync(latest, { recursive: true });
    writeFileSync(join(latest, 'package.json'), '{"private":true}');
    const latestInstall = run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', 'typescript@latest', '@types/node@latest'],
      latest,
    );
    check(
      latestInstall.status === 0,
      `Middy ${middy}: npm install typescript@latest @types/node@latest${latestInstall.status === 0 ? '' : `\n${latestInstall.stderr}`}`,
    );
    if (latestInstall.status === 0) {
      const versionOf = (name: string) =>
        (
          JSON.parse(readFileSync(join(latest, 'node_modules', name, 'package.json'), 'utf8')) as {
            version: string;
          }
        ).version;
      toolchains.push({
        label: `TypeScript ${versionOf('typescript')}, @types/node ${versionOf('@types/node')} (latest)`,
        tsc: join(latest, 'node_modules', '.bin', 'tsc'),
      });
    }
    for (const { label, tsc: tscBin } of toolchains)
      for (const skipLibCheck of [true, false]) {
        const latestTypes = tscBin !== bin('tsc');
        writeFileSync(
          join(app, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              target: 'ES2022',
              module: 'NodeNext',
              moduleResolution: 'NodeNext',
              strict: true,
              noEmit: true,
              skipLibCheck,
              types: ['node'],
              // The latest leg reads @types/node from its own folder, not the app's pinned one.
              ...(latestTypes ? { typeRoots: [join(latest, 'node_modules', '@types')] } : {}),
            },
            include: ['src'],
          }),
        );
        const tsc = run(tscBin, ['-p', '.', '--pretty', 'false'], app);
        const errors = tsc.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
        // Middy 7's own declarations need @aws/durable-execution-sdk-js without skipLibCheck: theirs,
        // documented in README; only errors from our code and our packages' declarations count.
        const ours = errors.filter(
          (line) => !line.includes('node_modules/') || line.includes('node_modules/@nhi-dns/'),
        );
        check(
          ours.length === 0,
          `Middy ${middy}: Quick start typechecks (${label}), strict NodeNext, skipLibCheck ${skipLibCheck}${ours.length === 0 ? (errors.length > 0 ? ` (${errors.length} errors from others' declarations ignored)` : '') : `\n  ${ours.join('\n  ')}`}`,
        );
      }

    // The AWS SDK v3 (secrets-inject's client) ships CommonJS under `main`: esbuild's ESM output
    // cannot require() Node built-ins from it, so ESM bundles either leave the SDK to the Lambda
    // runtime or pick its ES modules (README, "Bundling for Lambda"). Our own packages bundle with
    // esbuild's plain defaults: the identity-only handler proves it.
    const builds: [string, string, string[]][] = [
      [
        'esm, SDK external',
        'handler.ts',
        ['--format=esm', '--external:@aws-sdk/*', '--outfile=dist/esm-external/index.mjs'],
      ],
      [
        'esm, module first',
        'handler.ts',
        ['--format=esm', '--main-fields=module,main', '--outfile=dist/esm-module/index.mjs'],
      ],
      ['cjs', 'handler.ts', ['--format=cjs', '--outfile=dist/cjs/index.cjs']],
      // AWS SAM's esbuild build method with its defaults: CommonJS, es2020, minified.
      ['sam', 'handler.ts', ['--format=cjs', '--target=es2020', '--minify', '--outfile=dist/sam/index.cjs']],
      [
        'esm, plain defaults, identity only',
        'identity-only.ts',
        ['--format=esm', '--outfile=dist/identity-only/index.mjs'],
      ],
    ];
    for (const [label, entry, flags] of builds) {
      const esbuild = run(bin('esbuild'), [`src/${entry}`, '--bundle', '--platform=node', ...flags], app);
      check(
        esbuild.status === 0,
        `Middy ${middy}: plain esbuild bundles (${label})${esbuild.status === 0 ? '' : `\n${esbuild.stderr}`}`,
      );
      if (esbuild.status !== 0) continue;
      const outfile = join(app, flags.at(-1)!.replace('--outfile=', ''));
      const { outcomes, stdout, stderr } = await invoke(app, outfile);
      check(
        outcomes.length === 3,
        `Middy ${middy} ${label}: the bundle loads and runs${outcomes.length === 3 ? '' : `\n${stderr.slice(0, 2000)}`}`,
      );
      if (outcomes.length !== 3) continue;
      const [valid, missing, direct] = outcomes as [Outcome, Outcome, Outcome];
      check(
        valid.response?.statusCode === 200 && valid.response.body === 'hello billing',
        `Middy ${middy} ${label}: signed call answered 200 "hello billing" (got ${JSON.stringify(valid)})`,
      );
      const missingBody = (() => {
        try {
          return JSON.parse(missing.response?.body ?? '') as unknown;
        } catch {
          return undefined;
        }
      })();
      check(
        missing.response?.statusCode === 401 &&
          JSON.stringify(missingBody) === '{"error":"missing_proof"}' &&
          missing.response.headers?.['WWW-Authenticate'] === 'NHI error="invalid_token"',
        `Middy ${middy} ${label}: HTTP call without proof answered 401 {"error":"missing_proof"} (got ${JSON.stringify(missing)})`,
      );
      check(
        direct.error?.name === 'IdentityError' && direct.error.reason === 'missing_proof',
        `Middy ${middy} ${label}: direct invocation without proof throws IdentityError(missing_proof) (got ${JSON.stringify(direct)})`,
      );
      const lines = stdout.split('\n').filter((line) => line.startsWith('{'));
      const logs = lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => !('_aws' in line));
      const emf = lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => '_aws' in line);
      check(logs.length > 0 && emf.length > 0, `Middy ${middy} ${label}: logs and EMF metrics written`);
      check(
        logs.every((line) => typeof line.function_request_id === 'string'),
        `Middy ${middy} ${label}: every log line carries the request id`,
      );
      check(
        !stdout.includes('    at '),
        `Middy ${middy} ${label}: no stack trace in the logs of expected denials`,
      );
      const services = new Set([...logs.map((line) => line.service), ...emf.map((line) => line.service)]);
      check(
        services.size === 1,
        `Middy ${middy} ${label}: logs and metrics name one service (${[...services].join(', ')})`,
      );
    }

    // The README's caller: signs a POST to the loopback "ledger" with its KMS key (moto).
    const callerBuilds: [string, string[]][] = [
      ['esm, SDK external', ['--format=esm', '--external:@aws-sdk/*', '--outfile=dist/caller-esm/index.mjs']],
      ['cjs', ['--format=cjs', '--outfile=dist/caller-cjs/index.cjs']],
      ['sam', ['--format=cjs', '--target=es2020', '--minify', '--outfile=dist/caller-sam/index.cjs']],
    ];
    for (const [label, flags] of callerBuilds) {
      const esbuild = run(bin('esbuild'), ['src/caller.ts', '--bundle', '--platform=node', ...flags], app);
      check(
        esbuild.status === 0,
        `Middy ${middy}: the caller bundles (${label})${esbuild.status === 0 ? '' : `\n${esbuild.stderr}`}`,
      );
      if (esbuild.status !== 0) continue;
      ledger.received.splice(0);
      const outfile = join(app, flags.at(-1)!.replace('--outfile=', ''));
      const { outcomes, stderr } = await invoke(app, outfile, [{ amount: 1 }]);
      const [called] = outcomes;
      check(
        called?.response?.statusCode === 200 && ledger.received.length === 1,
        `Middy ${middy} caller ${label}: the signed call reached the ledger (got ${JSON.stringify(called)}${stderr ? `\n${stderr.slice(0, 2000)}` : ''})`,
      );
      const [request] = ledger.received;
      if (request === undefined) continue;
      const verdict = verifyCallerRequest(request);
      check(verdict === 'ok', `Middy ${middy} caller ${label}: the ledger verifies its proof (${verdict})`);
      check(
        request.body.toString() === '{"amount":1}',
        `Middy ${middy} caller ${label}: the body sent is the body signed`,
      );
    }
  }
} finally {
  await dns.stop();
  await secretsManager.stop();
  await moto.stop();
  await ledger.stop();
  if (failures.length === 0) rmSync(work, { recursive: true, force: true });
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (failures.length > 0) {
  console.error(
    `\noutside-user guard: ${failures.length} failure(s) in ${seconds} s (scratch apps kept in ${work}):`,
  );
  for (const failure of failures) console.error(`- ${failure.split('\n')[0]}`);
  process.exit(1);
}
console.log(`\noutside-user guard: all checks passed in ${seconds} s`);
