import { KMS_IDENTITY_TAG, METRIC } from '@nhi-dns/core';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { NhiIdentity } from './identity.js';
import { KMS_ROTATION_HANDLER, SECRET_ROTATION_ACTIONS, SECRET_ROTATION_HANDLER } from './rotation.js';
import { newFunction, newStack, onlyResource, secretArn } from './stack.test-helper.js';

const zone = 'auth.example.com';
const code = lambda.Code.fromInline('export const x = 1;');

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

/** The statements of the rotation function's policy (its role's default policy). */
const rotationStatements = (template: Template, service: string): Statement[] => {
  const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) =>
    id.startsWith(`${service}RotationFunctionServiceRoleDefaultPolicy`),
  );
  if (policies.length !== 1) throw new Error(`expected one rotation policy, found ${policies.length}`);
  return (policies[0]![1] as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties
    .PolicyDocument.Statement;
};

const bySid = (statements: Statement[], sid: string): Statement => {
  const found = statements.find((statement) => statement.Sid === sid);
  if (found === undefined) throw new Error(`no statement ${sid}`);
  return found;
};

describe('NhiIdentity rotation: secret-held key', () => {
  const synth = () => {
    const stack = newStack();
    const identity = new NhiIdentity(stack, 'Ledger', {
      zone,
      service: 'ledger',
      environment: 'prod',
      recordOwner: 'cli',
      hostedZoneId: 'Z0123456789ABC',
      rotation: Duration.days(30),
      rotationOptions: { code, dnsServers: ['10.0.0.2'] },
    });
    return { identity, template: Template.fromStack(stack) };
  };

  it('runs secretsManagerRotationHandler for 900 s with the zone, hosted zone and metric stream of its own', () => {
    const { identity, template } = synth();
    expect(identity.rotation?.serviceName).toBe('nhi-rotation.ledger.prod');
    expect(onlyResource(template, 'AWS::Lambda::Function')).toMatchObject({
      Handler: `index.${SECRET_ROTATION_HANDLER}`,
      Timeout: 900,
      Environment: {
        Variables: {
          NHI_ZONE: zone,
          NHI_HOSTED_ZONE_ID: 'Z0123456789ABC',
          NHI_DNS_SERVERS: '10.0.0.2',
          POWERTOOLS_SERVICE_NAME: 'nhi-rotation.ledger.prod',
          POWERTOOLS_METRICS_NAMESPACE: 'NHI',
        },
      },
    });
  });

  it('schedules the rotation of keygen’s secret every period, after Secrets Manager may invoke the function', () => {
    const { template } = synth();
    const permissions = template.findResources('AWS::Lambda::Permission');
    const [permissionId] = Object.keys(permissions);
    expect(Object.keys(permissions)).toHaveLength(1);
    expect(permissions[permissionId!]!.Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: secretArn('/prod/nhi/ledger/signing-key'),
    });
    const schedules = template.findResources('AWS::SecretsManager::RotationSchedule');
    expect(Object.values(schedules)).toHaveLength(1);
    const [schedule] = Object.values(schedules);
    expect(schedule!.DependsOn).toEqual([permissionId]);
    expect(schedule!.Properties).toEqual({
      SecretId: '/prod/nhi/ledger/signing-key',
      RotationLambdaARN: { 'Fn::GetAtt': [expect.stringMatching(/^LedgerRotationFunction/), 'Arn'] },
      RotationRules: { AutomaticallyAfterDays: 30 },
      RotateImmediatelyOnUpdate: false,
    });
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });

  it('reaches that secret and the TXT RRset of the identity in its zone, nothing else', () => {
    const { template } = synth();
    const statements = rotationStatements(template, 'Ledger');
    expect(statements.map((statement) => statement.Sid).sort()).toEqual(
      [
        'ChangeOwnIdentityRecordOnly',
        'ReadIdentityZone',
        'RotateOwnSigningKeySecret',
        'WaitForInsync',
      ].sort(),
    );
    expect(bySid(statements, 'RotateOwnSigningKeySecret')).toMatchObject({
      Action: [...SECRET_ROTATION_ACTIONS],
      Resource: secretArn('/prod/nhi/ledger/signing-key'),
    });
    const zoneArn = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::hostedzone/Z0123456789ABC']],
    };
    expect(bySid(statements, 'ReadIdentityZone')).toMatchObject({
      Action: 'route53:ListResourceRecordSets',
      Resource: zoneArn,
    });
    expect(bySid(statements, 'ChangeOwnIdentityRecordOnly')).toMatchObject({
      Action: 'route53:ChangeResourceRecordSets',
      Resource: zoneArn,
      Condition: {
        'ForAllValues:StringEquals': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['ledger.prod.auth.example.com'],
          'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
        },
      },
    });
    expect(bySid(statements, 'WaitForInsync').Action).toBe('route53:GetChange');
  });

  it('alarms on any failed step and on a key older than the period plus two days', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      Metrics: [
        Match.objectLike({
          Expression: `SELECT SUM(${METRIC.rotationFailure}) FROM SCHEMA(NHI, Step, service) WHERE service = 'nhi-rotation.ledger.prod'`,
        }),
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: METRIC.signingKeyAge,
      Namespace: 'NHI',
      Dimensions: [{ Name: 'service', Value: 'nhi-rotation.ledger.prod' }],
      Statistic: 'Maximum',
      Period: 86_400,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 32 * 86_400,
    });
  });

  it('takes the hosted zone as an IHostedZone', () => {
    const stack = newStack();
    const hostedZone = new route53.PublicHostedZone(stack, 'Zone', { zoneName: 'example.com' });
    new NhiIdentity(stack, 'Ledger', {
      zone,
      service: 'ledger',
      environment: 'prod',
      recordOwner: 'cli',
      hostedZone,
      rotation: Duration.days(90),
      rotationOptions: { code },
    });
    expect(
      onlyResource(Template.fromStack(stack), 'AWS::Lambda::Function').Environment.Variables
        .NHI_HOSTED_ZONE_ID,
    ).toEqual({
      Ref: expect.stringMatching(/^Zone/),
    });
  });
});

describe('NhiIdentity rotation: KMS-held key', () => {
  const synth = () => {
    const stack = newStack();
    const billing = new NhiIdentity(stack, 'Billing', {
      zone,
      service: 'billing',
      environment: 'prod',
      recordOwner: 'cli',
      signingKey: 'kms',
      hostedZoneId: 'Z0123456789ABC',
      rotation: Duration.days(90),
      rotationOptions: { code, maxWitLifetime: 1800 },
    });
    const signer = newFunction(stack, 'BillingFunction');
    billing.grantSign(signer);
    return { billing, signer, stack, template: Template.fromStack(stack) };
  };

  it('runs kmsRotationHandler daily from EventBridge Scheduler with the identity, the signers and the period', () => {
    const { template } = synth();
    const fn = Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, resource]) => resource.Properties.Handler === `index.${KMS_ROTATION_HANDLER}`,
    );
    expect(fn?.[1].Properties.Timeout).toBe(900);
    const schedule = onlyResource(template, 'AWS::Scheduler::Schedule');
    expect(schedule.ScheduleExpression).toBe('rate(1 day)');
    expect(schedule.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
    expect(schedule.Target.Arn).toEqual({ 'Fn::GetAtt': [fn?.[0], 'Arn'] });
    // The input is JSON with the signer role's ARN resolved by CloudFormation.
    const input = schedule.Target.Input as { 'Fn::Join': [string, unknown[]] };
    const parts = input['Fn::Join'][1];
    expect(parts).toContainEqual({
      'Fn::GetAtt': [expect.stringMatching(/^BillingFunctionServiceRole/), 'Arn'],
    });
    const text = parts.map((part) => (typeof part === 'string' ? part : '<role>')).join('');
    expect(JSON.parse(text)).toEqual({
      service: 'billing',
      environment: 'prod',
      signerRoles: ['<role>'],
      rotationDays: 90,
      maxWitLifetime: 1800,
    });
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
  });

  it('gives the schedule a role that only invokes the rotation function, trusted by Scheduler of this account', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
    });
    const policy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) =>
      id.startsWith('BillingRotationScheduleRoleDefaultPolicy'),
    )?.[1];
    expect(policy?.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({ Action: 'lambda:InvokeFunction', Effect: 'Allow' }),
    ]);
  });

  it('creates keys only with the identity tag and manages only keys that carry it, and the alias', () => {
    const { template } = synth();
    const statements = rotationStatements(template, 'Billing');
    const tag = `aws:ResourceTag/${KMS_IDENTITY_TAG}`;
    expect(bySid(statements, 'CreateKeysOfOwnIdentityOnly')).toMatchObject({
      Action: ['kms:CreateKey', 'kms:TagResource'],
      Resource: '*',
      Condition: {
        StringEquals: { [`aws:RequestTag/${KMS_IDENTITY_TAG}`]: 'billing.prod.auth.example.com' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [KMS_IDENTITY_TAG] },
      },
    });
    expect(bySid(statements, 'ManageKeysOfOwnIdentity')).toMatchObject({
      Condition: { StringEquals: { [tag]: 'billing.prod.auth.example.com' } },
    });
    expect(bySid(statements, 'ManageKeysOfOwnIdentity').Action).toEqual(
      expect.arrayContaining([
        'kms:PutKeyPolicy',
        'kms:ScheduleKeyDeletion',
        'kms:UpdateAlias',
        'kms:GetPublicKey',
      ]),
    );
    expect(JSON.stringify(bySid(statements, 'MoveOwnAlias').Resource)).toContain(':alias/nhi/prod/billing');
    expect(statements.some((statement) => statement.Sid === 'RotateOwnSigningKeySecret')).toBe(false);
  });

  it('lets the signer sign with every key of its identity, since the rotation makes new ones', () => {
    const { template } = synth();
    const signerPolicy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) =>
      id.startsWith('BillingFunctionServiceRoleDefaultPolicy'),
    )?.[1];
    expect(signerPolicy?.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Action: ['kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey'],
        Condition: {
          StringEquals: { [`aws:ResourceTag/${KMS_IDENTITY_TAG}`]: 'billing.prod.auth.example.com' },
        },
      }),
    ]);
  });

  it('fails synthesis when no function signs: new keys would have no signer', () => {
    const app = new App();
    const stack = new Stack(app, 'NoSigner');
    new NhiIdentity(stack, 'Billing', {
      zone,
      service: 'billing',
      environment: 'prod',
      recordOwner: 'cli',
      signingKey: 'kms',
      hostedZoneId: 'Z0123456789ABC',
      rotation: Duration.days(90),
      rotationOptions: { code },
    });
    expect(() => app.synth()).toThrow(/call grantSign on the signing function/);
  });
});

describe('NhiIdentity rotation: refusals', () => {
  const base = { zone, service: 'ledger', environment: 'prod' } as const;

  it('refuses a stack-owned record: only deploying may change it', () => {
    expect(
      () =>
        new NhiIdentity(newStack(), 'Ledger', {
          ...base,
          hostedZoneId: 'Z0123456789ABC',
          publicKey: { kid: 'k1', publicKey: '' },
          rotation: Duration.days(30),
        }),
    ).toThrow(/a stack-owned record must only change by deploying/);
  });

  it('needs the hosted zone, and takes it only with rotation', () => {
    expect(
      () =>
        new NhiIdentity(newStack(), 'Ledger', { ...base, recordOwner: 'cli', rotation: Duration.days(30) }),
    ).toThrow(/the rotation changes the record, so it needs exactly one of hostedZone and hostedZoneId/);
    expect(
      () =>
        new NhiIdentity(newStack(), 'Ledger', {
          ...base,
          recordOwner: 'cli',
          hostedZoneId: 'Z0123456789ABC',
        }),
    ).toThrow(/only with rotation/);
  });

  it.each([Duration.hours(36), Duration.days(0), Duration.days(1001)])('refuses a period of %s', (period) => {
    expect(
      () =>
        new NhiIdentity(newStack(), 'Ledger', {
          ...base,
          recordOwner: 'cli',
          hostedZoneId: 'Z0123456789ABC',
          rotation: period,
          rotationOptions: { code },
        }),
    ).toThrow(/a whole number of days within 1\.\.1000/);
  });
});

describe('NhiIdentity rotation: default code', () => {
  it('bundles @nhi-dns/rotation as installed into an ES module asset', () => {
    const stack = newStack();
    new NhiIdentity(stack, 'Ledger', {
      zone,
      service: 'ledger',
      environment: 'prod',
      recordOwner: 'cli',
      hostedZoneId: 'Z0123456789ABC',
      rotation: Duration.days(30),
    });
    const fn = onlyResource(Template.fromStack(stack), 'AWS::Lambda::Function');
    expect(fn.Handler).toBe(`index.${SECRET_ROTATION_HANDLER}`);
    expect(fn.Code.S3Key).toEqual(expect.stringMatching(/\.zip$/));
  }, 120_000);
});
