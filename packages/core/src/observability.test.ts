import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  count,
  countWithDimension,
  flushOwnedMetrics,
  METRIC,
  resolveObservability,
} from './observability.js';
import { captureOutput } from './test-support/index.js';

describe('observability', () => {
  it('uses the caller logger and metrics and never flushes them', () => {
    const logger = new Logger();
    const metrics = new Metrics({ namespace: 'Test' });
    const observability = resolveObservability({ logger, metrics });
    expect(observability).toEqual({ logger, metrics, ownsMetrics: false });
    count(metrics, METRIC.authSuccess);
    flushOwnedMetrics(observability);
    expect(metrics.hasStoredMetrics()).toBe(true);
  });

  it('creates one shared default pair lazily, in the NHI namespace, and flushes it', () => {
    const lines: string[] = [];
    const out = captureOutput();
    const first = resolveObservability({});
    expect(resolveObservability({}).metrics).toBe(first.metrics);
    expect(first.ownsMetrics).toBe(true);
    count(first.metrics, METRIC.authSuccess);
    flushOwnedMetrics(first);
    out.restore();
    lines.push(...out.lines);
    const emf = lines.map((line) => JSON.parse(line)).find((entry) => entry._aws);
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe('NHI');
    expect(emf[METRIC.authSuccess]).toBe(1);
  });

  it('emits a dimensioned count as its own EMF line', () => {
    const metrics = new Metrics({ namespace: 'Test' });
    const lines: string[] = [];
    const out = captureOutput();
    countWithDimension(metrics, METRIC.authFailure, 'Reason', 'bad_signature');
    out.restore();
    lines.push(...out.lines);
    const emf = JSON.parse(lines[0] ?? '{}');
    expect(emf.Reason).toBe('bad_signature');
    expect(emf.AuthFailure).toBe(1);
    expect(emf._aws.CloudWatchMetrics[0].Dimensions[0]).toContain('Reason');
  });

  it('keeps each dimensioned count on its own line when the emitter is reused', () => {
    const metrics = new Metrics({ namespace: 'Test', defaultDimensions: { stage: 'prod' } });
    const out = captureOutput();
    countWithDimension(metrics, METRIC.dnsLookup, 'Outcome', 'hit');
    countWithDimension(metrics, METRIC.dnsLookup, 'Outcome', 'miss');
    countWithDimension(metrics, METRIC.authFailure, 'Reason', 'replayed');
    out.restore();
    const emf = out.emf();
    expect(emf).toHaveLength(3);
    expect(emf.map((entry) => [entry.Outcome, entry.Reason, entry.DnsLookup, entry.AuthFailure])).toEqual([
      ['hit', undefined, 1, undefined],
      ['miss', undefined, 1, undefined],
      [undefined, 'replayed', undefined, 1],
    ]);
    // The parent's default dimensions still apply; nothing leaks into the parent's own buffer.
    expect(emf.every((entry) => entry.stage === 'prod')).toBe(true);
    expect(metrics.hasStoredMetrics()).toBe(false);
  });
});
