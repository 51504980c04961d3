// The first round trip whose event shape comes from a tool that is not ours: serverless-offline
// (v13, for Serverless v3) serves the http-api-callee example (bundled as for Lambda) behind its
// emulated HTTP API, configured by serverless-nhi-dns (the NHI_* environment) from a plain
// serverless.yml. Real HTTP requests from identity-sign's signed fetch and from curl with
// `nhi-dns sign --header` go through it; the callee reads the callers' records through knot +
// unbound on loopback and its database secret from a stand-in of the Parameters and Secrets
// extension. serverless-offline names every host `offlineContext_domainName`, so the function
// is told its origin (NHI_ORIGIN), as it would be behind CloudFront.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';
import { createSigner, type IdentitySigner } from '@nhi-dns/identity-sign';
import { bundleExample } from '../../../examples/bundle.js';
import {
  bundlePlugin,
  installPlugin,
  serverlessBin,
  serverlessEnv,
} from '../../../packages/serverless-nhi-dns/src/service.test-helper.js';
import { type DnsLab, startDnsLab } from '../lab/index.js';
import { freeTcpPort } from '../lab/ports.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ZONE = 'auth.nhi.test';
const billing = createTestIdentity(`billing.prod.${ZONE}`); // allowed caller
const audit = createTestIdentity(`audit.prod.${ZONE}`); // published, but not allowed
const ledger = createTestIdentity(`ledger.prod.${ZONE}`); // the callee
const SESSION_TOKEN = 'offline-session-token';
const DB_SECRET = JSON.stringify({ username: 'ledger_app', password: 'not-echoed-anywhere' });

let lab: DnsLab;
let work: string;
let extension: Server;
let offline: ChildProcess;
let offlineOutput = '';
let origin: string;
let signer: IdentitySigner;
let pluginBundle: string | undefined;

const record = (identity: TestIdentity) => ({ name: identity.name, strings: identity.strings });

/** The Parameters and Secrets extension's protocol: GET /secretsmanager/get?secretId=, token header. */
const startExtension = async (secrets: Record<string, string>): Promise<Server> => {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const id = url.searchParams.get('secretId') ?? '';
    if (request.headers['x-aws-parameters-secrets-token'] !== SESSION_TOKEN) {
      response.writeHead(401).end('not authorized');
    } else if (url.pathname !== '/secretsmanager/get' || !(id in secrets)) {
      response.writeHead(400).end(JSON.stringify({ __type: 'ResourceNotFoundException' }));
    } else {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ Name: id, SecretString: secrets[id], VersionId: 'v1' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
};

/** serverless.yml as a team writes it for the callee, plus what running offline needs. */
const serviceYml = (extensionPort: number): string => `service: payments
frameworkVersion: "3"
configValidationMode: warn
plugins:
  - serverless-nhi-dns
  - serverless-offline
provider:
  name: aws
  runtime: nodejs22.x
  stage: prod
  region: eu-west-1
  environment:
    NHI_SECRETS_SOURCE: extension
    # Local stand-ins: the extension's port and the session token Lambda would set; the origin
    # callers address (serverless-offline's events do not carry it).
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "${extensionPort}"
    AWS_SESSION_TOKEN: ${SESSION_TOKEN}
    NHI_ORIGIN: ${origin}
custom:
  nhi:
    zone: ${ZONE}
    environment: \${sls:stage}
    dnsServers:
      - ${lab.resolverServer}
functions:
  ledger:
    handler: dist/index.handler
    events:
      - httpApi:
          path: /payments
          method: post
    nhi:
      identity: ledger
      allow:
        - billing.\${self:custom.nhi.environment}.\${self:custom.nhi.zone}
      secrets:
        - ledger/db
`;

const waitForReady = (child: ChildProcess, timeoutMs: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serverless offline not ready in ${timeoutMs} ms:\n${offlineOutput}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      offlineOutput += chunk.toString('utf8');
      if (offlineOutput.includes('Server ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serverless offline exited ${code}:\n${offlineOutput}`));
    });
  });

beforeAll(async () => {
  lab = await startDnsLab({
    recordTtl: 30,
    zones: [{ origin: ZONE, security: 'signed', records: [record(billing), record(audit), record(ledger)] }],
  });
  extension = await startExtension({ '/prod/ledger/db': DB_SECRET });
  const httpPort = await freeTcpPort();
  const lambdaPort = await freeTcpPort();
  origin = `http://localhost:${httpPort}`;

  work = mkdtempSync(join(tmpdir(), 'nhi-offline-'));
  const service = join(work, 'service');
  mkdirSync(join(service, 'node_modules'), { recursive: true });
  mkdirSync(join(work, 'home'));
  // The example as it ships to Lambda: one ESM file.
  await bundleExample('http-api-callee', { outDir: join(service, 'dist') });
  // Inside the repository, so that its registry imports resolve from the workspace's node_modules.
  mkdirSync(join(repoRoot, '.tmp'), { recursive: true });
  pluginBundle = join(repoRoot, '.tmp', `offline-plugin-${process.pid}.mjs`);
  await bundlePlugin(pluginBundle);
  installPlugin(service, pluginBundle);
  const offlinePackage = join(repoRoot, 'node_modules', 'serverless-offline');
  symlinkSync(offlinePackage, join(service, 'node_modules', 'serverless-offline'), 'dir');
  writeFileSync(join(service, 'serverless.yml'), serviceYml((extension.address() as AddressInfo).port));

  offline = spawn(
    process.execPath,
    [serverlessBin(), 'offline', 'start', '--httpPort', String(httpPort), '--lambdaPort', String(lambdaPort)],
    {
      cwd: service,
      env: serverlessEnv(join(work, 'home')),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await waitForReady(offline, 90_000);

  signer = createSigner({
    self: billing.name,
    signingKey: { jwk: { ...billing.privateKey.export({ format: 'jwk' }), kid: billing.kid } },
    audiences: { [origin]: ledger.name },
  });
}, 180_000);

afterAll(async () => {
  if (offline?.pid !== undefined) {
    try {
      process.kill(-offline.pid, 'SIGTERM'); // the whole group: serverless and its workers
    } catch {
      // already gone
    }
  }
  await new Promise<void>((resolve) =>
    extension === undefined ? resolve() : extension.close(() => resolve()),
  );
  await lab?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  if (pluginBundle !== undefined) rmSync(pluginBundle, { force: true });
});

const payment = JSON.stringify({ orderId: 'o-1', amount: 10 });

describe('serverless-offline serving the http-api-callee example, configured by serverless-nhi-dns', () => {
  it("answers 200 to identity-sign's signed fetch: the caller verified, the secret read, never echoed", async () => {
    const response = await signer.fetch(`${origin}/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payment,
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(JSON.parse(text)).toMatchObject({
      message: 'payment recorded',
      caller: billing.name,
      kid: billing.kid,
      databaseUser: 'ledger_app',
      bytes: payment.length,
    });
    expect(text).not.toContain('not-echoed-anywhere');
  });

  it('answers 401 to an unsigned request, a replayed proof and a tampered body', async () => {
    const unsigned = await fetch(`${origin}/payments`, { method: 'POST', body: payment });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toEqual({ error: 'missing_proof' });

    const authorization = `NHI ${await signer.sign({
      aud: ledger.name,
      method: 'POST',
      url: `${origin}/payments`,
      body: payment,
    })}`;
    const send = (body: string) =>
      fetch(`${origin}/payments`, { method: 'POST', headers: { authorization }, body });
    const tampered = await send(JSON.stringify({ orderId: 'o-1', amount: 10_000 }));
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toEqual({ error: 'body_mismatch' });
    expect((await send(payment)).status).toBe(200);
    const replayed = await send(payment);
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toEqual({ error: 'replayed' });
  });

  it('answers 403 to a published identity the function does not allow', async () => {
    const auditSigner = createSigner({
      self: audit.name,
      signingKey: { jwk: { ...audit.privateKey.export({ format: 'jwk' }), kid: audit.kid } },
      audiences: { [origin]: ledger.name },
    });
    const response = await auditSigner.fetch(`${origin}/payments`, { method: 'POST', body: payment });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: 'not_allowed' });
  });

  it('answers 200 to curl with a header from `nhi-dns sign --header`, and 401 when curl sends it again', async () => {
    const keyFile = join(work, 'billing.jwk.json');
    writeFileSync(
      keyFile,
      JSON.stringify({ ...billing.privateKey.export({ format: 'jwk' }), kid: billing.kid }),
    );
    chmodSync(keyFile, 0o600);
    const bodyFile = join(work, 'payment.json');
    writeFileSync(bodyFile, payment);
    const run = promisify(execFile);
    const { stdout: header } = await run(
      process.execPath,
      [
        join(repoRoot, 'scripts', 'run-ts.mjs'),
        join(repoRoot, 'packages', 'cli', 'src', 'bin.ts'),
        ...['sign', '--header', '--iss', billing.name, '--aud', ledger.name],
        ...[
          '--method',
          'POST',
          '--url',
          `${origin}/payments`,
          '--body-file',
          bodyFile,
          '--key-file',
          keyFile,
        ],
      ],
      { cwd: repoRoot },
    );
    expect(header.trim()).toMatch(/^Authorization: NHI [\w-]+\.[\w-]+\.[\w-]+$/);
    const curl = () =>
      run('curl', [
        ...['-s', '-o', '-', '-w', '\n%{http_code}', '-X', 'POST'],
        ...['-H', header.trim(), '-H', 'content-type: application/json', '--data-binary', `@${bodyFile}`],
        `${origin}/payments`,
      ]);
    const first = (await curl()).stdout.split('\n');
    expect(first.at(-1)).toBe('200');
    expect(JSON.parse(first[0] ?? '')).toMatchObject({ caller: billing.name });
    const again = (await curl()).stdout.split('\n');
    expect(again).toEqual(['{"error":"replayed"}', '401']);
  });
});
