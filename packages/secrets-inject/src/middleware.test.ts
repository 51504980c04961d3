import {
  BatchGetSecretValueCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { SecretsError } from './errors.js';
import { type SecretsContext, secretsInject } from './middleware.js';
import type { SecretsInjectOptions } from './options.js';
import {
  awsError,
  captureStdout,
  lambdaContext,
  MARK,
  middy,
  mockSecretsManager,
  newClient,
  secretValue,
  settle,
  testClock,
} from './test-helpers.test-support.js';

const sm = mockSecretsManager();
let stdout: ReturnType<typeof captureStdout>;

beforeEach(() => {
  sm.reset();
  delete process.env.NHI_ENVIRONMENT;
  stdout = captureStdout();
});

afterEach(() => {
  stdout.restore();
  // Whatever a test did, no log or EMF line may carry a secret value.
  expect(stdout.lines.filter((line) => line.includes(MARK))).toEqual([]);
});

/** A middy handler with only this middleware, returning the injected secrets. */
const build = (options: Partial<SecretsInjectOptions> & Pick<SecretsInjectOptions, 'secrets'>) => {
  const middleware = secretsInject({ client: newClient(), namespace: '/prod/', ...options });
  const handler = middy()
    .use(middleware)
    .handler(async (_event: unknown, context: Context & { secrets: Record<string, unknown> }) => ({
      ...context.secrets,
    }));
  return {
    middleware,
    invoke: (context: Context & SecretsContext = lambdaContext()) => handler({}, context),
  };
};

const emfLines = () =>
  stdout.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => '_aws' in entry);

describe('secretsInject: fetching', () => {
  it('fetches 45 secrets in 3 BatchGetSecretValue calls of at most 20 ids', async () => {
    const secrets = Object.fromEntries(Array.from({ length: 45 }, (_, index) => [`k${index}`, `s${index}`]));
    const { invoke } = build({ secrets, prefetch: false });
    const result = await invoke();
    const calls = sm.calls(BatchGetSecretValueCommand);
    expect(
      calls.map((call) => (call.args[0].input as { SecretIdList: string[] }).SecretIdList.length),
    ).toEqual([20, 20, 5]);
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(0);
    expect(result.k0).toBe(secretValue('/prod/s0'));
    expect(result.k44).toBe(secretValue('/prod/s44'));
    expect(Object.keys(result)).toHaveLength(45);
  });

  it('uses GetSecretValue for a single secret and for non-default version stages', async () => {
    const { invoke } = build({
      secrets: { db: 'dbcreds', previous: { name: 'dbcreds', versionStage: 'AWSPREVIOUS' } },
      prefetch: false,
    });
    await invoke();
    expect(sm.calls(BatchGetSecretValueCommand)).toHaveLength(0);
    expect(sm.calls(GetSecretValueCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: '/prod/dbcreds', VersionStage: 'AWSCURRENT' },
      { SecretId: '/prod/dbcreds', VersionStage: 'AWSPREVIOUS' },
    ]);
  });

  it('turns a per-secret batch error into a typed error naming the secret and the AWS code', async () => {
    sm.mock.on(BatchGetSecretValueCommand).resolves({
      SecretValues: [{ Name: '/prod/a', SecretString: secretValue('/prod/a') }],
      Errors: [{ SecretId: '/prod/b', ErrorCode: 'ResourceNotFoundException', Message: 'gone' }],
    });
    const { invoke } = build({ secrets: { a: 'a', b: 'b' }, prefetch: false });
    const error = (await invoke().catch((caught: unknown) => caught)) as SecretsError;
    expect(error).toBeInstanceOf(SecretsError);
    expect(error).toMatchObject({
      reason: 'not_found',
      secretName: '/prod/b',
      awsCode: 'ResourceNotFoundException',
    });
    expect(error.message).toContain('/prod/b');
    const emf = emfLines().find((entry) => entry.SecretFetchError === 1);
    expect(emf?.Code).toBe('NotFound');
  });

  it('falls back to GetSecretValue when the batch call is denied, and remembers it', async () => {
    const clock = testClock();
    sm.mock.on(BatchGetSecretValueCommand).rejects(awsError('AccessDeniedException'));
    const { invoke } = build({ secrets: { a: 'a', b: 'b' }, prefetch: false, now: clock.now });
    expect(await invoke()).toEqual({ a: secretValue('/prod/a'), b: secretValue('/prod/b') });
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
    clock.advance(301);
    await invoke();
    expect(sm.calls(BatchGetSecretValueCommand)).toHaveLength(1);
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(4);
  });

  it('injects a binary secret as bytes, and parses binary JSON with json: true', async () => {
    const bytes = new Uint8Array([0, 1, 2, 255]);
    sm.mock.on(GetSecretValueCommand, { SecretId: '/prod/cert' }).resolves({ SecretBinary: bytes });
    sm.mock
      .on(GetSecretValueCommand, { SecretId: '/prod/conf' })
      .resolves({ SecretBinary: new TextEncoder().encode('{"user":"app"}') });
    const { invoke } = build({
      secrets: { cert: { name: 'cert', versionStage: 'AWSCURRENT' }, conf: { name: 'conf', json: true } },
      prefetch: false,
    });
    sm.mock.on(BatchGetSecretValueCommand).rejects(awsError('AccessDeniedException'));
    const result = await invoke();
    expect(result.cert).toEqual(bytes);
    expect(result.conf).toEqual({ user: 'app' });
  });

  it('applies json modes: auto parses objects, false keeps text, per-secret overrides', async () => {
    sm.mock.on(BatchGetSecretValueCommand).resolves({
      SecretValues: [
        { Name: '/prod/obj', SecretString: '{"password":"p"}' },
        { Name: '/prod/raw', SecretString: '{"password":"p"}' },
        { Name: '/prod/plain', SecretString: `${MARK}plain` },
      ],
    });
    const { invoke } = build({
      secrets: { obj: 'obj', raw: { name: 'raw', json: false }, plain: 'plain' },
      prefetch: false,
    });
    const result = await invoke();
    expect(result.obj).toEqual({ password: 'p' });
    expect(Object.isFrozen(result.obj)).toBe(true);
    expect(result.raw).toBe('{"password":"p"}');
    expect(result.plain).toBe(`${MARK}plain`);
  });

  it('fails with invalid_json under json: true, without the value in message, JSON or cause', async () => {
    sm.mock.on(GetSecretValueCommand).resolves({ SecretString: `${MARK} not json` });
    const { invoke } = build({ secrets: { db: 'dbcreds' }, json: true, prefetch: false });
    const error = (await invoke().catch((caught: unknown) => caught)) as SecretsError;
    expect(error).toMatchObject({ reason: 'invalid_json', secretName: '/prod/dbcreds' });
    expect(error.message).not.toContain(MARK);
    expect(JSON.stringify(error)).not.toContain(MARK);
    expect(String(error.cause ?? '')).not.toContain(MARK);
    expect(error.stack).not.toContain(MARK);
  });
});

describe('secretsInject: cache', () => {
  it('serves a warm invocation from memory and refetches after maxAge', async () => {
    const clock = testClock();
    const { invoke } = build({ secrets: { db: 'dbcreds' }, maxAge: 60, prefetch: false, now: clock.now });
    await invoke();
    clock.advance(50);
    sm.rotate('/prod/dbcreds', 2);
    expect((await invoke()).db).toBe(secretValue('/prod/dbcreds', 1));
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(1);
    clock.advance(11);
    expect((await invoke()).db).toBe(secretValue('/prod/dbcreds', 2));
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('caps expiry at NextRotationDate when rotation is enabled, asking DescribeSecret only on fetch', async () => {
    const clock = testClock();
    sm.mock.on(DescribeSecretCommand).callsFake(() => ({
      RotationEnabled: true,
      NextRotationDate: new Date(clock.now() + 30_000),
    }));
    const { invoke } = build({ secrets: { db: 'dbcreds' }, maxAge: 300, prefetch: false, now: clock.now });
    await invoke();
    clock.advance(29);
    await invoke();
    expect(sm.calls(DescribeSecretCommand)).toHaveLength(1);
    sm.rotate('/prod/dbcreds', 2);
    clock.advance(2);
    expect((await invoke()).db).toBe(secretValue('/prod/dbcreds', 2));
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
    expect(sm.calls(DescribeSecretCommand)).toHaveLength(2);
  });

  it('refreshes in the background near expiry: the invocation does not wait for Secrets Manager', async () => {
    const clock = testClock();
    const { invoke } = build({ secrets: { db: 'dbcreds' }, maxAge: 100, prefetch: false, now: clock.now });
    await invoke();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    sm.mock.on(GetSecretValueCommand).callsFake(async () => {
      await gate;
      return { SecretString: secretValue('/prod/dbcreds', 2), VersionId: 'v2' };
    });
    clock.advance(95);
    // Resolves although the refresh is held at the gate.
    expect((await invoke()).db).toBe(secretValue('/prod/dbcreds', 1));
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
    expect((await invoke()).db).toBe(secretValue('/prod/dbcreds', 1));
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
    release();
    await settle();
    clock.advance(10);
    expect((await invoke()).db).toBe(secretValue('/prod/dbcreds', 2));
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('serves a stale value within staleIfError when Secrets Manager throttles, then fails', async () => {
    const clock = testClock();
    const { invoke } = build({
      secrets: { db: 'dbcreds' },
      maxAge: 60,
      staleIfError: 30,
      prefetch: false,
      now: clock.now,
    });
    await invoke();
    sm.mock.on(GetSecretValueCommand).rejects(awsError('ThrottlingException'));
    clock.advance(70);
    expect((await invoke()).db).toBe(secretValue('/prod/dbcreds', 1));
    expect(stdout.lines.some((line) => line.includes('serving stale secret'))).toBe(true);
    expect(emfLines().some((entry) => entry.SecretServedStale === 1)).toBe(true);
    clock.advance(25);
    await expect(invoke()).rejects.toMatchObject({ reason: 'fetch_failed', awsCode: 'ThrottlingException' });
  });

  it('never serves stale for AccessDeniedException', async () => {
    const clock = testClock();
    const { invoke } = build({
      secrets: { db: 'dbcreds' },
      maxAge: 60,
      staleIfError: 600,
      prefetch: false,
      now: clock.now,
    });
    await invoke();
    sm.mock.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException'));
    clock.advance(61);
    await expect(invoke()).rejects.toMatchObject({ reason: 'access_denied', secretName: '/prod/dbcreds' });
  });

  it('drops an entry at once when a background refresh finds the access revoked', async () => {
    const clock = testClock();
    const { invoke } = build({ secrets: { db: 'dbcreds' }, maxAge: 100, prefetch: false, now: clock.now });
    await invoke();
    sm.mock.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException'));
    clock.advance(95);
    await invoke();
    await settle();
    await expect(invoke()).rejects.toMatchObject({ reason: 'access_denied' });
  });

  it('forceRefresh refetches cached secrets now', async () => {
    const { invoke, middleware } = build({ secrets: { db: 'dbcreds' }, prefetch: false });
    await invoke();
    sm.rotate('/prod/dbcreds', 2);
    await middleware.forceRefresh();
    expect((await invoke()).db).toBe(secretValue('/prod/dbcreds', 2));
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
  });
});

describe('secretsInject: prefetch', () => {
  it('starts fetching in the factory when the namespace is known, and reuses it', async () => {
    process.env.NHI_ENVIRONMENT = 'prod';
    const { invoke } = build({ secrets: { db: 'dbcreds' }, namespace: undefined });
    // Started in the factory; the SDK is imported on first use, so the call goes out a tick later.
    await settle();
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(1);
    expect((await invoke()).db).toBe(secretValue('/prod/dbcreds'));
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('surfaces a prefetch failure in the first before, and retries on the next invocation', async () => {
    sm.mock.on(GetSecretValueCommand).rejectsOnce(awsError('InternalServiceError', 'server', 500));
    const { invoke } = build({ secrets: { db: 'dbcreds' } });
    await expect(invoke()).rejects.toMatchObject({ reason: 'fetch_failed', awsCode: 'InternalServiceError' });
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(1);
    sm.reset();
    expect((await invoke()).db).toBe(secretValue('/prod/dbcreds'));
  });

  it('does not prefetch when the namespace comes from the own record only', () => {
    build({ secrets: { db: 'dbcreds' }, namespace: undefined, ownRecordNamespace: true });
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(0);
  });
});

describe('secretsInject: namespace', () => {
  const withIdentity = (environment: unknown) => lambdaContext({ nhiSelf: { name: 'x', environment } });
  const withCaller = (environment: unknown) => lambdaContext({ identity: { name: 'x', environment } });

  it('takes the namespace from the own record (identity-resolve self mode)', async () => {
    const { invoke } = build({ secrets: { db: 'dbcreds' }, namespace: undefined, ownRecordNamespace: true });
    expect((await invoke(withIdentity('staging'))).db).toBe(secretValue('/staging/dbcreds'));
  });

  it("never lets the caller's identity choose the namespace", async () => {
    const { invoke } = build({ secrets: { db: 'dbcreds' }, namespace: undefined, ownRecordNamespace: true });
    await expect(invoke(withCaller('staging'))).rejects.toMatchObject({ reason: 'no_namespace' });
    process.env.NHI_ENVIRONMENT = 'prod';
    const pinned = build({ secrets: { db: 'dbcreds' }, namespace: undefined, prefetch: false });
    expect((await pinned.invoke(withCaller('dev'))).db).toBe(secretValue('/prod/dbcreds'));
  });

  it('falls back to NHI_ENVIRONMENT, and lets an explicit namespace win', async () => {
    process.env.NHI_ENVIRONMENT = 'dev';
    const fromEnv = build({ secrets: { db: 'dbcreds' }, namespace: undefined, prefetch: false });
    expect((await fromEnv.invoke()).db).toBe(secretValue('/dev/dbcreds'));
    const explicit = build({ secrets: { db: 'dbcreds' }, namespace: '/shared/team/', prefetch: false });
    expect((await explicit.invoke(withIdentity('dev'))).db).toBe(secretValue('/shared/team/dbcreds'));
  });

  it('refuses an own record from another environment than NHI_ENVIRONMENT', async () => {
    process.env.NHI_ENVIRONMENT = 'prod';
    const { invoke } = build({ secrets: { db: 'dbcreds' }, namespace: undefined, prefetch: false });
    await expect(invoke(withIdentity('dev'))).rejects.toMatchObject({ reason: 'namespace_mismatch' });
    await expect(invoke(withIdentity('../prod'))).rejects.toMatchObject({ reason: 'no_namespace' });
  });

  it('refuses at creation a configuration where nothing names the environment', () => {
    expect(() => build({ secrets: { db: 'dbcreds' }, namespace: undefined })).toThrow(
      expect.objectContaining({
        reason: 'invalid_config',
        message: expect.stringMatching(/no namespace: set the 'namespace' option, the NHI_ENVIRONMENT/),
      }),
    );
  });

  it('refuses unknown option keys with a hint', () => {
    expect(() => build({ secrets: { db: 'dbcreds' }, maxage: 5 } as never)).toThrow(
      expect.objectContaining({
        reason: 'invalid_config',
        message: expect.stringMatching(/did you mean 'maxAge'/),
      }),
    );
  });

  it('fails with no_namespace when the own record was asked for but not resolved', async () => {
    const { invoke } = build({ secrets: { db: 'dbcreds' }, namespace: undefined, ownRecordNamespace: true });
    await expect(invoke()).rejects.toMatchObject({ reason: 'no_namespace' });
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(0);
  });

  it.each([
    '../prod/dbcreds',
    '/prod/dbcreds',
    'a//b',
    'a/./b',
    'a/',
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:/prod/x',
    'db creds',
    'db\u0000',
    '',
  ])('rejects the escaping name %j at the factory call', (name) => {
    expect(() => secretsInject({ secrets: { db: name }, namespace: '/prod/' })).toThrow(
      expect.objectContaining({ reason: 'invalid_config' }),
    );
  });

  it('refuses a signing key (a name under nhi/) at the factory call, before any fetch', () => {
    expect(() =>
      secretsInject({
        client: newClient(),
        secrets: { key: 'nhi/payments/signing-key' },
        namespace: '/prod/',
      }),
    ).toThrow(
      expect.objectContaining({
        name: 'SecretsError',
        reason: 'invalid_config',
        message: expect.stringContaining(
          'secret name "nhi/payments/signing-key" is under nhi/, which holds the workloads\' signing keys',
        ),
      }),
    );
    expect(() =>
      secretsInject({
        client: newClient(),
        secrets: { key: { name: 'nhi/billing/signing-key' } },
        namespace: '/prod/',
      }),
    ).toThrow(
      expect.objectContaining({ reason: 'invalid_config', message: expect.stringContaining('nhi/') }),
    );
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(0);
    expect(sm.calls(BatchGetSecretValueCommand)).toHaveLength(0);
  });

  it('rejects a bad namespace, bad durations and an invalid NHI_ENVIRONMENT at init', () => {
    const invalid = (options: Partial<SecretsInjectOptions>) => () =>
      secretsInject({ secrets: { db: 'dbcreds' }, prefetch: false, ...options });
    expect(invalid({ namespace: 'prod' })).toThrow(SecretsError);
    expect(invalid({ namespace: '/../' })).toThrow(SecretsError);
    expect(invalid({ maxAge: -1 })).toThrow(SecretsError);
    expect(invalid({ staleIfError: Number.NaN })).toThrow(SecretsError);
    expect(invalid({ secrets: { __proto__: 'x' } as never })).toThrow(SecretsError);
    process.env.NHI_ENVIRONMENT = 'Prod/..';
    expect(invalid({})).toThrow(SecretsError);
  });
});

describe('secretsInject: refreshOn', () => {
  class AuthError extends Error {}
  const refreshOn = (error: unknown) => error instanceof AuthError;

  it('withRefreshRetry refetches the secrets and retries the handler once', async () => {
    const middleware = secretsInject({
      secrets: { db: 'dbcreds' },
      client: newClient(),
      namespace: '/prod/',
      refreshOn,
      prefetch: false,
    });
    const seen: unknown[] = [];
    let accepted = secretValue('/prod/dbcreds', 1);
    const handler = middy()
      .use(middleware)
      .handler(
        middleware.withRefreshRetry(
          async (_event: unknown, context: Context & { secrets: Record<string, unknown> }) => {
            seen.push(context.secrets.db);
            if (context.secrets.db !== accepted) throw new AuthError('password rejected');
            return 'ok';
          },
        ),
      );
    await expect(handler({}, lambdaContext())).resolves.toBe('ok');
    // Secrets Manager rotates the password; the database accepts only the new one.
    sm.rotate('/prod/dbcreds', 2);
    accepted = secretValue('/prod/dbcreds', 2);
    await expect(handler({}, lambdaContext())).resolves.toBe('ok');
    expect(seen).toEqual([
      secretValue('/prod/dbcreds', 1),
      secretValue('/prod/dbcreds', 1),
      secretValue('/prod/dbcreds', 2),
    ]);
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('retries at most once and does not retry errors refreshOn rejects', async () => {
    const middleware = secretsInject({
      secrets: { db: 'dbcreds' },
      client: newClient(),
      namespace: '/prod/',
      refreshOn,
      prefetch: false,
    });
    let calls = 0;
    const handler = middy()
      .use(middleware)
      .handler(
        middleware.withRefreshRetry(async () => {
          calls += 1;
          throw calls > 2 ? new Error('other') : new AuthError('still rejected');
        }),
      );
    await expect(handler({}, lambdaContext())).rejects.toBeInstanceOf(AuthError);
    expect(calls).toBe(2);
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
    await expect(handler({}, lambdaContext())).rejects.toThrow('other');
    expect(calls).toBe(3);
  });

  it('without the wrapper, a refreshOn error makes the next invocation refetch', async () => {
    const middleware = secretsInject({
      secrets: { db: 'dbcreds' },
      client: newClient(),
      namespace: '/prod/',
      refreshOn,
      prefetch: false,
    });
    let fail = true;
    const handler = middy()
      .use(middleware)
      .handler(async (_event: unknown, context: Context & { secrets: Record<string, unknown> }) => {
        if (fail) throw new AuthError('password rejected');
        return context.secrets.db;
      });
    await expect(handler({}, lambdaContext())).rejects.toBeInstanceOf(AuthError);
    sm.rotate('/prod/dbcreds', 2);
    fail = false;
    await expect(handler({}, lambdaContext())).resolves.toBe(secretValue('/prod/dbcreds', 2));
    expect(sm.calls(GetSecretValueCommand)).toHaveLength(2);
  });
});

describe('secretsInject: observability', () => {
  it('logs names and version ids and emits SecretFetch/latency metrics, never values', async () => {
    const { invoke } = build({
      secrets: { a: 'a', b: 'b' },
      prefetch: false,
      logger: undefined,
      metrics: undefined,
    });
    await invoke();
    const fetched = stdout.lines.find((line) => line.includes('secrets fetched'));
    expect(fetched).toBeDefined();
    expect(JSON.parse(fetched!)).toMatchObject({
      'secret.names': ['/prod/a', '/prod/b'],
      'secret.versionIds': ['v1', 'v1'],
    });
    const emf = emfLines().find((entry) => entry.SecretFetch !== undefined);
    expect(emf?.SecretFetch).toEqual([1, 1]);
    expect(emf?.SecretFetchLatency).toBeDefined();
  });
});
