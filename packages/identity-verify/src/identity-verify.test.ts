import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { jest } from '@jest/globals';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import { IdentityError, MemoryReplayStore } from '@nhi-dns/core';
import {
  albHeaderValue,
  apiGatewayClientCert,
  captureOutput,
  createTestCertificate,
  createTestIdentity,
  type TestCertificate,
} from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import { DnsError, type DnssecStatus } from '@nhi-dns/resolver';
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

/**
 * A resolver answering from a table, like a warm cache: no network in unit tests. With `dnssec`
 * it plays a validating resolver whose in-process verdict on every answer is that status.
 */
const tableResolver = (table: Map<string, string[][] | Error>, ad = true, dnssec?: DnssecStatus) => ({
  resolver: createTableResolver(table, { ad, ...(dnssec === undefined ? {} : { dnssec }) }),
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
  extra: { errorHandler?: boolean; ad?: boolean; mode?: 'self'; dnssec?: DnssecStatus } = {},
) => {
  const { resolver } = tableResolver(table, extra.ad, extra.dnssec);
  // With a verdict, identity-resolve validates in-process (validateDnssec), as in production.
  const validation = extra.dnssec === undefined ? {} : { validateDnssec: true };
  const handler = jest.fn(async (_event: unknown, context: Context) => ({
    statusCode: 200,
    body: JSON.stringify((context as unknown as { identity?: unknown }).identity ?? null),
  }));
  const wrapped = middy(handler);
  if (extra.errorHandler === true) wrapped.use(httpErrorHandler());
  if (extra.mode === 'self')
    wrapped.use(identityResolve({ zone: ZONE, mode: 'self', self: SELF, resolver, ...validation }));
  else wrapped.use(identityResolve({ zone: ZONE, resolver, ...validation }));
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

  it("requireDnssec: 'validated' asks for this process's own verdict, secure; the AD bit counts for nothing", async () => {
    const verdicts: Array<[DnssecStatus | undefined, boolean, number, string]> = [
      ['secure', false, 200, 'served'],
      ['secure', true, 200, 'served'],
      ['insecure', true, 401, 'record is DNSSEC-insecure (unsigned, or only unsupported algorithms)'],
      [
        undefined,
        true,
        401,
        "record not DNSSEC-validated in this process (identity-resolve's validateDnssec is off)",
      ],
    ];
    for (const [dnssec, ad, status, detail] of verdicts) {
      const { invoke } = chain({ requireDnssec: 'validated' }, records(), { ad, dnssec });
      const { result, out } = await run(async () => invoke(httpEvent(await billing.sign({ aud: SELF }))));
      expect(result.statusCode).toBe(status);
      if (status === 200) {
        expect(out.json()).toContainEqual(
          expect.objectContaining({ message: 'identity verified', 'dns.ad': ad, 'dns.dnssec': dnssec }),
        );
        continue;
      }
      expect(result.body).toBe('{"error":"dnssec_required"}');
      // Both signals are logged beside the reason: what the resolver said, what this process found.
      expect(out.json()).toContainEqual(
        expect.objectContaining({
          'nhi.reason': 'dnssec_required',
          'nhi.detail': detail,
          'dns.ad': ad,
          // JSON logs leave out a field without a value.
          ...(dnssec === undefined ? {} : { 'dns.dnssec': dnssec }),
        }),
      );
    }
  });

  it('denies a record whose signatures fail in-process validation (dnssec_bogus, from identity-resolve), whatever requireDnssec says', async () => {
    for (const requireDnssec of [false, true, 'validated'] as const) {
      const { invoke, handler } = chain({ requireDnssec }, records(), { dnssec: 'bogus' });
      const { result } = await run(async () => invoke(httpEvent(await billing.sign({ aud: SELF }))));
      expect(result).toMatchObject({ statusCode: 401, body: '{"error":"dnssec_bogus"}' });
      expect(result.headers?.['WWW-Authenticate']).toBe('NHI error="invalid_token"');
      expect(handler).not.toHaveBeenCalled();
    }
  });

  it('requireDnssec: true still asks for the AD bit only, whatever the in-process verdict', async () => {
    const token = async () => httpEvent(await billing.sign({ aud: SELF }));
    const adOnly = chain({ requireDnssec: true }, records(), { ad: true });
    expect((await run(async () => adOnly.invoke(await token()))).result.statusCode).toBe(200);
    const secureWithoutAd = chain({ requireDnssec: true }, records(), { ad: false, dnssec: 'secure' });
    expect((await run(async () => secureWithoutAd.invoke(await token()))).result.body).toBe(
      '{"error":"dnssec_required"}',
    );
    const off = chain({}, records(), { ad: false, dnssec: 'insecure' });
    expect((await run(async () => off.invoke(await token()))).result.statusCode).toBe(200);
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
    for (const requireDnssec of ['secure', 'VALIDATED', 1, null, {}]) {
      expect(attempt({ self: SELF, allow: [], requireDnssec })).toThrow(
        invalid(/option 'requireDnssec' is .*; allowed: true \| false, or 'validated'/),
      );
    }
    for (const requireDnssec of [true, false, 'validated']) {
      expect(attempt({ self: SELF, allow: [], requireDnssec })).not.toThrow();
    }
    expect(attempt({ self: SELF, allow: [], requireClientCert: 'yes' })).toThrow(
      invalid(/option 'requireClientCert' is 'yes'; allowed: true \| false/),
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

  it("applies requireDnssec: 'validated' to the self check: only a secure own record serves", async () => {
    const selfValidated = (dnssec: DnssecStatus | undefined) => {
      const { resolver } = tableResolver(records(), true, dnssec);
      const validation = dnssec === undefined ? {} : { validateDnssec: true };
      return middy(async () => ({ statusCode: 200, body: 'served' }))
        .use(
          identityResolve({ zone: ZONE, mode: 'self', self: SELF, resolver, prefetch: false, ...validation }),
        )
        .use(identityVerify({ self: SELF, expect: true, requireDnssec: 'validated' }));
    };
    const secure = await run(() => selfValidated('secure')(httpEvent(undefined), lambdaContext));
    expect(secure.result.body).toBe('served');
    for (const dnssec of ['insecure', undefined] as const) {
      const { result, out } = await run(() => selfValidated(dnssec)(httpEvent(undefined), lambdaContext));
      expect(result).toMatchObject({ statusCode: 503, body: '{"error":"self_mismatch"}' });
      expect(out.json()).toContainEqual(
        expect.objectContaining({
          'nhi.reason': 'self_mismatch',
          'nhi.detail': expect.stringMatching(/^own record: .*\(requireDnssec\)$/),
          'dns.ad': true,
        }),
      );
    }
  });

  it('logs a kid from an unverified token only when it is well formed', async () => {
    const { invoke } = chain();
    const { out } = await run(async () => invoke(httpEvent(await billing.sign({ aud: SELF, kid: 'k9' }))));
    expect(out.json()).toContainEqual(
      expect.objectContaining({ 'nhi.reason': 'unknown_kid', 'nhi.kid': 'k9' }),
    );
  });
});

describe('mutual TLS binding (x5t-s256 pin, API Gateway clientCertPem)', () => {
  let pinned: TestCertificate;
  let other: TestCertificate;
  beforeAll(() => {
    // Real certificates from openssl: the one billing's record pins, and another with the same subject.
    pinned = createTestCertificate('billing');
    other = createTestCertificate('billing');
  });

  const clientCert = apiGatewayClientCert;
  /** HTTP API (payload v2): `requestContext.authentication.clientCert`. */
  const v2 = (token: string | undefined, pem?: string) => ({
    ...httpEvent(token, ''),
    requestContext: {
      domainName: 'api.example.com',
      http: { method: 'POST', path: '/pay' },
      ...(pem === undefined ? {} : { authentication: { clientCert: clientCert(pem) } }),
    },
  });
  /** REST API (v1): `requestContext.identity.clientCert`. */
  const v1 = (token: string | undefined, pem?: string) => ({
    httpMethod: 'POST',
    path: '/pay',
    headers: { Host: 'api.example.com', ...(token === undefined ? {} : { Authorization: `NHI ${token}` }) },
    requestContext: {
      path: '/prod/pay',
      domainName: 'api.example.com',
      identity: { sourceIp: '192.0.2.1', clientCert: pem === undefined ? null : clientCert(pem) },
    },
    body: null,
  });
  const pinnedTable = (thumbprint = pinned.thumbprint) => {
    const table = records();
    table.set(billing.name, [[billing.recordWith({ certThumbprint: thumbprint })]]);
    return table;
  };
  const token = () => billing.sign({ aud: SELF });

  it.each([
    ['HTTP API (v2)', v2],
    ['REST API (v1)', v1],
  ])(
    '%s: serves the pinned certificate, denies another or an unreadable one (cert_mismatch)',
    async (_kind, event) => {
      const { invoke, handler } = chain({}, pinnedTable());
      expect((await run(async () => invoke(event(await token(), pinned.pem)))).result.statusCode).toBe(200);
      for (const [pem, detail] of [
        [other.pem, 'the client certificate is not the one the key pins'],
        [
          '-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n',
          'the client certificate does not parse',
        ],
        ['garbage', 'the client certificate does not parse'],
      ] as const) {
        const { result, out } = await run(async () => invoke(event(await token(), pem)));
        expect(result.statusCode).toBe(401);
        expect(JSON.parse(result.body)).toEqual({ error: 'cert_mismatch' });
        expect(result.headers?.['WWW-Authenticate']).toBe('NHI error="invalid_token"');
        expect(out.emf()).toContainEqual(
          expect.objectContaining({ Reason: 'cert_mismatch', AuthFailure: 1 }),
        );
        expect(out.json()).toContainEqual(
          expect.objectContaining({ level: 'WARN', 'nhi.reason': 'cert_mismatch', 'nhi.detail': detail }),
        );
        // The certificate is public, but a log line has no use for it.
        expect(out.lines.some((line) => line.includes('BEGIN CERTIFICATE'))).toBe(false);
      }
      expect(handler).toHaveBeenCalledTimes(1);
    },
  );

  it('without requireClientCert: a pin is not checked where no certificate is presented, nor is a key without a pin', async () => {
    const pinnedNoCert = chain({}, pinnedTable());
    expect((await run(async () => pinnedNoCert.invoke(v2(await token())))).result.statusCode).toBe(200);
    expect((await run(async () => pinnedNoCert.invoke(v1(await token())))).result.statusCode).toBe(200);
    const unpinned = chain();
    for (const pem of [pinned.pem, other.pem, 'garbage', undefined]) {
      expect((await run(async () => unpinned.invoke(v2(await token(), pem)))).result.statusCode).toBe(200);
    }
  });

  it('with requireClientCert: denies a request without a certificate, and a key that pins none', async () => {
    const required = chain({ requireClientCert: true }, pinnedTable());
    expect((await run(async () => required.invoke(v2(await token(), pinned.pem)))).result.statusCode).toBe(
      200,
    );
    expect((await run(async () => required.invoke(v1(await token(), pinned.pem)))).result.statusCode).toBe(
      200,
    );
    const cases: Array<[string, ReturnType<typeof chain>, () => Promise<unknown>, string]> = [
      ['no certificate (v2)', required, async () => v2(await token()), 'no client certificate presented'],
      ['no certificate (v1)', required, async () => v1(await token()), 'no client certificate presented'],
      ['another certificate', required, async () => v2(await token(), other.pem), 'not the one the key pins'],
      [
        'a key without a pin',
        chain({ requireClientCert: true }),
        async () => v2(await token(), pinned.pem),
        'the key pins no client certificate',
      ],
    ];
    for (const [_case, { invoke }, makeEvent, detail] of cases) {
      const event = await makeEvent();
      const { result, out } = await run(() => invoke(event));
      expect(result).toMatchObject({ statusCode: 401, body: '{"error":"cert_mismatch"}' });
      expect(out.json()).toContainEqual(
        expect.objectContaining({
          'nhi.reason': 'cert_mismatch',
          'nhi.detail': expect.stringContaining(detail),
        }),
      );
    }
    // A direct invocation presents no certificate: the denial is thrown.
    const out = captureOutput();
    const error = await required.invoke({ nhiProof: await token() }).catch((e: unknown) => e);
    out.restore();
    expect(error).toMatchObject({ reason: 'cert_mismatch', statusCode: 401 });
  });

  it('behind an ALB listener with mutual TLS (albMutualTls): reads its header, and only when told', async () => {
    const encoded = albHeaderValue;
    const alb = (proof: string, headers: Record<string, string>) => ({
      httpMethod: 'POST',
      path: '/pay',
      headers: { host: 'api.example.com', authorization: `NHI ${proof}`, ...headers },
      requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/t/1' } },
      body: '',
      isBase64Encoded: false,
    });
    const leaf = 'x-amzn-mtls-clientcert-leaf';
    const verifyMode = chain({ albMutualTls: 'verify', requireClientCert: true }, pinnedTable());
    expect(
      (await run(async () => verifyMode.invoke(alb(await token(), { [leaf]: encoded(pinned.pem) })))).result
        .statusCode,
    ).toBe(200);
    expect(
      (await run(async () => verifyMode.invoke(alb(await token(), { [leaf]: encoded(other.pem) })))).result
        .body,
    ).toBe('{"error":"cert_mismatch"}');
    const passthrough = chain({ albMutualTls: 'passthrough', requireClientCert: true }, pinnedTable());
    const chainHeader = { 'x-amzn-mtls-clientcert': encoded(`${pinned.pem}${other.pem}`) };
    expect(
      (await run(async () => passthrough.invoke(alb(await token(), chainHeader)))).result.statusCode,
    ).toBe(200);
    // Without the option the header is not read: a client could have sent it.
    const unset = chain({ requireClientCert: true }, pinnedTable());
    const { result, out } = await run(async () =>
      unset.invoke(alb(await token(), { [leaf]: encoded(pinned.pem) })),
    );
    expect(result.body).toBe('{"error":"cert_mismatch"}');
    expect(out.json()).toContainEqual(
      expect.objectContaining({ 'nhi.detail': expect.stringContaining('no client certificate presented') }),
    );
    expect(() => identityVerify({ self: SELF, allow: [billing.name], albMutualTls: 'on' as never })).toThrow(
      /albMutualTls/,
    );
  });

  it('behind an ALB listener in verify mode: a leaf header with a second certificate or a raw comma is cert_mismatch, even with the pinned one first', async () => {
    const encoded = albHeaderValue;
    const alb = (proof: string, leafHeader: string) => ({
      httpMethod: 'POST',
      path: '/pay',
      headers: {
        host: 'api.example.com',
        authorization: `NHI ${proof}`,
        'x-amzn-mtls-clientcert-leaf': leafHeader,
      },
      requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/t/1' } },
      body: '',
      isBase64Encoded: false,
    });
    const verifyMode = chain({ albMutualTls: 'verify', requireClientCert: true }, pinnedTable());
    for (const leafHeader of [
      encoded(`${pinned.pem}${other.pem}`),
      `${encoded(pinned.pem)},${encoded(other.pem)}`,
      `${encoded(pinned.pem)},${encoded(pinned.pem)}`,
    ]) {
      const { result, out } = await run(async () => verifyMode.invoke(alb(await token(), leafHeader)));
      expect(result.body).toBe('{"error":"cert_mismatch"}');
      expect(out.json()).toContainEqual(
        expect.objectContaining({ 'nhi.detail': expect.stringContaining('does not parse') }),
      );
    }
  });

  it('checks the pin after the signature and before the replay store: a mismatch does not burn the jti', async () => {
    const replayStore = new MemoryReplayStore();
    const { invoke } = chain({ replayStore }, pinnedTable());
    const proof = await token();
    const wrong = await run(() => invoke(v2(proof, other.pem)));
    expect(wrong.result.body).toBe('{"error":"cert_mismatch"}');
    expect(replayStore.size).toBe(0);
    // The holder of the pinned certificate can still use its proof, once.
    expect((await run(() => invoke(v2(proof, pinned.pem)))).result.statusCode).toBe(200);
    expect((await run(() => invoke(v2(proof, pinned.pem)))).result.body).toBe('{"error":"replayed"}');
    // A forged proof is bad_signature whatever the certificate: the signature is checked first.
    const forged = await intruder.sign({ aud: SELF });
    expect((await run(() => invoke(v2(forged, other.pem)))).result.body).toBe('{"error":"bad_signature"}');
    // Authentication (401) before authorization (403): the binding is part of who the caller is.
    const narrow = chain({ allow: [reports.name] }, pinnedTable());
    expect((await run(async () => narrow.invoke(v2(await token(), other.pem)))).result.body).toBe(
      '{"error":"cert_mismatch"}',
    );
    expect((await run(async () => narrow.invoke(v2(await token(), pinned.pem)))).result.body).toBe(
      '{"error":"not_allowed"}',
    );
  });

  it('pins per key: during a rotation each key is bound to its own certificate', async () => {
    const next = createTestIdentity(billing.name, { kid: 'k2' });
    const table = records();
    table.set(billing.name, [
      [billing.recordWith({ certThumbprint: pinned.thumbprint })],
      [next.recordWith({ certThumbprint: other.thumbprint })],
    ]);
    const { invoke } = chain({ requireClientCert: true }, table);
    const byNext = () => next.sign({ aud: SELF });
    expect((await run(async () => invoke(v2(await byNext(), other.pem)))).result.statusCode).toBe(200);
    expect((await run(async () => invoke(v2(await byNext(), pinned.pem)))).result.body).toBe(
      '{"error":"cert_mismatch"}',
    );
    expect((await run(async () => invoke(v2(await token(), pinned.pem)))).result.statusCode).toBe(200);
  });
});
