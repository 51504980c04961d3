import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { deny } from './denial.js';
import { IdentityError } from './identity-error.js';
import { captureOutput as capture } from './test-support/index.js';

describe('deny', () => {
  const observability = () => ({
    logger: new Logger(),
    metrics: new Metrics({ namespace: 'T' }),
    ownsMetrics: false,
  });

  it('returns the HTTP response, logs a warning and counts AuthFailure by Reason', () => {
    const out = capture();
    const event = { version: '2.0', headers: {}, requestContext: { http: { method: 'GET' } } };
    const error = new IdentityError(
      'dns_failure',
      '@nhi-dns/test',
      Object.assign(new Error('no answer'), { reason: 'timeout' }),
    );
    const response = deny(event, error, observability(), { name: 'a.b.zone' }, 7);
    out.restore();
    expect(response).toMatchObject({ statusCode: 503, body: '{"error":"dns_failure"}' });
    expect(response.headers?.['Retry-After']).toBe('7');
    const entries = out.lines.map((line) => JSON.parse(line));
    expect(entries.find((e) => e.message === 'identity denied')).toMatchObject({
      level: 'WARN',
      'nhi.reason': 'dns_failure',
      'nhi.name': 'a.b.zone',
      'nhi.package': '@nhi-dns/test',
      'nhi.detail': 'Error(timeout): no answer',
    });
    expect(entries.find((e) => e._aws)).toMatchObject({ Reason: 'dns_failure', AuthFailure: 1 });
  });

  it('throws the IdentityError for events that are not HTTP events', () => {
    const out = capture();
    const error = new IdentityError('missing_proof', '@nhi-dns/test');
    expect(() => deny({ nhiProof: undefined }, error, observability())).toThrow(error);
    out.restore();
    expect(out.lines.some((line) => line.includes('"AuthFailure":1'))).toBe(true);
  });
});
