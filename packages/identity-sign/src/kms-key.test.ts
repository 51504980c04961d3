import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand, type SignCommandInput } from '@aws-sdk/client-kms';
import middy from '@middy/core';
import { decodeProof, WORKLOAD_IDENTITY_TOKEN_HEADER, WORKLOAD_PROOF_TOKEN_HEADER } from '@nhi-dns/core';
import type { HandlerExecutionContext, InitializeHandlerArguments } from '@smithy/types';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { SigningError } from './errors.js';
import { type IdentitySignContext, identitySign } from './middleware.js';
import { createSigner, type IdentitySignOptions } from './signer.js';
import {
  claimsOf,
  keyedIdentity,
  LEDGER,
  loopbackServer,
  recordingObservability,
  recordKeyFromSpki,
  SELF,
  verifyPairAs,
} from './test-helpers.test-support.js';

const KEY_ID = 'alias/billing-nhi';
const KID = 'kms-1';
const kms = mockClient(KMSClient);
beforeEach(() => kms.reset());

const kmsClient = () =>
  new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

const clock = () => {
  let time = 1_800_000_000_000;
  return {
    now: () => time,
    seconds: () => Math.floor(time / 1000),
    advance: (seconds: number) => (time += seconds * 1000),
  };
};

/** Lets a background renewal (dynamic import, mocked send) finish. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

const awsError = (name: string, message = 'refused'): Error => Object.assign(new Error(message), { name });

/**
 * A KMS key answered by the mock in KMS's own shapes: `GetPublicKey` with `KeySpec` and the
 * SPKI DER, `Sign` with a real signature (Ed25519 over the message; ECDSA_SHA_256 as DER, as
 * KMS returns it). `fail` makes the next calls fail until it is cleared.
 */
/** The key id inside the ARN GetPublicKey answers with. */
const KMS_KEY_UUID = '1234abcd-12ab-34cd-56ef-1234567890ab';

const kmsKey = (keyType: 'ed25519' | 'p256') => {
  const root: KeyObject =
    keyType === 'ed25519'
      ? generateKeyPairSync('ed25519').privateKey
      : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const spki = new Uint8Array(createPublicKey(root).export({ format: 'der', type: 'spki' }));
  const state: { failure: (() => Promise<never>) | undefined } = { failure: undefined };
  const answer = () => {
    kms.on(GetPublicKeyCommand).callsFake(async () => {
      if (state.failure !== undefined) return state.failure();
      return {
        KeyId: `arn:aws:kms:eu-west-1:123456789012:key/${KMS_KEY_UUID}`,
        KeySpec: keyType === 'ed25519' ? 'ECC_NIST_EDWARDS25519' : 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        PublicKey: spki,
      };
    });
    kms.on(SignCommand).callsFake(async (input: SignCommandInput) => {
      if (state.failure !== undefined) return state.failure();
      // The alias as given when keyType and kid are fixed; else the key GetPublicKey named.
      expect([KEY_ID, `arn:aws:kms:eu-west-1:123456789012:key/${KMS_KEY_UUID}`]).toContain(input.KeyId);
      expect(input).toMatchObject({
        MessageType: 'RAW',
        SigningAlgorithm: keyType === 'ed25519' ? 'ED25519_SHA_512' : 'ECDSA_SHA_256',
      });
      const message = Buffer.from(input.Message as Uint8Array);
      const signature = sign(keyType === 'ed25519' ? null : 'sha256', message, root);
      return {
        KeyId: KEY_ID,
        Signature: new Uint8Array(signature),
        SigningAlgorithm: input.SigningAlgorithm,
      };
    });
  };
  answer();
  return {
    recordKey: recordKeyFromSpki(spki, keyType, KID),
    failWith: (error: Error | 'hang') => {
      state.failure = () => (error === 'hang' ? new Promise<never>(() => undefined) : Promise.reject(error));
    },
    recover: () => {
      state.failure = undefined;
    },
    signCalls: () => kms.commandCalls(SignCommand).length,
    describeCalls: () => kms.commandCalls(GetPublicKeyCommand).length,
  };
};

const kmsSigner = (
  time: ReturnType<typeof clock>,
  signingKey: Partial<IdentitySignOptions['signingKey'] & object> = {},
  options: IdentitySignOptions = {},
) =>
  createSigner({
    ...recordingObservability().options,
    self: SELF,
    kmsClient: kmsClient(),
    signingKey: { kmsKeyId: KEY_ID, kid: KID, ...signingKey } as IdentitySignOptions['signingKey'],
    now: time.now,
    ...options,
  });

const workloadPair = async (signer: ReturnType<typeof createSigner>, body = '{"a":1}') => {
  const credential = await signer.signCredential({ aud: LEDGER, body });
  if (credential.kind !== 'workload') throw new Error('expected a workload credential');
  return { ...credential, body };
};

const failureOf = async (promise: Promise<unknown>, reason: string): Promise<SigningError> => {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SigningError);
  expect(error).toMatchObject({ reason });
  return error as SigningError;
};

/** No private JWK member, token or signing input in what was logged or thrown. */
const expectNoKeyMaterial = (...values: unknown[]) => {
  const text = JSON.stringify(values, (_key, value) =>
    value instanceof Error ? { message: value.message, cause: value.cause } : value,
  );
  expect(text).not.toMatch(/"d":/);
  expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
};

describe.each(['ed25519', 'p256'] as const)('a %s KMS key', (keyType) => {
  it('signs the first WIT at creation (init), asks KeySpec once, and each request gets a local WPT the callee accepts', async () => {
    const time = clock();
    const key = kmsKey(keyType);
    const recorded = recordingObservability();
    const signer = kmsSigner(time, {}, recorded.options);
    await settle();
    // Prefetch: KMS was asked before the first request.
    expect([key.describeCalls(), key.signCalls()]).toEqual([1, 1]);
    const first = await workloadPair(signer);
    const second = await workloadPair(signer, '');
    expect([key.describeCalls(), key.signCalls()]).toEqual([1, 1]);
    expect(second.wit).toBe(first.wit);
    const { identity, claims } = verifyPairAs(first, key.recordKey, {
      now: time.seconds(),
      body: '{"a":1}',
      requireBodyHash: true,
    });
    expect(identity).toMatchObject({ iss: SELF, expiresAt: time.seconds() + 3600 });
    expect(claims).toMatchObject({ iss: SELF, aud: LEDGER });
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);
    expect(decodeProof(first.wit).header).toEqual({
      alg: keyType === 'ed25519' ? 'EdDSA' : 'ES256',
      kid: KID,
      typ: 'wit+jwt',
    });
    verifyPairAs(second, key.recordKey, { now: time.seconds(), body: '' });
    expect(recorded.metrics.filter((metric) => metric.name === 'SigningKeyLoad')).toHaveLength(1);
    expect(recorded.metrics.filter((metric) => metric.name === 'ProofSigned')).toHaveLength(2);
    expect(JSON.stringify(recorded.logs)).toContain('workload identity token issued');
    expectNoKeyMaterial(recorded.logs);
  });

  it('skips GetPublicKey when keyType is given', async () => {
    const time = clock();
    const key = kmsKey(keyType);
    const signer = kmsSigner(time, { keyType, witLifetime: 600 }, { lifetime: 30 });
    const pair = await workloadPair(signer);
    expect([key.describeCalls(), key.signCalls()]).toEqual([0, 1]);
    const { identity, claims } = verifyPairAs(pair, key.recordKey, { now: time.seconds() });
    expect(identity.expiresAt).toBe(time.seconds() + 600);
    expect((claims.exp as number) - (claims.iat as number)).toBe(30);
  });
});

describe('KMS key: renewal', () => {
  it('renews in the background after 80 % of the lifetime, with a new confirmation key, never blocking a request', async () => {
    const time = clock();
    const key = kmsKey('ed25519');
    const signer = kmsSigner(time, { witLifetime: 1000 });
    const first = await workloadPair(signer);
    time.advance(799);
    expect((await workloadPair(signer)).wit).toBe(first.wit);
    await settle();
    expect(key.signCalls()).toBe(1);
    time.advance(2);
    // Past 80 %: this request still gets the current WIT, and starts the renewal.
    expect((await workloadPair(signer)).wit).toBe(first.wit);
    await settle();
    expect(key.signCalls()).toBe(2);
    const renewed = await workloadPair(signer);
    expect(renewed.wit).not.toBe(first.wit);
    const cnf = (wit: string) => (claimsOf(wit).cnf as { jwk: { x: string } }).jwk.x;
    expect(cnf(renewed.wit)).not.toBe(cnf(first.wit));
    expect(claimsOf(renewed.wit).iat).toBe(time.seconds());
    verifyPairAs(renewed, key.recordKey, { now: time.seconds() });
    // The old WPT is bound to the old WIT: the pair cannot be mixed.
    expect(() =>
      verifyPairAs({ wit: renewed.wit, proof: first.proof }, key.recordKey, { now: time.seconds() }),
    ).toThrow(expect.objectContaining({ reason: expect.stringMatching(/wrong_token|bad_signature/) }));
  });

  it('follows an alias moved to the next key (a rotation): the next WIT names its kid and is signed by it', async () => {
    const time = clock();
    const keys = ['1111aaaa-11aa-11aa-11aa-111111111111', '2222bbbb-22bb-22bb-22bb-222222222222'].map(
      (uuid) => ({
        arn: `arn:aws:kms:eu-west-1:123456789012:key/${uuid}`,
        kid: `kms-${uuid}`,
        root: generateKeyPairSync('ed25519').privateKey,
      }),
    );
    let target = keys[0] as (typeof keys)[number];
    kms.on(GetPublicKeyCommand).callsFake(async () => ({
      KeyId: target.arn,
      KeySpec: 'ECC_NIST_EDWARDS25519',
      KeyUsage: 'SIGN_VERIFY',
      PublicKey: new Uint8Array(createPublicKey(target.root).export({ format: 'der', type: 'spki' })),
    }));
    kms.on(SignCommand).callsFake(async (input: SignCommandInput) => {
      const key = keys.find((candidate) => candidate.arn === input.KeyId);
      if (key === undefined) throw awsError('NotFoundException', 'signed through the alias, not the key');
      return {
        KeyId: key.arn,
        Signature: new Uint8Array(sign(null, Buffer.from(input.Message as Uint8Array), key.root)),
      };
    });
    const signer = kmsSigner(time, { kid: undefined, witLifetime: 1000 });
    const first = await workloadPair(signer);
    expect(decodeProof(first.wit).header.kid).toBe(keys[0]?.kid);
    target = keys[1] as (typeof keys)[number];
    time.advance(801);
    await workloadPair(signer);
    await settle();
    const renewed = await workloadPair(signer);
    expect(decodeProof(renewed.wit).header.kid).toBe(keys[1]?.kid);
    const spki = new Uint8Array(
      createPublicKey(keys[1]?.root as KeyObject).export({ format: 'der', type: 'spki' }),
    );
    verifyPairAs(renewed, recordKeyFromSpki(spki, 'ed25519', keys[1]?.kid as string), {
      now: time.seconds(),
    });
  });

  it('shares one KMS call between concurrent requests at init', async () => {
    const time = clock();
    const key = kmsKey('p256');
    const signer = kmsSigner(time, { keyType: 'p256' }, { prefetch: false });
    const pairs = await Promise.all(Array.from({ length: 5 }, () => workloadPair(signer)));
    expect(key.signCalls()).toBe(1);
    expect(new Set(pairs.map((pair) => pair.wit)).size).toBe(1);
  });
});

describe('KMS key: failures', () => {
  it.each([
    ['ThrottlingException', awsError('ThrottlingException', 'Rate exceeded')],
    ['AccessDeniedException', awsError('AccessDeniedException', 'not authorized to perform kms:Sign')],
    ['TimeoutError', 'hang' as const],
  ])(
    'at init (%s): fails closed with a typed error, no key material, backs off, and recovers',
    async (code, error) => {
      const time = clock();
      const key = kmsKey('ed25519');
      key.failWith(error);
      const recorded = recordingObservability();
      const signer = kmsSigner(
        time,
        { keyType: 'ed25519', timeout: 0.05 },
        { ...recorded.options, prefetch: false },
      );
      const failure = await failureOf(signer.ready(), 'signing_key_unavailable');
      expect(failure.message).toContain(code);
      expect(failure.message).toContain(KEY_ID);
      expect(failure.cause).toBeUndefined();
      // Within the backoff KMS is not asked again: every carrier fails at once.
      await failureOf(signer.signCredential({ aud: LEDGER }), 'signing_key_unavailable');
      await failureOf(signer.fetch('https://api.example.com/', { aud: LEDGER }), 'signing_key_unavailable');
      expect(key.signCalls()).toBe(1);
      expect(recorded.metrics).toContainEqual({
        name: 'SigningKeyLoadError',
        value: 1,
        dimension: ['Reason', 'signing_key_unavailable'],
      });
      expect(recorded.logs).toContainEqual(
        expect.objectContaining({
          level: 'error',
          fields: expect.objectContaining({ 'aws.code': code, 'nhi.reason': 'signing_key_unavailable' }),
        }),
      );
      expectNoKeyMaterial(recorded.logs, failure);
      key.recover();
      time.advance(1);
      verifyPairAs(await workloadPair(signer), key.recordKey, { now: time.seconds() });
    },
  );

  it('at renewal: keeps the current WIT until it expires, then fails closed, then recovers', async () => {
    const time = clock();
    const key = kmsKey('p256');
    const recorded = recordingObservability();
    const signer = kmsSigner(time, { witLifetime: 100 }, recorded.options);
    const first = await workloadPair(signer);
    key.failWith(awsError('ThrottlingException'));
    time.advance(90);
    expect((await workloadPair(signer)).wit).toBe(first.wit);
    await settle();
    // The renewal failed: the current WIT still serves, and still verifies.
    const during = await workloadPair(signer);
    expect(during.wit).toBe(first.wit);
    verifyPairAs(during, key.recordKey, { now: time.seconds() });
    expect(recorded.logs).toContainEqual(
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('renewal failed') }),
    );
    time.advance(10);
    // Expired, and KMS still fails: nothing is signed with a dead WIT.
    const failure = await failureOf(signer.signCredential({ aud: LEDGER }), 'signing_key_unavailable');
    expectNoKeyMaterial(recorded.logs, failure);
    key.recover();
    time.advance(1);
    const renewed = await workloadPair(signer);
    expect(renewed.wit).not.toBe(first.wit);
    verifyPairAs(renewed, key.recordKey, { now: time.seconds() });
  });

  it('refuses a KMS key that is not an Ed25519 or P-256 signing key', async () => {
    const time = clock();
    kms.on(GetPublicKeyCommand).resolves({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    const signer = kmsSigner(time, {}, { prefetch: false });
    const failure = await failureOf(signer.ready(), 'invalid_signing_key');
    expect(failure.message).toContain('RSA_2048');
    kms.on(GetPublicKeyCommand).resolves({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' });
    time.advance(1);
    await failureOf(signer.ready(), 'invalid_signing_key');
    kms.on(SignCommand).rejects(awsError('InvalidKeyUsageException'));
    const given = kmsSigner(time, { keyType: 'p256' }, { prefetch: false });
    await failureOf(given.ready(), 'invalid_signing_key');
  });
});

describe('KMS key: options and API', () => {
  it('takes the key from NHI_KMS_KEY_ID when no signingKey is given (as the deploy paths set it)', async () => {
    const time = clock();
    kmsKey('ed25519');
    process.env.NHI_KMS_KEY_ID = KEY_ID;
    try {
      const signer = createSigner({
        ...recordingObservability().options,
        self: SELF,
        kmsClient: kmsClient(),
        now: time.now,
      });
      expect(signer.signsWorkloadTokens).toBe(true);
      const credential = await signer.signCredential({ aud: LEDGER });
      expect(credential.kind).toBe('workload');
    } finally {
      delete process.env.NHI_KMS_KEY_ID;
    }
  });

  it('derives the kid kms-<key id> from GetPublicKey when none is given, as the CLI publishes it', async () => {
    const time = clock();
    kmsKey('ed25519');
    const signer = kmsSigner(time, { kid: undefined });
    const credential = await signer.signCredential({ aud: LEDGER });
    if (credential.kind !== 'workload') throw new Error('not a pair');
    expect(decodeProof(credential.wit).header.kid).toBe(`kms-${KMS_KEY_UUID}`);
  });

  it.each([
    [{ kmsKeyId: '' }, /kmsKeyId/],
    [{ keyType: 'rsa' }, /keyType/],
    [{ witLifetime: 30 }, /witLifetime/],
    [{ witLifetime: 86_401 }, /witLifetime/],
    [{ kid: 'bad kid!' }, /kid/],
    [{ timeot: 1 }, /timeout/],
  ])('refuses %j at creation', (signingKey, message) => {
    expect(() => kmsSigner(clock(), signingKey as never, { prefetch: false })).toThrow(
      expect.objectContaining({ reason: 'invalid_config', message: expect.stringMatching(message) }),
    );
  });

  it('sign() refuses (a WPT is useless alone); signHeaders() gives the pair, signCredential() a typed union', async () => {
    const time = clock();
    const key = kmsKey('ed25519');
    const signer = kmsSigner(time);
    expect(signer.signsWorkloadTokens).toBe(true);
    await failureOf(signer.sign({ aud: LEDGER }), 'invalid_config');
    const headers = await signer.signHeaders({
      aud: LEDGER,
      method: 'GET',
      url: 'https://api.example.com/x',
    });
    expect(Object.keys(headers).sort()).toEqual([
      WORKLOAD_IDENTITY_TOKEN_HEADER,
      WORKLOAD_PROOF_TOKEN_HEADER,
    ]);
    const pair = {
      wit: (headers as Record<string, string>)[WORKLOAD_IDENTITY_TOKEN_HEADER] ?? '',
      proof: (headers as Record<string, string>)[WORKLOAD_PROOF_TOKEN_HEADER] ?? '',
    };
    verifyPairAs(pair, key.recordKey, {
      now: time.seconds(),
      method: 'GET',
      url: 'https://api.example.com/x',
    });
  });
});

describe('KMS key: carriers', () => {
  let server: Awaited<ReturnType<typeof loopbackServer>>;
  beforeAll(async () => {
    server = await loopbackServer();
  });
  afterAll(() => server.close());

  it('fetch sends Workload-Identity-Token and Workload-Proof-Token, binding method, URL and body', async () => {
    const time = clock();
    const key = kmsKey('ed25519');
    const signer = kmsSigner(time, {}, { audiences: { [server.url]: LEDGER } });
    const response = await signer.fetch(`${server.url}/entries?x=1`, { method: 'POST', body: '{"n":1}' });
    expect(response.status).toBe(200);
    const received = server.received.at(-1)!;
    expect(received.headers.authorization).toBeUndefined();
    const pair = {
      wit: String(received.headers[WORKLOAD_IDENTITY_TOKEN_HEADER]),
      proof: String(received.headers[WORKLOAD_PROOF_TOKEN_HEADER]),
    };
    const { claims } = verifyPairAs(pair, key.recordKey, {
      now: time.seconds(),
      method: 'POST',
      url: `${server.url}${received.url}`,
      body: received.body,
      requireBodyHash: true,
    });
    expect(claims).toMatchObject({ htm: 'POST', htu: `${server.url}/entries` });
    // A request that already carries either token is refused before it is sent.
    await failureOf(
      signer.fetch(server.url, { headers: { [WORKLOAD_PROOF_TOKEN_HEADER]: 'x' } }),
      'carrier_conflict',
    );
  });
});

/** Runs the SDK plugin's middleware alone for `commandName` and returns the input it passes on. */
const runPlugin = async (
  signer: ReturnType<typeof createSigner>,
  commandName: string,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> => {
  let middleware:
    | ((next: unknown, context: HandlerExecutionContext) => (args: unknown) => Promise<unknown>)
    | undefined;
  signer.awsSdkPlugin().applyToStack({
    add: (added: typeof middleware) => {
      middleware = added;
    },
  } as never);
  let passed: Record<string, unknown> | undefined;
  const next = async (args: InitializeHandlerArguments<Record<string, unknown>>) => {
    passed = args.input;
    return { output: { $metadata: {} } };
  };
  await middleware!(next, { commandName } as HandlerExecutionContext)({ input });
  return passed!;
};

describe('KMS key: SDK carriers', () => {
  const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';
  const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:orders';
  const audiences = { 'ledger-prod': LEDGER, [QUEUE]: LEDGER, [TOPIC]: LEDGER, default: LEDGER };
  const attributesOf = (value: unknown) => value as Record<string, { StringValue: string }>;

  it('invoke and EventBridge: the envelope is { nhiWit, nhiProof, nhiPayload }, bh over nhiPayload', async () => {
    const time = clock();
    const key = kmsKey('p256');
    const signer = kmsSigner(time, {}, { audiences });
    const invoked = await runPlugin(signer, 'InvokeCommand', {
      FunctionName: 'ledger-prod',
      Payload: '{"n": 1}',
    });
    const envelope = JSON.parse(new TextDecoder().decode(invoked.Payload as Uint8Array));
    expect(Object.keys(envelope)).toEqual(['nhiWit', 'nhiProof', 'nhiPayload']);
    verifyPairAs({ wit: envelope.nhiWit, proof: envelope.nhiProof }, key.recordKey, {
      now: time.seconds(),
      body: envelope.nhiPayload,
      requireBodyHash: true,
    });
    const events = await runPlugin(signer, 'PutEventsCommand', { Entries: [{ Detail: '{"e":2}' }] });
    const detail = JSON.parse((events.Entries as Array<{ Detail: string }>)[0]!.Detail);
    expect(detail.nhiPayload).toBe('{"e":2}');
    verifyPairAs({ wit: detail.nhiWit, proof: detail.nhiProof }, key.recordKey, {
      now: time.seconds(),
      body: detail.nhiPayload,
    });
    // A payload that already is an envelope of either kind is refused.
    await failureOf(
      runPlugin(signer, 'InvokeCommand', { FunctionName: 'ledger-prod', Payload: '{"nhiWit":"x"}' }),
      'carrier_conflict',
    );
  });

  it('SQS and SNS: the nhiWit and nhiProof message attributes, two of the ten a message may carry', async () => {
    const time = clock();
    const key = kmsKey('ed25519');
    const signer = kmsSigner(time, {}, { audiences });
    const sent = await runPlugin(signer, 'SendMessageCommand', { QueueUrl: QUEUE, MessageBody: 'm1' });
    const sqs = attributesOf(sent.MessageAttributes);
    verifyPairAs({ wit: sqs.nhiWit!.StringValue, proof: sqs.nhiProof!.StringValue }, key.recordKey, {
      now: time.seconds(),
      body: 'm1',
      requireBodyHash: true,
    });
    const published = await runPlugin(signer, 'PublishCommand', { TopicArn: TOPIC, Message: 'm2' });
    const sns = attributesOf(published.MessageAttributes);
    verifyPairAs({ wit: sns.nhiWit!.StringValue, proof: sns.nhiProof!.StringValue }, key.recordKey, {
      now: time.seconds(),
      body: 'm2',
    });
    const nine = Object.fromEntries(
      Array.from({ length: 9 }, (_, index) => [`a${index}`, { DataType: 'String', StringValue: 'v' }]),
    );
    const full = await failureOf(
      runPlugin(signer, 'SendMessageCommand', { QueueUrl: QUEUE, MessageBody: 'm', MessageAttributes: nine }),
      'unbindable_request',
    );
    expect(full.message).toContain('no room for 2 more');
    // A secret-held key still needs one attribute, so nine leave it room.
    const nhi1 = createSigner({
      ...recordingObservability().options,
      self: SELF,
      signingKey: { jwk: keyedIdentity('k1').jwk },
      audiences,
    });
    const single = await runPlugin(nhi1, 'SendMessageCommand', {
      QueueUrl: QUEUE,
      MessageBody: 'm',
      MessageAttributes: nine,
    });
    expect(Object.keys(single.MessageAttributes as object)).toHaveLength(10);
    await failureOf(
      runPlugin(signer, 'PublishCommand', {
        TopicArn: TOPIC,
        Message: 'm',
        MessageAttributes: { nhiWit: { DataType: 'String', StringValue: 'x' } },
      }),
      'carrier_conflict',
    );
  });
});

describe('KMS key: the middleware', () => {
  it('runs the handler only once a WIT is signed: a KMS failure at init fails the invocation first, then it recovers', async () => {
    const time = clock();
    const key = kmsKey('ed25519');
    key.failWith(awsError('AccessDeniedException'));
    let ran = 0;
    const handler = middy()
      .use(identitySign(kmsSigner(time, { keyType: 'ed25519' })))
      .handler(async (_event, context) => {
        ran += 1;
        return context.signer.signCredential({ aud: LEDGER, body: '' });
      });
    const lambdaContext = { awsRequestId: 'r', functionName: 'billing' } as unknown as Context &
      IdentitySignContext;
    await failureOf(handler({}, lambdaContext), 'signing_key_unavailable');
    expect(ran).toBe(0);
    key.recover();
    time.advance(1);
    const credential = await handler({}, lambdaContext);
    expect(ran).toBe(1);
    if (credential.kind !== 'workload') throw new Error('expected a workload credential');
    verifyPairAs({ ...credential, body: '' }, key.recordKey, { now: time.seconds() });
  });
});
