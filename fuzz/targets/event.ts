import middy from '@middy/core';
import {
  DENIAL_REASONS,
  httpEventKind,
  IdentityError,
  isDenialReason,
  MAX_PROOF_BYTES,
  type NhiLogger,
  type NhiMetrics,
} from '@nhi-dns/core';
import { createTestIdentity } from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import identityVerify from '@nhi-dns/identity-verify';
import type { Resolver, TxtResult } from '@nhi-dns/resolver';
import fc from 'fast-check';
import { type FuzzTarget, invariant } from './target.js';

const ZONE = 'auth.example.com';
const SELF = `ledger.prod.${ZONE}`;
const STATUSES = new Set([401, 403, 503]);

/** Everything the chain emitted for one event: the reasons counted under AuthFailure. */
interface Recorded {
  failures: string[];
}

/** Silent Powertools stand-ins that keep the `Reason` of every `AuthFailure`. */
const recordingObservability = (recorded: Recorded): { logger: NhiLogger; metrics: NhiMetrics } => {
  const noop = () => undefined;
  const single = () => {
    let reason: string | undefined;
    const metric = {
      addDimension: (name: string, value: string) => {
        if (name === 'Reason') reason = value;
        return metric;
      },
      addMetric: (name: string) => {
        if (name === 'AuthFailure') recorded.failures.push(reason ?? '<no reason>');
        return metric;
      },
    };
    return metric;
  };
  const logger = { debug: noop, info: noop, warn: noop, error: noop } as unknown as NhiLogger;
  const metrics = {
    addMetric: noop,
    singleMetric: single,
    publishStoredMetrics: noop,
    hasStoredMetrics: () => false,
  } as unknown as NhiMetrics;
  return { logger, metrics };
};

interface Fixture {
  handler: (event: unknown, context: unknown) => Promise<unknown>;
  recorded: Recorded;
  /** `jti` of every proof the handler ran with: each at most once (replay protection). */
  served: string[];
  /** Valid proofs, for the pool. */
  valid: string[];
}

let fixture: Promise<Fixture> | undefined;
/** The valid proofs, once `prepare` has signed them. */
let pool: readonly string[] | undefined;
/** One chain for the whole run (as one Lambda instance), built on first use. */
const getFixture = (): Promise<Fixture> => {
  fixture ??= (async (): Promise<Fixture> => {
    const billing = createTestIdentity(`billing.prod.${ZONE}`);
    const resolver = {
      resolveTxt: async (name: string): Promise<TxtResult> => ({
        records: name === billing.name ? [billing.strings] : [],
        cnameChain: [],
        ttl: 60,
        ad: true,
        rcode: name === billing.name ? 'NOERROR' : 'NXDOMAIN',
        outcome: name === billing.name ? 'hit' : 'nxdomain',
        fromCache: true,
        latencyMs: 0,
        attempts: 0,
      }),
    } as unknown as Resolver;
    const recorded: Recorded = { failures: [] };
    const observability = recordingObservability(recorded);
    const served: string[] = [];
    const handler = middy(async (_event: unknown, context: { caller?: { claims: { jti: string } } }) => {
      served.push(context.caller?.claims.jti ?? '<no identity>');
      return { statusCode: 200, body: 'ok' };
    })
      .use(identityResolve({ zone: ZONE, resolver, ...observability }))
      .use(identityVerify({ self: SELF, allow: [`*.prod.${ZONE}`], ...observability }));
    const valid = await Promise.all([
      billing.sign({ aud: SELF }),
      billing.sign({ aud: SELF, body: '{"a":1}', method: 'POST' }),
      billing.sign({ aud: [SELF, 'x'] }),
      // Binds the direct-invoke envelope payload '{"a":1}' (nhiPayload), and nothing else.
      billing.sign({ aud: SELF, body: '{"a":1}' }),
    ]);
    pool = valid;
    const invoke = (event: unknown, context: unknown) => handler(event, context as never);
    return { handler: invoke, recorded, served, valid };
  })();
  return fixture;
};

/** Authorization values: valid proofs, near-misses, junk, and shapes that smuggle. */
const authorization = (valid: readonly string[]) =>
  fc.oneof(
    fc.constantFrom(...valid.map((token) => `NHI ${token}`)),
    fc.constantFrom(...valid).map((token) => `nhi  ${token}`),
    fc.constantFrom(...valid).map((token) => `NHI ${token}, NHI ${token}`),
    fc.constantFrom(
      'NHI',
      'NHI ',
      'Bearer abc',
      'NHI a.b.c',
      'NHI ...',
      `NHI ${'a'.repeat(MAX_PROOF_BYTES + 1)}`,
    ),
    fc.string({ maxLength: 200 }).map((text) => `NHI ${text}`),
    fc.string({ maxLength: 60 }),
    fc.anything({ maxDepth: 1 }),
  );

const headerName = fc.constantFrom('authorization', 'Authorization', 'AUTHORIZATION', 'host', 'x-nhi');

/** API Gateway v1/v2, Function URL, ALB (single and multi-value), direct invocations, and anything. */
const events = (valid: readonly string[]) => {
  const headers = fc.dictionary(headerName, authorization(valid), { maxKeys: 3 });
  const multi = fc.dictionary(headerName, fc.array(authorization(valid), { maxLength: 3 }), { maxKeys: 2 });
  const body = fc.option(fc.oneof(fc.constant('{"a":1}'), fc.string({ maxLength: 50 })), { nil: undefined });
  const base64 = fc.boolean();
  return fc.oneof(
    fc.record({
      version: fc.constant('2.0'),
      rawPath: fc.constant('/pay'),
      headers,
      body,
      isBase64Encoded: base64,
      requestContext: fc.constant({ http: { method: 'POST', path: '/pay' } }),
    }),
    fc.record({
      httpMethod: fc.constantFrom('POST', 'GET'),
      path: fc.constant('/pay'),
      headers,
      multiValueHeaders: multi,
      body,
      isBase64Encoded: base64,
      requestContext: fc.constant({ httpMethod: 'POST' }),
    }),
    fc.record({
      httpMethod: fc.constant('POST'),
      path: fc.constant('/pay'),
      headers,
      body,
      requestContext: fc.constant({ elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:x' } }),
    }),
    fc.record({
      httpMethod: fc.constant('POST'),
      path: fc.constant('/pay'),
      multiValueHeaders: multi,
      body,
      requestContext: fc.constant({ elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:x' } }),
    }),
    fc.record({
      nhiProof: fc.oneof(fc.constantFrom(...valid), fc.anything({ maxDepth: 1 })),
      order: fc.nat(),
    }),
    // Direct-invoke envelopes: the signed payload as a string, near misses, and other types.
    fc.record({
      nhiProof: fc.oneof(fc.constantFrom(...valid), fc.anything({ maxDepth: 1 })),
      nhiPayload: fc.oneof(
        fc.constant('{"a":1}'),
        fc.constantFrom('{"a":1} ', '{"a":2}', '', '{"a": 1}'),
        fc.string(),
        fc.anything({ maxDepth: 1 }),
      ),
    }),
    fc.anything({ maxDepth: 2 }),
  );
};

/**
 * Event shapes of every front end (API Gateway v1/v2, Function URL, ALB single and multi-value,
 * direct invocation, and arbitrary values) with valid, smuggled, oversized and junk
 * `Authorization` values, through the full identity-resolve → identity-verify chain (one chain
 * for the run, like one Lambda instance). Invariants: the chain either serves a pool proof (each
 * at most once: replay) or denies with a 401/403/503 response or an `IdentityError` whose reason
 * is in `DENIAL_REASONS`, counted once under `AuthFailure` with that `Reason`; nothing else is thrown.
 */
export const eventTarget: FuzzTarget<unknown> = {
  name: 'event-shape',
  description:
    'API Gateway v1/v2, Function URL, ALB, direct and arbitrary events → identity-resolve → identity-verify',
  prepare: async () => {
    await getFixture();
  },
  arbitrary: () => {
    if (pool === undefined) throw new Error('event-shape: prepare() must run first');
    return events(pool);
  },
  async check(event) {
    const { handler, recorded, served } = await getFixture();
    const before = { failures: recorded.failures.length, served: served.length };
    let outcome: unknown;
    try {
      outcome = await handler(event, { getRemainingTimeInMillis: () => 3000 } as never);
    } catch (error) {
      invariant(error instanceof IdentityError, `chain threw ${String(error)}`);
      invariant(isDenialReason(error.reason), `reason outside DENIAL_REASONS: ${error.reason}`);
      outcome = { thrown: error.reason };
    }
    const failures = recorded.failures.slice(before.failures);
    if (served.length > before.served) {
      invariant(failures.length === 0, 'served and denied at once');
      invariant((outcome as { statusCode?: number }).statusCode === 200, 'served without the handler result');
      const jti = served[served.length - 1]!;
      invariant(served.indexOf(jti) === served.length - 1, 'one proof served twice (replay)');
      const envelope = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
      if (httpEventKind(event) === undefined && envelope.nhiProof === pool?.[3]) {
        invariant(envelope.nhiPayload === '{"a":1}', 'a bh-bound proof served a payload it does not cover');
      }
      return;
    }
    invariant(failures.length === 1, `expected one AuthFailure, saw ${failures.length}`);
    const reason = failures[0]!;
    invariant(
      (DENIAL_REASONS as readonly string[]).includes(reason),
      `metric Reason outside the closed list: ${reason}`,
    );
    if ('thrown' in (outcome as object)) {
      invariant((outcome as { thrown: string }).thrown === reason, 'thrown reason differs from the metric');
      return;
    }
    const response = outcome as { statusCode?: unknown; body?: unknown };
    invariant(
      typeof response.statusCode === 'number' && STATUSES.has(response.statusCode),
      'denial status not 401/403/503',
    );
    invariant(
      response.body === JSON.stringify({ error: reason }),
      'denial body differs from the metric reason',
    );
  },
};
