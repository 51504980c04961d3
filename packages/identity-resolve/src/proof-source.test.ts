import { defaultGetProof } from './proof-source.js';

const v2 = (headers: Record<string, string>) => ({
  version: '2.0',
  headers,
  requestContext: { http: { method: 'GET' } },
});
const alb = (multiValueHeaders: Record<string, string[]>) => ({
  httpMethod: 'GET',
  multiValueHeaders,
  requestContext: { elb: { targetGroupArn: 'arn' } },
});

describe('defaultGetProof', () => {
  it('reads Authorization: NHI <token>, scheme and header name case-insensitive', () => {
    expect(defaultGetProof(v2({ authorization: 'NHI a.b.c' }))).toBe('a.b.c');
    expect(
      defaultGetProof({ httpMethod: 'GET', headers: { Authorization: 'nhi  a.b.c' }, requestContext: {} }),
    ).toBe('a.b.c');
    expect(defaultGetProof(alb({ AUTHORIZATION: ['Nhi x.y.z'] }))).toBe('x.y.z');
  });

  it('finds no proof in HTTP events without an NHI Authorization header', () => {
    expect(defaultGetProof(v2({}))).toBeUndefined();
    expect(defaultGetProof(v2({ authorization: 'Bearer a.b.c' }))).toBeUndefined();
    // A direct-invocation field is not looked at for HTTP events: the header is the transport.
    expect(defaultGetProof({ ...v2({}), nhiProof: 'a.b.c' })).toBeUndefined();
  });

  it('rejects several Authorization values (header smuggling) as malformed_proof', () => {
    expect(() => defaultGetProof(alb({ authorization: ['NHI a.b.c', 'NHI d.e.f'] }))).toThrow(
      expect.objectContaining({ reason: 'malformed_proof' }),
    );
    expect(() => defaultGetProof(v2({ authorization: 'NHI a.b.c, NHI d.e.f' }))).toThrow(
      expect.objectContaining({ reason: 'malformed_proof' }),
    );
    expect(() =>
      defaultGetProof({
        ...v2({ Authorization: 'NHI a.b.c' }),
        multiValueHeaders: { authorization: ['NHI x.y.z'] },
      }),
    ).toThrow(expect.objectContaining({ reason: 'malformed_proof' }));
    expect(() => defaultGetProof(v2({ authorization: 'NHI' }))).toThrow(
      expect.objectContaining({ reason: 'malformed_proof' }),
    );
  });

  it('rejects oversized headers before parsing them', () => {
    expect(() => defaultGetProof(v2({ authorization: `NHI ${'a'.repeat(100_000)}` }))).toThrow(
      expect.objectContaining({ reason: 'proof_too_large' }),
    );
  });

  it('reads the WIT of a Workload-Identity-Token + Workload-Proof-Token pair, header names case-insensitive', () => {
    expect(defaultGetProof(v2({ 'workload-identity-token': 'w.i.t', 'workload-proof-token': 'w.p.t' }))).toBe(
      'w.i.t',
    );
    expect(
      defaultGetProof(alb({ 'Workload-Identity-Token': ['w.i.t'], 'WORKLOAD-PROOF-TOKEN': ['w.p.t'] })),
    ).toBe('w.i.t');
    // Another scheme beside the pair is not an NHI proof: the pair is the credential.
    expect(
      defaultGetProof(
        v2({
          authorization: 'Bearer x',
          'workload-identity-token': 'w.i.t',
          'workload-proof-token': 'w.p.t',
        }),
      ),
    ).toBe('w.i.t');
  });

  it('rejects half a pair, several values of one half, and an NHI proof beside a pair as malformed_proof', () => {
    const malformed = expect.objectContaining({ reason: 'malformed_proof' });
    expect(() => defaultGetProof(v2({ 'workload-identity-token': 'w.i.t' }))).toThrow(malformed);
    expect(() => defaultGetProof(v2({ 'workload-proof-token': 'w.p.t' }))).toThrow(malformed);
    expect(() =>
      defaultGetProof(
        alb({ 'workload-identity-token': ['w.i.t', 'o.t.h'], 'workload-proof-token': ['w.p.t'] }),
      ),
    ).toThrow(malformed);
    expect(() =>
      defaultGetProof(
        v2({
          authorization: 'NHI a.b.c',
          'workload-identity-token': 'w.i.t',
          'workload-proof-token': 'w.p.t',
        }),
      ),
    ).toThrow(malformed);
  });

  it('reads event.nhiProof for direct invocations and queues', () => {
    expect(defaultGetProof({ nhiProof: 'a.b.c', order: 1 })).toBe('a.b.c');
    expect(defaultGetProof({ order: 1 })).toBeUndefined();
    expect(defaultGetProof(null)).toBeUndefined();
    expect(defaultGetProof('text')).toBeUndefined();
    expect(() => defaultGetProof({ nhiProof: ['a.b.c'] })).toThrow(
      expect.objectContaining({ reason: 'malformed_proof' }),
    );
  });

  it('reads the WIT of an { nhiWit, nhiProof, nhiPayload } envelope (direct invocations)', () => {
    expect(defaultGetProof({ nhiWit: 'w.i.t', nhiProof: 'w.p.t', nhiPayload: '{}' })).toBe('w.i.t');
    // The envelope's fields are not looked at for HTTP events: the headers are the transport.
    expect(defaultGetProof({ ...v2({}), nhiWit: 'w.i.t', nhiProof: 'w.p.t' })).toBeUndefined();
  });

  it('rejects nhiWit without nhiProof, and an nhiWit that is not a string, as malformed_proof', () => {
    const malformed = expect.objectContaining({ reason: 'malformed_proof' });
    for (const envelope of [
      { nhiWit: 'w.i.t', nhiPayload: '{}' },
      { nhiWit: 'w.i.t', nhiProof: null },
      { nhiWit: 'w.i.t', nhiProof: ['w.p.t'] },
      { nhiWit: ['w.i.t'], nhiProof: 'w.p.t' },
      { nhiWit: null, nhiProof: 'w.p.t' },
      { nhiWit: 42 },
    ]) {
      expect(() => defaultGetProof(envelope)).toThrow(malformed);
    }
  });
});
