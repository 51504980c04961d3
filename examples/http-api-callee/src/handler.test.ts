import { pathToFileURL } from 'node:url';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import { startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import { bundleExample } from '../../bundle.js';
import {
  LOCAL_EXTENSION_TOKEN,
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../demo/src/local-secrets-manager.js';

const ZONE = 'auth.example.com';
const billing = createTestIdentity(`billing.prod.${ZONE}`);
const SELF = `ledger.prod.${ZONE}`;

let dns: TestDnsServer;
let secretsManager: LocalSecretsManager;
const savedEnv = { ...process.env };

beforeAll(async () => {
  dns = await startTestDnsServer({
    zone: ZONE,
    records: [{ name: billing.name, type: 'TXT', data: billing.strings }],
  });
  secretsManager = await startLocalSecretsManager({
    '/prod/ledger/db': '{"username":"ledger_app","password":"pw-9f3a"}',
  });
  Object.assign(process.env, {
    NHI_ZONE: ZONE,
    NHI_SELF: SELF,
    NHI_ALLOW: `billing.prod.${ZONE}`,
    NHI_ENVIRONMENT: 'prod',
    NHI_DNS_SERVERS: dns.server,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
  });
});

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([dns.stop(), secretsManager.stop()]);
});

type BundledHandler = (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;

const context = { getRemainingTimeInMillis: () => 3000, functionName: 'ledger', awsRequestId: 'r1' };
const body = '{"amount":5}';
const event = (token?: string) => ({
  version: '2.0',
  rawPath: '/payments',
  headers: {
    host: 'ledger.example.com',
    ...(token === undefined ? {} : { authorization: `NHI ${token}` }),
  },
  requestContext: { http: { method: 'POST', path: '/payments' } },
  body,
  isBase64Encoded: false,
});

describe('http-api-callee bundle', () => {
  it('builds with esbuild and its handler serves allowed callers and denies others', async () => {
    const bundle = await bundleExample('http-api-callee');
    expect(bundle.bytes).toBeGreaterThan(10_000);
    const out = captureOutput();
    try {
      const { handler } = (await import(pathToFileURL(bundle.file).href)) as { handler: BundledHandler };
      const ok = await handler(event(await billing.sign({ aud: SELF, body })), context);
      expect(ok.statusCode).toBe(200);
      expect(JSON.parse(ok.body)).toMatchObject({ caller: billing.name, databaseUser: 'ledger_app' });
      const denied = await handler(event(), context);
      expect(denied).toMatchObject({ statusCode: 401, body: '{"error":"missing_proof"}' });
    } finally {
      out.restore();
    }
    // The secret value never reaches the logs or metrics.
    expect(out.lines.join('\n')).not.toContain('pw-9f3a');
    expect(out.emf()).toContainEqual(expect.objectContaining({ AuthSuccess: 1 }));
    expect(secretsManager.calls.length).toBeGreaterThan(0);
  });

  it('reads its secret through the Parameters and Secrets extension on the first invocation, not at init', async () => {
    // Its own output folder: a second import of the same file URL would return the first module.
    const bundle = await bundleExample('http-api-callee', {
      outDir: '.tmp/bundles/http-api-callee-extension',
    });
    Object.assign(process.env, {
      NHI_SECRETS_SOURCE: 'extension',
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(secretsManager.port),
      AWS_SESSION_TOKEN: LOCAL_EXTENSION_TOKEN,
    });
    const callsBefore = secretsManager.calls.length;
    const out = captureOutput();
    try {
      const { handler } = (await import(pathToFileURL(bundle.file).href)) as { handler: BundledHandler };
      // Nothing is asked at init: the extension does not answer before the first invocation.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(secretsManager.calls.slice(callsBefore)).toEqual([]);
      const ok = await handler(event(await billing.sign({ aud: SELF, body })), context);
      expect(ok.statusCode).toBe(200);
      expect(JSON.parse(ok.body)).toMatchObject({ databaseUser: 'ledger_app' });
      // The extension's protocol only: no Secrets Manager API call through an SDK client.
      expect(secretsManager.calls.slice(callsBefore)).toEqual(['extension:get']);
    } finally {
      out.restore();
      delete process.env.NHI_SECRETS_SOURCE;
      delete process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT;
      delete process.env.AWS_SESSION_TOKEN;
    }
    expect(out.lines.join('\n')).not.toContain('pw-9f3a');
  });
});
