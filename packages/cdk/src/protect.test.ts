import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import { NhiIdentity } from './identity.js';
import { nhiProtect } from './protect.js';
import { ed25519PublicKey, newFunction, newStack, onlyResource, secretArn } from './stack.test-helper.js';

const zone = 'auth.example.com';

/** A ledger function protected with the given options, in a fresh stack. */
const ledgerStack = (options: Omit<Parameters<typeof nhiProtect>[1], 'identity'> = {}) => {
  const stack = newStack();
  const fn = newFunction(stack, 'Ledger');
  const identity = new NhiIdentity(stack, 'LedgerIdentity', {
    zone,
    service: 'ledger',
    environment: 'prod',
    recordOwner: 'cli',
  });
  const billing = new NhiIdentity(stack, 'BillingIdentity', {
    zone,
    service: 'billing',
    environment: 'prod',
    recordOwner: 'cli',
  });
  const protection = nhiProtect(fn, { identity, allow: [billing], ...options });
  return { stack, fn, identity, protection, template: () => Template.fromStack(stack) };
};

const alarmWith = (template: Template, description: RegExp) => {
  const found = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((alarm) =>
    description.test(String(alarm.Properties.AlarmDescription)),
  );
  expect(found).toHaveLength(1);
  return found[0]?.Properties;
};

describe('nhiProtect environment and grants', () => {
  it('sets the NHI_* and Powertools variables the middlewares and handlers read', () => {
    const { template, protection } = ledgerStack({
      allow: ['billing.prod.auth.example.com', '*.staging.AUTH.example.com.'],
      dnsServers: ['10.0.0.2', '127.0.0.1:5353', '[fd00::2]:53'],
    });
    const variables = {
      NHI_ZONE: zone,
      NHI_SELF: 'ledger.prod.auth.example.com',
      NHI_ENVIRONMENT: 'prod',
      NHI_ALLOW: 'billing.prod.auth.example.com,*.staging.auth.example.com',
      NHI_DNS_SERVERS: '10.0.0.2,127.0.0.1:5353,[fd00::2]:53',
      POWERTOOLS_SERVICE_NAME: 'ledger',
      POWERTOOLS_METRICS_NAMESPACE: 'NHI',
    };
    template().hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: variables } });
    expect(protection.environment).toEqual(variables);
  });

  it('leaves out NHI_ALLOW and NHI_DNS_SERVERS when not given, and keeps variables of its own', () => {
    const stack = newStack();
    const fn = newFunction(stack, 'Reports');
    fn.addEnvironment('REPORTS_BUCKET', 'b');
    const identity = new NhiIdentity(stack, 'ReportsIdentity', {
      zone,
      service: 'reports',
      environment: 'prod',
      recordOwner: 'cli',
    });
    nhiProtect(fn, { identity, serviceName: 'reports-job' });
    const { Variables } = onlyResource(Template.fromStack(stack), 'AWS::Lambda::Function').Environment;
    expect(Variables).toEqual({
      REPORTS_BUCKET: 'b',
      NHI_ZONE: zone,
      NHI_SELF: 'reports.prod.auth.example.com',
      NHI_ENVIRONMENT: 'prod',
      POWERTOOLS_SERVICE_NAME: 'reports-job',
      POWERTOOLS_METRICS_NAMESPACE: 'NHI',
    });
  });

  it('grants exactly the secrets named, under /<env>/, and nothing else from Secrets Manager', () => {
    const { template } = ledgerStack({ secrets: ['ledger/db'] });
    const policies = template().findResources('AWS::IAM::Policy');
    expect(Object.keys(policies)).toHaveLength(1);
    expect(Object.values(policies)[0]?.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: secretArn('/prod/ledger/db'),
      },
    ]);
  });

  it('creates no policy without secrets (a callee that reads none)', () => {
    ledgerStack().template().resourceCountIs('AWS::IAM::Policy', 0);
  });

  it('refuses bad allow patterns, DNS servers, secret names and a second protection', () => {
    expect(() => ledgerStack({ allow: ['billing.prod.other.example'] })).toThrow(
      /allow .*not inside auth.example.com/,
    );
    expect(() => ledgerStack({ allow: ['bill*.prod.auth.example.com'] })).toThrow(/allow/);
    expect(() => ledgerStack({ dnsServers: ['resolver.internal'] })).toThrow(
      /dnsServers entry "resolver.internal"/,
    );
    expect(() => ledgerStack({ dnsServers: ['10.0.0.2:70000'] })).toThrow(/dnsServers entry/);
    expect(() => ledgerStack({ dnsServers: [] })).toThrow(/non-empty/);
    expect(() => ledgerStack({ secrets: ['../staging/db'] })).toThrow(/secret name/);
    expect(() => ledgerStack({ serviceName: "ledger' OR '1" })).toThrow(/serviceName/);
    expect(() => ledgerStack({ alarms: { authFailureThreshold: 0 } })).toThrow(/authFailureThreshold/);
    expect(() => ledgerStack({ alarms: { dnsMissEvaluationPeriods: 1.5 } })).toThrow(
      /dnsMissEvaluationPeriods/,
    );
    const { fn, identity } = ledgerStack();
    expect(() => nhiProtect(fn, { identity })).toThrow(/protected already/);
  });
});

describe('nhiProtect alarms', () => {
  it('alarms on AuthFailure of the service like the SAM template (Metrics Insights over every Reason)', () => {
    const template = ledgerStack().template();
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    expect(alarmWith(template, /are being denied/)).toEqual({
      AlarmDescription: expect.stringContaining('ledger.prod.auth.example.com'),
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 5,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      Metrics: [
        {
          Id: 'expr_1',
          Expression: "SELECT SUM(AuthFailure) FROM SCHEMA(NHI, Reason, service) WHERE service = 'ledger'",
          Label: 'AuthFailure (all reasons)',
          Period: 60,
          ReturnData: true,
        },
      ],
    });
  });

  it('alarms on a DNS miss spike with an anomaly band (GreaterThanUpperThreshold) and a static ceiling', () => {
    const template = ledgerStack().template();
    const lookup = (outcome: string) => ({
      Metric: {
        Namespace: 'NHI',
        MetricName: 'DnsLookup',
        Dimensions: [
          { Name: 'Outcome', Value: outcome },
          { Name: 'service', Value: 'ledger' },
        ],
      },
      Period: 300,
      Stat: 'Sum',
    });
    // The queries sent: misses and NXDOMAINs (a flood of made-up callers); cache hits never query.
    const queries = [
      Match.objectLike({ Id: 'm1', Expression: 'FILL(miss, 0) + FILL(nxdomain, 0)' }),
      { Id: 'miss', MetricStat: lookup('miss'), ReturnData: false },
      { Id: 'nxdomain', MetricStat: lookup('nxdomain'), ReturnData: false },
    ];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanUpperThreshold',
      ThresholdMetricId: 'expr_1',
      Threshold: Match.absent(),
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({ Id: 'expr_1', Expression: 'ANOMALY_DETECTION_BAND(m1, 2)', ReturnData: true }),
        ...queries,
      ]),
    });
    expect(alarmWith(template, /static ceiling/)).toMatchObject({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1000,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      Metrics: expect.arrayContaining([
        expect.objectContaining({ Expression: 'FILL(miss, 0) + FILL(nxdomain, 0)', ReturnData: true }),
        { Id: 'nxdomain', MetricStat: lookup('nxdomain'), ReturnData: false },
      ]),
    });
  });

  it('takes thresholds, periods and actions', () => {
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Pager');
    const fn = newFunction(stack, 'Ledger');
    const identity = new NhiIdentity(stack, 'Id', {
      zone,
      service: 'ledger',
      environment: 'prod',
      recordOwner: 'cli',
    });
    nhiProtect(fn, {
      identity,
      alarms: {
        actions: [new actions.SnsAction(topic)],
        authFailureThreshold: 20,
        authFailurePeriod: Duration.minutes(5),
        dnsMissStdDevs: 3.5,
        dnsMissPeriod: Duration.minutes(15),
        dnsMissEvaluationPeriods: 2,
        dnsMissCeiling: 250,
      },
    });
    const template = Template.fromStack(stack);
    const pager = [{ Ref: Match.stringLikeRegexp('^Pager') }];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 20,
      Metrics: [
        Match.objectLike({ Period: 300, Expression: Match.stringLikeRegexp('^SELECT SUM\\(AuthFailure\\)') }),
      ],
      AlarmActions: pager,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanUpperThreshold',
      EvaluationPeriods: 2,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'ANOMALY_DETECTION_BAND(m1, 3.5)' }),
        Match.objectLike({ Id: 'miss', MetricStat: Match.objectLike({ Period: 900 }) }),
      ]),
      AlarmActions: pager,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 250,
      Metrics: Match.arrayWith([
        Match.objectLike({ Id: 'miss', MetricStat: Match.objectLike({ Period: 900 }) }),
      ]),
      AlarmActions: pager,
    });
  });

  it('with selfCheck, alarms on self_mismatch and orders the function after its stack-owned record', () => {
    const stack = newStack();
    const hostedZone = new route53.PublicHostedZone(stack, 'Zone', { zoneName: zone });
    const fn = newFunction(stack, 'Reports');
    const identity = new NhiIdentity(stack, 'ReportsIdentity', {
      zone,
      service: 'reports',
      environment: 'prod',
      hostedZone,
      publicKey: { kid: 'k1', publicKey: ed25519PublicKey() },
      attributes: { tier: 'internal' },
    });
    const protection = nhiProtect(fn, { identity, selfCheck: true });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    expect(alarmWith(template, /self check/)).toMatchObject({
      MetricName: 'AuthFailure',
      Dimensions: [
        { Name: 'Reason', Value: 'self_mismatch' },
        { Name: 'service', Value: 'reports' },
      ],
      Threshold: 1,
      Period: 60,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const recordId = stack.getLogicalId(identity.record!);
    template.hasResource('AWS::Lambda::Function', { DependsOn: Match.arrayWith([recordId]) });
    expect(protection.selfCheckAlarm).toBeDefined();
  });
});

describe('nhiProtect dashboard', () => {
  /** The widgets of the only dashboard, parsed from its Fn::Join body. */
  const widgetsOf = (template: Template) => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const parts = dashboard?.Properties.DashboardBody['Fn::Join'][1] as unknown[];
    const body = parts.map((part) => (typeof part === 'string' ? part : 'us-east-1')).join('');
    return JSON.parse(body).widgets as Array<{ properties: { title: string; metrics: unknown[] } }>;
  };

  it('shows AuthSuccess, AuthFailure by Reason, DnsLookup by Outcome, DnsLookupLatency p99, SecretFetchError', () => {
    const template = ledgerStack({ dashboard: true }).template();
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const widgets = widgetsOf(template);
    expect(widgets.map((widget) => widget.properties.title)).toEqual([
      'ledger: AuthSuccess',
      'ledger: AuthFailure by Reason',
      'ledger: DnsLookup by Outcome',
      'ledger: DnsLookupLatency p99 (ms)',
      'ledger: SecretFetchError by Code',
    ]);
    const metrics = widgets.map((widget) => widget.properties.metrics);
    expect(metrics[0]).toEqual([['NHI', 'AuthSuccess', 'service', 'ledger', { period: 60, stat: 'Sum' }]]);
    expect(metrics[1]).toEqual([
      [
        expect.objectContaining({
          expression: `SEARCH('{NHI,Reason,service} MetricName="AuthFailure" service="ledger"', 'Sum', 60)`,
        }),
      ],
    ]);
    expect(metrics[2]).toEqual([
      [
        expect.objectContaining({
          expression: `SEARCH('{NHI,Outcome,service} MetricName="DnsLookup" service="ledger"', 'Sum', 300)`,
        }),
      ],
    ]);
    expect(metrics[3]).toEqual([['NHI', 'DnsLookupLatency', 'service', 'ledger', { stat: 'p99' }]]);
    expect(metrics[4]).toEqual([
      [
        expect.objectContaining({
          expression: `SEARCH('{NHI,Code,service} MetricName="SecretFetchError" service="ledger"', 'Sum', 300)`,
        }),
      ],
    ]);
  });

  it('adds its widgets to a dashboard given, and creates none by default', () => {
    const stack = newStack();
    const shared = new cloudwatch.Dashboard(stack, 'Shared');
    for (const service of ['ledger', 'billing']) {
      const identity = new NhiIdentity(stack, `${service}Id`, {
        zone,
        service,
        environment: 'prod',
        recordOwner: 'cli',
      });
      nhiProtect(newFunction(stack, service), { identity, dashboard: shared });
    }
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(widgetsOf(template)).toHaveLength(10);
    ledgerStack().template().resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });
});
