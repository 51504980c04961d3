import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** CloudWatch namespace of the metrics nhi-dns emits when it creates its own `Metrics`. */
export const METRICS_NAMESPACE = 'NHI';

/** Metric names (DESIGN §5). Dimension values always come from closed sets. */
export const METRIC = {
  /** Count, dimension `Outcome`: one per DNS lookup that was not a fresh cache hit. */
  dnsLookup: 'DnsLookup',
  /** Count: one per DNS lookup answered from the cache (no dimension: aggregated per invocation). */
  dnsCacheHit: 'DnsCacheHit',
  /** Milliseconds: latency of lookups that went to the network. */
  dnsLookupLatency: 'DnsLookupLatency',
  /** Count: a DNS server found not to preserve the letter case of questions (DNS 0x20 off for it). */
  dnsCaseFallback: 'DnsCaseFallback',
  /** Count: one per accepted identity. */
  authSuccess: 'AuthSuccess',
  /** Count, dimension `Reason`: one per denial. */
  authFailure: 'AuthFailure',
  /** Count: one per secret fetched from Secrets Manager. */
  secretFetch: 'SecretFetch',
  /** Count, dimension `Code`: one per failed secret fetch. */
  secretFetchError: 'SecretFetchError',
  /** Milliseconds: latency of a Secrets Manager call. */
  secretFetchLatency: 'SecretFetchLatency',
  /** Count: a secret served past its age because Secrets Manager failed transiently (`staleIfError`). */
  secretServedStale: 'SecretServedStale',
  /** Count, dimension `Reason`: one per queue record refused for good and dropped (`refused: 'drop'`). */
  recordDropped: 'RecordDropped',
  /** Count: one per proof signed (no dimension: the values aggregate into one EMF document per invocation). */
  proofSigned: 'ProofSigned',
  /** Milliseconds: time to load a new signing key (fetch, parse, import, public-half check). */
  signingKeyLoad: 'SigningKeyLoad',
  /** Count, dimension `Reason`: one per failed signing-key load. */
  signingKeyLoadError: 'SigningKeyLoadError',
  /** Count, dimension `Step`: one per rotation step completed by a rotation function. */
  rotationStep: 'RotationStep',
  /** Count, dimension `Step`: one per rotation step that failed (alarm on any). */
  rotationFailure: 'RotationFailure',
  /** Seconds, no dimension: age of the identity's current signing key when a rotation function looked (alarm above the period + a margin). */
  signingKeyAge: 'SigningKeyAge',
} as const;

/** Structured log field names (DESIGN §5). */
export const LOG_FIELD = {
  name: 'nhi.name',
  kid: 'nhi.kid',
  outcome: 'nhi.outcome',
  reason: 'nhi.reason',
  dnsLatencyMs: 'dns.latencyMs',
  dnsAd: 'dns.ad',
  /** In-process DNSSEC verdict of the record (`secure`/`insecure`), when identity-resolve validated it. */
  dnsDnssec: 'dns.dnssec',
} as const;

/** The part of a Powertools `Logger` nhi-dns uses; a real `Logger` fits. */
export type NhiLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
/** The part of a Powertools `Metrics` nhi-dns uses; a real `Metrics` fits. */
export type NhiMetrics = Pick<
  Metrics,
  'addMetric' | 'singleMetric' | 'publishStoredMetrics' | 'hasStoredMetrics'
>;

/** Logger and metrics of a middleware, and whether it must flush the metrics itself. */
export interface Observability {
  readonly logger: NhiLogger;
  readonly metrics: NhiMetrics;
  /** True when nhi-dns created `metrics` and so publishes them at the end of each invocation. */
  readonly ownsMetrics: boolean;
  /** The logger nhi-dns created, when `logger` is it: it is given each invocation's Lambda context. */
  readonly ownLogger?: Logger;
}

let defaults: { logger: Logger; metrics: Metrics } | undefined;

/**
 * Service name of the default logger and metrics, one value for both so that log lines and EMF
 * documents agree: `POWERTOOLS_SERVICE_NAME`, else the Lambda function's name, else `nhi-dns`.
 */
export const defaultServiceName = (env: NodeJS.ProcessEnv = process.env): string =>
  env.POWERTOOLS_SERVICE_NAME || env.AWS_LAMBDA_FUNCTION_NAME || 'nhi-dns';

/**
 * The logger and metrics a middleware should use: the caller's when given, else one shared
 * pair created on first use (service name from {@link defaultServiceName}, namespace `NHI`).
 * Creating them lazily keeps imports free of side effects.
 */
export const resolveObservability = (options: {
  logger?: NhiLogger;
  metrics?: NhiMetrics;
}): Observability => {
  if (options.logger !== undefined && options.metrics !== undefined) {
    return { logger: options.logger, metrics: options.metrics, ownsMetrics: false };
  }
  if (defaults === undefined) {
    const serviceName = defaultServiceName();
    defaults = {
      logger: new Logger({ serviceName }),
      metrics: new Metrics({
        serviceName,
        namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
      }),
    };
  }
  return {
    logger: options.logger ?? defaults.logger,
    metrics: options.metrics ?? defaults.metrics,
    ownsMetrics: options.metrics === undefined,
    ...(options.logger === undefined ? { ownLogger: defaults.logger } : {}),
  };
};

/** The Lambda context the default logger last received, so one invocation adds it once. */
let contextOfOwnLogger: object | undefined;

/**
 * Gives nhi-dns' own logger the invocation's Lambda context (request id, cold start, function
 * name), as Powertools' `injectLambdaContext` would, so that every line it writes can be tied
 * to its request. A logger the user passed is left alone: its context is the user's to inject.
 */
export const attachLambdaContext = (observability: Observability, context: unknown): void => {
  const logger = observability.ownLogger;
  if (logger === undefined || context === contextOfOwnLogger) return;
  if (typeof context !== 'object' || context === null || !('awsRequestId' in context)) return;
  contextOfOwnLogger = context;
  logger.addContext(context as Parameters<Logger['addContext']>[0]);
};

/**
 * One single-metric emitter per `Metrics`, reused: Powertools' `singleMetric()` builds a whole new
 * `Metrics` (a `Console`, environment reads) on each call, which the profile of the warm chain
 * showed as its largest cost after the signature check. An emitter publishes and clears its
 * dimensions on every `addMetric`, so reusing it emits the same EMF lines.
 */
const singleMetricEmitters = new WeakMap<NhiMetrics, ReturnType<NhiMetrics['singleMetric']>>();

/**
 * Counts one event of `metric` under a single dimension. A dimension is per metric in EMF,
 * so it goes out as its own EMF line (`singleMetric`) and never mixes with other metrics.
 */
export const countWithDimension = (
  metrics: NhiMetrics,
  metric: string,
  dimension: string,
  value: string,
): void => {
  let emitter = singleMetricEmitters.get(metrics);
  if (emitter === undefined) {
    emitter = metrics.singleMetric();
    singleMetricEmitters.set(metrics, emitter);
  }
  emitter.addDimension(dimension, value).addMetric(metric, MetricUnit.Count, 1);
};

/** Records a count without dimensions in the invocation's metric buffer. */
export const count = (metrics: NhiMetrics, metric: string): void => {
  metrics.addMetric(metric, MetricUnit.Count, 1);
};

/** Records a latency in milliseconds in the invocation's metric buffer. */
export const recordLatency = (metrics: NhiMetrics, metric: string, milliseconds: number): void => {
  metrics.addMetric(metric, MetricUnit.Milliseconds, milliseconds);
};

/** Publishes buffered metrics when nhi-dns owns them (end of invocation); no-op otherwise. */
export const flushOwnedMetrics = (observability: Observability): void => {
  if (observability.ownsMetrics && observability.metrics.hasStoredMetrics()) {
    observability.metrics.publishStoredMetrics();
  }
};
