import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import { startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import { bundleExample } from '../../bundle.js';

const ZONE = 'auth.example.com';
const reports = createTestIdentity(`reports.prod.${ZONE}`, { attributes: { tier: 'internal' } });
let dns: TestDnsServer;
const savedEnv = { ...process.env };

beforeAll(async () => {
  dns = await startTestDnsServer({
    zone: ZONE,
    records: [{ name: reports.name, type: 'TXT', ttl: 1, data: reports.strings }],
  });
  Object.assign(process.env, {
    NHI_ZONE: ZONE,
    NHI_SELF: reports.name,
    NHI_REQUIRE_TIER: 'internal',
    NHI_DNS_SERVERS: dns.server,
  });
});
afterAll(async () => {
  process.env = savedEnv;
  await dns.stop();
});

describe('self-check bundle', () => {
  it('serves while its own record is valid and stops within one TTL of a revocation', async () => {
    const bundle = await bundleExample('self-check');
    const out = captureOutput();
    try {
      const { handler } = (await import(pathToFileURL(bundle.file).href)) as {
        handler: (event: unknown, context: unknown) => Promise<{ statusCode: number }>;
      };
      const context = { getRemainingTimeInMillis: () => 3000 };
      expect((await handler({}, context)).statusCode).toBe(200);
      dns.setRecords([
        { name: reports.name, type: 'TXT', ttl: 1, data: reports.recordWith({ publicKey: '' }) },
      ]);
      await sleep(1100);
      await expect(handler({}, context)).rejects.toMatchObject({ reason: 'self_mismatch', statusCode: 503 });
    } finally {
      out.restore();
    }
    expect(out.emf()).toContainEqual(expect.objectContaining({ Reason: 'self_mismatch', AuthFailure: 1 }));
  });
});
