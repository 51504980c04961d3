import { denialResponse, headerValues, httpBody, httpEventKind, httpMethod, httpUrl } from './http-event.js';

const v2 = {
  version: '2.0',
  rawPath: '/pay',
  headers: { host: 'api.example.com', authorization: 'NHI a.b.c' },
  requestContext: { http: { method: 'post', path: '/pay' } },
  body: 'aGVsbG8=',
  isBase64Encoded: true,
};
const v1 = {
  httpMethod: 'GET',
  path: '/x',
  headers: { Host: 'h.example', Authorization: 'NHI t' },
  requestContext: {},
};
const alb = {
  httpMethod: 'GET',
  path: '/x',
  headers: { authorization: 'NHI t' },
  requestContext: { elb: {} },
};
const albMulti = {
  httpMethod: 'GET',
  path: '/x',
  multiValueHeaders: { Authorization: ['NHI a', 'NHI b'] },
  requestContext: { elb: {} },
};

describe('http events', () => {
  it('detects the front end', () => {
    expect(httpEventKind(v2)).toBe('apigw-v2');
    expect(httpEventKind(v1)).toBe('apigw-v1');
    expect(httpEventKind(alb)).toBe('alb');
    expect(httpEventKind(albMulti)).toBe('alb-multi');
    for (const other of [{}, null, 'x', { nhiProof: 't' }, { Records: [] }])
      expect(httpEventKind(other)).toBeUndefined();
  });

  it('collects header values case-insensitively across single and multi-value headers', () => {
    expect(headerValues(v1, 'authorization')).toEqual(['NHI t']);
    expect(headerValues(albMulti, 'AUTHORIZATION')).toEqual(['NHI a', 'NHI b']);
    expect(headerValues({ headers: { Authorization: 'x', authorization: 'y' } }, 'authorization')).toEqual([
      'x',
      'y',
    ]);
    expect(headerValues({ headers: { a: 'x' }, multiValueHeaders: { A: ['x'] } }, 'a')).toEqual(['x']);
    expect(headerValues({ headers: { a: 1 } }, 'a')).toEqual([]);
  });

  it('reads method, url and body', () => {
    expect(httpMethod(v2)).toBe('POST');
    expect(httpMethod(v1)).toBe('GET');
    expect(httpMethod({})).toBeUndefined();
    expect(httpUrl(v2)).toBe('https://api.example.com/pay');
    expect(httpUrl(v1)).toBe('https://h.example/x');
    expect(httpUrl(alb)).toBeUndefined();
    expect(Buffer.from(httpBody(v2) as Uint8Array).toString()).toBe('hello');
    expect(httpBody(v1)).toBeUndefined();
  });

  it('takes the scheme of an ALB request from X-Forwarded-Proto, never from a guess', () => {
    const behindAlb = (headers: Record<string, string>) => ({
      ...alb,
      headers: { host: 'internal.example', ...headers },
    });
    expect(httpUrl(behindAlb({ 'x-forwarded-proto': 'http' }))).toBe('http://internal.example/x');
    expect(httpUrl(behindAlb({ 'X-Forwarded-Proto': 'HTTPS' }))).toBe('https://internal.example/x');
    expect(httpUrl(behindAlb({}))).toBeUndefined();
    expect(httpUrl(behindAlb({ 'x-forwarded-proto': 'gopher' }))).toBeUndefined();
    const twoValues = {
      ...albMulti,
      multiValueHeaders: { host: ['internal.example'], 'x-forwarded-proto': ['http', 'https'] },
    };
    expect(httpUrl(twoValues)).toBeUndefined();
    // API Gateway serves HTTPS only, whatever a header claims.
    expect(httpUrl({ ...v1, headers: { ...v1.headers, 'X-Forwarded-Proto': 'http' } })).toBe(
      'https://h.example/x',
    );
  });

  it('builds denial responses for each front end', () => {
    expect(denialResponse('apigw-v2', 401, 'bad_signature', 1)).toEqual({
      statusCode: 401,
      headers: {
        'Content-Type': 'application/json',
        'Cache-Control': 'no-store',
        'WWW-Authenticate': 'NHI error="invalid_token"',
      },
      body: '{"error":"bad_signature"}',
    });
    expect(denialResponse('apigw-v1', 503, 'dns_failure', 5).headers?.['Retry-After']).toBe('5');
    expect(denialResponse('alb', 403, 'not_allowed', 1)).toMatchObject({
      statusDescription: '403 Forbidden',
    });
    expect(denialResponse('alb-multi', 401, 'expired', 1).multiValueHeaders?.['WWW-Authenticate']).toEqual([
      'NHI error="invalid_token"',
    ]);
  });
});
