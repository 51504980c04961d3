/**
 * Attack catalogue (SECURITY.md): every attack an adversary without the caller's private key can
 * mount on the identity-resolve → identity-verify chain, each run through a full Middy chain and
 * held to the same four facts: HTTP status, `{"error": reason}`, one `AuthFailure` EMF metric with
 * that `Reason`, and the handler never ran. Queue records (A12) are held to the same facts in
 * their own form: the record listed in `batchItemFailures`, `AuthFailure` with that `Reason`, and
 * no handler run.
 */
import { createHmac, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { jest } from '@jest/globals';
import middy from '@middy/core';
import { bodyHash, MemoryReplayStore, type ReplayStore, withSignedPayload } from '@nhi-dns/core';
import { DynamoDbReplayStore } from '@nhi-dns/core/replay-dynamodb';
import { captureOutput, createTestIdentity } from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import { createResolver, type Resolver } from '@nhi-dns/resolver';
import { createTableResolver, startTestDnsServer } from '@nhi-dns/resolver/test-support';
import type { Context, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import identityVerify, {
  type IdentityVerifyContext,
  type IdentityVerifyOptions,
  type IdentityVerifyRecordsContext,
  type IdentityVerifyRecordsOptions,
  identityVerifyRecords,
} from './index.js';

const ZONE = 'auth.example.com';
const SELF = `ledger.prod.${ZONE}`;
const billing = createTestIdentity(`billing.prod.${ZONE}`);
const reports = createTestIdentity(`reports.prod.${ZONE}`, { keyType: 'p256', kid: 'p1' });
/** Holds a valid key of its own identity; tries to pass as billing. */
const mallory = createTestIdentity(`mallory.prod.${ZONE}`);
// Typed as the chain's context: Middy types a wrapped handler's context as what its middlewares add.
const lambdaContext = { getRemainingTimeInMillis: () => 3000 } as unknown as Context & IdentityVerifyContext;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/** What the fake resolver answers for one name: the RRs, and the CNAME chain that led there. */
interface Answer {
  records: string[][];
  cnameChain?: string[];
}
type Zone = Map<string, Answer>;

const defaultZone = (): Zone =>
  new Map([
    [billing.name, { records: [billing.strings, ['v=spf1 -all']] }],
    [reports.name, { records: [reports.strings] }],
    [mallory.name, { records: [mallory.strings] }],
  ]);

/** A resolver answering from a table (a warm cache): attacks on DNS itself are in the resolver's tests. */
const tableResolver = (zone: Zone | ((name: string) => Answer | undefined), ad: boolean): Resolver =>
  createTableResolver(typeof zone === 'function' ? zone : (name: string) => zone.get(name), { ad });

interface ChainSetup {
  options?: Partial<IdentityVerifyOptions>;
  zone?: Zone | ((name: string) => Answer | undefined);
  ad?: boolean;
  resolver?: Resolver;
}

const chain = (setup: ChainSetup = {}) => {
  const resolver = setup.resolver ?? tableResolver(setup.zone ?? defaultZone(), setup.ad ?? true);
  const handler = jest.fn(async (_event: unknown, context: Context) => ({
    statusCode: 200,
    body: JSON.stringify((context as unknown as { identity?: unknown }).identity ?? null),
  }));
  const wrapped = middy(handler)
    .use(identityResolve({ zone: ZONE, resolver }))
    .use(identityVerify({ self: SELF, allow: [`*.prod.${ZONE}`], ...setup.options }));
  // A fresh context per invocation, as Lambda gives: concurrent invocations must not share one.
  return { invoke: (event: unknown) => wrapped(event, { ...lambdaContext }), handler };
};

interface HttpResult {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

/** Runs one invocation with Powertools output captured; a thrown error is returned, not raised. */
const run = async (invoke: () => Promise<unknown>) => {
  const out = captureOutput();
  try {
    const result = await invoke().catch((error: unknown) => error);
    return { result: result as HttpResult, out };
  } finally {
    out.restore();
  }
};

const nowSeconds = () => Math.floor(Date.now() / 1000);
const jti = () => randomBytes(16).toString('base64url');
const b64url = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Good claims from billing to SELF; override any of them. */
const claims = (overrides: Record<string, unknown> = {}) => {
  const iat = nowSeconds();
  return { iss: billing.name, aud: SELF, iat, exp: iat + 60, jti: jti(), ...overrides };
};
const header = (overrides: Record<string, unknown> = {}) => ({
  alg: 'EdDSA',
  kid: 'k1',
  typ: 'nhi+jwt',
  ...overrides,
});

/** Signs any header and claims with `key` (Ed25519 or P-256 raw r||s), bypassing signProof's checks. */
const signRaw = (head: unknown, body: unknown, key: KeyObject): string => {
  const input = `${b64url(head)}.${b64url(body)}`;
  const data = Buffer.from(input);
  const signature =
    key.asymmetricKeyType === 'ed25519'
      ? sign(null, data, key)
      : sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
};

const httpEvent = (token: string | undefined, extra: Record<string, unknown> = {}) => ({
  version: '2.0',
  rawPath: '/pay',
  headers: { host: 'api.example.com', ...(token === undefined ? {} : { authorization: `NHI ${token}` }) },
  requestContext: { http: { method: 'POST', path: '/pay' } },
  body: '{"amount":10}',
  isBase64Encoded: false,
  ...extra,
});

/** An API Gateway REST (v1) event with explicit single- and multi-value headers. */
const restEvent = (headers: Record<string, string>, multiValueHeaders: Record<string, string[]>) => ({
  resource: '/pay',
  path: '/pay',
  httpMethod: 'POST',
  headers,
  multiValueHeaders,
  requestContext: { httpMethod: 'POST', path: '/prod/pay' },
  body: null,
  isBase64Encoded: false,
});

/** The four facts every denial must show. */
const expectDenied = (
  { result, out }: Awaited<ReturnType<typeof run>>,
  handler: ReturnType<typeof chain>['handler'],
  status: number,
  reason: string,
) => {
  if (result instanceof Error) {
    // Direct invocations: IdentityError carries the same status and reason.
    expect(result).toMatchObject({ name: 'IdentityError', reason, statusCode: status });
  } else {
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body)).toEqual({ error: reason });
  }
  expect(out.emf()).toContainEqual(expect.objectContaining({ AuthFailure: 1, Reason: reason }));
  expect(handler).not.toHaveBeenCalled();
};

interface Attack {
  /** Catalogue entry (SECURITY.md). */
  name: string;
  event: () => unknown | Promise<unknown>;
  status: number;
  reason: string;
  setup?: ChainSetup;
}

const attacks = (entries: Attack[]) =>
  it.each(entries.map((entry) => [entry.name, entry] as const))('%s', async (_name, attack) => {
    const { invoke, handler } = chain(attack.setup);
    const event = await attack.event();
    expectDenied(await run(() => invoke(event)), handler, attack.status, attack.reason);
  });

// ---------------------------------------------------------------------------------------------
// Catalogue
// ---------------------------------------------------------------------------------------------

describe('A1 algorithm confusion: the record key type fixes the algorithm', () => {
  const p256Pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const edPair = generateKeyPairSync('ed25519');
  attacks([
    {
      name: 'ES256 header against an ed25519 key (signed with an attacker P-256 key)',
      event: () => httpEvent(signRaw(header({ alg: 'ES256' }), claims(), p256Pair.privateKey)),
      status: 401,
      reason: 'bad_alg',
    },
    {
      name: 'EdDSA header against a p256 key (signed with an attacker Ed25519 key)',
      event: () =>
        httpEvent(signRaw(header({ kid: 'p1' }), claims({ iss: reports.name }), edPair.privateKey)),
      status: 401,
      reason: 'bad_alg',
    },
    {
      name: 'ES256 header, signed by the real ed25519 private key (alg mislabelled)',
      event: () => httpEvent(signRaw(header({ alg: 'ES256' }), claims(), billing.privateKey)),
      status: 401,
      reason: 'bad_alg',
    },
    {
      name: 'HS256 with the published public key as the HMAC secret',
      event: () => {
        const input = `${b64url(header({ alg: 'HS256' }))}.${b64url(claims())}`;
        const secret = Buffer.from(billing.publicKey, 'base64');
        return httpEvent(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`);
      },
      status: 401,
      reason: 'bad_alg',
    },
    {
      name: 'alg "none" with an empty signature',
      event: () => httpEvent(`${b64url(header({ alg: 'none' }))}.${b64url(claims())}.`),
      status: 401,
      reason: 'bad_alg',
    },
    {
      name: 'alg "EdDSA " (trailing space) with a valid signature',
      event: () => httpEvent(signRaw(header({ alg: 'EdDSA ' }), claims(), billing.privateKey)),
      status: 401,
      reason: 'bad_alg',
    },
  ]);
});

describe('A2 wrong key: signatures by anything but the published key', () => {
  attacks([
    {
      name: 'key of another identity (mallory signs as billing, kid k1)',
      event: () => httpEvent(signRaw(header(), claims(), mallory.privateKey)),
      status: 401,
      reason: 'bad_signature',
    },
    {
      name: 'claims altered after signing (aud swapped, signature kept)',
      event: async () => {
        const [h, , s] = (await billing.sign({ aud: `other.prod.${ZONE}` })).split('.');
        return httpEvent(`${h}.${b64url(claims())}.${s}`);
      },
      status: 401,
      reason: 'bad_signature',
    },
    {
      name: 'one bit of the signature flipped',
      event: async () => {
        const [h, c, s = ''] = (await billing.sign({ aud: SELF })).split('.');
        const bytes = Buffer.from(s, 'base64url');
        bytes[10] = (bytes[10] ?? 0) ^ 1;
        return httpEvent(`${h}.${c}.${bytes.toString('base64url')}`);
      },
      status: 401,
      reason: 'bad_signature',
    },
    {
      name: 'signature truncated to 63 bytes',
      event: async () => {
        const [h, c, s = ''] = (await billing.sign({ aud: SELF })).split('.');
        return httpEvent(`${h}.${c}.${Buffer.from(s, 'base64url').subarray(0, 63).toString('base64url')}`);
      },
      status: 401,
      reason: 'bad_signature',
    },
    {
      name: 'signature segment padded with "=" (non-canonical base64url)',
      event: async () => httpEvent(`${await billing.sign({ aud: SELF })}==`),
      status: 401,
      reason: 'malformed_proof',
    },
    {
      name: 'typ "JWT" (a token minted for another purpose)',
      event: () => httpEvent(signRaw(header({ typ: 'JWT' }), claims(), billing.privateKey)),
      status: 401,
      reason: 'bad_typ',
    },
    {
      name: 'no typ header at all (one reason for one cause: bad_typ, not malformed_proof)',
      event: () => httpEvent(signRaw(header({ typ: undefined }), claims(), billing.privateKey)),
      status: 401,
      reason: 'bad_typ',
    },
    {
      name: 'crit header naming an extension we do not understand',
      event: () => httpEvent(signRaw(header({ crit: ['b64'], b64: false }), claims(), billing.privateKey)),
      status: 401,
      reason: 'malformed_proof',
    },
  ]);
});

describe('A3 kid injection', () => {
  attacks([
    {
      name: 'path-like kid "../../k1"',
      event: () => httpEvent(signRaw(header({ kid: '../../k1' }), claims(), billing.privateKey)),
      status: 401,
      reason: 'unknown_kid',
    },
    {
      name: 'kid "__proto__" (prototype lookup)',
      event: () => httpEvent(signRaw(header({ kid: '__proto__' }), claims(), billing.privateKey)),
      status: 401,
      reason: 'unknown_kid',
    },
    {
      name: 'unicode look-alike kid "k\u0031\u200b" (zero-width space)',
      event: () => httpEvent(signRaw(header({ kid: 'k1\u200b' }), claims(), billing.privateKey)),
      status: 401,
      reason: 'unknown_kid',
    },
    {
      name: 'huge kid (4 000 characters, under the size limit)',
      event: () => httpEvent(signRaw(header({ kid: 'k'.repeat(4000) }), claims(), billing.privateKey)),
      status: 401,
      reason: 'unknown_kid',
    },
    {
      name: 'huge kid (10 000 characters, over the 8 KiB limit)',
      event: () => httpEvent(signRaw(header({ kid: 'k'.repeat(10_000) }), claims(), billing.privateKey)),
      status: 401,
      reason: 'proof_too_large',
    },
    {
      name: 'kid of a number type',
      event: () => httpEvent(signRaw(header({ kid: 1 }), claims(), billing.privateKey)),
      status: 401,
      reason: 'malformed_proof',
    },
  ]);
});

describe('A4 issuer tricks', () => {
  const signedAs = (iss: string) => () => httpEvent(signRaw(header(), claims({ iss }), billing.privateKey));
  attacks([
    {
      name: 'iss in another zone',
      event: signedAs('billing.prod.evil.example'),
      status: 401,
      reason: 'outside_zone',
    },
    {
      name: 'iss with the zone as a suffix of another label (billing.prod.evilauth.example.com)',
      event: signedAs('billing.prod.evilauth.example.com'),
      status: 401,
      reason: 'outside_zone',
    },
    {
      name: 'iss with the zone followed by an attacker domain',
      event: signedAs(`billing.prod.${ZONE}.evil.example`),
      status: 401,
      reason: 'outside_zone',
    },
    {
      name: 'iss one label too deep (x.billing.prod.<zone>)',
      event: signedAs(`x.billing.prod.${ZONE}`),
      status: 401,
      reason: 'outside_zone',
    },
    {
      name: 'IDN homograph in the service label (Cyrillic і)',
      event: signedAs(`b\u0456lling.prod.${ZONE}`),
      status: 401,
      reason: 'outside_zone',
    },
    {
      name: 'IDN homograph in the zone (Cyrillic а in example)',
      event: signedAs('billing.prod.auth.ex\u0430mple.com'),
      status: 401,
      reason: 'outside_zone',
    },
    {
      name: 'punycode service label (a different name, no record)',
      event: signedAs(`xn--bllng-cxa.prod.${ZONE}`),
      status: 401,
      reason: 'no_record',
    },
    {
      name: 'upper case + trailing dot: canonicalised, so policy still applies (not allowed)',
      event: signedAs(`BILLING.PROD.${ZONE.toUpperCase()}.`),
      status: 403,
      reason: 'not_allowed',
      setup: { options: { allow: [`reports.*.${ZONE}`] } },
    },
    {
      name: 'iss missing',
      event: signedAs(undefined as unknown as string),
      status: 401,
      reason: 'malformed_proof',
    },
  ]);

  it('upper case + trailing dot iss is the same identity, verified under its canonical name', async () => {
    const { invoke, handler } = chain();
    const token = signRaw(header(), claims({ iss: `BILLING.prod.${ZONE}.` }), billing.privateKey);
    const { result } = await run(() => invoke(httpEvent(token)));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ name: billing.name });
    expect(handler).toHaveBeenCalledTimes(1);
  });
});

describe('A5 audience tricks', () => {
  const withAud = (aud: unknown) => () => httpEvent(signRaw(header(), claims({ aud }), billing.privateKey));
  attacks([
    {
      name: 'aud names another function',
      event: withAud(`other.prod.${ZONE}`),
      status: 401,
      reason: 'wrong_audience',
    },
    { name: 'aud is an empty array', event: withAud([]), status: 401, reason: 'malformed_proof' },
    { name: 'aud array nested ([[self]])', event: withAud([[SELF]]), status: 401, reason: 'malformed_proof' },
    {
      name: 'aud is an object {"0": self}',
      event: withAud({ 0: SELF }),
      status: 401,
      reason: 'malformed_proof',
    },
    {
      name: 'aud upper case (exact match only)',
      event: withAud(SELF.toUpperCase()),
      status: 401,
      reason: 'wrong_audience',
    },
    { name: 'aud with a trailing dot', event: withAud(`${SELF}.`), status: 401, reason: 'wrong_audience' },
    {
      name: 'aud is a prefix of self',
      event: withAud('ledger.prod.auth.example'),
      status: 401,
      reason: 'wrong_audience',
    },
    {
      name: 'aud comma-joined list in one string',
      event: withAud(`other.prod.${ZONE},${SELF}`),
      status: 401,
      reason: 'wrong_audience',
    },
    {
      name: 'aud array with self and a non-string',
      event: withAud([SELF, 7]),
      status: 401,
      reason: 'malformed_proof',
    },
  ]);
});

describe('A6 time claims', () => {
  const at = nowSeconds;
  const withTimes = (times: Record<string, unknown>) => () =>
    httpEvent(signRaw(header(), claims(times), billing.privateKey));
  attacks([
    {
      name: 'exp beyond 2^53 (unsafe integer)',
      event: withTimes({ exp: 2 ** 60 }),
      status: 401,
      reason: 'malformed_proof',
    },
    { name: 'exp 1e308', event: withTimes({ exp: 1e308 }), status: 401, reason: 'malformed_proof' },
    {
      name: 'exp NaN (serialised as null)',
      event: withTimes({ exp: Number.NaN }),
      status: 401,
      reason: 'malformed_proof',
    },
    {
      name: 'exp as a numeric string',
      event: withTimes({ exp: String(at() + 60) }),
      status: 401,
      reason: 'malformed_proof',
    },
    {
      name: 'exp fractional',
      event: withTimes({ exp: at() + 60.5 }),
      status: 401,
      reason: 'malformed_proof',
    },
    {
      name: 'exp at the largest safe integer',
      event: withTimes({ exp: Number.MAX_SAFE_INTEGER }),
      status: 401,
      reason: 'lifetime_too_long',
    },
    {
      name: 'negative iat (lifetime stretched)',
      event: withTimes({ iat: -1 }),
      status: 401,
      reason: 'lifetime_too_long',
    },
    {
      name: 'iat in the future beyond the skew',
      event: withTimes({ iat: at() + 3600, exp: at() + 3660 }),
      status: 401,
      reason: 'not_yet_valid',
    },
    {
      name: 'nbf in the future',
      event: withTimes({ nbf: at() + 3600 }),
      status: 401,
      reason: 'not_yet_valid',
    },
    {
      name: 'expired beyond the skew',
      event: withTimes({ iat: at() - 400, exp: at() - 100 }),
      status: 401,
      reason: 'expired',
    },
    {
      name: 'lifetime 301 s',
      event: withTimes({ iat: at(), exp: at() + 301 }),
      status: 401,
      reason: 'lifetime_too_long',
    },
    {
      name: 'jti too short (15 characters)',
      event: withTimes({ jti: 'a'.repeat(15) }),
      status: 401,
      reason: 'malformed_proof',
    },
    { name: 'jti missing', event: withTimes({ jti: undefined }), status: 401, reason: 'malformed_proof' },
  ]);
});

describe('A7 replay', () => {
  it('a proof is accepted once per instance', async () => {
    const { invoke, handler } = chain({ options: { replayStore: new MemoryReplayStore() } });
    const token = await billing.sign({ aud: SELF });
    expect((await run(() => invoke(httpEvent(token)))).result.statusCode).toBe(200);
    handler.mockClear();
    expectDenied(await run(() => invoke(httpEvent(token))), handler, 401, 'replayed');
  });

  describe('across instances sharing one DynamoDB table (aws-sdk-client-mock)', () => {
    const client = new DynamoDBClient({ region: 'eu-west-1' });
    const dynamo = mockClient(client);
    const table = new Map<string, number>();
    beforeEach(() => {
      table.clear();
      dynamo.reset();
      // Emulates the conditional put: attribute_not_exists on the key.
      dynamo.on(PutItemCommand).callsFake((input: { Item: Record<string, { S?: string; N?: string }> }) => {
        const key = input.Item.jti?.S ?? '';
        if (table.has(key)) {
          throw new ConditionalCheckFailedException({
            message: 'The conditional request failed',
            $metadata: {},
          });
        }
        table.set(key, Number(input.Item.expiresAt?.N));
        return {};
      });
    });
    const instance = (store: ReplayStore) => chain({ options: { replayStore: store } });

    it('instance B refuses a proof instance A accepted', async () => {
      const a = instance(new DynamoDbReplayStore({ client, tableName: 'nhi-replay' }));
      const b = instance(new DynamoDbReplayStore({ client, tableName: 'nhi-replay' }));
      const token = await billing.sign({ aud: SELF });
      expect((await run(() => a.invoke(httpEvent(token)))).result.statusCode).toBe(200);
      expectDenied(await run(() => b.invoke(httpEvent(token))), b.handler, 401, 'replayed');
      expect(table.size).toBe(1);
      expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(2);
    });

    it('two instances racing with one proof: exactly one accepts', async () => {
      const a = instance(new DynamoDbReplayStore({ client, tableName: 'nhi-replay' }));
      const b = instance(new DynamoDbReplayStore({ client, tableName: 'nhi-replay' }));
      const token = await billing.sign({ aud: SELF });
      const out = captureOutput();
      const results = (await Promise.all([
        a.invoke(httpEvent(token)),
        b.invoke(httpEvent(token)),
      ])) as HttpResult[];
      out.restore();
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
      expect(a.handler.mock.calls.length + b.handler.mock.calls.length).toBe(1);
    });

    it('the table being unreachable fails closed', async () => {
      dynamo.on(PutItemCommand).rejects(new Error('connect ETIMEDOUT'));
      const a = instance(new DynamoDbReplayStore({ client, tableName: 'nhi-replay' }));
      expectDenied(
        await run(async () => a.invoke(httpEvent(await billing.sign({ aud: SELF })))),
        a.handler,
        401,
        'replayed',
      );
    });

    it('a table that never answers fails closed within the Lambda deadline, not at the Lambda timeout', async () => {
      dynamo.on(PutItemCommand).callsFake(() => new Promise(() => undefined));
      // 3000 ms remaining less the 500 ms margin: the claim gives up at the store's 1000 ms default.
      const a = instance(new DynamoDbReplayStore({ client, tableName: 'nhi-replay' }));
      const started = Date.now();
      expectDenied(
        await run(async () => a.invoke(httpEvent(await billing.sign({ aud: SELF })))),
        a.handler,
        401,
        'replayed',
      );
      expect(Date.now() - started).toBeLessThan(2500);
    });
  });
});

describe('A8 body and request binding', () => {
  const body = '{"amount":10}';
  attacks([
    {
      name: 'altered body',
      event: async () => httpEvent(await billing.sign({ aud: SELF, body }), { body: '{"amount":10000}' }),
      status: 401,
      reason: 'body_mismatch',
    },
    {
      name: 'base64 body whose decoded bytes differ',
      event: async () =>
        httpEvent(await billing.sign({ aud: SELF, body }), {
          body: Buffer.from('{"amount":99}').toString('base64'),
          isBase64Encoded: true,
        }),
      status: 401,
      reason: 'body_mismatch',
    },
    {
      name: 'bh over the base64 text of an isBase64Encoded body (must be over the decoded bytes)',
      event: async () => {
        const encoded = Buffer.from(body).toString('base64');
        return httpEvent(await billing.sign({ aud: SELF, body: encoded }), {
          body: encoded,
          isBase64Encoded: true,
        });
      },
      status: 401,
      reason: 'body_mismatch',
    },
    {
      name: 'isBase64Encoded dropped: the base64 text is not the signed bytes',
      event: async () =>
        httpEvent(await billing.sign({ aud: SELF, body }), { body: Buffer.from(body).toString('base64') }),
      status: 401,
      reason: 'body_mismatch',
    },
    {
      name: 'bh of a non-string type',
      event: () => httpEvent(signRaw(header(), claims({ bh: [bodyHash(body)] }), billing.privateKey)),
      status: 401,
      reason: 'malformed_proof',
    },
    {
      name: 'proof without bh where policy requires it',
      event: async () => httpEvent(await billing.sign({ aud: SELF })),
      status: 401,
      reason: 'body_mismatch',
      setup: { options: { requireBodyHash: true } },
    },
    {
      name: 'htm GET replayed as POST',
      event: async () => httpEvent(await billing.sign({ aud: SELF, method: 'GET' })),
      status: 401,
      reason: 'wrong_audience',
    },
    {
      name: 'htu for another host',
      event: async () => httpEvent(await billing.sign({ aud: SELF, url: 'https://evil.example.com/pay' })),
      status: 401,
      reason: 'wrong_audience',
    },
    ...['/x/../pay', '/x/%2e%2e/pay', '/x/%2E./pay', '/./pay', '/x/..%2fpay'].map((rawPath) => ({
      name: `proof bound to /pay sent to the raw path ${rawPath} (dot segments that new URL() would remove)`,
      event: async () =>
        httpEvent(await billing.sign({ aud: SELF, url: 'https://api.example.com/pay' }), { rawPath }),
      status: 401,
      reason: 'wrong_audience',
    })),
  ]);

  it('a proof bound to /pay still serves the raw path /pay, and dots inside a segment are no dot segments', async () => {
    const { invoke } = chain();
    const token = await billing.sign({ aud: SELF, url: 'https://api.example.com/pay' });
    expect((await run(() => invoke(httpEvent(token)))).result.statusCode).toBe(200);
    const dotted = await billing.sign({ aud: SELF, url: 'https://api.example.com/v1.2/..pay' });
    expect((await run(() => invoke(httpEvent(dotted, { rawPath: '/v1.2/..pay' })))).result.statusCode).toBe(
      200,
    );
  });

  // Finding 13.1: outside HTTP, bh used to cover '' whatever the payload was.
  attacks([
    {
      name: 'direct invocation whose proof binds the empty body, carrying any payload (bh required)',
      event: async () => ({
        payload: { amount: 1_000_000 },
        nhiProof: await billing.sign({ aud: SELF, body: '' }),
      }),
      status: 401,
      reason: 'body_mismatch',
      setup: { options: { requireBodyHash: true } },
    },
    {
      name: 'proof taken from an empty-body HTTP request, replayed as a direct invocation with a payload',
      event: async () => ({ amount: 1_000_000, nhiProof: await billing.sign({ aud: SELF, body: '' }) }),
      status: 401,
      reason: 'body_mismatch',
    },
    {
      name: 'direct-invoke envelope whose nhiPayload was changed after signing',
      event: async () => {
        const signed = '{"amount":10}';
        return {
          nhiProof: await billing.sign({ aud: SELF, body: signed }),
          nhiPayload: '{"amount":1000000}',
        };
      },
      status: 401,
      reason: 'body_mismatch',
    },
    {
      name: 'direct-invoke envelope whose nhiPayload is not a string (no exact bytes to hash)',
      event: async () => {
        const signed = '{"amount":10}';
        return { nhiProof: await billing.sign({ aud: SELF, body: signed }), nhiPayload: { amount: 10 } };
      },
      status: 401,
      reason: 'body_mismatch',
    },
  ]);

  it('an honest direct invocation binds its payload through the envelope, and is accepted', async () => {
    const { invoke, handler } = chain({ options: { requireBodyHash: true } });
    const payload = JSON.stringify({ amount: 10 });
    const envelope = withSignedPayload(payload, await billing.sign({ aud: SELF, body: payload }));
    const { result } = await run(() => invoke({ ...envelope }));
    expect((result as HttpResult).statusCode).toBe(200);
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('a base64 body that decodes to the signed bytes is accepted', async () => {
    const { invoke } = chain();
    const token = await billing.sign({ aud: SELF, body });
    const event = httpEvent(token, { body: Buffer.from(body).toString('base64'), isBase64Encoded: true });
    expect((await run(() => invoke(event))).result.statusCode).toBe(200);
  });
});

describe('A9 header smuggling and oversized input', () => {
  attacks([
    {
      name: 'two Authorization values in multiValueHeaders (REST API)',
      event: async () => {
        const token = await billing.sign({ aud: SELF });
        return restEvent({ Authorization: `NHI ${token}` }, { Authorization: [`NHI ${token}`, 'NHI a.b.c'] });
      },
      status: 401,
      reason: 'malformed_proof',
    },
    {
      name: 'Authorization and authorization with different values',
      event: async () => {
        const token = await billing.sign({ aud: SELF });
        return restEvent({ Authorization: `NHI ${token}`, authorization: 'Bearer x' }, {});
      },
      status: 401,
      reason: 'malformed_proof',
    },
    {
      name: 'repeated header joined by a comma (HTTP API v2)',
      event: async () => {
        const token = await billing.sign({ aud: SELF });
        return httpEvent(undefined, {
          headers: { host: 'api.example.com', authorization: `NHI ${token},NHI ${token}` },
        });
      },
      status: 401,
      reason: 'malformed_proof',
    },
    {
      name: 'CR/LF injected after the token',
      event: async () =>
        httpEvent(undefined, {
          headers: { authorization: `NHI ${await billing.sign({ aud: SELF })}\r\nX-Admin: 1` },
        }),
      status: 401,
      reason: 'malformed_proof',
    },
    {
      name: 'Authorization of 1 MiB',
      event: () => httpEvent(undefined, { headers: { authorization: `NHI ${'a'.repeat(1 << 20)}` } }),
      status: 401,
      reason: 'proof_too_large',
    },
    {
      name: 'token of 8 193 characters',
      event: () => httpEvent(`${'a'.repeat(4000)}.${'b'.repeat(4000)}.${'c'.repeat(193)}`),
      status: 401,
      reason: 'proof_too_large',
    },
    {
      name: 'direct invocation with nhiProof of a non-string type',
      event: () => ({ nhiProof: { token: 'x' } }),
      status: 401,
      reason: 'malformed_proof',
    },
    {
      name: 'claims carrying __proto__ (no prototype pollution; aud missing)',
      event: () => {
        const body = `{"iss":"${billing.name}","__proto__":{"aud":"${SELF}"},"iat":${nowSeconds()},"exp":${nowSeconds() + 60},"jti":"${jti()}"}`;
        return httpEvent(signRaw(header(), body, billing.privateKey));
      },
      status: 401,
      reason: 'malformed_proof',
    },
  ]);

  it('Object.prototype was not polluted by any of the above', () => {
    expect(({} as Record<string, unknown>).aud).toBeUndefined();
  });
});

describe('A10 hostile or odd records', () => {
  const zoneWith = (records: string[][]): Zone => new Map([[billing.name, { records }]]);
  const token = () => billing.sign({ aud: SELF });
  attacks([
    {
      name: 'RR with a duplicated tag (two p= values)',
      event: async () => httpEvent(await token()),
      status: 401,
      reason: 'no_record',
      setup: { zone: zoneWith([[`${billing.record}; p=${mallory.publicKey}`]]) },
    },
    {
      name: 'two RRs with one kid (attacker key added beside the real one)',
      event: async () => httpEvent(await token()),
      status: 401,
      reason: 'no_record',
      setup: {
        zone: zoneWith([[billing.record], [billing.record.replace(billing.publicKey, mallory.publicKey)]]),
      },
    },
    {
      name: 'two RRs with one kid, beside a third valid key: the ambiguous kid is unknown',
      event: async () => httpEvent(await token()),
      status: 401,
      reason: 'unknown_kid',
      setup: {
        zone: zoneWith([
          [billing.record],
          [billing.record.replace(billing.publicKey, mallory.publicKey)],
          [billing.recordWith({ kid: 'k2' })],
        ]),
      },
    },
    {
      name: 'revoked key (p= empty)',
      event: async () => httpEvent(await token()),
      status: 401,
      reason: 'revoked_key',
      setup: { zone: zoneWith([[billing.recordWith({ publicKey: '' })]]) },
    },
    {
      name: 'key past its exp=',
      event: async () => httpEvent(await token()),
      status: 401,
      reason: 'expired_key',
      setup: { zone: zoneWith([[billing.recordWith({ expiresAt: nowSeconds() - 1 })]]) },
    },
    {
      name: 'rotated-out key: proof signed by a kid no longer published',
      event: async () => httpEvent(await token()),
      status: 401,
      reason: 'unknown_kid',
      setup: { zone: zoneWith([[billing.recordWith({ kid: 'k2', publicKey: mallory.publicKey })]]) },
    },
    {
      name: 'record of another version (v=NHI2) only',
      event: async () => httpEvent(await token()),
      status: 401,
      reason: 'no_record',
      setup: { zone: zoneWith([[billing.record.replace('v=NHI1', 'v=NHI2')]]) },
    },
    {
      name: 'wildcard TXT (*.prod.<zone>) answering for any name: svc/env bind it to one name',
      event: () => httpEvent(signRaw(header(), claims({ iss: `ghost.prod.${ZONE}` }), billing.privateKey)),
      status: 401,
      reason: 'no_record',
      // A wildcard-synthesised answer carries the queried name as owner: the stub cannot tell.
      setup: {
        zone: (name) => (name.endsWith(`.prod.${ZONE}`) ? { records: [billing.strings] } : undefined),
      },
    },
    {
      name: 'record reached through a CNAME outside the zone',
      event: async () => httpEvent(await token()),
      status: 401,
      reason: 'outside_zone',
      setup: {
        zone: new Map([
          [billing.name, { records: [billing.strings], cnameChain: ['billing.prod.evil.example'] }],
        ]),
      },
    },
    {
      name: 'CNAME that leaves the zone and comes back',
      event: async () => httpEvent(await token()),
      status: 401,
      reason: 'outside_zone',
      setup: {
        zone: new Map([
          [billing.name, { records: [billing.strings], cnameChain: ['x.evil.example', `b2.prod.${ZONE}`] }],
        ]),
      },
    },
    {
      name: 'answer without the AD bit where DNSSEC is required',
      event: async () => httpEvent(await token()),
      status: 401,
      reason: 'dnssec_required',
      setup: { ad: false, options: { requireDnssec: true } },
    },
  ]);

  it('a wildcard answer still serves the one name its svc/env bind it to', async () => {
    const { invoke } = chain({
      zone: (name) => (name.endsWith(`.prod.${ZONE}`) ? { records: [billing.strings] } : undefined),
    });
    expect((await run(async () => invoke(httpEvent(await token())))).result.statusCode).toBe(200);
  });

  it('a CNAME within the zone is followed', async () => {
    const { invoke } = chain({
      zone: new Map([
        [billing.name, { records: [billing.strings], cnameChain: [`billing-v2.prod.${ZONE}`] }],
      ]),
    });
    expect((await run(async () => invoke(httpEvent(await token())))).result.statusCode).toBe(200);
  });
});

describe('A11 TTL-0 storms', () => {
  it('concurrent invocations against TTL-0 records share queries and parse the RRset once', async () => {
    const dns = await startTestDnsServer({
      zone: ZONE,
      delayMs: 20,
      records: [
        { name: billing.name, type: 'TXT', ttl: 0, data: billing.strings },
        // One invalid RR: its warning is logged once per distinct answer, never per invocation.
        { name: billing.name, type: 'TXT', ttl: 0, data: 'v=NHI1; svc=billing; env=prod; kid=bad; p=%%' },
      ],
    });
    try {
      const resolver = createResolver({ servers: [dns.server] });
      const { invoke, handler } = chain({ resolver });
      const tokens = await Promise.all(Array.from({ length: 200 }, () => billing.sign({ aud: SELF })));
      const out = captureOutput();
      let results: HttpResult[];
      try {
        // Four waves of 50 concurrent invocations: nothing is cached between waves (TTL 0).
        results = [];
        for (let wave = 0; wave < 4; wave++) {
          const batch = tokens.slice(wave * 50, wave * 50 + 50);
          results.push(...((await Promise.all(batch.map((t) => invoke(httpEvent(t))))) as HttpResult[]));
        }
      } finally {
        out.restore();
      }
      expect(results.filter((r) => r.statusCode !== 200)).toEqual([]);
      expect(handler).toHaveBeenCalledTimes(200);
      // Single flight: each wave of 50 needs only a handful of queries, not 50.
      expect(dns.queries.length).toBeLessThanOrEqual(8);
      expect(resolver.stats.singleFlightJoins).toBeGreaterThanOrEqual(200 - 8);
      expect(out.json().filter((line) => line.message === 'identity record has invalid RRs')).toHaveLength(1);
    } finally {
      await dns.stop();
    }
  });

  it('a flood of unique jtis keeps the in-memory replay store at its bound, refusing (503) rather than forgetting', async () => {
    const replayStore = new MemoryReplayStore({ maxEntries: 50, maxEntriesPerIssuer: 50 });
    const { invoke } = chain({ options: { replayStore } });
    const tokens = await Promise.all(Array.from({ length: 200 }, () => billing.sign({ aud: SELF })));
    const out = captureOutput();
    const statuses: number[] = [];
    try {
      for (const token of tokens) statuses.push(((await invoke(httpEvent(token))) as HttpResult).statusCode);
    } finally {
      out.restore();
    }
    expect(replayStore.size).toBe(50);
    expect(statuses.filter((status) => status === 200)).toHaveLength(50);
    expect(statuses.filter((status) => status === 503)).toHaveLength(150);
    expect(
      out.emf().filter((line) => (line as { Reason?: string }).Reason === 'replay_store_full'),
    ).toHaveLength(150);
  });

  it('another allowed caller cannot flush a refused jti out of the store and replay it (finding 13.3)', async () => {
    const replayStore = new MemoryReplayStore({ maxEntries: 200 });
    const { invoke, handler } = chain({ options: { replayStore } });
    const captured = await billing.sign({ aud: SELF });
    expect((await run(() => invoke(httpEvent(captured)))).result.statusCode).toBe(200);
    handler.mockClear();
    expectDenied(await run(() => invoke(httpEvent(captured))), handler, 401, 'replayed');
    // A low-value workload on the allow list (*.prod) floods the store with its own fresh proofs.
    const flood = await Promise.all(Array.from({ length: 400 }, () => reports.sign({ aud: SELF })));
    const out = captureOutput();
    try {
      for (const token of flood) await invoke(httpEvent(token));
    } finally {
      out.restore();
    }
    handler.mockClear();
    expectDenied(await run(() => invoke(httpEvent(captured))), handler, 401, 'replayed');
  });
});

describe('A12 queue records (identityVerifyRecords)', () => {
  /** A consumer instance: a fresh middleware is a fresh Lambda instance, with its own memory. */
  const consumerInstance = (options: Partial<IdentityVerifyRecordsOptions> = {}) => {
    const handler = jest.fn(async (_event: unknown, _context: Context) => ({}));
    const wrapped = middy(handler).use(
      identityVerifyRecords({
        self: SELF,
        allow: [`*.prod.${ZONE}`],
        resolver: tableResolver(defaultZone(), true),
        ...options,
      }),
    );
    return {
      invoke: (event: unknown) =>
        wrapped(event, { ...lambdaContext } as unknown as Context & IdentityVerifyRecordsContext),
      handler,
    };
  };
  /** An SQS record as Lambda delivers it, or as a direct invoker makes one up. */
  const sqsRecord = (messageId: string, body: string, proof: string, sentAt: number): SQSRecord => ({
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(sentAt * 1000),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(sentAt * 1000 + 5),
    },
    messageAttributes: {
      nhiProof: { stringValue: proof, stringListValues: [], binaryListValues: [], dataType: 'String' },
    },
    md5OfBody: 'ignored',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:ledger',
    awsRegion: 'eu-west-1',
  });
  /** The facts of a refused batch: every listed id reported, `AuthFailure` by reason, no handler. */
  const expectRecordsRefused = (
    { result, out }: Awaited<ReturnType<typeof run>>,
    handler: ReturnType<typeof consumerInstance>['handler'],
    messageIds: string[],
    reason: string,
  ) => {
    expect(result).toEqual({ batchItemFailures: messageIds.map((itemIdentifier) => ({ itemIdentifier })) });
    expect(out.emf()).toContainEqual(expect.objectContaining({ AuthFailure: 1, Reason: reason }));
    expect(handler).not.toHaveBeenCalled();
  };
  const body = '{"amount":10}';
  /** A 60 s proof that expired 29 minutes ago, captured from a real message. */
  const capturedProof = async () => {
    const iat = nowSeconds() - 60 - 29 * 60;
    return { iat, proof: await billing.sign({ aud: SELF, body, now: iat, lifetime: 60 }) };
  };

  it('a captured queue proof in a made-up SQS event (SentTimestamp = its iat), 29 minutes after it expired, on three fresh instances with the default store', async () => {
    const { iat, proof } = await capturedProof();
    for (const attempt of [1, 2, 3]) {
      const { invoke, handler } = consumerInstance();
      const forged = { Records: [sqsRecord(`forged-${attempt}`, body, proof, iat)] };
      expectRecordsRefused(await run(() => invoke(forged)), handler, [`forged-${attempt}`], 'expired');
    }
  });

  describe('with a replay store every instance shares (DynamoDB, aws-sdk-client-mock)', () => {
    const client = new DynamoDBClient({ region: 'eu-west-1' });
    const dynamo = mockClient(client);
    /** Key → the deliveryId that first claimed it. */
    const table = new Map<string, string | undefined>();
    beforeEach(() => {
      table.clear();
      dynamo.reset();
      // Emulates the conditional put: a new key, or the same delivery of a key already there.
      dynamo
        .on(PutItemCommand)
        .callsFake(
          (input: {
            Item: Record<string, { S?: string }>;
            ExpressionAttributeValues?: Record<string, { S?: string }>;
          }) => {
            const key = input.Item.jti?.S ?? '';
            const delivery = input.ExpressionAttributeValues?.[':delivery']?.S;
            if (table.has(key) && (delivery === undefined || table.get(key) !== delivery)) {
              throw new ConditionalCheckFailedException({
                message: 'The conditional request failed',
                $metadata: {},
              });
            }
            table.set(key, input.Item.deliveryId?.S);
            return {};
          },
        );
    });
    const sharedInstance = () =>
      consumerInstance({ replayStore: new DynamoDbReplayStore({ client, tableName: 'nhi-replay' }) });

    it('the real message that waited 29 minutes past its proof is accepted; a made-up copy on a fresh instance is replayed', async () => {
      const { iat, proof } = await capturedProof();
      const a = sharedInstance();
      const real = { Records: [sqsRecord('real-1', body, proof, iat)] };
      const accepted = await run(() => a.invoke(real));
      expect(accepted.result).toEqual({});
      expect(a.handler).toHaveBeenCalledTimes(1);
      const b = sharedInstance();
      const forged = { Records: [sqsRecord('forged-1', body, proof, iat)] };
      expectRecordsRefused(await run(() => b.invoke(forged)), b.handler, ['forged-1'], 'replayed');
    });

    it('a made-up copy that arrives before the real message takes its jti: the signed bytes reach a handler once', async () => {
      const { iat, proof } = await capturedProof();
      const b = sharedInstance();
      await run(() => b.invoke({ Records: [sqsRecord('forged-1', body, proof, iat)] }));
      expect(b.handler).toHaveBeenCalledTimes(1);
      const a = sharedInstance();
      const real = { Records: [sqsRecord('real-1', body, proof, iat)] };
      expectRecordsRefused(await run(() => a.invoke(real)), a.handler, ['real-1'], 'replayed');
    });
  });

  it('a made-up SQS batch holding one message id twice: every copy is refused', async () => {
    const now = nowSeconds();
    const proof = await billing.sign({ aud: SELF, body, now, lifetime: 60 });
    const { invoke, handler } = consumerInstance();
    const forged = { Records: [sqsRecord('dup-1', body, proof, now), sqsRecord('dup-1', body, proof, now)] };
    const refused = await run(() => invoke(forged));
    expectRecordsRefused(refused, handler, ['dup-1'], 'replayed');
    expect(refused.out.emf().filter((doc) => doc.Reason === 'replayed')).toHaveLength(2);
  });
});
