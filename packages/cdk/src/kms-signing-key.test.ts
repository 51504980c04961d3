import { kmsKeyPolicy } from '@nhi-dns/cli';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { KMS_KEY_ENVIRONMENT_VARIABLE, NhiIdentity } from './identity.js';
import { KMS_SIGN_ACTIONS } from './kms-signing-key.js';
import { ed25519PublicKey, newFunction, newStack, onlyResource } from './stack.test-helper.js';

const zone = 'auth.example.com';
const ACCOUNT = '123456789012';
const billing = { zone, service: 'billing', environment: 'prod', recordOwner: 'cli' } as const;

type Statement = {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

/** The key policy's statements by Sid. */
const keyStatements = (template: Template): Record<string, Statement> =>
  Object.fromEntries(
    (onlyResource(template, 'AWS::KMS::Key').KeyPolicy.Statement as Statement[]).map((s) => [s.Sid, s]),
  );

/** Every IAM statement of the template's `AWS::IAM::Policy` resources. */
const iamStatements = (template: Template): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
        .Statement,
  );

/** A CloudFormation value with the partition pseudo parameter and `Fn::Join` evaluated. */
const evaluate = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(evaluate);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  if (record.Ref === 'AWS::Partition') return 'aws';
  const join = record['Fn::Join'] as [string, unknown[]] | undefined;
  if (join !== undefined) return join[1].map(evaluate).join(join[0]);
  return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, evaluate(item)]));
};

const roleArnOf = (id: string) => ({ 'Fn::GetAtt': [Match.stringLikeRegexp(`^${id}`), 'Arn'] });

describe("NhiIdentity with signingKey: 'kms'", () => {
  it('creates a non-exportable Ed25519 SIGN_VERIFY key, retained, tagged, named alias/nhi/<env>/<service>', () => {
    const stack = newStack();
    newFunction(stack, 'Fn');
    const identity = new NhiIdentity(stack, 'Billing', { ...billing, signingKey: 'kms' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', {
      Properties: {
        KeySpec: 'ECC_NIST_EDWARDS25519',
        KeyUsage: 'SIGN_VERIFY',
        Description: 'nhi-dns signing key of billing.prod.auth.example.com',
        Tags: [{ Key: 'nhi:identity', Value: 'billing.prod.auth.example.com' }],
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    // KMS makes the key material (no Origin EXTERNAL): what the CLI publishes as kc=kms.
    expect(onlyResource(template, 'AWS::KMS::Key').Origin).toBeUndefined();
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/nhi/prod/billing',
      TargetKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BillingSigningKey'), 'Arn'] },
    });
    expect(identity.signingKeyCustody).toBe('kms');
    expect(identity.kmsSigningKey?.aliasName).toBe('alias/nhi/prod/billing');
    expect(identity.kmsSigningKey?.keyType).toBe('ed25519');
    template.resourceCountIs('AWS::Route53::RecordSet', 0);
  });

  it('makes a P-256 key with kmsKeyType p256', () => {
    const stack = newStack();
    new NhiIdentity(stack, 'Billing', { ...billing, signingKey: 'kms', kmsKeyType: 'p256' });
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
    });
  });

  it('grantSign: kms:Sign, GetPublicKey and DescribeKey on that key only, NHI_KMS_KEY_ID, no secret', () => {
    const stack = newStack();
    const fn = newFunction(stack, 'BillingFunction');
    const identity = new NhiIdentity(stack, 'Billing', { ...billing, signingKey: 'kms' });
    const grant = identity.grantSign(fn);
    expect(grant.success).toBe(true);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: [...KMS_SIGN_ACTIONS],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BillingSigningKey'), 'Arn'] },
          },
        ],
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^BillingFunctionServiceRole') }],
    });
    expect(KMS_SIGN_ACTIONS).toEqual(['kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey']);
    expect(iamStatements(template)).toHaveLength(1);
    // No Secrets Manager grant for the signing key: there is no secret.
    expect(JSON.stringify(template.toJSON())).not.toMatch(/secretsmanager/);
    const [fnId, fnResource] = Object.entries(template.findResources('AWS::Lambda::Function'))[0]!;
    expect(fnId).toMatch(/^BillingFunction/);
    expect(fnResource.Properties.Environment.Variables).toEqual({
      [KMS_KEY_ENVIRONMENT_VARIABLE]: 'alias/nhi/prod/billing',
    });
    expect(KMS_KEY_ENVIRONMENT_VARIABLE).toBe('NHI_KMS_KEY_ID');
    // The alias is named as a literal: the function waits for it explicitly.
    expect(fnResource.DependsOn).toContainEqual(expect.stringMatching(/^BillingSigningKeyAlias/));
  });

  it('writes the key policy of nhi-dns keygen --kms: the account administers but does not sign, only the signers sign', () => {
    const stack = new Stack(new App(), 'Test', { env: { account: ACCOUNT, region: 'eu-west-1' } });
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/billing-signer`;
    const role = iam.Role.fromRoleArn(stack, 'Signer', roleArn, { mutable: true });
    const identity = new NhiIdentity(stack, 'Billing', { ...billing, signingKey: 'kms' });
    identity.grantSign(role);
    identity.grantSign(role); // once per role
    const ours = evaluate(keyStatements(Template.fromStack(stack))) as Record<string, Statement>;
    // The CLI's own policy is the oracle.
    const cli = Object.fromEntries(
      (JSON.parse(kmsKeyPolicy({ signerRoles: [roleArn] })).Statement as Statement[]).map((s) => [s.Sid, s]),
    );
    // One document: core's kmsKeyPolicy, as the CLI writes it.
    expect(ours).toEqual(cli);
  });

  it('names no one before a grant', () => {
    const stack = new Stack(new App(), 'Test', { env: { account: ACCOUNT, region: 'eu-west-1' } });
    new NhiIdentity(stack, 'Billing', { ...billing, signingKey: 'kms' });
    newFunction(stack, 'Idle');
    const none = evaluate(keyStatements(Template.fromStack(stack))) as Record<string, Statement>;
    // As keygen --kms before it grants the signer roles: the only exception to the Sign deny is
    // the account root, no workload, and no statement allows signing.
    expect(Object.keys(none).sort()).toEqual(['AccountAdministersButDoesNotSign', 'OnlyTheWorkloadSigns']);
    expect(none.OnlyTheWorkloadSigns?.Condition).toEqual(
      JSON.parse(kmsKeyPolicy({ signerRoles: [`arn:aws:iam::${ACCOUNT}:role/x`], withoutSigners: true }))
        .Statement[1].Condition,
    );
  });

  it('names every role granted, in both statements', () => {
    const stack = newStack();
    const identity = new NhiIdentity(stack, 'Billing', { ...billing, signingKey: 'kms' });
    identity.grantSign(newFunction(stack, 'First'));
    identity.grantSign(newFunction(stack, 'Second'));
    const signers = [roleArnOf('FirstServiceRole'), roleArnOf('SecondServiceRole')];
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'OnlyTheWorkloadSigns',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:Sign',
            Condition: { ArnNotEquals: { 'aws:PrincipalArn': signers } },
          }),
          Match.objectLike({
            Sid: 'WorkloadSigns',
            Condition: { ArnEquals: { 'aws:PrincipalArn': signers } },
          }),
        ]),
      },
    });
  });

  it.each<[string, (stack: Stack) => unknown, RegExp]>([
    [
      'a stack-owned record (the public key is not known at synthesis)',
      (s) =>
        new NhiIdentity(s, 'A', {
          zone,
          service: 'billing',
          environment: 'prod',
          hostedZoneId: 'Z1',
          publicKey: { kid: 'k1', publicKey: ed25519PublicKey() },
          signingKey: 'kms',
        }),
      /nhi-dns publish --kms-key-id alias\/nhi\/prod\/billing/,
    ],
    [
      'kmsKeyType without a KMS key',
      (s) => new NhiIdentity(s, 'A', { ...billing, kmsKeyType: 'p256' }),
      /only with signingKey: 'kms'/,
    ],
    [
      'another key type',
      (s) => new NhiIdentity(s, 'A', { ...billing, signingKey: 'kms', kmsKeyType: 'rsa' as never }),
      /'ed25519' or 'p256'/,
    ],
    ['another custody', (s) => new NhiIdentity(s, 'A', { ...billing, signingKey: 'hsm' as never }), /'kms'/],
    [
      'a grantee that is no role',
      (s) => new NhiIdentity(s, 'A', { ...billing, signingKey: 'kms' }).grantSign(new iam.User(s, 'Someone')),
      /grant a Lambda function or an IAM role/,
    ],
  ])('refuses %s', (_what, create, message) => {
    expect(() => create(newStack())).toThrow(message);
  });
});
