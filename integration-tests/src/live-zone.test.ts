// Changes to the live zone (knot re-signs on reload) reach the chain once the TTL runs out:
// key rotation, revocation of a caller, and the kill switch of a function's own record.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import middy from '@middy/core';
import { captureOutput, createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import identityVerify from '@nhi-dns/identity-verify';
import { createResolver } from '@nhi-dns/resolver';
import { type DnsLab, startDnsLab, type TxtRecord } from './lab/index.js';
import { eventually } from './support/eventually.js';
import { apiGatewayEvent, lambdaContext } from './support/http-event.js';
import { type HandlerResponse, protectedHandler } from './support/protected-handler.js';

const ZONE = 'auth.nhi.test';
const SELF = `ledger.prod.${ZONE}`;
/** TTL of the identity records, seconds: long enough to see the cache, short enough to wait out. */
const TTL = 2;
/** How long a change may take to show: the TTL at two caches (unbound, ours) plus slack. */
const PICKUP_LIMIT_MS = 2 * TTL * 1000 + 2000;

const queueOld = createTestIdentity(`queue.prod.${ZONE}`, { kid: 'k2026-01' });
const queueNew = createTestIdentity(`queue.prod.${ZONE}`, { kid: 'k2026-02' });
const reports = createTestIdentity(`reports.prod.${ZONE}`);
const ledger = createTestIdentity(SELF);

const txt = (identity: TestIdentity): TxtRecord => ({ name: identity.name, strings: identity.strings });

/** The zone's TXT RRsets by owner, as published; `publish` rewrites the whole zone from it. */
const rrsets = new Map<string, TxtRecord[]>([
  [queueOld.name, [txt(queueOld)]],
  [reports.name, [txt(reports)]],
  [ledger.name, [txt(ledger)]],
]);

let lab: DnsLab;

beforeAll(async () => {
  lab = await startDnsLab({
    recordTtl: TTL,
    zones: [{ origin: ZONE, security: 'signed', records: [...rrsets.values()].flat() }],
  });
});

afterAll(async () => {
  await lab?.stop();
});

/** Replaces the RRset at `name` and reloads the live zone (knot re-signs it). */
const publish = async (name: string, records: TxtRecord[]) => {
  rrsets.set(name, records);
  await lab.publish(ZONE, [...rrsets.values()].flat());
};

const callerChain = () =>
  protectedHandler({
    zone: ZONE,
    self: SELF,
    requireDnssec: true,
    resolver: createResolver({ servers: [lab.resolverServer], timeout: 2000, attempts: 2 }),
  });

const call = async (invoke: ReturnType<typeof callerChain>, caller: TestIdentity) => {
  const result = await invoke(apiGatewayEvent(await caller.sign({ aud: SELF })));
  return { status: result.response.statusCode, reason: result.reason, source: result.body.source };
};

describe('key rotation in the live zone', () => {
  it('picks up the new key after the TTL, keeps the old one during the overlap, then drops it', async () => {
    const invoke = callerChain();
    expect(await call(invoke, queueOld)).toMatchObject({ status: 200, source: 'network' });

    // Step 1: publish the new key next to the old one.
    await publish(queueOld.name, [txt(queueOld), txt(queueNew)]);
    // The RRset cached a moment ago does not have the new key yet.
    expect(await call(invoke, queueNew)).toEqual({ status: 401, reason: 'unknown_kid', source: undefined });
    const pickedUp = await eventually(
      () => call(invoke, queueNew),
      (result) => result.status === 200,
      { timeoutMs: PICKUP_LIMIT_MS },
    );
    expect(pickedUp.attempts).toBeGreaterThan(1);
    expect(await call(invoke, queueOld)).toMatchObject({ status: 200 });

    // Step 2: remove the old key.
    await publish(queueOld.name, [txt(queueNew)]);
    const dropped = await eventually(
      () => call(invoke, queueOld),
      (result) => result.status !== 200,
      { timeoutMs: PICKUP_LIMIT_MS },
    );
    expect(dropped.value).toMatchObject({ status: 401, reason: 'unknown_kid' });
    // The re-signed zone still validates (requireDnssec is on).
    expect(await call(invoke, queueNew)).toMatchObject({ status: 200 });
  });
});

describe('revocation in the live zone', () => {
  it('denies with revoked_key once the cached record expires', async () => {
    const invoke = callerChain();
    expect(await call(invoke, reports)).toMatchObject({ status: 200, source: 'network' });

    const revoked: TxtRecord = { name: reports.name, strings: [reports.recordWith({ publicKey: '' })] };
    await publish(reports.name, [revoked]);
    // Until the TTL runs out, the cached record still holds the key: revocation takes up to a TTL.
    expect(await call(invoke, reports)).toEqual({ status: 200, reason: undefined, source: 'cache' });
    const denied = await eventually(
      () => call(invoke, reports),
      (result) => result.status !== 200,
      { timeoutMs: PICKUP_LIMIT_MS },
    );
    expect(denied.value).toEqual({ status: 401, reason: 'revoked_key', source: undefined });
  });
});

describe("the kill switch: revoking the function's own record", () => {
  it('makes the function refuse every request with self_mismatch (503), without a redeploy', async () => {
    const handler = middy(async () => ({ statusCode: 200, body: '{"served":true}' }))
      .use(
        identityResolve({
          zone: ZONE,
          mode: 'self',
          self: SELF,
          prefetch: false,
          resolver: createResolver({ servers: [lab.resolverServer], timeout: 2000, attempts: 2 }),
        }),
      )
      .use(identityVerify({ self: SELF, expect: true, requireDnssec: true }));
    const invoke = async (): Promise<HandlerResponse> => {
      const captured = captureOutput();
      try {
        return (await handler(apiGatewayEvent(undefined), lambdaContext())) as HandlerResponse;
      } finally {
        captured.restore();
      }
    };
    expect((await invoke()).statusCode).toBe(200);

    const revoked: TxtRecord = { name: ledger.name, strings: [ledger.recordWith({ publicKey: '' })] };
    await publish(ledger.name, [revoked]);
    const refused = await eventually(invoke, (response) => response.statusCode !== 200, {
      timeoutMs: PICKUP_LIMIT_MS,
    });
    expect(refused.value.statusCode).toBe(503);
    expect(JSON.parse(refused.value.body)).toEqual({ error: 'self_mismatch' });
  });
});
