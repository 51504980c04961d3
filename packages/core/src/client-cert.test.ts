import fc from 'fast-check';
import { certThumbprint, clientCertOf, clientCertPem, MAX_CLIENT_CERT_PEM_BYTES } from './client-cert.js';
import { CERT_THUMBPRINT_PATTERN } from './record.js';
import {
  albHeaderValue,
  apiGatewayClientCert,
  createTestCertificate,
  type TestCertificate,
} from './test-support/test-certificate.js';

let billing: TestCertificate;
let other: TestCertificate;

beforeAll(() => {
  billing = createTestCertificate('billing');
  other = createTestCertificate('billing');
});

const v2 = (clientCert: unknown) => ({
  version: '2.0',
  rawPath: '/pay',
  headers: {},
  requestContext: { http: { method: 'POST', path: '/pay' }, authentication: { clientCert } },
});
const v1 = (clientCert: unknown) => ({
  httpMethod: 'POST',
  path: '/pay',
  headers: {},
  requestContext: { path: '/prod/pay', identity: { sourceIp: '192.0.2.1', clientCert } },
});
const slot = apiGatewayClientCert;

describe('certThumbprint', () => {
  it("is RFC 8705's x5t#S256: base64url SHA-256 of the DER (checked against openssl's DER)", () => {
    expect(certThumbprint(billing.pem)).toBe(billing.thumbprint);
    expect(certThumbprint(billing.pem)).toMatch(CERT_THUMBPRINT_PATTERN);
    expect(certThumbprint(other.pem)).not.toBe(billing.thumbprint);
  });

  it('is undefined for anything that is not a certificate, and never throws', () => {
    for (const bad of [
      '',
      'garbage',
      billing.pem.slice(0, 200),
      '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
      `${billing.pem}${'A'.repeat(MAX_CLIENT_CERT_PEM_BYTES)}`,
    ]) {
      expect(certThumbprint(bad)).toBeUndefined();
    }
    // An altered certificate may still parse (its signature is not checked here): another thumbprint.
    const altered = billing.pem.replace(/[A-Za-z]{8}\n/, 'AAAAAAAA\n');
    expect(certThumbprint(altered)).not.toBe(billing.thumbprint);
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (text) => {
        const thumbprint = certThumbprint(text);
        expect(thumbprint === undefined || CERT_THUMBPRINT_PATTERN.test(thumbprint)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('clientCertOf', () => {
  it('reads the certificate of an HTTP API (v2) and of a REST API (v1) event', () => {
    expect(clientCertOf(v2(slot(billing.pem)))).toEqual({ presented: true, thumbprint: billing.thumbprint });
    expect(clientCertOf(v1(slot(other.pem)))).toEqual({ presented: true, thumbprint: other.thumbprint });
    expect(clientCertPem(v2(slot(billing.pem)))).toBe(billing.pem);
    expect(clientCertPem(v1(slot(billing.pem)))).toBe(billing.pem);
  });

  it('presents none without mutual TLS, for other front ends and for non-HTTP events', () => {
    for (const event of [
      v2(undefined),
      v2(null),
      v1(null),
      { ...v2(undefined), requestContext: { http: { method: 'GET' } } },
      // The slot of the other payload version is not read.
      { ...v1(undefined), requestContext: { authentication: { clientCert: slot(billing.pem) } } },
      { httpMethod: 'GET', path: '/', requestContext: { elb: {} }, headers: {} },
      { nhiProof: 'x', requestContext: { authentication: { clientCert: slot(billing.pem) } } },
      undefined,
      'text',
    ]) {
      expect(clientCertOf(event)).toEqual({ presented: false });
      expect(clientCertPem(event)).toBeUndefined();
    }
  });

  it('presents an unreadable certificate (thumbprint undefined) for anything else in the slot', () => {
    for (const clientCert of [
      slot('garbage'),
      slot(''),
      slot(42),
      slot(undefined),
      {},
      'PEM',
      [billing.pem],
    ]) {
      expect(clientCertOf(v2(clientCert))).toEqual({ presented: true, thumbprint: undefined });
    }
  });

  it('gives the same answer from its cache, for many certificates', () => {
    const pems = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? billing.pem : `junk ${i}`));
    for (let round = 0; round < 2; round++) {
      for (const pem of pems) {
        expect(clientCertOf(v2(slot(pem))).presented).toBe(true);
        expect(clientCertOf(v2(slot(pem)))).toEqual({
          presented: true,
          thumbprint: pem === billing.pem ? billing.thumbprint : undefined,
        });
      }
    }
  });
});

describe('clientCertOf behind an ALB listener with mutual TLS (albMutualTls)', () => {
  const albEncoded = albHeaderValue;
  const alb = (headers: Record<string, string>) => ({
    httpMethod: 'POST',
    path: '/pay',
    headers,
    requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/t/1' } },
  });
  const albMulti = (multiValueHeaders: Record<string, string[]>) => ({
    httpMethod: 'POST',
    path: '/pay',
    multiValueHeaders,
    requestContext: { elb: {} },
  });

  it("reads the leaf of verify mode and the chain's first certificate in passthrough mode", () => {
    expect(
      clientCertOf(alb({ 'x-amzn-mtls-clientcert-leaf': albEncoded(billing.pem) }), {
        albMutualTls: 'verify',
      }),
    ).toEqual({ presented: true, thumbprint: billing.thumbprint });
    const chain = albEncoded(`${other.pem}${billing.pem}`);
    expect(clientCertOf(alb({ 'x-amzn-mtls-clientcert': chain }), { albMutualTls: 'passthrough' })).toEqual({
      presented: true,
      thumbprint: other.thumbprint,
    });
    expect(
      clientCertOf(albMulti({ 'X-Amzn-Mtls-Clientcert-Leaf': [albEncoded(billing.pem)] }), {
        albMutualTls: 'verify',
      }),
    ).toEqual({ presented: true, thumbprint: billing.thumbprint });
  });

  it('reads no header unless told the listener does mutual TLS, and only the header of its mode', () => {
    const headers = {
      'x-amzn-mtls-clientcert-leaf': albEncoded(billing.pem),
      'x-amzn-mtls-clientcert': albEncoded(billing.pem),
    };
    // A client can send these headers itself to a listener without mutual TLS.
    expect(clientCertOf(alb(headers))).toEqual({ presented: false });
    expect(
      clientCertOf(alb({ 'x-amzn-mtls-clientcert': albEncoded(billing.pem) }), { albMutualTls: 'verify' }),
    ).toEqual({ presented: false });
    expect(
      clientCertOf(alb({ 'x-amzn-mtls-clientcert-leaf': albEncoded(billing.pem) }), {
        albMutualTls: 'passthrough',
      }),
    ).toEqual({ presented: false });
    // API Gateway events keep their slot, whatever the ALB setting.
    expect(clientCertOf(v2(slot(billing.pem)), { albMutualTls: 'verify' })).toEqual({
      presented: true,
      thumbprint: billing.thumbprint,
    });
  });

  it('presents an unreadable certificate for two values, broken URL encoding, no PEM or an oversized value', () => {
    const unreadable = { presented: true, thumbprint: undefined };
    const leaf = 'x-amzn-mtls-clientcert-leaf';
    for (const event of [
      albMulti({ [leaf]: [albEncoded(billing.pem), albEncoded(other.pem)] }),
      alb({ [leaf]: `${albEncoded(billing.pem)}%E0%A4%A` }),
      alb({ [leaf]: 'not a certificate' }),
      alb({
        [leaf]: albEncoded('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n'),
      }),
      alb({ [leaf]: 'A'.repeat(12 * MAX_CLIENT_CERT_PEM_BYTES + 1) }),
    ]) {
      expect(clientCertOf(event, { albMutualTls: 'verify' })).toEqual(unreadable);
    }
  });

  it('in verify mode presents an unreadable certificate for a leaf header with a second certificate, or bytes ahead of it', () => {
    const unreadable = { presented: true, thumbprint: undefined };
    const leaf = 'x-amzn-mtls-clientcert-leaf';
    const verify = { albMutualTls: 'verify' } as const;
    for (const value of [
      albEncoded(`${other.pem}${billing.pem}`),
      albEncoded(`${billing.pem}${billing.pem}`),
      albEncoded(`${billing.pem}\n${other.pem}`),
      `junk${albEncoded(billing.pem)}`,
      albEncoded(`${billing.pem}junk`),
    ]) {
      expect(clientCertOf(alb({ [leaf]: value }), verify)).toEqual(unreadable);
    }
    // Whitespace around the one certificate is no second value.
    expect(clientCertOf(alb({ [leaf]: albEncoded(`\n${billing.pem}\n\n`) }), verify)).toEqual({
      presented: true,
      thumbprint: billing.thumbprint,
    });
  });

  it('presents an unreadable certificate for a raw comma (two values joined into one) in either mode, and for bytes ahead of a chain', () => {
    const unreadable = { presented: true, thumbprint: undefined };
    const joined = `${albEncoded(other.pem)},${albEncoded(billing.pem)}`;
    expect(clientCertOf(alb({ 'x-amzn-mtls-clientcert-leaf': joined }), { albMutualTls: 'verify' })).toEqual(
      unreadable,
    );
    expect(
      clientCertOf(
        alb({ 'x-amzn-mtls-clientcert-leaf': `${albEncoded(billing.pem)}, ${albEncoded(billing.pem)}` }),
        {
          albMutualTls: 'verify',
        },
      ),
    ).toEqual(unreadable);
    const passthrough = { albMutualTls: 'passthrough' } as const;
    expect(clientCertOf(alb({ 'x-amzn-mtls-clientcert': joined }), passthrough)).toEqual(unreadable);
    expect(
      clientCertOf(
        alb({ 'x-amzn-mtls-clientcert': `junk${albEncoded(`${other.pem}${billing.pem}`)}` }),
        passthrough,
      ),
    ).toEqual(unreadable);
    // An encoded comma decodes to one too: no PEM holds it.
    expect(
      clientCertOf(alb({ 'x-amzn-mtls-clientcert-leaf': `${albEncoded(billing.pem)}%2C` }), {
        albMutualTls: 'verify',
      }),
    ).toEqual(unreadable);
    // A chain of certificates alone, whitespace between, still reads from its leaf.
    const chain = albEncoded(`${other.pem}\n${billing.pem}\n${billing.pem}`);
    expect(clientCertOf(alb({ 'x-amzn-mtls-clientcert': chain }), passthrough)).toEqual({
      presented: true,
      thumbprint: other.thumbprint,
    });
    // A value of the largest size read that almost matches costs one pass, not a backtracking blow-up.
    const almost = `-----BEGIN CERTIFICATE-----${'A'.repeat(12 * MAX_CLIENT_CERT_PEM_BYTES - 60)}`;
    const started = performance.now();
    for (const albMutualTls of ['verify', 'passthrough'] as const) {
      const headers = { 'x-amzn-mtls-clientcert-leaf': almost, 'x-amzn-mtls-clientcert': almost };
      expect(clientCertOf(alb(headers), { albMutualTls })).toEqual(unreadable);
    }
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('never throws on any header value', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (value) => {
        const presented = clientCertOf(alb({ 'x-amzn-mtls-clientcert': value }), {
          albMutualTls: 'passthrough',
        });
        expect(presented.presented).toBe(true);
      }),
    );
  });
});
