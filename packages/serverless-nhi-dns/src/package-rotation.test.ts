// The real thing for automatic rotation: Serverless Framework v3's `serverless package`, offline, on
// the README's rotation service, with this plugin bundled from its sources, and cfn-lint on the result.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KMS_IDENTITY_TAG } from '@nhi-dns/core';
import { SECRET_ROTATION_ACTIONS } from './compile.js';
import { bundlePlugin, installPlugin, serverlessBin, serverlessEnv } from './service.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');

type Statement = { Sid?: string; Action: string[]; Resource: unknown; Condition?: unknown };
type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string[];
};

/** The README's rotation serverless.yml, as it stands. */
const readmeRotationServerlessYml = (): string => {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const yml = /## Automatic rotation[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (yml === undefined) throw new Error('README.md has no ```yaml block under "## Automatic rotation"');
  return yml;
};

let work: string;
let bundle: string;
let template: { Resources: Record<string, Resource> };
let templateFile: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nhi-sls-rotation-'));
  const tmp = join(packageDir, '.tmp');
  mkdirSync(tmp, { recursive: true });
  bundle = join(tmp, `plugin-rotation-${process.pid}.mjs`);
  const service = join(work, 'service');
  for (const dir of ['dist', 'home']) mkdirSync(join(service, dir), { recursive: true });
  await bundlePlugin(bundle);
  installPlugin(service, bundle);
  writeFileSync(join(service, 'serverless.yml'), readmeRotationServerlessYml());
  for (const name of ['billing', 'reports', 'nhi-rotation']) {
    writeFileSync(
      join(service, 'dist', `${name}.mjs`),
      'export const handler = async () => ({ statusCode: 204 });\n',
    );
  }
  await promisify(execFile)(process.execPath, [serverlessBin(), 'package', '--region', 'eu-west-1'], {
    cwd: service,
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
    env: serverlessEnv(join(service, 'home')),
  });
  templateFile = join(service, '.serverless', 'cloudformation-template-update-stack.json');
  template = JSON.parse(readFileSync(templateFile, 'utf8'));
}, 240_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  if (bundle !== undefined) rmSync(bundle, { force: true });
});

const resource = (logicalId: string): Resource => {
  const found = template.Resources[logicalId];
  if (found === undefined) throw new Error(`no ${logicalId} in the template`);
  return found;
};
const ofType = (type: string): string[] =>
  Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id)
    .sort();
const statementsOf = (roleId: string): Statement[] =>
  (resource(roleId).Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>).flatMap(
    (policy) => policy.PolicyDocument.Statement,
  );
const bySid = (statements: Statement[], sid: string): Statement => {
  const found = statements.find((statement) => statement.Sid === sid);
  if (found === undefined) throw new Error(`no statement ${sid}`);
  return found;
};

describe('serverless package (v3, offline) of the README rotation service', () => {
  it('adds one rotation function per identity, run for 900 s from the rotation module, on a role of its own', () => {
    const billing = resource('NhiRotationBillingLambdaFunction');
    expect(billing.Properties).toMatchObject({
      FunctionName: 'payments-prod-nhiRotationBilling',
      Handler: 'dist/nhi-rotation.kmsRotationHandler',
      Timeout: 900,
      Role: { 'Fn::GetAtt': ['NhiRotationBillingNhiRole', 'Arn'] },
      Environment: {
        Variables: {
          NHI_ZONE: 'auth.example.com',
          NHI_HOSTED_ZONE_ID: 'Z0123456789ABCDEFGHIJ',
          POWERTOOLS_SERVICE_NAME: 'nhi-rotation.billing.prod',
          POWERTOOLS_METRICS_NAMESPACE: 'NHI',
        },
      },
    });
    expect(billing.DependsOn ?? []).not.toContain('IamRoleLambdaExecution');
    expect(resource('NhiRotationReportsLambdaFunction').Properties).toMatchObject({
      Handler: 'dist/nhi-rotation.secretsManagerRotationHandler',
      Role: { 'Fn::GetAtt': ['NhiRotationReportsNhiRole', 'Arn'] },
    });
  });

  it("schedules reports' secret every 30 days, after Secrets Manager may invoke the function", () => {
    expect(ofType('AWS::SecretsManager::RotationSchedule')).toEqual(['NhiRotationReportsNhiSchedule']);
    const schedule = resource('NhiRotationReportsNhiSchedule');
    expect(schedule.DependsOn).toEqual(['NhiRotationReportsNhiSecretsManagerPermission']);
    expect(schedule.Properties).toEqual({
      SecretId: '/prod/nhi/reports/signing-key',
      RotationLambdaARN: { 'Fn::GetAtt': ['NhiRotationReportsLambdaFunction', 'Arn'] },
      RotationRules: { AutomaticallyAfterDays: 30 },
      RotateImmediatelyOnUpdate: false,
    });
    expect(resource('NhiRotationReportsNhiSecretsManagerPermission').Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['NhiRotationReportsLambdaFunction', 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: {
        'Fn::Sub':
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the Fn::Sub placeholders.
          'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:/prod/nhi/reports/signing-key-??????',
      },
    });
    const statements = statementsOf('NhiRotationReportsNhiRole');
    expect(bySid(statements, 'RotateOwnSigningKeySecret').Action).toEqual([...SECRET_ROTATION_ACTIONS]);
    expect(bySid(statements, 'ChangeOwnIdentityRecordOnly').Condition).toEqual({
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['reports.prod.auth.example.com'],
        'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
      },
    });
    expect(JSON.stringify(statements)).not.toContain('kms:');
  });

  it("runs billing's KMS rotation daily with billing's role as the signer", () => {
    expect(ofType('AWS::Scheduler::Schedule')).toEqual(['NhiRotationBillingNhiSchedule']);
    const target = resource('NhiRotationBillingNhiSchedule').Properties.Target as {
      Arn: unknown;
      RoleArn: unknown;
      Input: { 'Fn::Sub': [string, Record<string, unknown>] };
    };
    expect(resource('NhiRotationBillingNhiSchedule').Properties.ScheduleExpression).toBe('rate(1 day)');
    expect(target.Arn).toEqual({ 'Fn::GetAtt': ['NhiRotationBillingLambdaFunction', 'Arn'] });
    expect(target.RoleArn).toEqual({ 'Fn::GetAtt': ['NhiRotationBillingNhiScheduleRole', 'Arn'] });
    const [text, variables] = target.Input['Fn::Sub'];
    expect(JSON.parse(text)).toEqual({
      service: 'billing',
      environment: 'prod',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the Fn::Sub placeholder.
      signerRoles: ['${Signer0}'],
      rotationDays: 90,
    });
    expect(variables).toEqual({ Signer0: { 'Fn::GetAtt': ['BillingNhiRole', 'Arn'] } });
    expect(statementsOf('NhiRotationBillingNhiScheduleRole')).toEqual([
      {
        Sid: 'InvokeRotationOnly',
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: { 'Fn::GetAtt': ['NhiRotationBillingLambdaFunction', 'Arn'] },
      },
    ]);
    const tagged = {
      StringEquals: { [`aws:ResourceTag/${KMS_IDENTITY_TAG}`]: 'billing.prod.auth.example.com' },
    };
    const statements = statementsOf('NhiRotationBillingNhiRole');
    expect(bySid(statements, 'ManageKeysOfOwnIdentity').Condition).toEqual(tagged);
    expect(bySid(statements, 'CreateKeysOfOwnIdentityOnly').Condition).toEqual({
      StringEquals: { [`aws:RequestTag/${KMS_IDENTITY_TAG}`]: 'billing.prod.auth.example.com' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [KMS_IDENTITY_TAG] },
    });
    expect(JSON.stringify(statements)).not.toContain('secretsmanager');
    // billing signs with whichever key of its identity the alias names.
    const sign = (resource('BillingNhiKmsSignPolicy').Properties.PolicyDocument as { Statement: Statement[] })
      .Statement[0];
    expect(sign?.Condition).toEqual(tagged);
  });

  it('alarms on a failed step and on an old key, per rotation', () => {
    expect(ofType('AWS::CloudWatch::Alarm').filter((id) => id.startsWith('NhiRotation'))).toEqual([
      'NhiRotationBillingNhiKeyAgeAlarm',
      'NhiRotationBillingNhiRotationFailureAlarm',
      'NhiRotationReportsNhiKeyAgeAlarm',
      'NhiRotationReportsNhiRotationFailureAlarm',
    ]);
    expect(resource('NhiRotationReportsNhiKeyAgeAlarm').Properties).toMatchObject({
      MetricName: 'SigningKeyAge',
      Dimensions: [{ Name: 'service', Value: 'nhi-rotation.reports.prod' }],
      Statistic: 'Maximum',
      Threshold: 32 * 86_400,
    });
    expect(resource('NhiRotationBillingNhiRotationFailureAlarm').Properties).toMatchObject({
      Threshold: 1,
      Metrics: [
        {
          Expression:
            "SELECT SUM(RotationFailure) FROM SCHEMA(NHI, Step, service) WHERE service = 'nhi-rotation.billing.prod'",
        },
      ],
    });
  });

  it('cfn-lint finds nothing in the template', () => {
    const lint = spawnSync('cfn-lint', ['--', templateFile], { encoding: 'utf8', timeout: 180_000 });
    if (lint.error !== undefined) {
      throw new Error(
        `cfn-lint could not run (${lint.error.message}): install it (pip install cfn-lint), as CI has it`,
      );
    }
    expect({ status: lint.status, findings: `${lint.stdout}${lint.stderr}`.trim() }).toEqual({
      status: 0,
      findings: '',
    });
  });
});
