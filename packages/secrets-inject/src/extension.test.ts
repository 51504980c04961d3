import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { httpGet } from './extension.js';
import { secretsInject } from './middleware.js';
import { SecretReader } from './reader.js';
import {
  captureStdout,
  lambdaContext,
  MARK,
  middy,
  mockSecretsManager,
  secretValue,
} from './test-helpers.test-support.js';

const TOKEN = 'session-token-for-the-extension';
const sm = mockSecretsManager();

/** A loopback server speaking the Parameters and Secrets Lambda Extension's documented protocol. */
const startExtension = async () => {
  const requests: Array<{ url: URL; headers: IncomingMessage['headers'] }> = [];
  const values = new Map<string, { SecretString?: string; SecretBinary?: string }>();
  let failWith: { status: number; body: string } | undefined;
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    requests.push({ url, headers: request.headers });
    if (request.headers['x-aws-parameters-secrets-token'] !== TOKEN) {
      response.writeHead(401).end('missing or wrong token');
      return;
    }
    if (failWith !== undefined) {
      response.writeHead(failWith.status).end(failWith.body);
      return;
    }
    const id = url.searchParams.get('secretId') ?? '';
    const value = values.get(id);
    if (url.pathname !== '/secretsmanager/get' || value === undefined) {
      response
        .writeHead(400)
        .end(`ResourceNotFoundException: Secrets Manager can't find the specified secret.`);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        ARN: `arn:aws:secretsmanager:eu-west-1:1:secret:${id}`,
        Name: id,
        VersionId: 'v1',
        ...value,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    requests,
    values,
    fail: (status: number, body: string) => {
      failWith = { status, body };
    },
    heal: () => {
      failWith = undefined;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

describe("secrets from the Parameters and Secrets Lambda Extension (source: 'extension')", () => {
  let extension: Awaited<ReturnType<typeof startExtension>>;
  let output: ReturnType<typeof captureStdout>;
  const saved = { ...process.env };

  beforeAll(async () => {
    extension = await startExtension();
  });
  afterAll(() => extension.stop());
  beforeEach(() => {
    sm.reset();
    extension.requests.splice(0);
    extension.heal();
    extension.values.clear();
    process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT = String(extension.port);
    process.env.AWS_SESSION_TOKEN = TOKEN;
    process.env.NHI_ENVIRONMENT = 'prod';
    output = captureStdout();
  });
  afterEach(() => {
    output.restore();
    process.env = { ...saved };
  });

  it('reads through the local endpoint with the session token, loads no SDK client, and does not prefetch', async () => {
    extension.values.set('/prod/dbcreds', { SecretString: secretValue('/prod/dbcreds') });
    const handler = middy()
      .use(secretsInject({ secrets: { db: 'dbcreds' }, source: 'extension' }))
      .handler(async (_event: unknown, context) => context.secrets.db);
    // The extension answers only during invocations: nothing is asked at init.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(extension.requests).toHaveLength(0);
    expect(await handler({}, lambdaContext())).toBe(secretValue('/prod/dbcreds'));
    expect(await handler({}, lambdaContext())).toBe(secretValue('/prod/dbcreds'));
    expect(extension.requests).toHaveLength(1);
    expect(Object.fromEntries(extension.requests[0]!.url.searchParams)).toEqual({
      secretId: '/prod/dbcreds',
      versionStage: 'AWSCURRENT',
    });
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(0);
    expect(output.lines.join('\n')).not.toContain(MARK);
  });

  it('decodes SecretBinary and JSON values', async () => {
    extension.values.set('/prod/blob', { SecretBinary: Buffer.from([1, 2, 3]).toString('base64') });
    extension.values.set('/prod/json', { SecretString: '{"user":"ledger"}' });
    const reader = new SecretReader({ source: 'extension' });
    expect(await reader.read('/prod/blob')).toEqual(new Uint8Array([1, 2, 3]));
    expect(await reader.read('/prod/json', { json: true })).toEqual({ user: 'ledger' });
  });

  it('maps the relayed Secrets Manager errors, a missing token and an absent extension to typed errors', async () => {
    const reader = new SecretReader({ source: 'extension' });
    await expect(reader.read('/prod/missing')).rejects.toMatchObject({ reason: 'not_found' });
    extension.fail(400, 'AccessDeniedException: not authorized');
    await expect(reader.read('/prod/x')).rejects.toMatchObject({ reason: 'access_denied' });
    extension.fail(500, 'not ready to serve traffic');
    await expect(reader.read('/prod/y')).rejects.toMatchObject({ reason: 'fetch_failed' });
    extension.heal();
    delete process.env.AWS_SESSION_TOKEN;
    await expect(reader.read('/prod/z')).rejects.toMatchObject({
      reason: 'fetch_failed',
      awsCode: 'Extension401',
    });
    process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT = '1'; // nothing listens there
    await expect(new SecretReader({ source: 'extension' }).read('/prod/z')).rejects.toMatchObject({
      reason: 'fetch_failed',
    });
  });

  it('refuses an answer over 1 MiB, and gives up on an extension that does not answer', async () => {
    extension.values.set('/prod/huge', { SecretString: 'x'.repeat(2 * 1024 * 1024) });
    await expect(new SecretReader({ source: 'extension' }).read('/prod/huge')).rejects.toMatchObject({
      reason: 'fetch_failed',
    });
    const silent = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const started = Date.now();
      await expect(
        httpGet(new URL(`http://127.0.0.1:${port}/secretsmanager/get`), {}, AbortSignal.timeout(50)),
      ).rejects.toMatchObject({ name: 'AbortError' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('refuses an unknown source at init', () => {
    expect(() => secretsInject({ secrets: { db: 'dbcreds' }, source: 'layer' } as never)).toThrow(/source/);
  });
});
