import { METRIC, METRICS_NAMESPACE } from '@nhi-dns/core';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { invalidConfig, literal } from './names.js';

/**
 * A Powertools service name as it appears in the `service` dimension; limited to characters that
 * need no quoting inside a Metrics Insights query or a `SEARCH` expression.
 */
const SERVICE_NAME = /^[A-Za-z0-9._-]{1,255}$/;

/**
 * Checks a `service` dimension value for use in alarm queries and dashboard searches.
 * @throws {NhiError} `invalid_config` for a token or a character outside `[A-Za-z0-9._-]`.
 */
export const checkServiceName = (serviceName: unknown): string => {
  const value = literal('serviceName', serviceName);
  if (!SERVICE_NAME.test(value)) {
    throw invalidConfig('serviceName', value, '1..255 characters of [A-Za-z0-9._-]');
  }
  return value;
};

/**
 * The CloudWatch metrics nhi-dns emits for one service (DESIGN §5). Powertools Metrics writes its
 * service name as the `service` dimension of every metric, beside the metric's own dimension
 * (`Reason`, `Outcome`, `Code`), so a metric is found by exactly that dimension set.
 */
export class NhiServiceMetrics {
  /** CloudWatch namespace, `NHI`. */
  readonly namespace: string = METRICS_NAMESPACE;

  /** @param serviceName - the `service` dimension (`POWERTOOLS_SERVICE_NAME`). */
  constructor(readonly serviceName: string) {
    checkServiceName(serviceName);
  }

  /**
   * One metric of the service with one more dimension, if any.
   * @param metricName - e.g. `DnsLookup`.
   * @param options - extra dimensions, statistic (default `Sum`) and period (default 5 minutes).
   */
  metric(
    metricName: string,
    options: { dimensions?: Record<string, string>; statistic?: string; period?: Duration } = {},
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName,
      dimensionsMap: { service: this.serviceName, ...options.dimensions },
      statistic: options.statistic ?? cloudwatch.Stats.SUM,
      period: options.period ?? Duration.minutes(5),
    });
  }

  /** `DnsLookup` with `Outcome` = `outcome` (`miss`, `nxdomain`, `timeout`, ...), summed. */
  dnsLookup(outcome: string, period?: Duration): cloudwatch.Metric {
    return this.metric(METRIC.dnsLookup, { dimensions: { Outcome: outcome }, ...(period ? { period } : {}) });
  }

  /** `AuthFailure` with `Reason` = `reason` (one of core's `DENIAL_REASONS`), summed. */
  authFailure(reason: string, period?: Duration): cloudwatch.Metric {
    return this.metric(METRIC.authFailure, { dimensions: { Reason: reason }, ...(period ? { period } : {}) });
  }

  /**
   * `AuthFailure` summed over every `Reason`, as the SAM template's alarm reads it: a Metrics
   * Insights query, `SELECT SUM(AuthFailure) FROM SCHEMA(NHI, Reason, service) WHERE service = '<service>'`.
   */
  authFailureTotal(period: Duration = Duration.minutes(1)): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `SELECT SUM(${METRIC.authFailure}) FROM SCHEMA(${this.namespace}, Reason, service) WHERE service = '${this.serviceName}'`,
      usingMetrics: {},
      period,
      label: `${METRIC.authFailure} (all reasons)`,
    });
  }

  /**
   * Every series of `metricName` under `dimension` for this service, for graphs
   * (`SEARCH('{NHI,<dimension>,service} MetricName="<metric>" service="<service>"', '<statistic>', <period>)`).
   * Search expressions cannot feed alarms.
   */
  searchBy(
    metricName: string,
    dimension: string,
    statistic = 'Sum',
    period: Duration = Duration.minutes(5),
  ): cloudwatch.SearchExpression {
    const seconds = period.toSeconds();
    return new cloudwatch.SearchExpression({
      expression: `SEARCH('{${this.namespace},${dimension},service} MetricName="${metricName}" service="${this.serviceName}"', '${statistic}', ${seconds})`,
      period,
      label: '',
    });
  }
}
