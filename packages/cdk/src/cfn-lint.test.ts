import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import { NhiIdentity } from './identity.js';
import { nhiProtect } from './protect.js';
import { ed25519PublicKey, newFunction, newStack, p256PublicKey } from './stack.test-helper.js';

/**
 * `lambda.Function` always adds `DependsOn: <its role>` beside the `Fn::GetAtt` of that role
 * (aws-cdk-lib, unconditionally), which cfn-lint reports as W3005. That is the function our
 * caller made, not a resource of this package, and no synthesizer option removes it: the check
 * is acknowledged on that one resource (cfn-lint's own resource metadata), never for the template.
 */
const acknowledgeCdkRoleDependency = (fn: lambda.Function): lambda.Function => {
  (fn.node.defaultChild as lambda.CfnFunction).addMetadata('cfn-lint', {
    config: { ignore_checks: ['W3005'] },
  });
  return fn;
};

/**
 * The README's app (callee behind an HTTP API, caller, nightly self-checking job; CLI-owned and
 * stack-owned records; every alarm; a shared dashboard), with inline code instead of
 * NodejsFunction bundles and a hosted zone of its own instead of the lookup.
 */
const readmeApp = (): Template => {
  const stack = newStack('NhiExample');
  const zone = 'auth.example.com';
  const environment = 'prod';
  const hostedZone = new route53.PublicHostedZone(stack, 'IdentityZone', { zoneName: zone });
  const pager = new sns.Topic(stack, 'Pager');
  const dashboard = new cloudwatch.Dashboard(stack, 'Dashboard', { dashboardName: 'nhi-prod' });
  const alarms = { actions: [new actions.SnsAction(pager)] };

  // The rotation functions' code inline: no bundle, the template stands alone.
  const rotationOptions = {
    code: lambda.Code.fromInline('export const handler = async () => {};'),
    alarmActions: alarms.actions,
  };
  const ledger = new NhiIdentity(stack, 'LedgerIdentity', {
    zone,
    service: 'ledger',
    environment,
    recordOwner: 'cli',
    hostedZone,
    rotation: Duration.days(90),
    rotationOptions,
  });
  const billing = new NhiIdentity(stack, 'BillingIdentity', {
    zone,
    service: 'billing',
    environment,
    recordOwner: 'cli',
    signingKey: 'kms',
    hostedZone,
    rotation: Duration.days(90),
    rotationOptions,
  });
  const reports = new NhiIdentity(stack, 'ReportsIdentity', {
    zone,
    service: 'reports',
    environment,
    hostedZone,
    publicKey: [
      { kid: 'k2026-01', keyType: 'p256', publicKey: p256PublicKey() },
      { kid: 'k2026-02', publicKey: ed25519PublicKey() },
    ],
    attributes: { tier: 'internal', owner: 'platform-reporting-team-with-a-long-name' },
  });

  const ledgerFunction = acknowledgeCdkRoleDependency(newFunction(stack, 'LedgerFunction'));
  nhiProtect(ledgerFunction, {
    identity: ledger,
    allow: [billing],
    secrets: ['ledger/db'],
    alarms,
    dashboard,
  });
  const api = new apigw.HttpApi(stack, 'Api');
  api.addRoutes({
    path: '/payments',
    methods: [apigw.HttpMethod.POST],
    integration: new HttpLambdaIntegration('Payments', ledgerFunction),
  });
  const billingFunction = acknowledgeCdkRoleDependency(newFunction(stack, 'BillingFunction'));
  nhiProtect(billingFunction, { identity: billing, alarms, dashboard });
  billing.grantSign(billingFunction);
  billingFunction.addEnvironment('LEDGER_URL', `${api.apiEndpoint}/payments`);
  const reportsFunction = acknowledgeCdkRoleDependency(newFunction(stack, 'ReportsFunction'));
  reportsFunction.addEnvironment('NHI_REQUIRE_TIER', 'internal');
  nhiProtect(reportsFunction, {
    identity: reports,
    selfCheck: true,
    dnsServers: ['10.0.0.2'],
    alarms,
    dashboard,
  });
  new events.Rule(stack, 'Nightly', {
    schedule: events.Schedule.cron({ minute: '0', hour: '2' }),
    targets: [new targets.LambdaFunction(reportsFunction)],
  });
  return Template.fromStack(stack);
};

describe('cfn-lint', () => {
  it('finds nothing in the synthesized template of the README app', () => {
    const template = readmeApp();
    // Two alarms of each rotation beside the eight of the functions.
    template.resourceCountIs('AWS::CloudWatch::Alarm', 14);
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    // billing's KMS key and alias, its role the one signer of the key policy.
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.resourceCountIs('AWS::KMS::Alias', 1);
    // The acknowledgement sits on the functions only: the three of the app and the two rotation
    // functions, which aws-cdk-lib makes the same way.
    const acknowledged = Object.values(
      template.toJSON().Resources as Record<string, { Type: string; Metadata?: object }>,
    )
      .filter((resource) => resource.Metadata !== undefined && 'cfn-lint' in resource.Metadata)
      .map((resource) => resource.Type);
    expect(acknowledged).toEqual(Array.from({ length: 5 }, () => 'AWS::Lambda::Function'));
    const dir = mkdtempSync(join(tmpdir(), 'nhi-cdk-'));
    try {
      const file = join(dir, 'template.json');
      writeFileSync(file, JSON.stringify(template.toJSON(), null, 2));
      const lint = spawnSync('cfn-lint', ['--', file], { encoding: 'utf8', timeout: 180_000 });
      if (lint.error !== undefined) {
        throw new Error(
          `cfn-lint could not run (${lint.error.message}): install it (pip install cfn-lint), as CI has it`,
        );
      }
      expect({ status: lint.status, findings: `${lint.stdout}${lint.stderr}`.trim() }).toEqual({
        status: 0,
        findings: '',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
