import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import { createResolver } from '@nhi-dns/resolver';
import { startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import { bundleExample } from '../../bundle.js';
import { type LocalSecretsManager, startLocalSecretsManager } from '../../demo/src/local-secrets-manager.js';
import { createCalleeHandler } from '../../http-api-callee/src/callee.js';

const ZONE = 'auth.example.com';
const LEDGER = `ledger.prod.${ZONE}`;
const billing = createTestIdentity(`billing.prod.${ZONE}`, { kid: 'k2026-11' });

let dns: TestDnsServer;
let secretsManager: LocalSecretsManager;
let ledgerServer: Server;
const savedEnv = { ...process.env };

/** The ledger on loopback, behind a tiny HTTP front (API Gateway) and a Lambda Invoke endpoint. */
const startLedger = async (callee: (event: unknown, context: unknown) => Promise<unknown>) => {
  const context = { getRemainingTimeInMillis: () => 3000 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks).toString();
      if (request.url?.startsWith('/2015-03-31/functions/')) {
        // Lambda Invoke API: the payload is the event; an unhandled error is a function error.
        try {
          const result = await callee(JSON.parse(body), context);
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
        } catch (error) {
          const { reason } = error as { reason?: string };
          response
            .writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' })
            .end(JSON.stringify({ errorType: 'IdentityError', errorMessage: reason }));
        }
        return;
      }
      const event = {
        version: '2.0',
        rawPath: request.url,
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)])),
        requestContext: { http: { method: request.method, path: request.url } },
        body,
        isBase64Encoded: false,
      };
      const result = (await callee(event, context)) as { statusCode: number; body: string };
      response.writeHead(result.statusCode, { 'content-type': 'application/json' }).end(result.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
};

beforeAll(async () => {
  dns = await startTestDnsServer({
    zone: ZONE,
    records: [{ name: billing.name, type: 'TXT', data: billing.strings }],
  });
  secretsManager = await startLocalSecretsManager({
    '/prod/nhi/billing/signing-key': JSON.stringify({
      ...billing.privateKey.export({ format: 'jwk' }),
      kid: billing.kid,
    }),
    '/prod/ledger/db': '{"username":"ledger_app"}',
  });
  const secretsClient = secretsManager.client();
  const callee = createCalleeHandler(
    { zone: ZONE, self: LEDGER, allow: [billing.name], environment: 'prod' },
    { resolver: createResolver({ servers: [dns.server] }), secretsClient },
  );
  ledgerServer = await startLedger(
    callee as unknown as (event: unknown, context: unknown) => Promise<unknown>,
  );
  const { port } = ledgerServer.address() as AddressInfo;
  Object.assign(process.env, {
    NHI_SELF: billing.name,
    NHI_ENVIRONMENT: 'prod',
    LEDGER_IDENTITY: LEDGER,
    LEDGER_URL: `http://127.0.0.1:${port}/payments`,
    LEDGER_FUNCTION: 'ledger',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${port}`,
  });
});

afterAll(async () => {
  process.env = savedEnv;
  ledgerServer.closeAllConnections();
  await Promise.all([
    dns.stop(),
    secretsManager.stop(),
    new Promise((resolve) => ledgerServer.close(resolve)),
  ]);
});

describe('caller bundle', () => {
  it('signs with the key from Secrets Manager and is accepted over HTTP and by direct invoke', async () => {
    const bundle = await bundleExample('caller');
    const out = captureOutput();
    try {
      const { handler } = (await import(pathToFileURL(bundle.file).href)) as {
        handler: (event: unknown, context: unknown) => Promise<{ status: number; body: string }>;
      };
      const context = { getRemainingTimeInMillis: () => 3000 };
      const viaHttp = await handler({ via: 'http', amount: 7 }, context);
      expect(viaHttp.status).toBe(200);
      expect(JSON.parse(viaHttp.body)).toMatchObject({ caller: billing.name, kid: 'k2026-11' });
      const viaInvoke = await handler({ via: 'invoke', amount: 7 }, context);
      expect(viaInvoke.status).toBe(200);
      expect(JSON.parse(viaInvoke.body)).toMatchObject({ statusCode: 200 });
      expect(JSON.parse(JSON.parse(viaInvoke.body).body)).toMatchObject({ caller: billing.name });
    } finally {
      out.restore();
    }
    // The private key never reaches logs or metrics.
    const d = String(billing.privateKey.export({ format: 'jwk' }).d);
    expect(out.lines.join('\n')).not.toContain(d);
  });
});
