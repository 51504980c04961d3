import { pathToFileURL } from 'node:url';
import { bodyHash, decodeProof, importRecordKeys, parseRecordSet, verifyProof } from '@nhi-dns/core';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import { createResolver } from '@nhi-dns/resolver';
import { startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import type { Context } from 'aws-lambda';
import { bundleExample } from '../../bundle.js';
import { type LocalLedger, startLocalLedger, tlsTerminatedFetch } from '../../demo/src/local-ledger.js';
import { type LocalSecretsManager, startLocalSecretsManager } from '../../demo/src/local-secrets-manager.js';
import { createCalleeHandler } from '../../http-api-callee/src/callee.js';
import type { CallerHandler } from './caller.js';

const ZONE = 'auth.example.com';
const LEDGER = `ledger.prod.${ZONE}`;
const billing = createTestIdentity(`billing.prod.${ZONE}`, { kid: 'k2026-11' });
const context = { functionName: 'billing', getRemainingTimeInMillis: () => 3000 } as Context;

let dns: TestDnsServer;
let secretsManager: LocalSecretsManager;
let ledger: LocalLedger;
let handler: CallerHandler;
const output = captureOutput();
const savedEnv = { ...process.env };
const savedFetch = globalThis.fetch;

/** The callee's check of a proof, by hand: billing's published record, the ledger's audience. */
const verifyAtLedger = (token: string, body: string, request: { method?: string; url?: string } = {}) => {
  const proof = decodeProof(token);
  const records = parseRecordSet(billing.name, [billing.strings]);
  const key = importRecordKeys(records.keys).keys.get(proof.header.kid);
  if (key === undefined) throw new Error(`no key ${proof.header.kid} in billing's record`);
  return verifyProof(proof, { key, audience: LEDGER, body, requireBodyHash: true, ...request });
};

const lastEvent = () => ledger.events.at(-1) as Record<string, unknown>;
const ledgerUrl = () => `${ledger.origin}/payments`;

beforeAll(async () => {
  dns = await startTestDnsServer({
    zone: ZONE,
    records: [{ name: billing.name, type: 'TXT', data: billing.strings }],
  });
  // The key where `nhi-dns keygen` puts it; the bundled caller finds it from NHI_SELF alone.
  secretsManager = await startLocalSecretsManager({
    '/prod/nhi/billing/signing-key': JSON.stringify({
      ...billing.privateKey.export({ format: 'jwk' }),
      kid: billing.kid,
    }),
    '/prod/ledger/db': '{"username":"ledger_app"}',
  });
  // The real callee example behind a loopback HTTP API and Lambda Invoke endpoint.
  const callee = createCalleeHandler(
    { zone: ZONE, self: LEDGER, allow: [billing.name], environment: 'prod' },
    { resolver: createResolver({ servers: [dns.server] }), secretsClient: secretsManager.client() },
  );
  ledger = await startLocalLedger(callee, 'ledger');
  Object.assign(process.env, {
    NHI_SELF: billing.name,
    NHI_AUDIENCES: JSON.stringify({ [ledger.origin]: LEDGER, ledger: LEDGER }),
    LEDGER_URL: ledgerUrl(),
    LEDGER_FUNCTION: 'ledger',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: ledger.lambdaEndpoint,
  });
  // API Gateway ends TLS; on loopback the ledger's front does, over plain HTTP.
  globalThis.fetch = tlsTerminatedFetch(savedFetch);
  const bundle = await bundleExample('caller');
  ({ handler } = (await import(pathToFileURL(bundle.file).href)) as { handler: typeof handler });
}, 60_000);

afterAll(async () => {
  output.restore();
  process.env = savedEnv;
  globalThis.fetch = savedFetch;
  await Promise.all([dns.stop(), secretsManager.stop(), ledger.stop()]);
});

describe('caller bundle (identity-sign, configured from the environment)', () => {
  it('signs with the key from Secrets Manager and is accepted over HTTP and by direct invoke', async () => {
    const viaHttp = await handler({ via: 'http', amount: 7 }, context);
    expect(viaHttp.statusCode).toBe(200);
    expect(JSON.parse(viaHttp.body)).toMatchObject({ caller: billing.name, kid: 'k2026-11' });
    const viaInvoke = await handler({ via: 'invoke', amount: 7 }, context);
    expect(viaInvoke.statusCode).toBe(200);
    expect(JSON.parse(viaInvoke.body)).toMatchObject({ caller: billing.name, kid: 'k2026-11' });
    expect(secretsManager.calls).toContain('GetSecretValue');
  });

  it('over HTTP, the proof binds the ledger, the method, the URL and the exact body bytes', async () => {
    await handler({ via: 'http', amount: 12.5 }, context);
    const event = lastEvent();
    const headers = event.headers as Record<string, string>;
    expect(event.body).toBe('{"amount":12.5}');
    const token = headers.authorization?.replace(/^NHI /, '') ?? '';
    const claims = verifyAtLedger(token, String(event.body), { method: 'POST', url: ledgerUrl() });
    expect(claims).toMatchObject({ iss: billing.name, aud: LEDGER, htm: 'POST', htu: ledgerUrl() });
    expect(claims.bh).toBe(bodyHash('{"amount":12.5}'));
    expect(() => verifyAtLedger(token, '{"amount":1250}', { method: 'POST', url: ledgerUrl() })).toThrow(
      expect.objectContaining({ reason: 'body_mismatch' }),
    );
  });

  it('by direct invocation, the event is the envelope and bh covers nhiPayload byte for byte', async () => {
    await handler({ via: 'invoke', amount: 12.5 }, context);
    const { nhiProof, nhiPayload, ...rest } = lastEvent();
    expect(rest).toEqual({});
    expect(nhiPayload).toBe('{"amount":12.5}');
    const claims = verifyAtLedger(String(nhiProof), String(nhiPayload));
    expect(claims).toMatchObject({ iss: billing.name, aud: LEDGER });
    expect(claims.bh).toBe(bodyHash('{"amount":12.5}'));
    expect(() => verifyAtLedger(String(nhiProof), '{"amount":1250}')).toThrow(
      expect.objectContaining({ reason: 'body_mismatch' }),
    );
  });

  it('the ledger refuses a body changed on the way: 401 over HTTP, a function error by invoke', async () => {
    ledger.alterNext((event) => {
      event.body = String(event.body).replace('7', '7000');
    });
    const viaHttp = await handler({ via: 'http', amount: 7 }, context);
    expect(viaHttp.statusCode).toBe(401);
    expect(JSON.parse(viaHttp.body)).toEqual({ error: 'body_mismatch' });

    ledger.alterNext((event) => {
      event.nhiPayload = String(event.nhiPayload).replace('7', '7000');
    });
    await expect(handler({ via: 'invoke', amount: 7 }, context)).rejects.toThrow(
      /ledger invocation failed: .*IdentityError.*body_mismatch/,
    );
  });

  it('never writes the private key to logs or metrics', () => {
    const d = String(billing.privateKey.export({ format: 'jwk' }).d);
    expect(output.lines.join('\n')).not.toContain(d);
  });
});
