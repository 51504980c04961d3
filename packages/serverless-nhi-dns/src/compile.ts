import {
  KMS_IDENTITY_TAG,
  KMS_KEY_SPECS,
  KMS_SIGNER_ACTIONS,
  kmsKeyPolicy,
  METRIC,
  METRICS_NAMESPACE,
  rotationRoleStatements,
  SECRET_ROTATION_ACTIONS,
  signingKeyReach,
} from '@nhi-dns/core';
import type { ResolvedConfig, ResolvedFunction, ResolvedKmsKey, ResolvedRotation } from './config.js';
import { invalidConfig, show } from './errors.js';
import { recordResource } from './record.js';
import type { AwsNaming, CfnResource, CfnTemplate } from './template.js';

/** Actions a function needs to read one of its secrets: the value, and the rotation dates caches use. */
export const SECRET_READ_ACTIONS: readonly string[] = Object.freeze([
  'secretsmanager:GetSecretValue',
  'secretsmanager:DescribeSecret',
]);

/** Name of the inline policy the plugin adds to a function's own role. */
export const SECRETS_POLICY_NAME = 'nhi-dns-secrets';

/** Name of the policy that grants a function `kms:Sign` on its identity's key. */
export const KMS_SIGN_POLICY_NAME = 'nhi-dns-kms-sign';

/** What {@link compileNhi} added, by logical id. */
export interface CompileReport {
  /** Stack-owned identity records (`AWS::Route53::RecordSet`). */
  readonly records: string[];
  /** Identity → logical id of its KMS signing key (`AWS::KMS::Key`), with `sign: kms`. */
  readonly kmsKeys: Record<string, string>;
  /** Function key → logical id of the role generated for it. */
  readonly roles: Record<string, string>;
  readonly alarms: string[];
  /** Outputs naming each identity and the owner of its record. */
  readonly outputs: string[];
  /** Things the plugin cannot fix but the operator should know. */
  readonly warnings: string[];
  /** Logical id of the dashboard, with `custom.nhi.dashboard`. */
  dashboard?: string;
  /** Identity → logical id of its rotation function, with `rotation`. */
  readonly rotations: Record<string, string>;
}

/** Logical id of the dashboard `custom.nhi.dashboard` adds. */
export const DASHBOARD_ID = 'NhiIdentityDashboard';

/**
 * ARN pattern of a secret of the stack's account and region. Secrets Manager appends `-` and six
 * random characters to a secret's name in its ARN; `??????` matches exactly those (`-*` would
 * also match `/prod/ledger/db-admin-AbCdEf`, another secret).
 */
export const secretArnPattern = (secretName: string): { 'Fn::Sub': string } => ({
  'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secretName}-??????`,
});

const asList = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

const isGetAttArnOf = (value: unknown, logicalId: string): boolean => {
  const getAtt = (value as { 'Fn::GetAtt'?: unknown } | null)?.['Fn::GetAtt'];
  return Array.isArray(getAtt) && getAtt[0] === logicalId && getAtt[1] === 'Arn';
};

const addResource = (template: CfnTemplate, logicalId: string, resource: CfnResource): void => {
  if (Object.hasOwn(template.Resources, logicalId)) {
    throw invalidConfig(
      'resources',
      logicalId,
      'serverless-nhi-dns adds a resource under this logical id, and the template has one already',
    );
  }
  template.Resources[logicalId] = resource;
};

const addDependency = (resource: CfnResource, logicalId: string): void => {
  const dependsOn = asList(resource.DependsOn) as string[];
  if (!dependsOn.includes(logicalId)) resource.DependsOn = [...dependsOn, logicalId];
};

/** The statements of a role's inline policies (`provider.iam.role.statements` among them). */
const roleStatements = (role: CfnResource): unknown[] =>
  asList(role.Properties?.Policies).flatMap((policy) =>
    asList((policy as { PolicyDocument?: { Statement?: unknown } }).PolicyDocument?.Statement),
  );

/** True for an allowed statement that reaches Secrets Manager on `"*"`. */
const isBroadSecretStatement = (statement: unknown): boolean => {
  const { Effect, Action, Resource } = statement as {
    Effect?: unknown;
    Action?: unknown;
    Resource?: unknown;
  };
  const actions = asList(Action).map(String);
  const reachesSecrets = actions.some(
    (action) => action === '*' || action.toLowerCase().startsWith('secretsmanager:'),
  );
  return Effect === 'Allow' && reachesSecrets && asList(Resource).some((resource) => resource === '*');
};

/** Name of the setting that lets a shared-role statement reaching signing keys through. */
export const BROAD_SECRETS_OVERRIDE = 'custom.nhi.allowBroadSecretsGrant';

/**
 * Checks the shared role's statements, which every function of the service holds (the plugin's
 * per-function roles are copies of it). A statement that lets a function read another workload's
 * signing key (`/<environment>/nhi/<service>/signing-key`, @nhi-dns/core's
 * `signingKeyReach`) lets every function sign as that workload: refused, unless
 * {@link BROAD_SECRETS_OVERRIDE}, which turns it into a warning. Other statements that allow
 * Secrets Manager on `"*"` (`ListSecrets`, `DescribeSecret`) are only warned about.
 *
 * @returns the warnings.
 * @throws {NhiError} `invalid_config` naming the statement and the override.
 */
const checkSharedRole = (sharedRole: CfnResource, config: ResolvedConfig): string[] => {
  const warnings: string[] = [];
  let broad: unknown;
  for (const statement of roleStatements(sharedRole)) {
    const reach = signingKeyReach(statement);
    if (reach === undefined) {
      if (broad === undefined && isBroadSecretStatement(statement)) broad = statement;
      continue;
    }
    const how =
      reach === 'NotResource'
        ? 'its NotResource allows every secret it does not list'
        : `its Resource ${JSON.stringify(reach)} (intrinsics read as *) matches them`;
    const why =
      `every function of the service can read other workloads' signing keys (/${config.environment}/nhi/<service>/signing-key) ` +
      `and sign as them: ${how}`;
    if (!config.allowBroadSecretsGrant) {
      throw invalidConfig(
        'provider.iam.role.statements',
        statement,
        `${why}. Grant secretsmanager:GetSecretValue on exact secret ARNs (…:secret:/${config.environment}/ledger/db-??????), ` +
          `or on a prefix outside nhi/ (…:secret:/${config.environment}/ledger/*), or give the function nhi.secrets; ` +
          `to deploy it anyway, set ${BROAD_SECRETS_OVERRIDE}: true`,
      );
    }
    warnings.push(
      `provider.iam.role.statements ${show(statement)}: ${why} (allowed by ${BROAD_SECRETS_OVERRIDE})`,
    );
  }
  if (broad !== undefined) {
    warnings.push(
      `the provider role grants Secrets Manager on "*" to every function (${show(broad)}): ` +
        'the per-function nhi grants cannot narrow that; remove it from provider.iam.role.statements',
    );
  }
  return warnings;
};

/**
 * The function's own role: a copy of the provider role Serverless generated (its trust policy,
 * path, managed policies, permissions boundary, tags and every statement: logs, event sources,
 * `provider.iam.role.statements`) without its fixed name, plus one inline policy reading exactly
 * the function's secrets and, if it signs with a secret-held key, its own signing key. A KMS grant
 * is a policy of its own ({@link kmsSignPolicy}): inline here, it would make the role depend on
 * the key, whose policy names the role.
 */
const functionRole = (sharedRole: CfnResource, fn: ResolvedFunction): CfnResource => {
  const role = structuredClone(sharedRole);
  const properties = role.Properties ?? {};
  delete properties.RoleName;
  const statements: Record<string, unknown>[] = [];
  if (fn.secrets.length > 0) {
    statements.push({
      Sid: 'NhiReadOwnSecrets',
      Effect: 'Allow',
      Action: [...SECRET_READ_ACTIONS],
      Resource: fn.secrets.map(secretArnPattern),
    });
  }
  if (fn.signingKey !== undefined) {
    statements.push({
      Sid: 'NhiReadOwnSigningKey',
      Effect: 'Allow',
      Action: [...SECRET_READ_ACTIONS],
      Resource: [secretArnPattern(fn.signingKey)],
    });
  }
  if (statements.length > 0) {
    properties.Policies = [
      ...asList(properties.Policies),
      { PolicyName: SECRETS_POLICY_NAME, PolicyDocument: { Version: '2012-10-17', Statement: statements } },
    ];
  }
  role.Properties = properties;
  return role;
};

/** `arn:<partition>:iam::<account>:root`: the account, through IAM. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not a template literal.
const ACCOUNT_ROOT = { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' };

/**
 * An identity's KMS signing key (DESIGN §3a) with the key policy of the CLI's
 * `nhi-dns keygen --kms`: the account administers the key and reads its public half but does not
 * sign; `kms:Sign` is denied to every principal but the signer roles, which alone are allowed it.
 * Non-exportable (`SIGN_VERIFY`, key material made by KMS), tagged `nhi:identity`, retained when
 * the stack is deleted (the record may still name it).
 *
 * The signers are matched on `aws:PrincipalArn`, not named as principals: KMS checks that every
 * principal of a key policy exists when the policy is written, and the function roles are created
 * in the same deployment, possibly not yet visible to KMS; a condition needs no lookup.
 */
const kmsKeyResource = (key: ResolvedKmsKey, signerRoleIds: readonly string[]): CfnResource => {
  const signers = signerRoleIds.map((roleId) => ({ 'Fn::GetAtt': [roleId, 'Arn'] }));
  return {
    Type: 'AWS::KMS::Key',
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      Description: `nhi-dns signing key of ${key.name}`,
      KeySpec: KMS_KEY_SPECS[key.keyType].keySpec,
      KeyUsage: 'SIGN_VERIFY',
      KeyPolicy: kmsKeyPolicy({ accountRoot: ACCOUNT_ROOT, signerRoles: signers }),
      Tags: [{ Key: KMS_IDENTITY_TAG, Value: key.name }],
    },
  };
};

// biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not a template literal.
const KMS_KEYS = { 'Fn::Sub': 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*' };

/** The condition that selects the KMS keys of one identity: its `nhi:identity` tag. */
const taggedWith = (name: string) => ({ StringEquals: { [`aws:ResourceTag/${KMS_IDENTITY_TAG}`]: name } });

/**
 * `kms:Sign`, `GetPublicKey` and `DescribeKey` for one function's role: on exactly one key, or, when
 * the identity's key rotates, on every key tagged with the identity (the next key does not exist
 * yet; only the rotation function may create a key with that tag, and each key's policy names its
 * signers).
 */
const kmsSignPolicy = (keyId: string, roleId: string, rotatedName?: string): CfnResource => ({
  Type: 'AWS::IAM::Policy',
  Properties: {
    PolicyName: KMS_SIGN_POLICY_NAME,
    PolicyDocument: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'NhiSignWithOwnKmsKey',
          Effect: 'Allow',
          Action: [...KMS_SIGNER_ACTIONS],
          ...(rotatedName === undefined
            ? { Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } }
            : { Resource: KMS_KEYS, Condition: taggedWith(rotatedName) }),
        },
      ],
    },
    Roles: [{ Ref: roleId }],
  },
});

/** Secrets Manager actions the rotation function needs on the one signing-key secret (core's). */
export { SECRET_ROTATION_ACTIONS };

/** Margin added to the rotation period before the key-age alarm fires: a late run is not yet an incident. */
export const KEY_AGE_MARGIN_DAYS = 2;

/**
 * The statements of a rotation function's role: its own log group, the identity's key (the secret,
 * or the KMS keys tagged with the identity and its alias) and the identity's TXT RRset only.
 */
const rotationStatements = (rotation: ResolvedRotation, functionName: string): Record<string, unknown>[] => {
  const zoneArn = {
    'Fn::Sub': [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders.
      'arn:${AWS::Partition}:route53:::hostedzone/${ZoneId}',
      { ZoneId: rotation.environment.NHI_HOSTED_ZONE_ID },
    ],
  };
  return [
    {
      Sid: 'OwnLogGroup',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: {
        'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${functionName}:*`,
      },
    },
    ...rotationRoleStatements(rotation.name, {
      zoneArn,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder.
      changeArn: { 'Fn::Sub': 'arn:${AWS::Partition}:route53:::change/*' },
      ...(rotation.custody === 'secret'
        ? { secretArn: secretArnPattern(rotation.keyName) }
        : {
            keysArn: KMS_KEYS,
            aliasArn: {
              'Fn::Sub': `arn:\${AWS::Partition}:kms:\${AWS::Region}:\${AWS::AccountId}:${rotation.keyName}`,
            },
          }),
    }),
  ];
};

/** The RotationFailure and SigningKeyAge alarms of one rotation function. */
const rotationAlarms = (
  rotation: ResolvedRotation,
  config: ResolvedConfig,
): Record<string, Record<string, unknown>> => {
  const common = {
    TreatMissingData: 'notBreaching',
    ...(config.alarms.actions.length > 0 ? { AlarmActions: [...config.alarms.actions] } : {}),
  };
  return {
    RotationFailureAlarm: {
      AlarmDescription: `A step of the signing-key rotation of ${rotation.name} failed (RotationFailure, any Step): the key stays as it was; see the function's logs.`,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      Metrics: [
        {
          Id: 'failures',
          Expression: `SELECT SUM(${METRIC.rotationFailure}) FROM SCHEMA(${METRICS_NAMESPACE}, Step, service) WHERE service = '${rotation.serviceName}'`,
          Period: 300,
          ReturnData: true,
        },
      ],
      ...common,
    },
    // A rotation that never runs emits nothing: the failure alarm and the schedule cover that.
    KeyAgeAlarm: {
      AlarmDescription: `The signing key of ${rotation.name} is older than its rotation period (${rotation.days} days) plus ${KEY_AGE_MARGIN_DAYS} days: rotation is not happening.`,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: (rotation.days + KEY_AGE_MARGIN_DAYS) * 86_400,
      EvaluationPeriods: 1,
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.signingKeyAge,
      Dimensions: [{ Name: 'service', Value: rotation.serviceName }],
      Statistic: 'Maximum',
      Period: 86_400,
      ...common,
    },
  };
};

/** `orders-worker` → `OrdersWorker`, as the CLI's renderer names a record. */
const pascal = (label: string): string =>
  label
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

const metricStat = (
  serviceName: string,
  metricName: string,
  dimension: { Name: string; Value: string },
  period: number,
) => ({
  Metric: {
    Namespace: METRICS_NAMESPACE,
    MetricName: metricName,
    Dimensions: [{ Name: 'service', Value: serviceName }, dimension],
  },
  Period: period,
  Stat: 'Sum',
});

/** The alarms of one `service` dimension (one or more functions that share it). */
const serviceAlarms = (
  config: ResolvedConfig,
  functions: readonly ResolvedFunction[],
): Record<string, Record<string, unknown>> => {
  const first = functions[0]!;
  const { alarms } = config;
  const who = `${[...new Set(functions.map((fn) => fn.name))].join(', ')} (service ${first.serviceName})`;
  const common = {
    TreatMissingData: 'notBreaching',
    ...(alarms.actions.length > 0 ? { AlarmActions: [...alarms.actions] } : {}),
  };
  // The queries the function sent: misses, and NXDOMAINs (what a flood of made-up callers
  // produces). Cache hits are DnsCacheHit and never reach DNS. As the SAM template and the CDK
  // construct.
  const outcome = (id: 'miss' | 'nxdomain') => ({
    Id: id,
    MetricStat: metricStat(
      first.serviceName,
      METRIC.dnsLookup,
      { Name: 'Outcome', Value: id },
      alarms.dnsMissPeriod,
    ),
    ReturnData: false,
  });
  const queries = () => [
    outcome('miss'),
    outcome('nxdomain'),
    {
      Id: 'queries',
      Expression: 'FILL(miss, 0) + FILL(nxdomain, 0)',
      Label: 'DNS queries (miss + nxdomain)',
      ReturnData: true,
    },
  ];
  const result: Record<string, Record<string, unknown>> = {
    // As examples/template.yaml: every Reason summed by a Metrics Insights query, which needs
    // no list of reasons and sees a reason added later.
    AuthFailureAlarm: {
      AlarmDescription: `Callers of ${who} are being denied (AuthFailure by Reason in namespace NHI).`,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: alarms.authFailureThreshold,
      EvaluationPeriods: 1,
      Metrics: [
        {
          Id: 'failures',
          Expression: `SELECT SUM(${METRIC.authFailure}) FROM SCHEMA(${METRICS_NAMESPACE}, Reason, service) WHERE service = '${first.serviceName}'`,
          Period: alarms.authFailurePeriod,
          ReturnData: true,
        },
      ],
      ...common,
    },
    DnsMissAnomalyAlarm: {
      AlarmDescription:
        `DNS lookups of ${who} that missed the cache rose above their anomaly band (DnsLookup, Outcome=miss or nxdomain): ` +
        'callers with made-up names, a cache flushed by cold starts, or a resolver problem.',
      ComparisonOperator: 'GreaterThanUpperThreshold',
      EvaluationPeriods: alarms.dnsMissEvaluationPeriods,
      DatapointsToAlarm: alarms.dnsMissEvaluationPeriods,
      ThresholdMetricId: 'band',
      Metrics: [
        ...queries(),
        {
          Id: 'band',
          Expression: `ANOMALY_DETECTION_BAND(queries, ${alarms.dnsMissStdDevs})`,
          Label: 'DNS misses, expected band',
          ReturnData: true,
        },
      ],
      ...common,
    },
    // The anomaly model needs about two weeks of data before its band means anything, and a slow
    // climb moves the band along: the ceiling catches both.
    DnsMissCeilingAlarm: {
      AlarmDescription: `DNS lookups of ${who} that missed the cache exceed the static ceiling (DnsLookup, Outcome=miss or nxdomain).`,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: alarms.dnsMissCeiling,
      EvaluationPeriods: 1,
      Metrics: queries(),
      ...common,
    },
  };
  if (functions.some((fn) => fn.selfCheck)) {
    const selfMismatch = metricStat(
      first.serviceName,
      METRIC.authFailure,
      { Name: 'Reason', Value: 'self_mismatch' },
      60,
    );
    result.SelfCheckAlarm = {
      AlarmDescription:
        `${who} refuses to serve: its own record fails its self check (AuthFailure, Reason=self_mismatch). ` +
        'Expected after a revocation (the kill switch); otherwise check the record with nhi-dns check.',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      Namespace: selfMismatch.Metric.Namespace,
      MetricName: selfMismatch.Metric.MetricName,
      Dimensions: selfMismatch.Metric.Dimensions,
      Statistic: 'Sum',
      Period: 60,
      ...common,
    };
  }
  return result;
};

/** What `Fn::Sub` replaces with the stack's region. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder, not a template literal.
const REGION_PLACEHOLDER = '${AWS::Region}';

/** A metric widget of the dashboard (`region` filled in by `Fn::Sub`). */
const widget = (
  position: { x: number; y: number },
  title: string,
  stat: string,
  period: number,
  metrics: unknown[],
) => ({
  type: 'metric',
  ...position,
  width: 12,
  height: 6,
  properties: { title, region: REGION_PLACEHOLDER, stat, period, metrics },
});

/**
 * The dashboard of every protected `service` dimension of the stack, the SAM template's widgets:
 * Metrics Insights queries, so a new reason, outcome or error code shows without a change here.
 */
const dashboardResource = (config: ResolvedConfig): CfnResource => {
  const services = [...new Set(config.functions.map((fn) => fn.serviceName))];
  const where = `WHERE ${services.map((name) => `service = '${name}'`).join(' OR ')}`;
  const query = (metric: string, dimensions: string, groupBy: string) => ({
    expression: `SELECT SUM(${metric}) FROM SCHEMA(${METRICS_NAMESPACE}, ${dimensions}) ${where} GROUP BY ${groupBy}`,
    label: metric,
  });
  const widgets = [
    widget({ x: 0, y: 0 }, 'Accepted callers', 'Sum', 60, [
      [query(METRIC.authSuccess, 'service', 'service')],
    ]),
    widget({ x: 12, y: 0 }, 'Refused callers by reason', 'Sum', 60, [
      [query(METRIC.authFailure, 'Reason, service', 'Reason')],
    ]),
    widget({ x: 0, y: 6 }, 'DNS lookups by outcome (queries sent) and cache hits', 'Sum', 300, [
      [query(METRIC.dnsLookup, 'Outcome, service', 'Outcome')],
      [query(METRIC.dnsCacheHit, 'service', 'service')],
    ]),
    widget(
      { x: 12, y: 6 },
      'DNS lookup latency p99',
      'p99',
      300,
      services.map((name) => [METRICS_NAMESPACE, METRIC.dnsLookupLatency, 'service', name]),
    ),
    widget({ x: 0, y: 12 }, 'Secret fetch errors by code', 'Sum', 300, [
      [query(METRIC.secretFetchError, 'Code, service', 'Code')],
    ]),
  ];
  return {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: { DashboardBody: { 'Fn::Sub': JSON.stringify({ widgets }) } },
  };
};

/**
 * The rotation of one identity's key, around the function the plugin added to serverless.yml
 * (`initialize`), which Serverless compiled as any other: a role of its own instead of the shared
 * one (see {@link rotationStatements}); for a secret-held key, the invoke permission of
 * `secretsmanager.amazonaws.com` (that secret, this account) and the `AWS::SecretsManager::RotationSchedule`,
 * which depends on it (Secrets Manager checks that it may invoke the function as the schedule is
 * written); for a KMS-held key, a daily `AWS::Scheduler::Schedule` with the input of
 * `kmsRotationHandler` and a role that may only invoke that function; and the two alarms.
 */
const compileRotation = (
  template: CfnTemplate,
  config: ResolvedConfig,
  naming: AwsNaming,
  rotation: ResolvedRotation,
  report: CompileReport,
): void => {
  const functionId = naming.getLambdaLogicalId(rotation.functionKey);
  const functionResource = template.Resources[functionId];
  if (functionResource === undefined) {
    throw new Error(
      `serverless-nhi-dns: the template has no ${functionId} for the rotation of ${rotation.identity}`,
    );
  }
  const prefix = `${naming.getNormalizedFunctionName(rotation.functionKey)}Nhi`;
  const roleId = `${prefix}Role`;
  addResource(template, roleId, {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
        ],
      },
      Policies: [
        {
          PolicyName: 'nhi-dns-rotation',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: rotationStatements(rotation, String(functionResource.Properties?.FunctionName)),
          },
        },
      ],
    },
  });
  functionResource.Properties = { ...functionResource.Properties, Role: { 'Fn::GetAtt': [roleId, 'Arn'] } };
  const sharedRoleId = naming.getRoleLogicalId();
  if (functionResource.DependsOn !== undefined) {
    functionResource.DependsOn = asList(functionResource.DependsOn).filter(
      (id) => id !== sharedRoleId,
    ) as string[];
  }
  const functionArn = { 'Fn::GetAtt': [functionId, 'Arn'] };
  const scheduleId = `${prefix}Schedule`;
  if (rotation.custody === 'secret') {
    const permissionId = `${prefix}SecretsManagerPermission`;
    addResource(template, permissionId, {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: functionArn,
        Principal: 'secretsmanager.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
        SourceArn: secretArnPattern(rotation.keyName),
      },
    });
    addResource(template, scheduleId, {
      Type: 'AWS::SecretsManager::RotationSchedule',
      DependsOn: [permissionId],
      Properties: {
        // The name: the secret is nhi-dns keygen's, not this stack's, so its ARN suffix is unknown.
        SecretId: rotation.keyName,
        RotationLambdaARN: functionArn,
        RotationRules: { AutomaticallyAfterDays: rotation.days },
        // A deployment changes no key: the first rotation comes `days` after the last one.
        RotateImmediatelyOnUpdate: false,
      },
    });
  } else {
    const key = config.kmsKeys.find((candidate) => candidate.identity === rotation.identity)!;
    const signers = key.functions.map((functionKey) => report.roles[functionKey]!);
    const roleArns = Object.fromEntries(
      signers.map((id, index) => [`Signer${index}`, { 'Fn::GetAtt': [id, 'Arn'] }]),
    );
    const input = JSON.stringify({
      service: rotation.identity,
      environment: config.environment,
      signerRoles: signers.map((_, index) => `\${Signer${index}}`),
      rotationDays: rotation.days,
    });
    const schedulerRoleId = `${prefix}ScheduleRole`;
    addResource(template, schedulerRoleId, {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: ['scheduler.amazonaws.com'] },
              Action: ['sts:AssumeRole'],
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'nhi-dns-rotation-schedule',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'InvokeRotationOnly',
                  Effect: 'Allow',
                  Action: ['lambda:InvokeFunction'],
                  Resource: functionArn,
                },
              ],
            },
          },
        ],
      },
    });
    addResource(template, scheduleId, {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        Description: `nhi-dns: checks daily whether the KMS signing key of ${rotation.name} is due for rotation, starts or finishes it`,
        ScheduleExpression: 'rate(1 day)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: functionArn,
          RoleArn: { 'Fn::GetAtt': [schedulerRoleId, 'Arn'] },
          Input: { 'Fn::Sub': [input, roleArns] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        },
      },
    });
  }
  for (const [suffix, properties] of Object.entries(rotationAlarms(rotation, config))) {
    const logicalId = `${prefix}${suffix}`;
    addResource(template, logicalId, { Type: 'AWS::CloudWatch::Alarm', Properties: properties });
    report.alarms.push(logicalId);
  }
  report.rotations[rotation.identity] = functionId;
};

/**
 * Adds what the nhi settings ask for to the compiled template, after Serverless compiled the
 * functions and their events (`before:package:finalize`):
 *
 * - `recordOwner: 'stack'`: one `AWS::Route53::RecordSet` per identity (`nhi-dns render`'s);
 *   a self-checking function depends on its record.
 * - Each function with `secrets` or `sign`: its own `AWS::IAM::Role` (see {@link functionRole}),
 *   so that no other function of the service can read its secrets or sign as it.
 * - `sign: kms`: per identity an `AWS::KMS::Key` (see {@link kmsKeyResource}) and its
 *   `AWS::KMS::Alias`, and per signing function an `AWS::IAM::Policy` on its role granting
 *   `kms:Sign`, `GetPublicKey` and `DescribeKey` on that key only.
 * - `rotation`: per identity, the rotation function's role, schedule and alarms ({@link compileRotation}).
 * - Per `service` dimension: the AuthFailure alarm, the DNS miss anomaly and ceiling alarms, and
 *   with `selfCheck` the self_mismatch alarm.
 *
 * @throws {NhiError} `invalid_config` when the shared role lets its functions read other
 *   workloads' signing keys (see {@link BROAD_SECRETS_OVERRIDE}), when a function that needs
 *   grants runs under a role the plugin did not generate (`functions.<fn>.role`,
 *   `provider.iam.role` as an ARN), or when a logical id is taken.
 */
export const compileNhi = (
  template: CfnTemplate,
  config: ResolvedConfig,
  naming: AwsNaming,
): CompileReport => {
  const report: CompileReport = {
    records: [],
    kmsKeys: {},
    roles: {},
    alarms: [],
    outputs: [],
    warnings: [],
    rotations: {},
  };
  const rotatedKmsKeys = new Set(
    config.rotations.filter((rotation) => rotation.custody === 'kms').map((rotation) => rotation.name),
  );
  const recordIds = new Map<string, string>();
  for (const record of config.records) {
    const { logicalId, resource } = recordResource(config, record);
    addResource(template, logicalId, resource);
    recordIds.set(record.identity, logicalId);
    report.records.push(logicalId);
  }

  const sharedRoleId = naming.getRoleLogicalId();
  const sharedRole = template.Resources[sharedRoleId];
  if (sharedRole !== undefined) report.warnings.push(...checkSharedRole(sharedRole, config));
  for (const fn of config.functions) {
    const functionId = naming.getLambdaLogicalId(fn.key);
    const functionResource = template.Resources[functionId];
    if (functionResource === undefined) {
      throw new Error(`serverless-nhi-dns: the template has no ${functionId} for function ${fn.key}`);
    }
    const recordId = recordIds.get(fn.identity);
    if (fn.selfCheck && recordId !== undefined) addDependency(functionResource, recordId);

    if (fn.secrets.length === 0 && fn.signingKey === undefined && fn.kmsKey === undefined) continue;
    const role = functionResource.Properties?.Role;
    if (sharedRole === undefined || !isGetAttArnOf(role, sharedRoleId)) {
      throw invalidConfig(
        `functions.${fn.key}.role`,
        role,
        'nhi.secrets and nhi.sign are granted on a role the plugin generates for the function from the provider role; ' +
          'with a role of your own (functions.<fn>.role, provider.iam.role as a name or ARN) grant secretsmanager:GetSecretValue ' +
          'and DescribeSecret on the secrets there (kms:Sign on a KMS key of your own) and drop nhi.secrets/nhi.sign',
      );
    }
    const roleId = `${naming.getNormalizedFunctionName(fn.key)}NhiRole`;
    addResource(template, roleId, functionRole(sharedRole, fn));
    functionResource.Properties = { ...functionResource.Properties, Role: { 'Fn::GetAtt': [roleId, 'Arn'] } };
    // The Fn::GetAtt orders the function after its role; a DependsOn on the shared role is moot.
    if (functionResource.DependsOn !== undefined) {
      functionResource.DependsOn = asList(functionResource.DependsOn).filter(
        (id) => id !== sharedRoleId,
      ) as string[];
    }
    report.roles[fn.key] = roleId;
  }

  // Each KMS key after the roles, whose ARNs its policy names. Every function that signs with one
  // has a role of its own: on the shared role, every function of the service could sign.
  for (const key of config.kmsKeys) {
    const suffix = `${pascal(key.identity)}${pascal(config.environment)}`;
    const keyId = `NhiSigningKey${suffix}`;
    const aliasId = `NhiSigningKeyAlias${suffix}`;
    const signers = key.functions.map((functionKey) => report.roles[functionKey]!);
    addResource(template, keyId, kmsKeyResource(key, signers));
    addResource(template, aliasId, {
      Type: 'AWS::KMS::Alias',
      Properties: { AliasName: key.alias, TargetKeyId: { Ref: keyId } },
    });
    for (const functionKey of key.functions) {
      const policyId = `${naming.getNormalizedFunctionName(functionKey)}NhiKmsSignPolicy`;
      addResource(
        template,
        policyId,
        kmsSignPolicy(keyId, report.roles[functionKey]!, rotatedKmsKeys.has(key.name) ? key.name : undefined),
      );
      // NHI_KMS_KEY_ID names the alias as a literal, which orders nothing: the function waits for
      // the alias and for its grant, as it waits for its role.
      const functionResource = template.Resources[naming.getLambdaLogicalId(functionKey)]!;
      addDependency(functionResource, policyId);
      addDependency(functionResource, aliasId);
    }
    report.kmsKeys[key.identity] = keyId;
  }

  for (const rotation of config.rotations) compileRotation(template, config, naming, rotation, report);

  // One output per identity, saying who owns its record: the stack documents the rule itself.
  const identities = new Map<string, ResolvedFunction>();
  for (const fn of config.functions) if (!identities.has(fn.identity)) identities.set(fn.identity, fn);
  const outputs = (template.Outputs ?? {}) as Record<string, unknown>;
  for (const fn of identities.values()) {
    const logicalId = `${naming.getNormalizedFunctionName(fn.key)}NhiIdentityName`;
    if (Object.hasOwn(outputs, logicalId)) {
      throw invalidConfig(
        'resources.Outputs',
        logicalId,
        'serverless-nhi-dns adds an output under this logical id',
      );
    }
    const recordId = recordIds.get(fn.identity);
    outputs[logicalId] = {
      Description:
        recordId === undefined
          ? `Identity name of ${fn.identity}; its TXT record is owned by the nhi-dns CLI (keygen, publish, rotate, revoke), not by this stack.`
          : `Identity name of ${fn.identity}; its TXT record is ${recordId} of this stack: change it here, never with nhi-dns publish, rotate or revoke.`,
      Value: fn.name,
    };
    report.outputs.push(logicalId);
  }
  template.Outputs = outputs;

  const byService = new Map<string, ResolvedFunction[]>();
  for (const fn of config.functions)
    byService.set(fn.serviceName, [...(byService.get(fn.serviceName) ?? []), fn]);
  for (const functions of byService.values()) {
    const prefix = `${naming.getNormalizedFunctionName(functions[0]!.key)}Nhi`;
    for (const [suffix, properties] of Object.entries(serviceAlarms(config, functions))) {
      const logicalId = `${prefix}${suffix}`;
      addResource(template, logicalId, { Type: 'AWS::CloudWatch::Alarm', Properties: properties });
      report.alarms.push(logicalId);
    }
  }
  if (config.dashboard) {
    addResource(template, DASHBOARD_ID, dashboardResource(config));
    report.dashboard = DASHBOARD_ID;
  }
  return report;
};
