// KMS-held keys with KMS's response shapes and REAL signatures (moto, which the integration suite
// drives, has no Ed25519 keys): a stateful KMS stand-in on aws-sdk-client-mock.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  type KeySpec,
  KMSClient,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
} from '@aws-sdk/client-kms';
import {
  decodeProof,
  decodeWorkloadProof,
  formatRecord,
  importRecordKeys,
  parseRecordSet,
  verifyWorkloadIdentity,
  verifyWorkloadProof,
} from '@nhi-dns/core';
import { mockClient } from 'aws-sdk-client-mock';
import { runCli } from './cli.js';
import { keygenKms, publishExistingKmsKey } from './commands/keygen-kms.js';
import { finishKmsRotation } from './commands/rotate-kms.js';
import { fakeAws, NAME, NOW_MS, TARGET } from './fake-aws.test-helper.js';
import { kidOfKmsKey, kmsKeyPolicy, mintKmsWorkloadIdentity, readKmsPublicKey } from './kms-key.js';
import { formatTxtValue, parseTxtValue } from './txt-presentation.js';

const ROLE = 'arn:aws:iam::123456789012:role/billing-function';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:us-east-1:123456789012:key/${KEY_ID}`;

/** One KMS key held in memory, answered in KMS's shapes; every call is recorded in `events`. */
const fakeKms = (options: { spec?: KeySpec; origin?: string; state?: string; usage?: string } = {}) => {
  const spec = options.spec ?? 'ECC_NIST_EDWARDS25519';
  const pair: { privateKey: KeyObject; publicKey: KeyObject } =
    spec === 'ECC_NIST_P256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('ed25519');
  const kms = new KMSClient({ region: 'us-east-1' });
  const mock = mockClient(kms);
  const events: string[] = [];
  const aliases = new Map<string, string>();
  let created = false;
  const metadata = () => ({
    KeyId: KEY_ID,
    Arn: KEY_ARN,
    KeySpec: spec,
    KeyUsage: options.usage ?? 'SIGN_VERIFY',
    KeyState: options.state ?? 'Enabled',
    Origin: options.origin ?? 'AWS_KMS',
  });
  const known = (id: string | undefined) =>
    id === KEY_ID || id === KEY_ARN || (id !== undefined && aliases.has(id));
  const notFound = () => Object.assign(new Error('not found'), { name: 'NotFoundException', $metadata: {} });
  mock.on(CreateKeyCommand).callsFake((input) => {
    created = true;
    events.push(
      `CreateKey ${input.KeySpec} ${JSON.parse(input.Policy)
        .Statement.map((s: { Sid: string }) => s.Sid)
        .join(',')}`,
    );
    return { KeyMetadata: metadata() };
  });
  mock.on(CreateAliasCommand).callsFake((input) => {
    aliases.set(input.AliasName, input.TargetKeyId);
    events.push(`CreateAlias ${input.AliasName}`);
    return {};
  });
  mock.on(DescribeKeyCommand).callsFake((input) => {
    if (!known(input.KeyId) || (!created && !aliases.has(input.KeyId) && input.KeyId?.startsWith('alias/')))
      throw notFound();
    return { KeyMetadata: metadata() };
  });
  mock.on(GetPublicKeyCommand).callsFake(() => ({
    KeyId: KEY_ARN,
    KeySpec: spec,
    PublicKey: new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' })),
  }));
  mock.on(PutKeyPolicyCommand).callsFake((input) => {
    events.push(
      `PutKeyPolicy ${JSON.parse(input.Policy)
        .Statement.map((s: { Sid: string }) => s.Sid)
        .join(',')}`,
    );
    return {};
  });
  mock.on(SignCommand).callsFake((input) => {
    events.push(`Sign ${input.SigningAlgorithm} ${input.MessageType}`);
    const message = Buffer.from(input.Message);
    // KMS's answers: Ed25519 64 raw bytes; ECDSA_SHA_256 a DER signature.
    const signature =
      spec === 'ECC_NIST_P256'
        ? sign('sha256', message, pair.privateKey)
        : sign(null, message, pair.privateKey);
    return { KeyId: KEY_ARN, Signature: new Uint8Array(signature), SigningAlgorithm: input.SigningAlgorithm };
  });
  return { kms, mock, events, pair, aliases, adopt: () => aliases.set('alias/nhi/prod/billing', KEY_ID) };
};

describe('kidOfKmsKey', () => {
  it('derives kms-<key id> from a key id, a key ARN or a multi-Region key, and refuses anything else', () => {
    expect(kidOfKmsKey(KEY_ID)).toBe(`kms-${KEY_ID}`);
    expect(kidOfKmsKey(KEY_ARN)).toBe(`kms-${KEY_ID}`);
    expect(kidOfKmsKey(`mrk-${'a'.repeat(32)}`)).toBe(`kms-mrk-${'a'.repeat(32)}`);
    for (const bad of ['alias/nhi/prod/billing', 'not-a-key', `${KEY_ID}x`])
      expect(() => kidOfKmsKey(bad)).toThrow(/not a KMS key id/);
  });
});

describe('kmsKeyPolicy', () => {
  it('lets the account administer and read the key, only the signer roles sign, and denies Sign to every other principal', () => {
    const policy = JSON.parse(kmsKeyPolicy({ signerRoles: [ROLE] }));
    const [admin, deny, allow] = policy.Statement;
    expect(admin.Principal).toEqual({ AWS: 'arn:aws:iam::123456789012:root' });
    expect(admin.Action).not.toContain('kms:Sign');
    expect(admin.Action.some((action: string) => action === 'kms:*' || action === 'kms:S*')).toBe(false);
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Action: 'kms:Sign',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ROLE] } },
    });
    expect(allow).toMatchObject({
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      Action: expect.arrayContaining(['kms:Sign']),
      Condition: { ArnEquals: { 'aws:PrincipalArn': [ROLE] } },
    });
    const locked = JSON.parse(kmsKeyPolicy({ signerRoles: [ROLE], withoutSigners: true }));
    expect(locked.Statement.map((s: { Sid: string }) => s.Sid)).toEqual([
      'AccountAdministersButDoesNotSign',
      'OnlyTheWorkloadSigns',
    ]);
  });

  it('refuses no signer, something that is not a role ARN, and roles of two accounts', () => {
    expect(() => kmsKeyPolicy({ signerRoles: [] })).toThrow(/at least one --signer-role/);
    expect(() => kmsKeyPolicy({ signerRoles: ['arn:aws:iam::123456789012:user/alice'] })).toThrow(
      /not an IAM role ARN/,
    );
    expect(() => kmsKeyPolicy({ signerRoles: [ROLE, 'arn:aws:iam::210987654321:role/x'] })).toThrow(
      /one account/,
    );
  });
});

describe('readKmsPublicKey', () => {
  it('publishes an Ed25519 key as its raw 32 bytes and a P-256 key as SPKI DER, kc=kms for KMS-made material', async () => {
    const ed = fakeKms();
    const key = await readKmsPublicKey(ed.kms, KEY_ID);
    expect(key).toMatchObject({
      kid: `kms-${KEY_ID}`,
      keyType: 'ed25519',
      keyCustody: 'kms',
      keyArn: KEY_ARN,
    });
    expect(Buffer.from(key.publicKey, 'base64')).toEqual(
      Buffer.from(ed.pair.publicKey.export({ format: 'jwk' }).x as string, 'base64url'),
    );
    const ec = fakeKms({ spec: 'ECC_NIST_P256' });
    expect(await readKmsPublicKey(ec.kms, KEY_ID)).toMatchObject({ keyType: 'p256', keyCustody: 'kms' });
  });

  it('states no custody for imported key material, and refuses keys that cannot sign for an identity', async () => {
    expect(await readKmsPublicKey(fakeKms({ origin: 'EXTERNAL' }).kms, KEY_ID)).not.toHaveProperty(
      'keyCustody',
    );
    await expect(readKmsPublicKey(fakeKms({ state: 'Disabled' }).kms, KEY_ID)).rejects.toThrow(
      /state is Disabled/,
    );
    await expect(readKmsPublicKey(fakeKms({ usage: 'ENCRYPT_DECRYPT' }).kms, KEY_ID)).rejects.toThrow(
      /SIGN_VERIFY/,
    );
    await expect(readKmsPublicKey(fakeKms({ spec: 'RSA_2048' }).kms, KEY_ID)).rejects.toThrow(
      /ECC_NIST_EDWARDS25519/,
    );
  });
});

describe('keygenKms (Ed25519, KMS response shapes)', () => {
  it('creates the key locked, publishes it with kc=kms, and grants kms:Sign only after DNS has it', async () => {
    const aws = fakeAws();
    const kms = fakeKms();
    const order: string[] = [];
    const result = await keygenKms(
      { ...TARGET, signerRoles: [ROLE], propagationWaitSeconds: 7 },
      { ...aws.deps, kms: kms.kms, sleep: async (ms) => void order.push(`sleep ${ms}`) },
    );
    expect(result).toMatchObject({
      kid: `kms-${KEY_ID}`,
      keyType: 'ed25519',
      alias: 'alias/nhi/prod/billing',
      keyArn: KEY_ARN,
    });
    expect(kms.events).toEqual([
      'CreateKey ECC_NIST_EDWARDS25519 AccountAdministersButDoesNotSign,OnlyTheWorkloadSigns',
      'CreateAlias alias/nhi/prod/billing',
      'PutKeyPolicy AccountAdministersButDoesNotSign,OnlyTheWorkloadSigns,WorkloadSigns',
    ]);
    expect(order).toContain('sleep 7000');
    const set = parseRecordSet(
      NAME,
      (aws.txt(NAME) ?? []).map((value) => parseTxtValue(value) ?? []),
    );
    expect(set.keys).toEqual([expect.objectContaining({ kid: `kms-${KEY_ID}`, keyCustody: 'kms' })]);
  });

  it('with admin roles, denies policy and alias changes to everyone else from the first policy on', async () => {
    const aws = fakeAws();
    const kms = fakeKms();
    await keygenKms(
      {
        ...TARGET,
        signerRoles: [ROLE],
        adminRoles: ['arn:aws:iam::123456789012:role/nhi-pipeline'],
        propagationWaitSeconds: 0,
      },
      { ...aws.deps, kms: kms.kms },
    );
    expect(kms.events).toEqual([
      'CreateKey ECC_NIST_EDWARDS25519 AccountAdministersButDoesNotSign,OnlyTheWorkloadSigns,OnlyAdministratorsChangeIt',
      'CreateAlias alias/nhi/prod/billing',
      'PutKeyPolicy AccountAdministersButDoesNotSign,OnlyTheWorkloadSigns,OnlyAdministratorsChangeIt,WorkloadSigns',
    ]);
    await expect(
      keygenKms(
        { ...TARGET, signerRoles: [ROLE], adminRoles: ['not-a-role'] },
        { ...aws.deps, kms: fakeKms().kms },
      ),
    ).rejects.toThrow(/--admin-role not-a-role: not an IAM role ARN/);
  });

  it('refuses when the alias already names a key, creating nothing', async () => {
    const aws = fakeAws();
    const kms = fakeKms();
    kms.adopt();
    await expect(
      keygenKms({ ...TARGET, signerRoles: [ROLE] }, { ...aws.deps, kms: kms.kms }),
    ).rejects.toThrow(/already names KMS key/);
    expect(kms.events).toEqual([]);
  });
});

describe('publishExistingKmsKey', () => {
  it('publishes the key as kms-<key id> with kc=kms, the attributes and exp given (publish --kms-key-id --attr --exp)', async () => {
    const aws = fakeAws();
    const kms = fakeKms();
    await publishExistingKmsKey(
      { ...TARGET, kmsKeyId: KEY_ID, attributes: { tier: 'pci' }, expiresAt: 1_900_000_000 },
      { ...aws.deps, kms: kms.kms },
    );
    const set = parseRecordSet(
      NAME,
      (aws.txt(NAME) ?? []).map((value) => parseTxtValue(value) ?? []),
    );
    expect(set.keys).toEqual([
      expect.objectContaining({
        kid: `kms-${KEY_ID}`,
        keyCustody: 'kms',
        attributes: { tier: 'pci' },
        expiresAt: 1_900_000_000,
      }),
    ]);
  });
});

describe('mintKmsWorkloadIdentity', () => {
  it.each([
    ['ECC_NIST_EDWARDS25519', 'ED25519_SHA_512', 'EdDSA'],
    ['ECC_NIST_P256', 'ECDSA_SHA_256', 'ES256'],
  ] as const)(
    '%s: one Sign (%s, RAW) makes a WIT that verifies against the published key',
    async (spec, algorithm, alg) => {
      const kms = fakeKms({ spec });
      const published = await readKmsPublicKey(kms.kms, KEY_ID);
      const signer = await mintKmsWorkloadIdentity({
        kms: kms.kms,
        kmsKeyId: KEY_ID,
        name: NAME,
        now: NOW_MS / 1000,
      });
      expect(kms.events).toEqual([`Sign ${algorithm} RAW`]);
      const set = parseRecordSet(NAME, [
        [
          `v=NHI1; svc=billing; env=prod; kid=${published.kid}; k=${published.keyType}; p=${published.publicKey}; kc=kms`,
        ],
      ]);
      const key = importRecordKeys(set.keys).keys.get(published.kid);
      if (key === undefined) throw new Error('key not imported');
      const wit = decodeProof(signer.wit);
      expect(wit.header.alg).toBe(alg);
      const identity = verifyWorkloadIdentity(wit, { key, now: NOW_MS / 1000 });
      const wpt = signer.sign({ aud: 'ledger.prod.auth.example.com', now: NOW_MS / 1000 });
      expect(
        verifyWorkloadProof(decodeWorkloadProof(wpt), identity, {
          audience: 'ledger.prod.auth.example.com',
          now: NOW_MS / 1000,
        }).iss,
      ).toBe(NAME);
    },
  );

  it('passes a KMS refusal on as it came (AccessDenied), with nothing of a key in it', async () => {
    const kms = fakeKms();
    kms.mock.on(SignCommand).rejects(
      Object.assign(new Error('User is not authorized to perform kms:Sign'), {
        name: 'AccessDeniedException',
      }),
    );
    const error = await mintKmsWorkloadIdentity({ kms: kms.kms, kmsKeyId: KEY_ID, name: NAME }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).name).toBe('AccessDeniedException');
    expect(JSON.stringify(error) + String(error)).not.toMatch(/"d"|PRIVATE/);
  });
});

describe('nhi-dns sign --kms-key-id', () => {
  it('prints the WIT and WPT as the two headers a callee reads', async () => {
    const aws = fakeAws();
    const kms = fakeKms();
    const out: string[] = [];
    const code = await runCli(
      ['sign', '--iss', NAME, '--aud', 'ledger.prod.auth.example.com', '--kms-key-id', KEY_ID, '--header'],
      {
        stdout: (text) => void out.push(text),
        stderr: () => {},
        createAwsClients: () => ({ route53: aws.route53, secrets: aws.secrets, kms: kms.kms }),
        createResolver: () => ({ resolveTxt: async () => Promise.reject(new Error('unused')) }),
        now: () => NOW_MS,
      },
    );
    expect(code).toBe(0);
    const [witLine, wptLine, rest] = out.join('').split('\n');
    expect(witLine).toMatch(/^Workload-Identity-Token: ey[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(wptLine).toMatch(/^Workload-Proof-Token: ey[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(rest).toBe('');
  });

  it('refuses --kms-key-id together with another key source', async () => {
    const aws = fakeAws();
    const err: string[] = [];
    const code = await runCli(
      [
        'sign',
        '--iss',
        NAME,
        '--aud',
        'ledger.prod.auth.example.com',
        '--kms-key-id',
        KEY_ID,
        '--from-secret',
      ],
      {
        stdout: () => {},
        stderr: (text) => void err.push(text),
        createAwsClients: () => ({ route53: aws.route53, secrets: aws.secrets }),
        createResolver: () => ({ resolveTxt: async () => Promise.reject(new Error('unused')) }),
      },
    );
    expect(code).toBe(2);
    expect(err.join('')).toMatch(/cannot be used with/);
  });
});

describe('finishKmsRotation', () => {
  const oldId = '1111aaaa-11aa-11aa-11aa-111111111111';
  const newId = '2222bbbb-22bb-22bb-22bb-222222222222';
  const now = Math.floor(NOW_MS / 1000);
  const rr = (kid: string, fill: number, extra: Record<string, unknown> = {}) =>
    formatTxtValue(
      formatRecord({
        service: 'billing',
        environment: 'prod',
        kid,
        publicKey: Buffer.alloc(32, fill).toString('base64'),
        keyCustody: 'kms',
        ...extra,
      }),
    );
  const retiredSetup = () => {
    const aws = fakeAws();
    const kms = new KMSClient({ region: 'us-east-1' });
    const mock = mockClient(kms);
    aws.setTxt(NAME, [rr(`kms-${oldId}`, 1, { expiresAt: now - 10 }), rr(`kms-${newId}`, 2)]);
    return { aws, kms, mock };
  };

  it('takes a retired key already pending deletion as scheduled (a finish that failed after scheduling), and removes its RR', async () => {
    const { aws, kms, mock } = retiredSetup();
    mock
      .on(DescribeKeyCommand)
      .callsFake(async (input: { KeyId: string }) =>
        input.KeyId === oldId
          ? { KeyMetadata: { KeyId: oldId, KeyState: 'PendingDeletion' } }
          : { KeyMetadata: { KeyId: newId, KeyState: 'Enabled' } },
      );
    const finished = await finishKmsRotation(TARGET, { ...aws.deps, kms });
    expect(finished.scheduledDeletion).toEqual([oldId]);
    expect(finished.removed).toEqual([`kms-${oldId}`]);
    expect(mock.commandCalls(ScheduleKeyDeletionCommand)).toHaveLength(0);
  });

  it('never deletes a key the record names but that is not this identity (another workload tag)', async () => {
    const { aws, kms, mock } = retiredSetup();
    mock.on(DescribeKeyCommand).callsFake(async (input: { KeyId: string }) => ({
      KeyMetadata: { KeyId: input.KeyId === oldId ? oldId : newId, KeyState: 'Enabled' },
    }));
    mock
      .on(ListResourceTagsCommand)
      .resolves({ Tags: [{ TagKey: 'nhi:identity', TagValue: 'payments.prod.auth.example.com' }] });
    const finished = await finishKmsRotation(TARGET, { ...aws.deps, kms });
    expect(finished.scheduledDeletion).toEqual([]);
    expect(mock.commandCalls(ScheduleKeyDeletionCommand)).toHaveLength(0);
    expect(aws.log.join('\n')).toMatch(/not a KMS key of billing\.prod\.auth\.example\.com/);
  });
});
