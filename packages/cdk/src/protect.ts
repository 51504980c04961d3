import { canonicalName, compileAllowList, METRIC, METRICS_NAMESPACE, parseZone } from '@nhi-dns/core';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { NhiIdentity } from './identity.js';
import { NhiServiceMetrics } from './metrics.js';
import { checkDnsServers, invalidConfig, literal } from './names.js';
import { guardSigningKeys } from './signing-key-guard.js';

/** Construct id under which {@link nhiProtect} puts its {@link NhiProtection} in the function. */
export const PROTECTION_ID = 'NhiProtection';

/** Thresholds and actions of the alarms {@link NhiProtection} creates. */
export interface NhiAlarmOptions {
  /**
   * Actions of every alarm (e.g. `new SnsAction(topic)`), on ALARM.
   * @default - no actions
   */
  readonly actions?: readonly cloudwatch.IAlarmAction[];
  /**
   * Denials (`AuthFailure`, all reasons) per `authFailurePeriod` that raise the AuthFailure alarm.
   * @default 5
   */
  readonly authFailureThreshold?: number;
  /**
   * Period of the AuthFailure alarm (one evaluation period).
   * @default Duration.minutes(1)
   */
  readonly authFailurePeriod?: Duration;
  /**
   * Width of the anomaly band on DNS misses, in standard deviations.
   * @default 2
   */
  readonly dnsMissStdDevs?: number;
  /**
   * Period of both DNS miss alarms.
   * @default Duration.minutes(5)
   */
  readonly dnsMissPeriod?: Duration;
  /**
   * Consecutive periods above the band before the DNS spike alarm fires.
   * @default 3
   */
  readonly dnsMissEvaluationPeriods?: number;
  /**
   * Static ceiling: DNS misses per `dnsMissPeriod` that raise the ceiling alarm whatever the
   * anomaly model says (it needs about two weeks of data before its band is meaningful, and a
   * slow climb moves the band with it).
   * @default 1000
   */
  readonly dnsMissCeiling?: number;
}

/** Options of {@link nhiProtect}. */
export interface NhiProtectOptions {
  /** The function's own identity: `NHI_SELF`, `NHI_ENVIRONMENT`, the secrets namespace. */
  readonly identity: NhiIdentity;
  /**
   * Who may call the function: identities or patterns (`billing.prod.<zone>`, `*.prod.<zone>`,
   * `billing.*.<zone>`), checked at synthesis with identity-verify's own rules and passed as
   * `NHI_ALLOW` (comma-separated) for the handler to give to `identityVerify({ allow })`.
   * @default - `NHI_ALLOW` is not set (a self-check or signing-only function)
   */
  readonly allow?: readonly (string | NhiIdentity)[];
  /**
   * The function checks its own record (identity-verify self mode, the kill switch). Adds an
   * alarm on `AuthFailure` with `Reason=self_mismatch` (the function refuses to serve) and, when
   * this stack owns the identity's record, makes the function depend on it.
   * @default false
   */
  readonly selfCheck?: boolean;
  /**
   * Secrets the function reads, relative to `/<environment>/` (`ledger/db`), as given to
   * secrets-inject: granted with {@link NhiIdentity.grantSecrets}.
   * @default - none granted
   */
  readonly secrets?: readonly string[];
  /**
   * Zone the function accepts callers from (`NHI_ZONE`, identity-resolve's `zone`).
   * @default - the identity's zone
   */
  readonly zone?: string;
  /**
   * DNS servers (`10.0.0.2`, `127.0.0.1:5353`), passed as `NHI_DNS_SERVERS`, which
   * identity-resolve's default resolver reads.
   * @default - the servers of /etc/resolv.conf (on Lambda, the VPC's resolver)
   */
  readonly dnsServers?: readonly string[];
  /**
   * Powertools service name, set as `POWERTOOLS_SERVICE_NAME`: the `service` dimension the
   * alarms and the dashboard select on.
   * @default - the identity's service label
   */
  readonly serviceName?: string;
  /**
   * Alarm thresholds and actions.
   * @default - the defaults of {@link NhiAlarmOptions}
   */
  readonly alarms?: NhiAlarmOptions;
  /**
   * A CloudWatch dashboard of the function's identity metrics: `true` creates one, a `Dashboard`
   * gets the widgets added (one dashboard for many functions).
   * @default false
   */
  readonly dashboard?: boolean | cloudwatch.Dashboard;
}

/** Properties of {@link NhiProtection}: the options and the function. */
export interface NhiProtectionProps extends NhiProtectOptions {
  /** The function to protect (any `lambda.Function`, e.g. a `NodejsFunction`). */
  readonly function: lambda.Function;
}

/**
 * What {@link nhiProtect} adds to a function: its environment, grants, alarms and, optionally,
 * a dashboard. Created by {@link nhiProtect}, which places it inside the function.
 *
 * Resources: three `AWS::CloudWatch::Alarm` (AuthFailure, DNS miss anomaly, DNS miss ceiling),
 * a fourth with `selfCheck` (self_mismatch), an `AWS::CloudWatch::Dashboard` with `dashboard:
 * true`; statements on the function's role for its secrets.
 *
 * At synthesis it warns (`@nhi-dns/cdk:signingKeyGrant`) on each statement attached to the
 * function's role that lets it read another workload's signing key, e.g.
 * `secretsmanager:GetSecretValue` on `arn:…:secret:/prod/*`: the function could sign as that
 * workload.
 */
export class NhiProtection extends Construct {
  /** The protected function. */
  readonly function: lambda.Function;
  /** The function's identity. */
  readonly identity: NhiIdentity;
  /** The `service` dimension the alarms and widgets select on. */
  readonly serviceName: string;
  /** The environment variables set on the function. */
  readonly environment: Readonly<Record<string, string>>;
  /** The metrics of the function's service. */
  readonly metrics: NhiServiceMetrics;
  /** Denials above the threshold (namespace NHI, `AuthFailure` summed over `Reason`). */
  readonly authFailureAlarm: cloudwatch.Alarm;
  /** DNS misses above the anomaly band (`ANOMALY_DETECTION_BAND`, `GreaterThanUpperThreshold`). */
  readonly dnsMissAnomalyAlarm: cloudwatch.Alarm;
  /** DNS misses above the static ceiling. */
  readonly dnsMissCeilingAlarm: cloudwatch.Alarm;
  /** The function refuses to serve because its own record fails its check; with `selfCheck`. */
  readonly selfCheckAlarm?: cloudwatch.Alarm;
  /** The dashboard the widgets went to, with `dashboard`. */
  readonly dashboard?: cloudwatch.Dashboard;
  /** The grant of the function's secrets, with `secrets`. */
  readonly secretsGrant?: iam.Grant;

  /**
   * @param scope - parent construct ({@link nhiProtect} uses the function).
   * @param id - construct id.
   * @param props - the function and its options.
   * @throws {NhiError} `invalid_config` naming the option, for anything identity-verify,
   *   identity-resolve or secrets-inject would refuse at init.
   */
  constructor(scope: Construct, id: string, props: NhiProtectionProps) {
    super(scope, id);
    const { identity, function: fn } = props;
    if (!(identity instanceof NhiIdentity)) {
      throw invalidConfig('identity', typeof identity, 'must be an NhiIdentity');
    }
    this.function = fn;
    this.identity = identity;
    const zone = (() => {
      const given = literal('zone', props.zone ?? identity.zone);
      try {
        return parseZone(given);
      } catch (error) {
        throw invalidConfig('zone', given, (error as Error).message);
      }
    })();
    this.serviceName = props.serviceName ?? identity.service;
    this.metrics = new NhiServiceMetrics(this.serviceName);

    const environment: Record<string, string> = {
      NHI_ZONE: zone,
      NHI_SELF: identity.name,
      NHI_ENVIRONMENT: identity.environment,
      POWERTOOLS_SERVICE_NAME: this.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    if (props.allow !== undefined) environment.NHI_ALLOW = checkAllow(props.allow, zone).join(',');
    if (props.dnsServers !== undefined)
      environment.NHI_DNS_SERVERS = checkDnsServers(props.dnsServers).join(',');
    for (const [key, value] of Object.entries(environment)) fn.addEnvironment(key, value);
    this.environment = Object.freeze(environment);

    if (props.secrets !== undefined && props.secrets.length > 0) {
      this.secretsGrant = identity.grantSecrets(fn, props.secrets);
    }
    // Any grant on the role reaching another workload's key lets the function sign as it.
    if (fn.role !== undefined) guardSigningKeys(fn.role, identity);
    if (props.selfCheck === true && identity.record !== undefined) fn.node.addDependency(identity.record);

    const alarms = props.alarms ?? {};
    const actions = alarms.actions ?? [];
    const withActions = (alarm: cloudwatch.Alarm): cloudwatch.Alarm => {
      if (actions.length > 0) alarm.addAlarmAction(...actions);
      return alarm;
    };
    const who = `${identity.name} (service ${this.serviceName})`;

    this.authFailureAlarm = withActions(
      new cloudwatch.Alarm(this, 'AuthFailureAlarm', {
        alarmDescription: `Callers of ${who} are being denied (AuthFailure by Reason in namespace NHI).`,
        metric: this.metrics.authFailureTotal(alarms.authFailurePeriod ?? Duration.minutes(1)),
        threshold: positive('alarms.authFailureThreshold', alarms.authFailureThreshold ?? 5),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    const dnsPeriod = alarms.dnsMissPeriod ?? Duration.minutes(5);
    // The queries the function sent: misses, and NXDOMAINs (what a flood of made-up callers
    // produces). Cache hits are DnsCacheHit and never reach DNS.
    const misses = new cloudwatch.MathExpression({
      expression: 'FILL(miss, 0) + FILL(nxdomain, 0)',
      usingMetrics: {
        miss: this.metrics.dnsLookup('miss', dnsPeriod),
        nxdomain: this.metrics.dnsLookup('nxdomain', dnsPeriod),
      },
      period: dnsPeriod,
      label: 'DNS queries (miss + nxdomain)',
    });
    const stdDevs = positive('alarms.dnsMissStdDevs', alarms.dnsMissStdDevs ?? 2);
    const dnsEvaluations = wholePositive(
      'alarms.dnsMissEvaluationPeriods',
      alarms.dnsMissEvaluationPeriods ?? 3,
    );
    this.dnsMissAnomalyAlarm = withActions(
      new cloudwatch.Alarm(this, 'DnsMissAnomalyAlarm', {
        alarmDescription:
          `DNS lookups of ${who} that missed the cache rose above their anomaly band ` +
          '(DnsLookup, Outcome=miss or nxdomain): callers with made-up names, a cache flushed by cold starts, or a resolver problem.',
        metric: new cloudwatch.MathExpression({
          expression: `ANOMALY_DETECTION_BAND(m1, ${stdDevs})`,
          usingMetrics: { m1: misses },
          period: dnsPeriod,
          label: 'DNS misses, expected band',
        }),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
        threshold: cloudwatch.Alarm.ANOMALY_DETECTION_NO_THRESHOLD,
        evaluationPeriods: dnsEvaluations,
        datapointsToAlarm: dnsEvaluations,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    this.dnsMissCeilingAlarm = withActions(
      new cloudwatch.Alarm(this, 'DnsMissCeilingAlarm', {
        alarmDescription: `DNS lookups of ${who} that missed the cache exceed the static ceiling (DnsLookup, Outcome=miss or nxdomain).`,
        metric: misses,
        threshold: positive('alarms.dnsMissCeiling', alarms.dnsMissCeiling ?? 1000),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    if (props.selfCheck === true) {
      this.selfCheckAlarm = withActions(
        new cloudwatch.Alarm(this, 'SelfCheckAlarm', {
          alarmDescription:
            `${who} refuses to serve: its own record fails its self check (AuthFailure, Reason=self_mismatch). ` +
            'Expected after a revocation (the kill switch); otherwise check the record with nhi-dns check.',
          metric: this.metrics.authFailure('self_mismatch', Duration.minutes(1)),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    if (props.dashboard !== undefined && props.dashboard !== false) {
      const dashboard =
        props.dashboard === true ? new cloudwatch.Dashboard(this, 'Dashboard') : props.dashboard;
      dashboard.addWidgets(...this.widgets());
      this.dashboard = dashboard;
    }
  }

  /**
   * The dashboard widgets of the function's identity metrics: AuthSuccess, AuthFailure by
   * Reason, DnsLookup by Outcome, DnsLookupLatency p99, SecretFetchError (by Code). Use them to
   * lay out a dashboard of your own.
   */
  widgets(): cloudwatch.IWidget[] {
    const m = this.metrics;
    const graph = (title: string, metric: cloudwatch.IMetric): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({
        title: `${this.serviceName}: ${title}`,
        left: [metric],
        width: 8,
        height: 6,
      });
    return [
      graph('AuthSuccess', m.metric(METRIC.authSuccess, { period: Duration.minutes(1) })),
      graph('AuthFailure by Reason', m.searchBy(METRIC.authFailure, 'Reason', 'Sum', Duration.minutes(1))),
      graph('DnsLookup by Outcome', m.searchBy(METRIC.dnsLookup, 'Outcome', 'Sum', Duration.minutes(5))),
      graph(
        'DnsLookupLatency p99 (ms)',
        m.metric(METRIC.dnsLookupLatency, { statistic: cloudwatch.Stats.p(99), period: Duration.minutes(5) }),
      ),
      graph(
        'SecretFetchError by Code',
        m.searchBy(METRIC.secretFetchError, 'Code', 'Sum', Duration.minutes(5)),
      ),
    ];
  }
}

/**
 * Protects a Lambda function with its nhi-dns identity: sets the environment the middlewares
 * and handlers read (`NHI_ZONE`, `NHI_SELF`, `NHI_ENVIRONMENT`, `NHI_ALLOW`, `NHI_DNS_SERVERS`,
 * `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_METRICS_NAMESPACE`), grants its secrets, and adds the
 * alarms (and a dashboard) of {@link NhiProtection}, placed inside the function (construct id
 * `NhiProtection`), so it works on any `lambda.Function`, `NodejsFunction` included.
 *
 * @param fn - the function, as created by your own construct.
 * @param options - its identity and what it allows.
 * @returns the protection, holding the alarms and the dashboard.
 * @throws {NhiError} `invalid_config` naming the option, or when `fn` is protected already.
 *
 * @example
 * nhiProtect(ledgerFunction, { identity: ledger, allow: [billing], secrets: ['ledger/db'] });
 */
export const nhiProtect = (fn: lambda.Function, options: NhiProtectOptions): NhiProtection => {
  if (fn.node.tryFindChild(PROTECTION_ID) !== undefined) {
    throw invalidConfig('function', fn.node.path, 'is protected already: call nhiProtect once per function');
  }
  return new NhiProtection(fn, PROTECTION_ID, { ...options, function: fn });
};

const checkAllow = (allow: readonly (string | NhiIdentity)[], zone: string): string[] => {
  if (!Array.isArray(allow)) throw invalidConfig('allow', allow, 'a list of identities or patterns');
  const patterns = allow.map((entry) =>
    entry instanceof NhiIdentity ? entry.name : literal('allow entry', entry),
  );
  try {
    compileAllowList(patterns, zone);
  } catch (error) {
    throw invalidConfig('allow', patterns, (error as Error).message);
  }
  return [...new Set(patterns.map(canonicalName))];
};

const positive = (option: string, value: number): number => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidConfig(option, value, 'a number above 0');
  }
  return value;
};

const wholePositive = (option: string, value: number): number => {
  if (!Number.isInteger(value) || value < 1)
    throw invalidConfig(option, value, 'a whole number of at least 1');
  return value;
};
