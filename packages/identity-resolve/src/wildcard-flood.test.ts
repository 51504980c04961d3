/**
 * Finding 13.4: with a wildcard TXT record under the zone, made-up issuers resolve to answers
 * that parse to no usable key. They must never take positive-cache space (nor the parsed-identity
 * cache's), so a flood of them can neither evict a real caller's record nor exhaust the heap.
 */
import middy from '@middy/core';
import { createTestIdentity } from '@nhi-dns/core/test-support';
import { createResolver } from '@nhi-dns/resolver';
import { forcedGc, startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import type { Context } from 'aws-lambda';
import identityResolve from './index.js';

const ZONE = 'auth.example.com';
const billing = createTestIdentity(`billing.prod.${ZONE}`);
const context = { getRemainingTimeInMillis: () => 5000 } as unknown as Context;
// Three times the resolver cache below; the resolver's own flood test runs the full 10 001 names.
const FLOOD = 3001;
/** 8 RRs of about 3 KB each under the wildcard: about 24 KB of junk per made-up name. */
const junk = Array.from(
  { length: 8 },
  (_, index) => `v=NHI1; svc=any; env=prod; kid=w${index}; p=${'A'.repeat(3000)}`,
);

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A decodable (unsigned) proof naming a made-up issuer: identity-resolve only reads iss and kid. */
const junkToken = (index: number) =>
  `${base64url({ alg: 'EdDSA', kid: 'w0', typ: 'nhi+jwt' })}.${base64url({ iss: `made-up-${index}.prod.${ZONE}` })}.AAAA`;

/** Discards what the flood logs (a capture would itself grow the heap), counting the lines. */
const discardOutput = () => {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  let lines = 0;
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      lines += String(chunk).split('\n').length - 1;
      return true;
    }) as typeof stream.write;
  }
  return {
    lines: () => lines,
    restore: () => {
      streams.forEach((stream, index) => {
        stream.write = originals[index]!;
      });
    },
  };
};

const heapMiB = () => {
  forcedGc?.();
  forcedGc?.();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return (heapUsed + arrayBuffers) / 2 ** 20;
};

let dns: TestDnsServer;
beforeAll(async () => {
  dns = await startTestDnsServer({
    zone: ZONE,
    records: [
      { name: billing.name, type: 'TXT', ttl: 300, data: billing.strings },
      ...junk.map((data) => ({ name: `*.prod.${ZONE}`, type: 'TXT' as const, ttl: 300, data })),
    ],
  });
});
afterAll(() => dns.stop());

describe('a wildcard flood of made-up issuers', () => {
  it('never evicts a real caller record and keeps the heap bounded', async () => {
    // A resolver cache of 1 000 entries: without the fix, 10 001 junk answers evict billing.
    const resolver = createResolver({ servers: [dns.server], maxEntries: 1000 });
    const handler = middy(async () => 'served').use(identityResolve({ zone: ZONE, resolver }));
    const out = discardOutput();
    try {
      await handler({ nhiProof: await billing.sign({ aud: `ledger.prod.${ZONE}` }) }, context);
      const before = heapMiB();
      const denials = new Map<string, number>();
      for (let index = 0; index < FLOOD; index += 1) {
        const reason = await handler({ nhiProof: junkToken(index) }, context).then(
          () => 'served',
          (error: { reason?: string }) => error.reason ?? 'error',
        );
        denials.set(reason, (denials.get(reason) ?? 0) + 1);
      }
      const after = heapMiB();
      const logged = out.lines();
      const queriesBefore = dns.queries.filter((query) => query.name === billing.name).length;
      expect(await handler({ nhiProof: await billing.sign({ aud: `ledger.prod.${ZONE}` }) }, context)).toBe(
        'served',
      );
      const billingQueries =
        dns.queries.filter((query) => query.name === billing.name).length - queriesBefore;
      out.restore();
      console.log(
        `wildcard flood: ${FLOOD} made-up issuers, heap ${before.toFixed(1)} → ${after.toFixed(1)} MiB (${(after - before).toFixed(1)} MiB)`,
      );
      expect(denials).toEqual(new Map([['no_record', FLOOD]]));
      expect(logged).toBeGreaterThan(FLOOD); // every denial was logged (and discarded here)
      expect(billingQueries).toBe(0); // still a cache hit
      expect(after - before).toBeLessThan(forcedGc === undefined ? 64 : 16);
    } finally {
      out.restore();
    }
  }, 120_000);
});
