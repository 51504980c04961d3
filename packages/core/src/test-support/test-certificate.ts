import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A self-signed client certificate for tests of the mutual TLS binding (`x5t-s256`). */
export interface TestCertificate {
  /** The certificate in PEM, as API Gateway puts it in `clientCertPem`. */
  readonly pem: string;
  /** Its RFC 8705 `x5t#S256`: base64url SHA-256 of the DER, the value a record pins. */
  readonly thumbprint: string;
}

/**
 * Makes a real P-256 certificate with the `openssl` command (which must be on the PATH), in a
 * temporary directory that is removed again; the private key is thrown away. Slow (one process
 * per call): call it in `beforeAll`.
 *
 * @param commonName - the subject's CN, e.g. `billing`.
 */
export const createTestCertificate = (commonName: string): TestCertificate => {
  const dir = mkdtempSync(join(tmpdir(), 'nhi-cert-'));
  try {
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        `/CN=${commonName}`,
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        certPath,
      ],
      { stdio: 'ignore', timeout: 30_000 },
    );
    // The DER from openssl, not from node: tests hold core's certThumbprint to another implementation.
    const derPath = join(dir, 'cert.der');
    execFileSync('openssl', ['x509', '-in', certPath, '-outform', 'der', '-out', derPath], {
      stdio: 'ignore',
      timeout: 30_000,
    });
    const pem = readFileSync(certPath, 'utf8');
    const thumbprint = createHash('sha256').update(readFileSync(derPath)).digest('base64url');
    return { pem, thumbprint };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/**
 * The `clientCert` object API Gateway puts in a mutual TLS event (HTTP API
 * `requestContext.authentication.clientCert`, REST API `requestContext.identity.clientCert`),
 * around `clientCertPem` (any value, so tests can put junk there).
 */
export const apiGatewayClientCert = (clientCertPem: unknown) => ({
  clientCertPem,
  subjectDN: 'CN=billing',
  issuerDN: 'CN=billing',
  serialNumber: '01',
  validity: { notBefore: 'May 1 00:00:00 2026 GMT', notAfter: 'May 2 00:00:00 2026 GMT' },
});

/** A PEM URL-encoded as an ALB mutual TLS listener writes it into its headers (`+`, `=`, `/` kept). */
export const albHeaderValue = (pem: string): string =>
  encodeURIComponent(pem).replace(/%2B/g, '+').replace(/%3D/g, '=').replace(/%2F/g, '/');
