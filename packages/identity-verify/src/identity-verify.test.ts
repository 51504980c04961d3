import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { jest } from '@jest/globals';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import { IdentityError, MemoryReplayStore } from '@nhi-dns/core';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import { DnsError } from '@nhi-dns/resolver';
import { createTableResolver } from '@nhi-dns/resolver/test-support';
import type { Context } from 'aws-lambda';
import identityVerify, {
  type IdentityVerifyContext,
  type IdentityVerifyOptions,
  ORIGIN_VARIABLE,
} from './index.js';

const ZONE = 'auth.example.com';
const SELF = `ledger.prod.${ZONE}`;
const billing = createTestIdentity(`billing.prod.${ZONE}`, { attributes: { tier: 'pci' } });
const reports = createTestIdentity(`reports.dev.${ZONE}`, { keyType: 'p256', kid: 'p1' });
const ledger = createTestIdentity(SELF);
const intruder = createTestIdentity(`billing.prod.${ZONE}`); // same name and kid, another key

/** A resolver answering from a table, like a warm cache: no network in unit tests. */
const tableResolver = (table: Map<string, string[][] | Error>, ad = true) => ({
  resolver: createTableResolver(table, { ad }),
});

const records = () =>
  new Map<string, string[][] | Error>([
    [billing.name, [billing.strings, ['v=spf1 -all']]],
    [reports.name, [reports.strings]],
    [ledger.name, [ledger.strings]],
  ]);

const httpEvent = (token: string | undefined, body = '{"amount":10}') => ({
  version: '2.0',
  rawPath: '/pay',
  headers: { host: 'api.example.com', ...(token === undefined ? {} : { authorization: `NHI ${token}` }) },
  requestContext: { http: { method: 'POST', path: '/pay' } },
  body,
  isBase64Encoded: false,
});

// Typed as the chain's context: Middy types a wrapped handler's context as what its middlewares add.
const lambdaContext = { getRemainingTimeInMillis: () => 3000 } as unknown as Context & IdentityVerifyContext;

const chain = (
  options: Partial<IdentityVerifyOptions> = {},
  table = records(),
  extra: { errorHandler?: boolean; ad?: boolean; mode?: 'self' } = {},
) => {
  const { resolver } = tableResolver(table, extra.ad);
  const handler = jest.fn(async (_event: unknown, context: Context) => ({
    statusCode: 200,
    body: JSON.stringify((context as unknown as { identity?: unknown }).identity ?? null),
  }));
  const wrapped = middy(handler);
  if (extra.errorHandler === true) wrapped.use(httpErrorHandler());
  if (extra.mode === 'self') wrapped.use(identityResolve({ zone: ZONE, mode: 'self', self: SELF, resolver }));
  else wrapped.use(identityResolve({ zone: ZONE, resolver }));
  wrapped.use(identityVerify({ self: SELF, allow: [`*.prod.${ZONE}`], ...options }));
  return { invoke: (event: unknown) => wrapped(event, lambdaContext), handler };
};

const run = async (invoke: () => Promise<unknown>) => {
  const out = captureOutput();
  try {
    return {
      result: (await invoke()) as { statusCode: number; headers?: Record<string, string>; body: string },
      out,
    };
  } finally {
    out.restore();
  }
};

describe('identity-resolve → identity-verify, caller mode', () => {
  it('accepts a valid proof and puts the verified caller on the context', async () => {
    const { invoke, handler } = chain();
    const token = await billing.sign({ aud: SELF, body: '{"amount":10}', method: 'POST' });
    const { result, out } = await run(() => invoke(httpEvent(token)));
    expect(result.statusCode).toBe(200);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(JSON.parse(result.body)).toMatchObject({
      name: billing.name,
      service: 'billing',
      environment: 'prod',
      kid: 'k1',
      attributes: { tier: 'pci' },
      claims: { iss: billing.name, aud: SELF },
    });
    const emf = out.emf();
    expect(emf).toContainEqual(expect.objectContaining({ DnsCacheHit: 1 }));
    expect(emf).toContainEqual(expect.objectContaining({ AuthSuccess: 1 }));
    expect(out.json()).toContainEqual(
      expect.objectContaining({ message: 'identity verified', 'nhi.name': billing.name, 'nhi.kid': 'k1' }),
    );
  });

  it('accepts P-256 callers', async () => {
    const { invoke } = chain({ allow: [`reports.*.${ZONE}`] });
    const { result } = await run(async () => invoke(httpEvent(await reports.sign({ aud: [SELF, 'other'] }))));
    expect(result.statusCode).toBe(200);
  });

  const denials: Array<
    [
      string,
      () => Promise<unknown>,
      number,
      string,
      Partial<IdentityVerifyOptions>?,
      ReturnType<typeof records>?,
    ]
  > = [
    ['no proof', async () => httpEvent(undefined), 401, 'missing_proof'],
    ['garbage proof', async () => httpEvent('not-a-jws'), 401, 'malformed_proof'],
    [
      'wrong audience',
      async () => httpEvent(await billing.sign({ aud: `other.prod.${ZONE}` })),
      401,
      'wrong_audience',
    ],
    [
      'iss outside the zone',
      async () => httpEvent(await billing.sign({ aud: SELF, iss: 'billing.prod.evil.example' })),
      401,
      'outside_zone',
    ],
    [
      'unknown caller',
      async () => httpEvent(await createTestIdentity(`ghost.prod.${ZONE}`).sign({ aud: SELF })),
      401,
      'no_record',
    ],
    ['unknown kid', async () => httpEvent(await billing.sign({ aud: SELF, kid: 'k9' })), 401, 'unknown_kid'],
    [
      'key of another holder',
      async () => httpEvent(await intruder.sign({ aud: SELF })),
      401,
      'bad_signature',
    ],
    [
      'tampered body',
      async () => httpEvent(await billing.sign({ aud: SELF, body: '{"amount":10}' }), '{"amount":10000}'),
      401,
      'body_mismatch',
    ],
    ['caller not allowed', async () => httpEvent(await reports.sign({ aud: SELF })), 403, 'not_allowed'],
    [
      'revoked key',
      async () => httpEvent(await billing.sign({ aud: SELF })),
      401,
      'revoked_key',
      {},
      new Map([[billing.name, [[billing.recordWith({ publicKey: '' })]]]]),
    ],
    [
      'DNS failure',
      async () => httpEvent(await billing.sign({ aud: SELF })),
      503,
      'dns_failure',
      {},
      new Map<string, string[][] | Error>([
        [billing.name, new DnsError('timeout', 'no answer', { attempts: 2, latencyMs: 2000 })],
      ]),
    ],
    [
      'body hash required',
      async () => httpEvent(await billing.sign({ aud: SELF })),
      401,
      'body_mismatch',
      { requireBodyHash: true },
    ],
  ];

  it.each(denials)('denies %s', async (_case, makeEvent, status, reason, options = {}, table = records()) => {
    const { invoke, handler } = chain(options, table);
    const event = await makeEvent();
    const { result, out } = await run(() => invoke(event));
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body)).toEqual({ error: reason });
    expect(handler).not.toHaveBeenCalled();
    if (status === 401) expect(result.headers?.['WWW-Authenticate']).toBe('NHI error="invalid_token"');
    if (status === 503) expect(result.headers?.['Retry-After']).toBe('5');
    expect(out.emf()).toContainEqual(expect.objectContaining({ Reason: reason, AuthFailure: 1 }));
    expect(out.json()).toContainEqual(expect.objectContaining({ level: 'WARN', 'nhi.reason': reason }));
  });

  it('denies a replayed proof', async () => {
    const { invoke, handler } = chain({ replayStore: new MemoryReplayStore() });
    const token = await billing.sign({ aud: SELF });
    const first = await run(() => invoke(httpEvent(token, '')));
    const second = await run(() => invoke(httpEvent(token, '')));
    expect(first.result.statusCode).toBe(200);
    expect(second.result).toMatchObject({ statusCode: 401, body: '{"error":"replayed"}' });
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('fails closed when the replay store is unreachable', async () => {
    const replayStore = { claim: () => Promise.reject(new Error('DynamoDB unavailable')) };
    const { invoke } = chain({ replayStore });
    const { result } = await run(async () => invoke(httpEvent(await billing.sign({ aud: SELF }))));
    expect(result).toMatchObject({ statusCode: 401, body: '{"error":"replayed"}' });
  });

  it('requires DNSSEC when asked', async () => {
    const token = await billing.sign({ aud: SELF });
    const insecure = chain({ requireDnssec: true }, records(), { ad: false });
    expect((await run(() => insecure.invoke(httpEvent(token)))).result.body).toBe(
      '{"error":"dnssec_required"}',
    );
    const secure = chain({ requireDnssec: true }, records(), { ad: true });
    expect((await run(() => secure.invoke(httpEvent(token)))).result.statusCode).toBe(200);
  });

  it('gives the same answers with @middy/http-error-handler in the chain', async () => {
    const { invoke } = chain({}, records(), { errorHandler: true });
    const ok = await run(async () => invoke(httpEvent(await billing.sign({ aud: SELF }))));
    expect(ok.result.statusCode).toBe(200);
    const denied = await run(() => invoke(httpEvent(undefined)));
    expect(denied.result).toMatchObject({ statusCode: 401, body: '{"error":"missing_proof"}' });
  });

  it('lets Powertools logMetrics flush even though a denial skips every after hook', async () => {
    const { resolver } = tableResolver(records());
    const metrics = new Metrics({ namespace: 'App', serviceName: 'ledger' });
    const handler = middy(async () => ({ statusCode: 200, body: 'ok' }))
      .use(logMetrics(metrics))
      .use({ before: () => void metrics.addMetric('Requests', MetricUnit.Count, 1) })
      .use(identityResolve({ zone: ZONE, resolver, metrics }))
      .use(identityVerify({ self: SELF, allow: [billing.name], metrics }));
    const { result, out } = await run(() => handler(httpEvent(undefined), lambdaContext));
    expect(result.statusCode).toBe(401);
    expect(out.emf()).toContainEqual(expect.objectContaining({ Requests: 1 }));
    expect(metrics.hasStoredMetrics()).toBe(false);
  });

  it('throws IdentityError for direct invocations', async () => {
    const { invoke, handler } = chain();
    const token = await billing.sign({ aud: SELF });
    const ok = await run(() => invoke({ nhiProof: token, order: 1 }));
    expect(ok.result.statusCode).toBe(200);
    const out = captureOutput();
    const error = await invoke({ order: 1 }).catch((e: unknown) => e);
    out.restore();
    expect(error).toBeInstanceOf(IdentityError);
    expect(error).toMatchObject({
      reason: 'missing_proof',
      statusCode: 401,
      cause: { package: '@nhi-dns/identity-resolve', reason: 'missing_proof' },
    });
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('refuses bad configuration at creation', () => {
    expect(() => identityVerify({ self: 'ledger' })).toThrow(
      expect.objectContaining({ reason: 'invalid_zone' }),
    );
    expect(() => identityVerify({ self: SELF })).toThrow(
      expect.objectContaining({ reason: 'invalid_config' }),
    );
    for (const pattern of [
      'billing.prod.other.example',
      'bil*.prod.auth.example.com',
      'a.billing.prod.auth.example.com',
    ]) {
      expect(() => identityVerify({ self: SELF, allow: [pattern] })).toThrow(
        expect.objectContaining({ reason: 'invalid_pattern' }),
      );
    }
  });
});

describe('identity-resolve → identity-verify, self mode (kill switch)', () => {
  const selfChain = (
    table: Map<string, string[][] | Error>,
    expect: IdentityVerifyOptions['expect'] = true,
  ) => {
    const { resolver } = tableResolver(table);
    const handler = jest.fn(async () => ({ statusCode: 200, body: 'served' }));
    const wrapped = middy(handler)
      .use(identityResolve({ zone: ZONE, mode: 'self', self: SELF, resolver, prefetch: false }))
      .use(identityVerify({ self: SELF, expect }));
    return { invoke: (event: unknown) => wrapped(event, lambdaContext), handler };
  };

  it('serves while the own record is valid', async () => {
    const { invoke } = selfChain(records());
    expect((await run(() => invoke(httpEvent(undefined)))).result.body).toBe('served');
  });

  it('stops serving when the own record is revoked, missing or lacks an expected attribute', async () => {
    const cases = [
      new Map([[ledger.name, [[ledger.recordWith({ publicKey: '' })]]]]),
      new Map<string, string[][]>(),
      records(),
    ];
    for (const [i, table] of cases.entries()) {
      const { invoke, handler } = selfChain(table, i === 2 ? { attributes: { tier: 'pci' } } : true);
      const { result } = await run(() => invoke(httpEvent(undefined)));
      expect(result).toMatchObject({ statusCode: 503, body: '{"error":"self_mismatch"}' });
      expect(handler).not.toHaveBeenCalled();
    }
  });

  it('checks the own record and the caller in one chain (two identity-resolve instances)', async () => {
    const table = records();
    const { resolver } = tableResolver(table);
    const handler = jest.fn(async () => ({ statusCode: 200, body: 'served' }));
    const wrapped = middy(handler)
      .use(identityResolve({ zone: ZONE, mode: 'self', self: SELF, resolver, prefetch: false }))
      .use(identityResolve({ zone: ZONE, resolver }))
      .use(identityVerify({ self: SELF, allow: [billing.name], expect: true }));
    const token = await billing.sign({ aud: SELF });
    expect((await run(() => wrapped(httpEvent(token, ''), lambdaContext))).result.statusCode).toBe(200);
    table.set(ledger.name, [[ledger.recordWith({ publicKey: '' })]]);
    const killed = await run(async () =>
      wrapped(httpEvent(await billing.sign({ aud: SELF }), ''), lambdaContext),
    );
    expect(killed.result).toMatchObject({ statusCode: 503, body: '{"error":"self_mismatch"}' });
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('stops serving when the own key has expired', async () => {
    const table = new Map([[ledger.name, [[ledger.recordWith({ expiresAt: 1_000 })]]]]);
    const { invoke } = selfChain(table);
    expect((await run(() => invoke(httpEvent(undefined)))).result.statusCode).toBe(503);
  });
});

describe('regressions from the security review', () => {
  it('checks the policy before the replay store: refused callers cannot push out allowed jtis', async () => {
    const tool = createTestIdentity(`tool.dev.${ZONE}`);
    const table = records();
    table.set(tool.name, [tool.strings]);
    const replayStore = new MemoryReplayStore({ maxEntries: 5, clockSkew: 0 });
    const { invoke } = chain({ allow: [billing.name], replayStore }, table);
    const token = await billing.sign({ aud: SELF });
    expect((await run(() => invoke(httpEvent(token, '')))).result.statusCode).toBe(200);
    for (let i = 0; i < 10; i++) {
      const refused = await run(async () => invoke(httpEvent(await tool.sign({ aud: SELF }), '')));
      expect(refused.result.statusCode).toBe(403);
    }
    expect(replayStore.size).toBe(1);
    expect((await run(() => invoke(httpEvent(token, '')))).result.body).toBe('{"error":"replayed"}');
  });

  it('keeps a jti for exp + clockSkew whatever store the user passes', async () => {
    let clock = 1_900_000_000;
    const replayStore = new MemoryReplayStore({ now: () => clock * 1000 });
    const { invoke } = chain({ clockSkew: 300, replayStore, now: () => clock });
    const token = await billing.sign({ aud: SELF, now: clock, lifetime: 60 });
    expect((await run(() => invoke(httpEvent(token, '')))).result.statusCode).toBe(200);
    clock += 60 + 70; // past exp + the store's own 60 s grace, within the verifier's 300 s skew
    expect((await run(() => invoke(httpEvent(token, '')))).result.body).toBe('{"error":"replayed"}');
  });

  it('shares nothing mutable between invocations through the context', async () => {
    const table = records();
    const { resolver } = tableResolver(table);
    const seen: Array<Record<string, string>> = [];
    const handler = middy(async (_event: unknown, context: Context) => {
      const ctx = context as unknown as {
        identity: { attributes: Record<string, string> };
        nhi: { keys: Map<string, unknown> };
      };
      seen.push({ ...ctx.identity.attributes });
      expect(() => {
        ctx.identity.attributes.tier = 'public';
      }).toThrow(TypeError);
      expect(typeof ctx.nhi.keys.delete).toBe('undefined');
      return { statusCode: 200, body: 'ok' };
    })
      .use(identityResolve({ zone: ZONE, resolver }))
      .use(identityVerify({ self: SELF, allow: [billing.name] }));
    for (let i = 0; i < 2; i++) {
      const token = await billing.sign({ aud: SELF });
      expect((await run(() => handler(httpEvent(token, ''), lambdaContext))).result.statusCode).toBe(200);
    }
    expect(seen).toEqual([{ tier: 'pci' }, { tier: 'pci' }]);
  });

  it('binds htu to the host API Gateway received and ignores the query string', async () => {
    const { invoke } = chain();
    const event = (token: string) => ({
      ...httpEvent(token, ''),
      rawPath: '/prod/pay',
      rawQueryString: 'id=7',
      headers: { host: 'spoofed.example', authorization: `NHI ${token}` },
      requestContext: { domainName: 'api.example.com', http: { method: 'POST', path: '/prod/pay' } },
    });
    const good = await billing.sign({ aud: SELF, url: 'https://api.example.com/prod/pay?id=7' });
    expect((await run(() => invoke(event(good)))).result.statusCode).toBe(200);
    const other = await billing.sign({ aud: SELF, url: 'https://spoofed.example/prod/pay' });
    expect((await run(() => invoke(event(other)))).result.body).toBe('{"error":"wrong_audience"}');
  });

  it("binds htu to the configured origin where the event's host is not what the caller called", async () => {
    // serverless-offline's events: every host is a placeholder, the caller called localhost.
    const event = (token: string) => ({
      ...httpEvent(token, ''),
      rawPath: '/payments',
      headers: { host: 'localhost:3000', authorization: `NHI ${token}` },
      requestContext: {
        domainName: 'offlineContext_domainName',
        http: { method: 'POST', path: '/payments' },
      },
    });
    const local = await billing.sign({ aud: SELF, url: 'http://localhost:3000/payments' });
    expect((await run(() => chain().invoke(event(local)))).result.body).toBe('{"error":"wrong_audience"}');
    const configured = chain({ origin: 'http://LOCALHOST:3000/' });
    expect((await run(() => configured.invoke(event(local)))).result.statusCode).toBe(200);
    // Only the path comes from the event: another host or port in the proof does not match.
    for (const url of [
      'http://localhost:3001/payments',
      'https://localhost:3000/payments',
      'http://localhost:3000/refunds',
    ]) {
      const token = await billing.sign({ aud: SELF, url });
      expect((await run(() => configured.invoke(event(token)))).result.body).toBe(
        '{"error":"wrong_audience"}',
      );
    }
  });

  it('reads the origin from NHI_ORIGIN when the option is not given, and refuses what is not an origin', async () => {
    const saved = process.env[ORIGIN_VARIABLE];
    try {
      process.env[ORIGIN_VARIABLE] = 'https://pay.example.com';
      const event = (token: string) => ({
        ...httpEvent(token, ''),
        rawPath: '/v1/pay',
        requestContext: {
          domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
          http: { method: 'POST', path: '/v1/pay' },
        },
      });
      const token = await billing.sign({ aud: SELF, url: 'https://pay.example.com/v1/pay' });
      expect((await run(() => chain().invoke(event(token)))).result.statusCode).toBe(200);
      process.env[ORIGIN_VARIABLE] = 'https://pay.example.com/v1';
      expect(() => identityVerify({ self: SELF, allow: [] })).toThrow(
        expect.objectContaining({
          reason: 'invalid_config',
          message: expect.stringMatching(/NHI_ORIGIN is not an origin/),
        }),
      );
    } finally {
      if (saved === undefined) delete process.env[ORIGIN_VARIABLE];
      else process.env[ORIGIN_VARIABLE] = saved;
    }
    for (const origin of [
      'api.example.com',
      'ftp://api.example.com',
      'https://api.example.com/x',
      'https://u:p@api.example.com',
      'https://api.example.com?a=1',
      'https://api.example.com#f',
    ]) {
      expect(() => identityVerify({ self: SELF, allow: [], origin })).toThrow(
        expect.objectContaining({
          reason: 'invalid_config',
          message: expect.stringMatching(/option 'origin'/),
        }),
      );
    }
  });

  it('refuses bad lifetime and skew settings at creation, and a broken clock is an error, not a 401', async () => {
    expect(() => identityVerify({ self: SELF, allow: [], maxLifetime: 0.5 })).toThrow(
      expect.objectContaining({ reason: 'invalid_config' }),
    );
    expect(() => identityVerify({ self: SELF, allow: [], clockSkew: -1 })).toThrow(
      expect.objectContaining({ reason: 'invalid_config' }),
    );
    const { invoke } = chain({ now: () => Date.now() / 1000 });
    const token = await billing.sign({ aud: SELF });
    const out = captureOutput();
    const outcome = await invoke(httpEvent(token, '')).catch((error: unknown) => error);
    out.restore();
    expect(outcome).toBeInstanceOf(TypeError);
  });

  it('validates every option as JavaScript callers pass them (typed invalid_config, named option)', () => {
    const attempt = (options: unknown) => () => identityVerify(options as never);
    const invalid = (message: RegExp) =>
      expect.objectContaining({ reason: 'invalid_config', message: expect.stringMatching(message) });
    expect(attempt({})).toThrow(invalid(/option 'self' is required/));
    expect(attempt(undefined)).toThrow(invalid(/options must be an object/));
    expect(attempt({ self: SELF, allow: `billing.prod.${ZONE}` })).toThrow(
      invalid(/option 'allow' is 'billing.prod.auth.example.com'; allowed: an array of strings/),
    );
    expect(attempt({ self: SELF, allow: [], requireDnssec: 'yes' })).toThrow(
      invalid(/option 'requireDnssec'/),
    );
    expect(attempt({ self: SELF, allow: [], retryAfter: -5 })).toThrow(invalid(/option 'retryAfter' is -5/));
    expect(attempt({ self: SELF, allowList: [] })).toThrow(
      invalid(/unknown option 'allowList' \(did you mean 'allow'\?\)/),
    );
    expect(attempt({ self: SELF, allow: [], replayStore: {} })).toThrow(invalid(/option 'replayStore'/));
  });

  it('applies requireDnssec to the self check too', async () => {
    const { resolver } = tableResolver(records(), false);
    const handler = middy(async () => ({ statusCode: 200, body: 'served' }))
      .use(identityResolve({ zone: ZONE, mode: 'self', self: SELF, resolver, prefetch: false }))
      .use(identityVerify({ self: SELF, expect: true, requireDnssec: true }));
    const { result } = await run(() => handler(httpEvent(undefined), lambdaContext));
    expect(result).toMatchObject({ statusCode: 503, body: '{"error":"self_mismatch"}' });
  });

  it('logs a kid from an unverified token only when it is well formed', async () => {
    const { invoke } = chain();
    const { out } = await run(async () => invoke(httpEvent(await billing.sign({ aud: SELF, kid: 'k9' }))));
    expect(out.json()).toContainEqual(
      expect.objectContaining({ 'nhi.reason': 'unknown_kid', 'nhi.kid': 'k9' }),
    );
  });
});
