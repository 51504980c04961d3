// The real thing: Serverless Framework v3's `serverless package`, offline, on the README's
// serverless.yml, with this plugin (bundled from its sources) and key files the CLI printed.
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateSigningKey, render, runCli } from '@nhi-dns/cli';
import { fakeAws, ZONE_ID } from '../../cli/src/fake-aws.test-helper.js';
import { bundlePlugin, installPlugin, serverlessBin, serverlessEnv } from './service.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');
const ZONE = 'auth.example.com';
const HOSTED_ZONE_ID = 'Z0123456789ABCDEFGHIJ';
const RFC8037_KEY = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
const VECTOR_ED25519 = 'h/E8fUzieYNe1woKyHNLwzOqpgSglSdgpDlB2CdqXyU=';
const VECTOR_P256 =
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGyxCB7RZdD+kO3mr7/p8dByaQpwCFaeZheauZfdKa3TXJPeL3l2ZUKGWf7d69o/wP0G7MisqIR4z9AFfKoSWOA==';

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown };
type Policy = { PolicyName: unknown; PolicyDocument: { Statement: Statement[] } };

/** The README's complete serverless.yml, as it stands. */
export const readmeServerlessYml = (): string => {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const yml = /## A complete serverless\.yml[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (yml === undefined)
    throw new Error('README.md has no ```yaml block under "## A complete serverless.yml"');
  return yml;
};

/** Runs the CLI in process against the Route 53 / Secrets Manager fake; its stdout. */
const nhiDns = async (...argv: string[]): Promise<string> => {
  const aws = fakeAws();
  const out: string[] = [];
  const code = await runCli(argv, {
    stdout: (text) => void out.push(text),
    stderr: () => undefined,
    createAwsClients: () => ({ route53: aws.route53, secrets: aws.secrets }),
    createResolver: () => ({ resolveTxt: async () => Promise.reject(new Error('no DNS here')) }),
    now: () => Date.UTC(2026, 11, 1),
    sleep: async () => undefined,
  });
  if (code !== 0) throw new Error(`nhi-dns ${argv.join(' ')} exited ${code}: ${out.join('')}`);
  return out.join('');
};

let work: string;
let bundle: string;
let template: {
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown; Description: string }>;
};
let templateFile: string;
let serverlessOutput: string;
let billingKey: { kid: string; keyType: 'ed25519' | 'p256'; publicKey: string };
const reportsKeys: { kid: string; keyType: 'ed25519' | 'p256'; publicKey: string }[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'nhi-sls-'));
  const tmp = join(packageDir, '.tmp');
  mkdirSync(tmp, { recursive: true });
  bundle = join(tmp, `plugin-${process.pid}.mjs`);
  const service = join(work, 'service');
  for (const dir of ['dist', 'keys', 'home']) {
    mkdirSync(join(service, dir), { recursive: true });
  }
  await bundlePlugin(bundle);
  installPlugin(service, bundle);
  writeFileSync(join(service, 'serverless.yml'), readmeServerlessYml());
  for (const name of ['ledger', 'billing', 'orders', 'reports']) {
    writeFileSync(
      join(service, 'dist', `${name}.mjs`),
      'export const handler = async () => ({ statusCode: 204 });\n',
    );
  }

  // The key files, as the README's comments make them.
  const keygen = JSON.parse(
    await nhiDns(
      'keygen',
      ...['--service', 'billing', '--env', 'prod', '--zone', ZONE, '--hosted-zone-id', ZONE_ID],
      ...['--propagation-wait', '0', '--json'],
    ),
  );
  billingKey = { kid: keygen.kid, keyType: keygen.keyType, publicKey: keygen.publicKey };
  writeFileSync(join(service, 'keys/billing.json'), JSON.stringify(keygen, null, 2));
  for (const kid of ['k2026-11', 'k2026-12']) {
    const { keyType, publicKey } = await generateSigningKey('ed25519', kid);
    reportsKeys.push({ kid, keyType, publicKey });
  }
  const zonefile = await nhiDns(
    'render',
    ...[
      '--replace',
      '--format',
      'zonefile',
      '--service',
      'reports',
      '--env',
      'prod',
      '--zone',
      ZONE,
      '--attr',
      'tier=internal',
    ],
    ...reportsKeys.flatMap((key) => ['--public-key', key.publicKey, '--kid', key.kid]),
  );
  writeFileSync(join(service, 'keys/reports.zone'), zonefile);

  const result = await promisify(execFile)(
    process.execPath,
    [serverlessBin(), 'package', '--region', 'eu-west-1'],
    {
      cwd: service,
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
      env: serverlessEnv(join(service, 'home')),
    },
  );
  serverlessOutput = `${result.stdout}${result.stderr}`;
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
const ofType = (type: string): Record<string, Resource> =>
  Object.fromEntries(Object.entries(template.Resources).filter(([, r]) => r.Type === type));
const policies = (roleId: string): Policy[] => resource(roleId).Properties.Policies as Policy[];
const statements = (roleId: string): Statement[] =>
  policies(roleId).flatMap((p) => p.PolicyDocument.Statement);
const secretArn = (name: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}-??????`,
});
const reads = (sid: string, names: string[]) => ({
  Sid: sid,
  Effect: 'Allow',
  Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
  Resource: names.map(secretArn),
});

describe('serverless package (v3, offline) of the README service', () => {
  it('packages with the plugin loaded and no error of ours', () => {
    expect(serverlessOutput).toContain('Service packaged');
    expect(serverlessOutput).not.toContain('serverless-nhi-dns:');
    // v3's schema knows the plugin's options: the one configuration warning is about nodejs22.x.
    expect(serverlessOutput).not.toMatch(/unrecognized property 'nhi'/);
  });

  it('adds one TXT record per identity, exactly what nhi-dns render prints for the same keys', () => {
    const expected = (
      service: string,
      keys: { kid: string; keyType: 'ed25519' | 'p256'; publicKey: string }[],
      attributes?: Record<string, string>,
    ) =>
      JSON.parse(
        render({
          service,
          environment: 'prod',
          zone: ZONE,
          format: 'cloudformation',
          keys,
          hostedZoneId: HOSTED_ZONE_ID,
          ...(attributes === undefined ? {} : { attributes }),
        }),
      ).Resources;
    expect(ofType('AWS::Route53::RecordSet')).toEqual({
      ...expected('ledger', [{ kid: 'k2026-12', keyType: 'ed25519', publicKey: RFC8037_KEY }]),
      ...expected('billing', [billingKey]),
      ...expected('orders-worker', [
        { kid: 'k2026-11', keyType: 'ed25519', publicKey: VECTOR_ED25519 },
        { kid: 'k2026-12', keyType: 'p256', publicKey: VECTOR_P256 },
      ]),
      ...expected('reports', reportsKeys, { tier: 'internal' }),
    });
    expect(resource('NhiIdentityLedgerProd').Properties).toEqual({
      HostedZoneId: HOSTED_ZONE_ID,
      Name: 'ledger.prod.auth.example.com.',
      Type: 'TXT',
      TTL: '300',
      ResourceRecords: [`"v=NHI1; svc=ledger; env=prod; kid=k2026-12; k=ed25519; p=${RFC8037_KEY}"`],
    });
    // The self-checking function starts only once its record exists.
    expect(resource('ReportsLambdaFunction').DependsOn).toContain('NhiIdentityReportsProd');
  });

  it('gives each function that reads secrets or signs a role of its own, reading exactly its own', () => {
    const roleOf = (fn: string) => (resource(fn).Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'];
    expect(roleOf('LedgerLambdaFunction')).toEqual(['LedgerNhiRole', 'Arn']);
    expect(roleOf('BillingLambdaFunction')).toEqual(['BillingNhiRole', 'Arn']);
    expect(roleOf('OrdersLambdaFunction')).toEqual(['OrdersNhiRole', 'Arn']);
    // No secrets, no signing: reports keeps the shared role, which grants no Secrets Manager at all.
    expect(roleOf('ReportsLambdaFunction')).toEqual(['IamRoleLambdaExecution', 'Arn']);

    const nhiPolicy = (roleId: string) => policies(roleId).find((p) => p.PolicyName === 'nhi-dns-secrets');
    expect(nhiPolicy('LedgerNhiRole')?.PolicyDocument.Statement).toEqual([
      reads('NhiReadOwnSecrets', ['/prod/ledger/db']),
    ]);
    expect(nhiPolicy('BillingNhiRole')?.PolicyDocument.Statement).toEqual([
      reads('NhiReadOwnSigningKey', ['/prod/nhi/billing/signing-key']),
    ]);
    expect(nhiPolicy('OrdersNhiRole')?.PolicyDocument.Statement).toEqual([
      reads('NhiReadOwnSecrets', ['/prod/orders/db']),
    ]);

    // Nothing wider anywhere: every Secrets Manager statement of every role is one of the above.
    const roles = Object.keys(ofType('AWS::IAM::Role')).sort();
    expect(roles).toEqual(['BillingNhiRole', 'IamRoleLambdaExecution', 'LedgerNhiRole', 'OrdersNhiRole']);
    for (const roleId of roles) {
      for (const statement of statements(roleId)) {
        const actions = [statement.Action].flat();
        if (actions.some((action) => action === '*' || action.startsWith('secretsmanager:'))) {
          expect(roleId).not.toBe('IamRoleLambdaExecution');
          expect(statement.Sid).toMatch(/^NhiReadOwn/);
          expect(JSON.stringify(statement.Resource)).not.toMatch(/"\*"|-\*/);
        }
      }
    }

    // The copy keeps what Serverless put on the provider role: trust, logs, the SQS event's access.
    const shared = resource('IamRoleLambdaExecution').Properties;
    const orders = resource('OrdersNhiRole').Properties;
    expect(orders.AssumeRolePolicyDocument).toEqual(shared.AssumeRolePolicyDocument);
    expect(orders.RoleName).toBeUndefined();
    expect(shared.RoleName).toBeDefined();
    expect(policies('OrdersNhiRole')[0]).toEqual((shared.Policies as Policy[])[0]);
    expect(statements('OrdersNhiRole')).toContainEqual({
      Effect: 'Allow',
      Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      Resource: [{ 'Fn::GetAtt': ['OrdersQueue', 'Arn'] }],
    });
  });

  it('sets the NHI_* environment of each function', () => {
    const environment = (fn: string) =>
      (resource(fn).Properties.Environment as { Variables: Record<string, string> }).Variables;
    const common = {
      NHI_ZONE: ZONE,
      NHI_ENVIRONMENT: 'prod',
      NHI_DNS_SERVERS: '10.0.0.2',
      POWERTOOLS_METRICS_NAMESPACE: 'NHI',
    };
    expect(environment('LedgerLambdaFunction')).toEqual({
      ...common,
      NHI_SELF: 'ledger.prod.auth.example.com',
      NHI_ALLOW: 'billing.prod.auth.example.com',
      POWERTOOLS_SERVICE_NAME: 'ledger',
    });
    expect(environment('BillingLambdaFunction')).toEqual({
      ...common,
      NHI_SELF: 'billing.prod.auth.example.com',
      POWERTOOLS_SERVICE_NAME: 'billing',
    });
    expect(environment('OrdersLambdaFunction')).toEqual({
      ...common,
      NHI_SELF: 'orders-worker.prod.auth.example.com',
      NHI_ALLOW: 'billing.prod.auth.example.com',
      POWERTOOLS_SERVICE_NAME: 'orders-worker',
    });
    expect(environment('ReportsLambdaFunction')).toEqual({
      ...common,
      NHI_REQUIRE_TIER: 'internal',
      NHI_SELF: 'reports.prod.auth.example.com',
      POWERTOOLS_SERVICE_NAME: 'reports',
    });
  });

  it('adds the AuthFailure, DNS miss anomaly and ceiling alarms per function, and the self-check alarm', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm');
    expect(Object.keys(alarms).sort()).toEqual(
      [
        ...['Ledger', 'Billing', 'Orders', 'Reports'].flatMap((fn) =>
          ['AuthFailureAlarm', 'DnsMissAnomalyAlarm', 'DnsMissCeilingAlarm'].map(
            (alarm) => `${fn}Nhi${alarm}`,
          ),
        ),
        'ReportsNhiSelfCheckAlarm',
      ].sort(),
    );
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: 'PagerTopic' }]);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
    // As the SAM template's: every Reason of namespace NHI, selected by the service dimension.
    expect(resource('OrdersNhiAuthFailureAlarm').Properties).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 5,
      EvaluationPeriods: 1,
      Metrics: [
        {
          Id: 'failures',
          Expression:
            "SELECT SUM(AuthFailure) FROM SCHEMA(NHI, Reason, service) WHERE service = 'orders-worker'",
          Period: 60,
          ReturnData: true,
        },
      ],
    });
    // The queries sent: misses and NXDOMAINs (a flood of made-up callers), as SAM and CDK.
    const outcome = (id: string) => ({
      Id: id,
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: 'NHI',
          MetricName: 'DnsLookup',
          Dimensions: [
            { Name: 'service', Value: 'ledger' },
            { Name: 'Outcome', Value: id },
          ],
        },
        Period: 300,
        Stat: 'Sum',
      },
    });
    const queries = [
      outcome('miss'),
      outcome('nxdomain'),
      { Id: 'queries', Expression: 'FILL(miss, 0) + FILL(nxdomain, 0)', ReturnData: true },
    ];
    expect(resource('LedgerNhiDnsMissAnomalyAlarm').Properties).toMatchObject({
      ComparisonOperator: 'GreaterThanUpperThreshold',
      ThresholdMetricId: 'band',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Metrics: [
        ...queries,
        { Id: 'band', Expression: 'ANOMALY_DETECTION_BAND(queries, 2)', ReturnData: true },
      ],
    });
    expect(resource('LedgerNhiDnsMissAnomalyAlarm').Properties.Threshold).toBeUndefined();
    expect(resource('LedgerNhiDnsMissCeilingAlarm').Properties).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1000,
      Metrics: queries,
    });
    expect(resource('LedgerNhiDnsMissCeilingAlarm').Properties.MetricName).toBeUndefined();
    expect(resource('ReportsNhiSelfCheckAlarm').Properties).toMatchObject({
      Threshold: 1,
      MetricName: 'AuthFailure',
      Dimensions: [
        { Name: 'service', Value: 'reports' },
        { Name: 'Reason', Value: 'self_mismatch' },
      ],
    });
  });

  it("adds the dashboard (dashboard: true) with the SAM widgets over the stack's protected services", () => {
    const body = resource('NhiIdentityDashboard').Properties.DashboardBody as { 'Fn::Sub': string };
    const { widgets } = JSON.parse(body['Fn::Sub']) as {
      widgets: { properties: { title: string; region: string; stat: string; metrics: unknown[][] } }[];
    };
    expect(widgets.map((w) => [w.properties.title, w.properties.stat])).toEqual([
      ['Accepted callers', 'Sum'],
      ['Refused callers by reason', 'Sum'],
      ['DNS lookups by outcome (queries sent) and cache hits', 'Sum'],
      ['DNS lookup latency p99', 'p99'],
      ['Secret fetch errors by code', 'Sum'],
    ]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Fn::Sub placeholder.
    for (const w of widgets) expect(w.properties.region).toBe('${AWS::Region}');
    const services =
      "service = 'ledger' OR service = 'billing' OR service = 'orders-worker' OR service = 'reports'";
    expect(widgets[1]?.properties.metrics).toEqual([
      [
        {
          expression: `SELECT SUM(AuthFailure) FROM SCHEMA(NHI, Reason, service) WHERE ${services} GROUP BY Reason`,
          label: 'AuthFailure',
        },
      ],
    ]);
    expect(widgets[3]?.properties.metrics).toEqual(
      ['ledger', 'billing', 'orders-worker', 'reports'].map((name) => [
        'NHI',
        'DnsLookupLatency',
        'service',
        name,
      ]),
    );
  });

  it('names each identity and the owner of its record in the outputs', () => {
    expect(template.Outputs.LedgerNhiIdentityName).toMatchObject({
      Value: 'ledger.prod.auth.example.com',
      Description: expect.stringContaining('NhiIdentityLedgerProd of this stack'),
    });
    expect(template.Outputs.OrdersNhiIdentityName?.Value).toBe('orders-worker.prod.auth.example.com');
  });

  it('cfn-lint finds nothing in the template', () => {
    // Serverless v3 compiles each httpApi route with `DependsOn` on its integration beside a Ref
    // of it (cfn-lint W3005). That is the framework's resource, not the plugin's, and no setting
    // removes it: the check is acknowledged on those routes only (cfn-lint's resource metadata),
    // never for the template.
    const linted = structuredClone(template) as {
      Resources: Record<string, Resource & { Metadata?: object }>;
    };
    const acknowledged = Object.entries(linted.Resources).filter(
      ([, r]) => r.Type === 'AWS::ApiGatewayV2::Route' && r.DependsOn !== undefined,
    );
    expect(acknowledged.map(([id]) => id)).toEqual(['HttpApiRoutePostPayments']);
    for (const [, route] of acknowledged)
      route.Metadata = { 'cfn-lint': { config: { ignore_checks: ['W3005'] } } };
    const lintedFile = join(dirname(templateFile), 'linted.json');
    writeFileSync(lintedFile, JSON.stringify(linted, null, 2));
    const lint = spawnSync('cfn-lint', ['--', lintedFile], { encoding: 'utf8', timeout: 180_000 });
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
