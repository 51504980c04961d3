import { createRequire } from 'node:module';
import {
  METRIC,
  METRICS_NAMESPACE,
  type RotationRoleResources,
  rotationRoleStatements,
  SECRET_ROTATION_ACTIONS,
} from '@nhi-dns/core';
import { ArnFormat, Duration, Lazy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { FunctionOptions } from 'aws-cdk-lib/aws-lambda';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as scheduling from 'aws-cdk-lib/aws-scheduler';
import * as secretsManager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { NhiKmsSigningKey } from './kms-signing-key.js';
import { NhiServiceMetrics } from './metrics.js';
import { checkDnsServers, invalidConfig } from './names.js';

/** Export of `@nhi-dns/rotation` that Secrets Manager invokes for a secret-held key. */
export const SECRET_ROTATION_HANDLER = 'secretsManagerRotationHandler';
/** Export of `@nhi-dns/rotation` that the daily schedule invokes for a KMS-held key. */
export const KMS_ROTATION_HANDLER = 'kmsRotationHandler';

/**
 * Timeout of the rotation function: Lambda's longest. A step waits for Route 53's `INSYNC` and
 * for resolver caches (the RRset's TTL + 5 s); a wait longer than this fails the step, and
 * Secrets Manager or the next daily run picks it up again.
 */
export const ROTATION_TIMEOUT = Duration.seconds(900);

/** Margin added to the rotation period before the key-age alarm fires: a late run is not yet an incident. */
export const DEFAULT_KEY_AGE_MARGIN = Duration.days(2);

/** Secrets Manager actions the rotation function needs on the one signing-key secret (core's). */
export { SECRET_ROTATION_ACTIONS };

/** Rotation settings of an {@link NhiIdentity} beside its `rotation` period. */
export interface NhiRotationOptions {
  /**
   * Code of the rotation function: a bundle that exports `secretsManagerRotationHandler` and
   * `kmsRotationHandler` from `@nhi-dns/rotation` at `index.js` (or `index.mjs`).
   * @default - `@nhi-dns/rotation` as installed next to this package, bundled by a `NodejsFunction`
   *   (ES module, `@aws-sdk/*` left to the runtime): install `@nhi-dns/rotation` and `esbuild`
   */
  readonly code?: lambda.Code;
  /**
   * DNS servers the rotation function checks propagation against (`NHI_DNS_SERVERS`).
   * @default - the servers of /etc/resolv.conf (on Lambda, the VPC's resolver)
   */
  readonly dnsServers?: readonly string[];
  /**
   * Longest `witLifetime` of the identity's signers, seconds (KMS-held keys: how long the old key
   * stays published after the alias moved, with the verifiers' clock skew).
   * @default 3600 (identity-sign's)
   */
  readonly maxWitLifetime?: number;
  /**
   * How much older than the period the current key may get before the key-age alarm fires.
   * @default Duration.days(2)
   */
  readonly keyAgeMargin?: Duration;
  /**
   * Actions of both rotation alarms (e.g. `new SnsAction(topic)`).
   * @default - no actions
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /**
   * Properties of the rotation function beyond code, handler, runtime and timeout, e.g. `vpc`:
   * inside a VPC it needs a route to Secrets Manager, KMS and Route 53 (a NAT gateway, or
   * interface endpoints for Secrets Manager and KMS; the Route 53 API has no VPC endpoint in most
   * regions, so a NAT gateway) and to DNS.
   * @default - no VPC, 256 MB
   */
  readonly functionProps?: Omit<FunctionOptions, 'timeout' | 'environment'>;
}

/** Properties of {@link NhiRotation}. */
export interface NhiRotationProps extends NhiRotationOptions {
  /** The identity name. */
  readonly name: string;
  /** Zone of the identity. */
  readonly zone: string;
  /** Service label. */
  readonly service: string;
  /** Environment label. */
  readonly environment: string;
  /** Bare id of the hosted zone that holds the record (a literal or a token). */
  readonly hostedZoneId: string;
  /** The rotation period: whole days, 1..1000. */
  readonly period: Duration;
  /** `/<environment>/nhi/<service>/signing-key` for a secret-held key. */
  readonly secretName: string;
  /** The KMS key, for a KMS-held key; the secret is rotated otherwise. */
  readonly kmsSigningKey?: NhiKmsSigningKey;
}

/**
 * The automatic rotation of one identity's signing key (DESIGN §4.6), run by the handlers of
 * `@nhi-dns/rotation`, which drive the CLI's rotation engine (the same steps as `nhi-dns rotate`).
 * {@link NhiIdentity} creates it when given `rotation`.
 *
 * A secret-held key: a function running `secretsManagerRotationHandler`, the invoke permission of
 * `secretsmanager.amazonaws.com` (for that secret, from this account), and an
 * `AWS::SecretsManager::RotationSchedule` every `period` that depends on the permission (without
 * it, Secrets Manager may try the function before it may invoke it, and the deployment fails). The
 * secret is the one `nhi-dns keygen` made: it must exist before the deployment.
 *
 * A KMS-held key: a function running `kmsRotationHandler` and an `AWS::Scheduler::Schedule` that
 * invokes it daily (`rate(1 day)`) with `{ service, environment, signerRoles, rotationDays,
 * maxWitLifetime }`; each run starts a rotation when the key is `period` old and finishes one
 * whose overlap has passed.
 *
 * The function's role reaches that secret (or the keys tagged `nhi:identity` = the name, and the
 * alias) and the record's hosted zone, nothing else. Two alarms: `RotationFailure` ≥ 1 (any step),
 * and `SigningKeyAge` above `period` + `keyAgeMargin`.
 */
export class NhiRotation extends Construct {
  /** The rotation function. */
  readonly function: lambda.Function;
  /** The `service` dimension of its metrics (`POWERTOOLS_SERVICE_NAME`): `nhi-rotation.<service>.<environment>`. */
  readonly serviceName: string;
  /** The Secrets Manager schedule, for a secret-held key. */
  readonly rotationSchedule?: secretsManager.CfnRotationSchedule;
  /** The daily EventBridge Scheduler schedule, for a KMS-held key. */
  readonly schedule?: scheduling.CfnSchedule;
  /** Any failed rotation step. */
  readonly failureAlarm: cloudwatch.Alarm;
  /** The current key is older than the period plus the margin. */
  readonly keyAgeAlarm: cloudwatch.Alarm;

  /**
   * @param scope - parent construct (the identity).
   * @param id - construct id.
   * @param props - the identity, its zone and its key.
   * @throws {NhiError} `invalid_config` for a period that is no whole number of days in 1..1000,
   *   bad `dnsServers` or `maxWitLifetime`, or a missing `@nhi-dns/rotation` without `code`.
   */
  constructor(scope: Construct, id: string, props: NhiRotationProps) {
    super(scope, id);
    const days = rotationDays(props.period);
    const kms = props.kmsSigningKey;
    const stack = Stack.of(this);
    this.serviceName = `nhi-rotation.${props.service}.${props.environment}`;
    const environment: Record<string, string> = {
      NHI_ZONE: props.zone,
      NHI_HOSTED_ZONE_ID: props.hostedZoneId,
      POWERTOOLS_SERVICE_NAME: this.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    if (props.dnsServers !== undefined)
      environment.NHI_DNS_SERVERS = checkDnsServers(props.dnsServers).join(',');
    this.function = rotationFunction(
      this,
      kms === undefined ? SECRET_ROTATION_HANDLER : KMS_ROTATION_HANDLER,
      {
        ...props.functionProps,
        ...(props.code === undefined ? {} : { code: props.code }),
        environment,
      },
    );
    // aws-cdk-lib writes DependsOn on the role beside the Fn::GetAtt of it on every function it
    // makes (cfn-lint W3005); acknowledged on this resource only, since no option removes it.
    (this.function.node.defaultChild as lambda.CfnFunction).addMetadata('cfn-lint', {
      config: { ignore_checks: ['W3005'] },
    });

    if (kms === undefined) {
      const secretArn = stack.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${props.secretName}-??????`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      this.#grant(props, { secretArn });
      // Only Secrets Manager, only for this secret, only from this account (confused deputy).
      const permission = new lambda.CfnPermission(this, 'SecretsManagerInvoke', {
        action: 'lambda:InvokeFunction',
        functionName: this.function.functionArn,
        principal: 'secretsmanager.amazonaws.com',
        sourceAccount: stack.account,
        sourceArn: secretArn,
      });
      this.rotationSchedule = new secretsManager.CfnRotationSchedule(this, 'Schedule', {
        // The name: the secret is nhi-dns keygen's, not this stack's, so its ARN suffix is unknown.
        secretId: props.secretName,
        rotationLambdaArn: this.function.functionArn,
        rotationRules: { automaticallyAfterDays: days },
        // A deployment changes no key: the first rotation comes `period` after the last one.
        rotateImmediatelyOnUpdate: false,
      });
      // Secrets Manager invokes the function as the schedule is created: the permission first.
      this.rotationSchedule.addResourceDependency(permission);
    } else {
      this.#grant(props, {
        keysArn: stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' }),
        aliasArn: stack.formatArn({
          service: 'kms',
          resource: 'alias',
          resourceName: kms.aliasName.replace(/^alias\//, ''),
        }),
      });
      const maxWitLifetime = props.maxWitLifetime;
      if (
        maxWitLifetime !== undefined &&
        (!Number.isInteger(maxWitLifetime) || maxWitLifetime < 1 || maxWitLifetime > 86_400)
      ) {
        throw invalidConfig(
          'rotationOptions.maxWitLifetime',
          maxWitLifetime,
          'whole seconds within 1..86400',
        );
      }
      const role = new iam.Role(this, 'ScheduleRole', {
        assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      });
      this.function.grantInvoke(role);
      this.schedule = new scheduling.CfnSchedule(this, 'Schedule', {
        description: `nhi-dns: checks daily whether the KMS signing key of ${props.name} is due for rotation, starts or finishes it`,
        scheduleExpression: 'rate(1 day)',
        flexibleTimeWindow: { mode: 'OFF' },
        target: {
          arn: this.function.functionArn,
          roleArn: role.roleArn,
          // Read at synthesis, once every grantSign added its role to the key's signers.
          input: Lazy.string({
            produce: () =>
              stack.toJsonString({
                service: props.service,
                environment: props.environment,
                signerRoles: kms.signerRoleArns,
                rotationDays: days,
                ...(maxWitLifetime === undefined ? {} : { maxWitLifetime }),
              }),
          }),
          retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 },
        },
      });
      // Its invoke grant (the role's default policy) must exist before the first run; the role
      // itself is ordered by the Fn::GetAtt.
      const invokeGrant = role.node.tryFindChild('DefaultPolicy');
      if (invokeGrant !== undefined) this.schedule.node.addDependency(invokeGrant);
      this.node.addValidation({
        validate: () =>
          kms.signerRoleArns.length === 0
            ? [
                `@nhi-dns/cdk: the rotation of ${props.name} gives each new KMS key the signers of the current one, and there are none: call grantSign on the signing function`,
              ]
            : [],
      });
    }

    const metrics = new NhiServiceMetrics(this.serviceName);
    const actions = props.alarmActions ?? [];
    const margin = props.keyAgeMargin ?? DEFAULT_KEY_AGE_MARGIN;
    this.failureAlarm = new cloudwatch.Alarm(this, 'FailureAlarm', {
      alarmDescription: `A step of the signing-key rotation of ${props.name} failed (RotationFailure, any Step): the key stays as it was; see the function's logs.`,
      metric: new cloudwatch.MathExpression({
        expression: `SELECT SUM(${METRIC.rotationFailure}) FROM SCHEMA(${METRICS_NAMESPACE}, Step, service) WHERE service = '${this.serviceName}'`,
        usingMetrics: {},
        period: Duration.minutes(5),
        label: `${METRIC.rotationFailure} (all steps)`,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.keyAgeAlarm = new cloudwatch.Alarm(this, 'KeyAgeAlarm', {
      alarmDescription: `The signing key of ${props.name} is older than its rotation period (${days} days) plus ${margin.toDays()} days: rotation is not happening.`,
      metric: metrics.metric(METRIC.signingKeyAge, {
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.days(1),
      }),
      threshold: Duration.days(days).toSeconds() + margin.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (actions.length > 0) {
      this.failureAlarm.addAlarmAction(...actions);
      this.keyAgeAlarm.addAlarmAction(...actions);
    }
  }

  /**
   * The role's statements (core's `rotationRoleStatements`, as the Serverless plugin grants them):
   * read the zone, change only the identity's TXT RRset, wait for INSYNC, and the identity's key
   * only (the one secret, or the KMS keys tagged with the identity and its alias).
   */
  #grant(
    props: NhiRotationProps,
    key: Pick<RotationRoleResources, 'secretArn' | 'keysArn' | 'aliasArn'>,
  ): void {
    const partition = Stack.of(this).partition;
    const statements = rotationRoleStatements(props.name, {
      zoneArn: `arn:${partition}:route53:::hostedzone/${props.hostedZoneId}`,
      changeArn: `arn:${partition}:route53:::change/*`,
      ...key,
    });
    for (const statement of statements)
      this.function.addToRolePolicy(iam.PolicyStatement.fromJson(statement));
  }
}

/** The period in whole days, as Secrets Manager's `AutomaticallyAfterDays` takes it. */
const rotationDays = (period: Duration): number => {
  const days = period.toDays({ integral: false });
  if (!Number.isInteger(days) || days < 1 || days > 1000) {
    throw invalidConfig(
      'rotation',
      period.toHumanString(),
      'a whole number of days within 1..1000, e.g. Duration.days(90)',
    );
  }
  return days;
};

/** The function, from `code` or from the installed `@nhi-dns/rotation`. */
const rotationFunction = (
  scope: Construct,
  handler: string,
  props: Omit<FunctionOptions, 'timeout'> & {
    code?: lambda.Code;
    environment: Record<string, string>;
  },
): lambda.Function => {
  const { code, ...options } = props;
  const common = {
    runtime: lambda.Runtime.NODEJS_22_X,
    memorySize: 256,
    ...options,
    timeout: ROTATION_TIMEOUT,
  };
  if (code !== undefined) {
    return new lambda.Function(scope, 'Function', { ...common, code, handler: `index.${handler}` });
  }
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('@nhi-dns/rotation');
  } catch (error) {
    throw invalidConfig(
      'rotationOptions.code',
      undefined,
      `@nhi-dns/rotation is not installed (${(error as Error).message.split('\n')[0]}): npm install @nhi-dns/rotation, or give code`,
    );
  }
  return new NodejsFunction(scope, 'Function', {
    ...common,
    entry,
    handler,
    bundling: { format: OutputFormat.ESM, target: 'node22', minify: true, externalModules: ['@aws-sdk/*'] },
  });
};
