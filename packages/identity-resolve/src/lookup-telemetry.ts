import {
  count,
  countWithDimension,
  LOG_FIELD,
  METRIC,
  type Observability,
  recordLatency,
} from '@nhi-dns/core';
import {
  DnsError,
  failureOutcome,
  type LookupEvent,
  type LookupOutcome,
  type TxtResult,
} from '@nhi-dns/resolver';

/** Milliseconds to the microsecond: finer digits are noise in logs and metrics. */
const roundMs = (ms: number | undefined): number | undefined =>
  ms === undefined ? undefined : Math.round(ms * 1000) / 1000;

/**
 * One log line and the metrics of one DNS lookup (DESIGN §5): debug for cache hits, info
 * otherwise; `DnsCacheHit` for hits, `DnsLookup` by `Outcome` for every other lookup, and
 * `DnsLookupLatency` for lookups that went out.
 */
export const reportLookup = (
  observability: Observability,
  name: string,
  result: TxtResult | undefined,
  error?: unknown,
): void => {
  // A closed set: the Outcome dimension never carries the name.
  const outcome: LookupOutcome = result === undefined ? failureOutcome(error) : result.outcome;
  const fields = {
    [LOG_FIELD.name]: name,
    [LOG_FIELD.outcome]: outcome,
    [LOG_FIELD.dnsLatencyMs]: roundMs(
      result?.latencyMs ?? (error instanceof DnsError ? error.latencyMs : undefined),
    ),
    [LOG_FIELD.dnsAd]: result?.ad,
    'dns.server': result?.server ?? (error instanceof DnsError ? error.server : undefined),
    'dns.attempts': result?.attempts ?? (error instanceof DnsError ? error.attempts : undefined),
    'dns.ttl': result?.ttl,
    // In-process DNSSEC (validateDnssec): the verdict and why (zone names and key tags only).
    'dns.dnssec': result?.dnssec,
    'dns.dnssecReason': result?.dnssec === 'secure' ? undefined : result?.dnssecReason,
  };
  if (result?.fromCache === true) observability.logger.debug('dns lookup', fields);
  else if (result === undefined) observability.logger.warn('dns lookup failed', fields);
  else observability.logger.info('dns lookup', fields);
  // A cache hit, every warm invocation's case, is counted without a dimension: it aggregates into
  // the invocation's one EMF document instead of flushing a document of its own.
  if (outcome === 'hit') count(observability.metrics, METRIC.dnsCacheHit);
  else countWithDimension(observability.metrics, METRIC.dnsLookup, 'Outcome', outcome);
  const latency = fields[LOG_FIELD.dnsLatencyMs];
  if (result?.fromCache !== true && typeof latency === 'number') {
    recordLatency(observability.metrics, METRIC.dnsLookupLatency, latency);
  }
};

/**
 * One log line and the metrics of a DNSKEY or DS lookup the in-process validator made
 * (`validateDnssec`), from the resolver's lookup event: logged and counted as the TXT lookups
 * are (`DnsLookup` by `Outcome`, or `DnsCacheHit`), with `dns.type` telling them apart in logs.
 */
export const reportChainLookup = (observability: Observability, event: LookupEvent): void => {
  const fields = {
    [LOG_FIELD.name]: event.name || '.',
    'dns.type': event.type,
    [LOG_FIELD.outcome]: event.outcome,
    [LOG_FIELD.dnsLatencyMs]: roundMs(event.latencyMs),
    'dns.server': event.server,
    'dns.attempts': event.attempts,
  };
  if (event.outcome === 'hit') {
    observability.logger.debug('dnssec chain lookup', fields);
    count(observability.metrics, METRIC.dnsCacheHit);
    return;
  }
  if (event.error !== undefined) observability.logger.warn('dnssec chain lookup failed', fields);
  else observability.logger.info('dnssec chain lookup', fields);
  countWithDimension(observability.metrics, METRIC.dnsLookup, 'Outcome', event.outcome);
  const latency = fields[LOG_FIELD.dnsLatencyMs];
  if (typeof latency === 'number') recordLatency(observability.metrics, METRIC.dnsLookupLatency, latency);
};

/** Servers warned about, per directory; cleared when full (a resolver written by hand names any server). */
const MAX_WARNED_SERVERS = 64;

/**
 * Counts a lookup that found `server` not preserving letter case (DNS 0x20), and warns once per
 * server in `warned`: each lookup asked it once more (over TCP, else UDP in lower case), and its
 * later queries lose the 0x20 bits against off-path spoofing. `NHI_DNS_0X20=off` stops the probing.
 */
export const reportCaseFallback = (
  observability: Observability,
  name: string,
  server: string,
  warned: Set<string>,
): void => {
  count(observability.metrics, METRIC.dnsCaseFallback);
  if (warned.has(server)) return;
  if (warned.size >= MAX_WARNED_SERVERS) warned.clear();
  warned.add(server);
  observability.logger.warn(
    'dns server does not preserve letter case (DNS 0x20): case randomisation off for it',
    {
      [LOG_FIELD.name]: name,
      'dns.server': server,
    },
  );
};
