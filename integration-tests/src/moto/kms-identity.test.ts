/**
 * Keys that never leave KMS, end to end against real AWS APIs (moto on loopback) and real DNS:
 * `keygen --kms` creates the key and publishes it in Route 53; the RRset is served by a loopback
 * DNS server; a WIT minted through KMS `Sign` and a WPT signed with the short-lived key verify
 * against what DNS says; revoking the key denies the unexpired WIT. moto has no Ed25519 keys, so
 * these keys are P-256 (Ed25519 KMS keys are covered with KMS's response shape in unit tests).
 */
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { finishKmsRotation, keygenKms, mintKmsWorkloadIdentity, revoke, rotateKms } from '@nhi-dns/cli';
import {
  decodeProof,
  decodeWorkloadProof,
  importRecordKeys,
  type ProofError,
  parseRecordSet,
  verifyWorkloadIdentity,
  verifyWorkloadProof,
} from '@nhi-dns/core';
import identityResolve from '@nhi-dns/identity-resolve';
import { createSigner } from '@nhi-dns/identity-sign';
import identityVerify, { identityVerifyRecords } from '@nhi-dns/identity-verify';
import { createResolver } from '@nhi-dns/resolver';
import { startTestDnsServer, type TestDnsServer } from '@nhi-dns/resolver/test-support';
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import { type MotoServer, startMoto } from '../lab/moto.js';
import { createMotoHostedZone, exportTxtToDns } from '../lab/moto-zone.js';
import { lambdaContext } from '../support/http-event.js';

const ZONE = 'auth.example.com';
const NAME = `billing.prod.${ZONE}`;
const CALLEE = `ledger.prod.${ZONE}`;
const SIGNER_ROLE = 'arn:aws:iam::123456789012:role/billing-function';

let moto: MotoServer;
let dns: TestDnsServer;
let route53: Route53Client;
let kms: KMSClient;
let hostedZoneId: string;

const deps = () => ({
  route53,
  secrets: new SecretsManagerClient(moto.clientConfig),
  kms,
  now: Date.now,
  sleep: async () => {},
  log: () => {},
});
const target = () => ({
  service: 'billing',
  environment: 'prod',
  zone: ZONE,
  hostedZoneId,
  propagationWaitSeconds: 0,
});

/** Copies the identity's TXT RRset from moto's Route 53 into the loopback DNS server. */
const exportToDns = (): Promise<void> => exportTxtToDns(route53, hostedZoneId, NAME, dns);

/** The caller's keys as DNS serves them now (no cache: each call asks). */
const keysFromDns = async () => {
  const resolver = createResolver({ servers: [dns.server], cache: false });
  const answer = await resolver.resolveTxt(NAME);
  const set = parseRecordSet(NAME, answer.records);
  return importRecordKeys(set.keys).keys;
};

beforeAll(async () => {
  moto = await startMoto();
  dns = await startTestDnsServer({ zone: ZONE });
  route53 = new Route53Client(moto.clientConfig);
  kms = new KMSClient(moto.clientConfig);
  hostedZoneId = await createMotoHostedZone(route53, ZONE);
}, 60_000);

afterAll(async () => {
  await dns?.stop();
  await moto?.stop();
});

describe('a KMS-held identity on moto (Route 53, KMS) and real DNS', () => {
  let kid: string;
  let keyArn: string;

  it('keygen --kms: creates the key, its alias and a policy only the signer role can sign under, and publishes kc=kms', async () => {
    const result = await keygenKms({ ...target(), keyType: 'p256', signerRoles: [SIGNER_ROLE] }, deps());
    kid = result.kid;
    keyArn = result.keyArn ?? '';
    expect(kid).toMatch(/^kms-[0-9a-f-]{36}$/);
    const aliases = await kms.send(new ListAliasesCommand({}));
    expect(aliases.Aliases?.map((alias) => alias.AliasName)).toContain('alias/nhi/prod/billing');
    const { Policy = '' } = await kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' }));
    const statements = (
      JSON.parse(Policy) as { Statement: { Sid: string; Principal: unknown; Condition?: unknown }[] }
    ).Statement;
    expect(statements.find((s) => s.Sid === 'WorkloadSigns')?.Condition).toEqual({
      ArnEquals: { 'aws:PrincipalArn': [SIGNER_ROLE] },
    });
    // moto stores key policies without evaluating them: the text is what AWS will enforce.
    expect(statements.find((s) => s.Sid === 'OnlyTheWorkloadSigns')).toMatchObject({
      Effect: 'Deny',
      Action: 'kms:Sign',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [SIGNER_ROLE] } },
    });

    await exportToDns();
    const keys = await keysFromDns();
    expect(keys.get(kid)).toMatchObject({ keyType: 'p256', keyCustody: 'kms', revoked: false });
  });

  it('a WIT signed by KMS and a WPT signed by the short-lived key verify against the record DNS serves', async () => {
    const started = performance.now();
    const signer = await mintKmsWorkloadIdentity({ kms, kmsKeyId: 'alias/nhi/prod/billing', name: NAME });
    const mintMs = performance.now() - started;
    const wpt = signer.sign({
      aud: CALLEE,
      method: 'POST',
      url: 'https://ledger.example.com/pay',
      body: '{}',
    });
    const wit = decodeProof(signer.wit);
    expect(wit.header).toEqual({ alg: 'ES256', kid, typ: 'wit+jwt' });
    const key = (await keysFromDns()).get(kid);
    if (key === undefined) throw new Error('key not in DNS');
    const identity = verifyWorkloadIdentity(wit, { key });
    const claims = verifyWorkloadProof(decodeWorkloadProof(wpt), identity, {
      audience: CALLEE,
      method: 'POST',
      url: 'https://ledger.example.com/pay',
      body: '{}',
      requireBodyHash: true,
    });
    expect(claims.iss).toBe(NAME);
    // What the WIT adds to a signer's init on loopback moto (DescribeKey, GetPublicKey, Sign).
    console.log(`mint a WIT through KMS on loopback moto: ${mintMs.toFixed(1)} ms`);
  });

  it('identity-sign signs with the KMS key through moto; identity-verify (requireKeyCustody kms) serves it over real DNS', async () => {
    const signer = createSigner({
      self: NAME,
      signingKey: { kmsKeyId: 'alias/nhi/prod/billing' },
      kmsClient: kms,
      audiences: { 'https://api.example.com': CALLEE },
    });
    await signer.ready();
    const body = '{"amount":10}';
    const headers = await signer.signHeaders({
      aud: CALLEE,
      method: 'POST',
      url: 'https://api.example.com/pay',
      body,
    });
    const callee = middy<APIGatewayProxyEventV2>()
      .use(identityResolve({ zone: ZONE, resolver: createResolver({ servers: [dns.server], cache: false }) }))
      .use(identityVerify({ self: CALLEE, allow: [NAME], requireKeyCustody: 'kms' }))
      .handler(async (_event, context) => ({
        statusCode: 200,
        body: `${context.caller.name} ${context.caller.credential}`,
      }));
    const event = {
      version: '2.0',
      routeKey: '$default',
      rawPath: '/pay',
      rawQueryString: '',
      headers: { host: 'api.example.com', ...headers },
      requestContext: { domainName: 'api.example.com', http: { method: 'POST', path: '/pay' } },
      body,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    // Middy types the wrapped handler's context as what the middlewares add; Lambda passes it untyped.
    const context = lambdaContext() as Parameters<typeof callee>[1];
    const response = (await callee(event, context)) as { statusCode: number; body: string };
    expect(response).toEqual({ statusCode: 200, body: `${NAME} wit` });
  });

  it('over SQS on moto: the SDK plugin of identity-sign attaches the pair, identityVerifyRecords accepts the delivered message', async () => {
    const sqs = new SQSClient(moto.clientConfig);
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'ledger-entries' }));
    const signer = createSigner({
      self: NAME,
      signingKey: { kmsKeyId: 'alias/nhi/prod/billing' },
      kmsClient: kms,
      audiences: { [QueueUrl]: CALLEE },
    });
    sqs.middlewareStack.use(signer.awsSdkPlugin());
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"entry":1}' }));
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ['All'], AttributeNames: ['All'] }),
    );
    expect(Object.keys(Messages[0]?.MessageAttributes ?? {}).sort()).toEqual(['nhiProof', 'nhiWit']);
    // The event Lambda's SQS poller builds from what moto delivered.
    const event: SQSEvent = {
      Records: Messages.map((message) => ({
        messageId: message.MessageId ?? '',
        receiptHandle: message.ReceiptHandle ?? '',
        body: message.Body ?? '',
        attributes: message.Attributes as SQSEvent['Records'][number]['attributes'],
        messageAttributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
            name,
            { dataType: value.DataType ?? 'String', stringValue: value.StringValue ?? '' },
          ]),
        ),
        md5OfBody: message.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:ledger-entries',
        awsRegion: 'us-east-1',
      })),
    };
    const seen: string[] = [];
    const consumer = middy<SQSEvent>()
      .use(
        identityVerifyRecords({
          self: CALLEE,
          allow: [NAME],
          requireKeyCustody: 'kms',
          resolver: createResolver({ servers: [dns.server], cache: false }),
        }),
      )
      .handler(async (_event, context) => {
        for (const record of context.verifiedRecords)
          seen.push(`${record.caller.name} ${record.caller.credential} ${record.body}`);
        return undefined;
      });
    const result = await consumer(event, lambdaContext() as Parameters<typeof consumer>[1]);
    // Nothing refused: no batchItemFailures to report.
    expect((result as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures ?? []).toEqual([]);
    expect(seen).toEqual([`${NAME} wit {"entry":1}`]);
  });

  it('revoke: the unexpired WIT is refused once DNS serves the revocation', async () => {
    const signer = await mintKmsWorkloadIdentity({ kms, kmsKeyId: keyArn, name: NAME });
    await revoke({ ...target(), kid }, deps());
    await exportToDns();
    const key = (await keysFromDns()).get(kid);
    if (key === undefined) throw new Error('revoked key left the record');
    let reason: string | undefined;
    try {
      verifyWorkloadIdentity(decodeProof(signer.wit), { key });
    } catch (error) {
      reason = (error as ProofError).reason;
    }
    expect(reason).toBe('revoked_key');
  });
});

describe('rotate --kms on moto: the alias moves, the old key retires after its WITs, then is deleted', () => {
  const ORDERS = `orders.prod.${ZONE}`;
  const orders = () => ({
    service: 'orders',
    environment: 'prod',
    zone: ZONE,
    hostedZoneId,
    propagationWaitSeconds: 0,
  });
  let clock = Date.now();
  const timed = () => ({ ...deps(), now: () => clock });
  const ordersKeys = async () => {
    const { ResourceRecordSets = [] } = await route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: hostedZoneId }),
    );
    const values = ResourceRecordSets.filter((rr) => rr.Type === 'TXT' && rr.Name === `${ORDERS}.`).flatMap(
      (rr) =>
        rr.ResourceRecords?.map(({ Value = '' }) =>
          [...Value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? ''),
        ) ?? [],
    );
    return importRecordKeys(parseRecordSet(ORDERS, values).keys).keys;
  };

  it('keeps every WIT valid through the rotation and removes the old key only once they expired', async () => {
    const first = await keygenKms({ ...orders(), keyType: 'p256', signerRoles: [SIGNER_ROLE] }, timed());
    const before = await mintKmsWorkloadIdentity({
      kms,
      kmsKeyId: 'alias/nhi/prod/orders',
      name: ORDERS,
      now: Math.floor(clock / 1000),
    });

    const rotated = await rotateKms(
      { ...orders(), signerRoles: [SIGNER_ROLE], maxWitLifetimeSeconds: 3600 },
      timed(),
    );
    expect(rotated.retiring).toBe(first.kid);
    expect(rotated.finishAfter).toBe(Math.floor(clock / 1000) + 3600 + 60);
    const keys = await ordersKeys();
    expect(keys.get(first.kid)).toMatchObject({ expiresAt: rotated.finishAfter, keyCustody: 'kms' });
    expect(keys.get(rotated.kid)).toMatchObject({ keyCustody: 'kms', revoked: false });
    const after = await mintKmsWorkloadIdentity({
      kms,
      kmsKeyId: 'alias/nhi/prod/orders',
      name: ORDERS,
      now: Math.floor(clock / 1000),
    });
    expect(decodeProof(after.wit).header.kid).toBe(rotated.kid);
    // A WIT minted just before the alias moved still verifies, up to its own exp.
    for (const signer of [before, after]) {
      const key = keys.get(decodeProof(signer.wit).header.kid);
      if (key === undefined) throw new Error('key not published');
      expect(
        verifyWorkloadIdentity(decodeProof(signer.wit), { key, now: Math.floor(clock / 1000) + 3500 }).iss,
      ).toBe(ORDERS);
    }
    await expect(rotateKms({ ...orders(), signerRoles: [SIGNER_ROLE] }, timed())).rejects.toMatchObject({
      reason: 'rotation_in_progress',
    });

    const early = await finishKmsRotation(orders(), timed());
    expect(early).toMatchObject({ removed: [], scheduledDeletion: [] });
    clock += (3600 + 61) * 1000;
    // An earlier finish that scheduled the deletion and then failed before the record changed.
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: first.kid.slice(4), PendingWindowInDays: 30 }));
    const finished = await finishKmsRotation(orders(), timed());
    expect(finished.removed).toEqual([first.kid]);
    expect(finished.scheduledDeletion).toEqual([first.kid.slice(4)]);
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: first.kid.slice(4) }));
    expect(KeyMetadata?.KeyState).toBe('PendingDeletion');
    expect([...(await ordersKeys()).keys()]).toEqual([rotated.kid]);
  });
});
