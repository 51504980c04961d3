import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kmsKeyPolicy } from '@nhi-dns/cli';
import { parse, type ScalarTag } from 'yaml';

/** CloudFormation short-form intrinsics, parsed into their long form. */
const intrinsic = (tag: string, fn: string, collection?: 'seq' | 'map'): ScalarTag =>
  ({
    tag: `!${tag}`,
    ...(collection === undefined ? {} : { collection }),
    resolve: (value: unknown) => ({ [fn]: value }),
  }) as unknown as ScalarTag;

const customTags = [
  intrinsic('Ref', 'Ref'),
  intrinsic('Sub', 'Fn::Sub'),
  intrinsic('GetAtt', 'Fn::GetAtt'),
  intrinsic('Not', 'Fn::Not', 'seq'),
  intrinsic('Equals', 'Fn::Equals', 'seq'),
  intrinsic('If', 'Fn::If', 'seq'),
];

type BuildProperties = {
  EntryPoints?: string[];
  Format?: string;
  OutExtension?: string[];
  Target?: string;
  External?: string[];
};
type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  Metadata?: { BuildMethod?: string; BuildProperties?: BuildProperties };
};
const here = dirname(fileURLToPath(import.meta.url));
const templateText = readFileSync(join(here, 'template.yaml'), 'utf8');
const template = parse(templateText, { customTags }) as {
  Parameters: Record<string, unknown>;
  Globals: {
    Function: { Runtime: string; Handler: string; Environment: { Variables: Record<string, unknown> } };
  };
  Resources: Record<string, Resource>;
};
const resources = Object.entries(template.Resources);
const ofType = (type: string) => resources.filter(([, resource]) => resource.Type === type);
/** billing's key rotation (@nhi-dns/rotation), checked on its own below. */
const ROTATION_FUNCTION = 'BillingKeyRotationFunction';
/** The workloads' functions, each one example. */
const functions = ofType('AWS::Serverless::Function').filter(([name]) => name !== ROTATION_FUNCTION);

type Statement = {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string[];
  Resource: unknown;
  Condition?: unknown;
};
type PolicyDocument = { Statement: Statement[] };
/**
 * Every statement a function holds: its SAM `Policies`, and with a role of its own (`Role:
 * !GetAtt X.Arn`) that role's inline policies and the `AWS::IAM::Policy` resources attached to it.
 */
const statementsOf = (fn: Resource): Statement[] => {
  const own = ((fn.Properties.Policies ?? []) as PolicyDocument[]).flatMap((policy) => policy.Statement);
  const roleId = /^(\w+)\.Arn$/.exec(
    String((fn.Properties.Role as { 'Fn::GetAtt'?: string } | undefined)?.['Fn::GetAtt'] ?? ''),
  )?.[1];
  if (roleId === undefined) return own;
  const role = template.Resources[roleId]!;
  const inline = ((role.Properties.Policies ?? []) as Array<{ PolicyDocument: PolicyDocument }>).flatMap(
    (policy) => policy.PolicyDocument.Statement,
  );
  const attached = ofType('AWS::IAM::Policy')
    .filter(([, policy]) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument as PolicyDocument).Statement);
  return [...own, ...inline, ...attached];
};
const sub = (value: unknown): string | undefined =>
  (value as { 'Fn::Sub'?: string } | undefined)?.['Fn::Sub'];
const variablesOf = (fn: Resource): Record<string, unknown> =>
  (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

// biome-ignore-start lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders
/** Each function: the example it deploys and the identity it runs as. */
const expected: Record<string, { example: string; service: string }> = {
  LedgerFunction: { example: 'http-api-callee', service: 'ledger' },
  BillingFunction: { example: 'caller', service: 'billing' },
  ReportsFunction: { example: 'self-check', service: 'reports' },
  OrdersWorkerFunction: { example: 'sqs-consumer', service: 'orders-worker' },
};

describe('examples/template.yaml', () => {
  it('declares the functions and the AuthFailure alarm', () => {
    expect(functions.map(([name]) => name)).toEqual(Object.keys(expected));
    for (const [name, fn] of functions) {
      const { service } = expected[name]!;
      const variables = variablesOf(fn);
      expect(variables.POWERTOOLS_SERVICE_NAME).toBe(service);
      expect(sub(variables.NHI_SELF)).toBe(`${service}.\${Environment}.\${IdentityZone}`);
    }
    const [[, alarm] = ['', undefined]] = ofType('AWS::CloudWatch::Alarm');
    expect(JSON.stringify(alarm?.Properties.Metrics)).toContain('AuthFailure');
  });

  it('wires the orders queue as AWS requires for partial batch responses, with a DLQ and alarms', () => {
    const fn = functions.find(([name]) => name === 'OrdersWorkerFunction')?.[1];
    if (fn === undefined) throw new Error('no OrdersWorkerFunction');
    const events = fn.Properties.Events as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    const event = events.Orders;
    expect(event?.Type).toBe('SQS');
    // Without it Lambda ignores batchItemFailures and deletes every message, refused ones included.
    expect(event?.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const queue = resources.find(([name]) => name === 'OrdersQueue')?.[1];
    expect(queue?.Properties.RedrivePolicy).toMatchObject({ maxReceiveCount: 5 });
    expect(Number(queue?.Properties.VisibilityTimeout)).toBeGreaterThanOrEqual(
      Number((template.Globals.Function as { Timeout?: number }).Timeout),
    );
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([name]) => name);
    expect(alarms).toEqual(expect.arrayContaining(['OrdersWorkerAuthFailureAlarm', 'OrdersDeadLetterAlarm']));
    // The consumer may only claim proof ids: no secret, no wildcard.
    expect(JSON.stringify(fn.Properties.Policies)).not.toContain('"*"');
    expect(JSON.stringify(fn.Properties.Policies)).not.toContain('secretsmanager');
  });

  it('watches the DNS query rate (anomaly band and ceiling) and has a dashboard that is valid JSON', () => {
    const alarm = resources.find(([name]) => name === 'LedgerDnsQueryAnomalyAlarm')?.[1];
    expect(alarm?.Properties.ThresholdMetricId).toBe('band');
    expect(alarm?.Properties.ComparisonOperator).toBe('GreaterThanUpperThreshold');
    expect(JSON.stringify(alarm?.Properties.Metrics)).toContain('ANOMALY_DETECTION_BAND(queries');
    // The queries sent: misses and NXDOMAINs (a flood of made-up callers), never cache hits.
    expect(JSON.stringify(alarm?.Properties.Metrics)).toContain('nxdomain');
    const dashboard = resources.find(([name]) => name === 'IdentityDashboard')?.[1];
    const body = (sub(dashboard?.Properties.DashboardBody) ?? '').replace(/\$\{[^}]+\}/g, 'x');
    const widgets = (JSON.parse(body) as { widgets: Array<{ properties: { title: string } }> }).widgets;
    expect(widgets.map((widget) => widget.properties.title)).toEqual([
      'Accepted callers',
      'Refused callers by reason',
      'DNS lookups by outcome (queries sent) and cache hits',
      'DNS lookup latency p99',
      'Secret fetch errors by code',
    ]);
  });

  it('leaves the identity records to the nhi-dns CLI: no RecordSet, no key parameters', () => {
    // One owner per RRset: keygen/publish/rotate/revoke own the TXT records. A RecordSet in the
    // stack would clash with keygen's record and undo rotations and revocations on every update.
    expect(resources.filter(([, resource]) => resource.Type === 'AWS::Route53::RecordSet')).toEqual([]);
    expect(Object.keys(template.Parameters).sort()).toEqual([
      'AlarmTopicArn',
      'DnsQueryCeiling',
      'Environment',
      'IdentityHostedZoneId',
      'IdentityZone',
      'RecordsHostedZoneId',
    ]);
    expect(templateText).toMatch(/nhi-dns CLI owns every identity TXT record/);
  });

  it('signs the identity zone with Route 53 DNSSEC only when given its hosted zone, with a P-256 KMS key', () => {
    const route53 = resources.filter(([, resource]) => resource.Type.startsWith('AWS::Route53::'));
    expect(route53.map(([name, resource]) => [name, resource.Type])).toEqual([
      ['IdentityZoneKeySigningKey', 'AWS::Route53::KeySigningKey'],
      ['IdentityZoneDnssec', 'AWS::Route53::DNSSEC'],
    ]);
    const key = resources.find(([name]) => name === 'IdentityZoneSigningKey')?.[1];
    // Route 53 accepts only an asymmetric ECC_NIST_P256 SIGN_VERIFY key (DNSSEC algorithm 13).
    expect(key?.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(JSON.stringify(key?.Properties.KeyPolicy)).toContain('dnssec-route53.amazonaws.com');
    for (const [name] of [...route53, ['IdentityZoneSigningKey']]) {
      const resource = resources.find(([candidate]) => candidate === name)?.[1] as { Condition?: string };
      expect(resource.Condition).toBe('SignsIdentityZone');
    }
    expect(template.Parameters.IdentityHostedZoneId).toMatchObject({ Default: '' });
  });

  it('builds every function with SAM esbuild from an example src/ folder that holds its entry point', () => {
    const runtimeMajor = /^nodejs(\d+)\.x$/.exec(template.Globals.Function.Runtime)?.[1];
    expect(runtimeMajor).toBeDefined();
    for (const [name, fn] of functions) {
      const { example } = expected[name]!;
      expect(fn.Metadata?.BuildMethod).toBe('esbuild');
      const build = fn.Metadata?.BuildProperties ?? {};
      expect(build.Format).toBe('esm');
      expect(build.OutExtension).toEqual(['.js=.mjs']); // ESM without a package.json beside it
      expect(build.Target).toBe(`node${runtimeMajor}`);
      expect(build.External).toEqual(['@aws-sdk/*']); // the Lambda runtime provides SDK v3

      // CodeUri is relative to the template; it must exist and must not hold a package.json, or
      // SAM would npm-install it in a scratch folder where the workspace packages don't resolve.
      const codeUri = fn.Properties.CodeUri as string;
      expect(codeUri).toBe(`${example}/src/`);
      const codeDir = join(here, codeUri);
      expect(statSync(codeDir).isDirectory()).toBe(true);
      expect(existsSync(join(codeDir, 'package.json'))).toBe(false);
      expect(existsSync(join(here, example, 'package.json'))).toBe(true);
      expect(build.EntryPoints).toEqual(['handler.ts']);
      expect(existsSync(join(codeDir, 'handler.ts'))).toBe(true);
      // esbuild writes handler.ts to handler.mjs, which exports `handler`.
      expect(fn.Properties.Handler ?? template.Globals.Function.Handler).toBe('handler.handler');
      expect(readFileSync(join(codeDir, 'handler.ts'), 'utf8')).toMatch(/export const handler\b/);
      // Nothing points at test by-products any more.
      expect(codeUri).not.toMatch(/\.tmp/);
    }
  });

  it('keeps every secret under /<environment>/ and calls none rotated without a rotation schedule', () => {
    const secrets = ofType('AWS::SecretsManager::Secret');
    expect(secrets.length).toBeGreaterThan(0);
    const hasRotation = ofType('AWS::SecretsManager::RotationSchedule').length > 0;
    for (const [, secret] of secrets) {
      expect(sub(secret.Properties.Name)).toMatch(/^\/\$\{Environment\}\//);
      if (!hasRotation) expect(String(secret.Properties.Description)).not.toMatch(/\brotated\b/i);
    }
  });

  it('lets each function read only its own secret, and none write secrets or DNS', () => {
    const ownSecret: Record<string, (resource: unknown) => boolean> = {
      LedgerFunction: (resource) => (resource as { Ref?: string }).Ref === 'LedgerDatabaseSecret',
    };
    for (const [name, fn] of functions) {
      const secretStatements = statementsOf(fn).filter((s) =>
        s.Action.some((a) => a.startsWith('secretsmanager:')),
      );
      const isOwn = ownSecret[name];
      if (isOwn === undefined) {
        expect(secretStatements).toEqual([]);
      } else {
        const scoped = secretStatements.filter(
          (s) => !s.Action.every((a) => a === 'secretsmanager:BatchGetSecretValue'),
        );
        expect(scoped).toHaveLength(1);
        for (const statement of secretStatements) {
          expect(statement.Effect).toBe('Allow');
          if (statement.Action.every((a) => a === 'secretsmanager:BatchGetSecretValue')) {
            // BatchGetSecretValue has no resource-level permissions; each secret in the batch is
            // still checked against GetSecretValue, which is scoped to the one secret below.
            expect(statement.Resource).toBe('*');
            continue;
          }
          expect(isOwn(statement.Resource)).toBe(true);
          expect(
            statement.Action.every((a) =>
              ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'].includes(a),
            ),
          ).toBe(true);
        }
      }
      // No wildcard resource except the batch read; no function may write secrets or touch DNS.
      for (const statement of statementsOf(fn)) {
        if (statement.Resource === '*') {
          expect(statement.Action).toEqual(['secretsmanager:BatchGetSecretValue']);
        }
      }
      const actions = statementsOf(fn).flatMap((s) => s.Action);
      expect(
        actions.filter((a) => /\*|^route53:|^secretsmanager:(Put|Create|Update|Delete|Rotate)/.test(a)),
      ).toEqual([]);
    }
  });

  it('configures the caller through its environment: its identity, and the audience of each target', () => {
    const billing = template.Resources.BillingFunction!;
    const variables = variablesOf(billing);
    // Every variable the caller's entry point reads is set, by the function or the globals.
    const source = readFileSync(join(here, 'caller/src/handler.ts'), 'utf8');
    const read = [...source.matchAll(/process\.env\.([A-Z_]+)/g)].map((match) => match[1]!);
    expect(read.sort()).toEqual(['LEDGER_FUNCTION', 'LEDGER_URL', 'NHI_AUDIENCES', 'ORDERS_QUEUE_URL']);
    for (const name of [...read, 'NHI_SELF']) {
      expect({ ...template.Globals.Function.Environment.Variables, ...variables }).toHaveProperty(name);
    }
    // NHI_AUDIENCES is JSON naming the ledger for the API's origin and for the function name the
    // caller invokes, both exactly as the caller will address them.
    const ledger = 'ledger.${Environment}.${IdentityZone}';
    const url = sub(variables.LEDGER_URL)!;
    expect(url).toMatch(/^https:\/\/[^/]+\/payments$/);
    expect(variables.LEDGER_FUNCTION).toEqual({ Ref: 'LedgerFunction' });
    expect(variables.ORDERS_QUEUE_URL).toEqual({ Ref: 'OrdersQueue' });
    expect(JSON.parse(sub(variables.NHI_AUDIENCES)!)).toEqual({
      [url.replace(/\/payments$/, '')]: ledger,
      '${LedgerFunction}': ledger,
      // The queue URL, as SendMessage names it: its messages are for orders-worker.
      '${OrdersQueue}': 'orders-worker.${Environment}.${IdentityZone}',
    });
  });

  it('lets only the caller invoke a function, and only the ledger', () => {
    for (const [name, fn] of functions) {
      const lambda = statementsOf(fn).filter((s) => s.Action.some((a) => a.startsWith('lambda:')));
      if (name !== 'BillingFunction') {
        expect(lambda).toEqual([]);
        continue;
      }
      expect(lambda).toEqual([
        expect.objectContaining({
          Effect: 'Allow',
          Action: ['lambda:InvokeFunction'],
          Resource: { 'Fn::GetAtt': 'LedgerFunction.Arn' },
        }),
      ]);
      // The caller reads no secret (its key is in KMS): no wildcard at all.
      expect(statementsOf(fn).filter((s) => s.Resource === '*')).toEqual([]);
    }
  });
});
describe('examples/template.yaml: billing signs with a KMS-held key', () => {
  const billing = template.Resources.BillingFunction!;
  const key = template.Resources.BillingSigningKey! as Resource & { DeletionPolicy?: string };
  const keyStatements = (key.Properties.KeyPolicy as PolicyDocument).Statement;
  const billingRole = { 'Fn::GetAtt': 'BillingRole.Arn' };

  it('has a non-exportable Ed25519 SIGN_VERIFY key, retained, named alias/nhi/<env>/billing', () => {
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' });
    // Key material made by KMS (no Origin EXTERNAL): what the CLI publishes as kc=kms.
    expect(key.Properties.Origin).toBeUndefined();
    expect(key.DeletionPolicy).toBe('Retain');
    expect(template.Resources.BillingSigningKeyAlias).toEqual({
      Type: 'AWS::KMS::Alias',
      Properties: {
        AliasName: { 'Fn::Sub': 'alias/nhi/${Environment}/billing' },
        TargetKeyId: { Ref: 'BillingSigningKey' },
      },
    });
  });

  it("has the key policy of nhi-dns keygen --kms: the account administers but does not sign, only billing's role signs", () => {
    const roleArn = 'arn:aws:iam::123456789012:role/billing';
    const root = { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' };
    // The CLI's policy is the oracle, its literal ARNs written as this template writes them.
    const cli = (
      JSON.parse(
        kmsKeyPolicy({ signerRoles: [roleArn] })
          .replaceAll(`"${roleArn}"`, JSON.stringify(billingRole))
          .replaceAll('"arn:aws:iam::123456789012:root"', JSON.stringify(root)),
      ) as PolicyDocument
    ).Statement;
    expect(keyStatements.slice(0, 2)).toEqual(cli.slice(0, 2));
    // billing's role is allowed by its ARN rather than named as a principal: KMS checks a
    // policy's principals when it is written, and the role is created in the same deployment.
    const { Principal: _named, ...signs } = cli[2]!;
    expect(keyStatements[2]).toEqual({
      ...signs,
      Principal: { AWS: root },
      Condition: { ArnEquals: { 'aws:PrincipalArn': [billingRole] } },
    });
    expect(keyStatements).toHaveLength(3);
  });

  it("grants billing kms:Sign on billing's keys only (by tag, as the rotation makes new ones), sets NHI_KMS_KEY_ID, and gives it no secret", () => {
    expect(billing.Properties.Role).toEqual(billingRole);
    const kms = statementsOf(billing).filter((s) => s.Action.some((a) => a.startsWith('kms:')));
    expect(kms).toEqual([
      {
        Sid: 'SignWithOwnKmsKeysOnly',
        Effect: 'Allow',
        Action: ['kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*' },
        Condition: {
          StringEquals: {
            'aws:ResourceTag/nhi:identity': { 'Fn::Sub': 'billing.${Environment}.${IdentityZone}' },
          },
        },
      },
    ]);
    // The key the stack creates carries that tag.
    expect(key.Properties.Tags).toEqual([
      { Key: 'nhi:identity', Value: { 'Fn::Sub': 'billing.${Environment}.${IdentityZone}' } },
    ]);
    expect(
      statementsOf(billing).filter((s) => s.Action.some((a) => a.startsWith('secretsmanager:'))),
    ).toEqual([]);
    expect(templateText).not.toMatch(/nhi\/billing\/signing-key/);
    // identity-sign reads the alias from NHI_KMS_KEY_ID; the function waits for its grant.
    expect(variablesOf(billing).NHI_KMS_KEY_ID).toEqual({ Ref: 'BillingSigningKeyAlias' });
    expect((billing as { DependsOn?: unknown }).DependsOn).toBe('BillingSignsWithOwnKmsKey');
    // No other function may use a KMS key.
    for (const [name, fn] of functions) {
      if (name === 'BillingFunction') continue;
      expect(JSON.stringify(statementsOf(fn))).not.toContain('kms:');
    }
  });

  it('is cfn-lint clean', () => {
    const lint = spawnSync('cfn-lint', ['--', join(here, 'template.yaml')], {
      encoding: 'utf8',
      timeout: 180_000,
    });
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

describe("examples/template.yaml: billing's key rotates every 90 days", () => {
  const fn = template.Resources[ROTATION_FUNCTION]!;
  const role = template.Resources.BillingKeyRotationRole!;
  const statements = statementsOf(fn);
  const billingName = { 'Fn::Sub': 'billing.${Environment}.${IdentityZone}' };

  it('runs kmsRotationHandler of @nhi-dns/rotation, built by SAM esbuild from the package src/, for 900 s', () => {
    expect(fn.Metadata?.BuildMethod).toBe('esbuild');
    expect(fn.Metadata?.BuildProperties).toMatchObject({
      EntryPoints: ['index.ts'],
      Format: 'esm',
      OutExtension: ['.js=.mjs'],
      External: ['@aws-sdk/*'],
    });
    const codeUri = fn.Properties.CodeUri as string;
    expect(codeUri).toBe('../packages/rotation/src/');
    expect(existsSync(join(here, codeUri, 'package.json'))).toBe(false);
    expect(fn.Properties.Handler).toBe('index.kmsRotationHandler');
    // The export the handler names exists in the entry point.
    expect(readFileSync(join(here, codeUri, 'index.ts'), 'utf8')).toMatch(/\bkmsRotationHandler\b/);
    expect(fn.Properties.Timeout).toBe(900);
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': 'BillingKeyRotationRole.Arn' });
    expect(variablesOf(fn)).toEqual({
      POWERTOOLS_SERVICE_NAME: { 'Fn::Sub': 'nhi-rotation.billing.${Environment}' },
      NHI_HOSTED_ZONE_ID: { Ref: 'RecordsHostedZoneId' },
    });
    // NHI_ZONE comes from the globals.
    expect(template.Globals.Function.Environment.Variables.NHI_ZONE).toEqual({ Ref: 'IdentityZone' });
  });

  it("is run daily by EventBridge Scheduler with billing's role as the signer and a 90-day period", () => {
    const events = fn.Properties.Events as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    expect(Object.values(events)).toHaveLength(1);
    const [daily] = Object.values(events);
    expect(daily?.Type).toBe('ScheduleV2');
    expect(daily?.Properties.ScheduleExpression).toBe('rate(1 day)');
    expect(JSON.parse(sub(daily?.Properties.Input)!)).toEqual({
      service: 'billing',
      environment: '${Environment}',
      signerRoles: ['${BillingRole.Arn}'],
      rotationDays: 90,
    });
  });

  it("reaches billing's keys by tag, its alias and its TXT RRset, nothing else", () => {
    expect(statements.map((s) => s.Sid)).toEqual([
      'CreateKeysOfBillingOnly',
      'ManageKeysOfBilling',
      'MoveBillingAlias',
      'ReadIdentityZone',
      'ChangeBillingRecordOnly',
      'WaitForInsync',
    ]);
    const bySid = (sid: string) => statements.find((s) => s.Sid === sid)!;
    expect(bySid('CreateKeysOfBillingOnly').Condition).toEqual({
      StringEquals: { 'aws:RequestTag/nhi:identity': billingName },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['nhi:identity'] },
    });
    expect(bySid('ManageKeysOfBilling').Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/nhi:identity': billingName },
    });
    expect(bySid('ChangeBillingRecordOnly').Condition).toEqual({
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [billingName],
        'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
      },
    });
    // Only key creation (conditioned on the tag) has a "*" resource: CreateKey has no other.
    expect(statements.filter((s) => s.Resource === '*').map((s) => s.Sid)).toEqual([
      'CreateKeysOfBillingOnly',
    ]);
    expect(JSON.stringify(role)).not.toContain('secretsmanager');
  });

  it('alarms on a failed step and on a key older than 92 days', () => {
    const failure = template.Resources.BillingKeyRotationFailureAlarm!;
    expect(JSON.stringify(failure.Properties.Metrics)).toContain(
      "SELECT SUM(RotationFailure) FROM SCHEMA(NHI, Step, service) WHERE service = 'nhi-rotation.billing.${Environment}'",
    );
    expect(failure.Properties).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(template.Resources.BillingSigningKeyAgeAlarm!.Properties).toMatchObject({
      Namespace: 'NHI',
      MetricName: 'SigningKeyAge',
      Dimensions: [{ Name: 'service', Value: { 'Fn::Sub': 'nhi-rotation.billing.${Environment}' } }],
      Statistic: 'Maximum',
      Threshold: 92 * 86_400,
    });
  });
});
// biome-ignore-end lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders
