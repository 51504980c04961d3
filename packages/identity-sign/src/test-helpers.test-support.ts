import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type DecodedProof,
  decodeProof,
  decodeWorkloadProof,
  importRecordKeys,
  type NhiLogger,
  type ProofClaims,
  parseRecordSet,
  type VerificationKey,
  type VerifyProofOptions,
  type VerifyWorkloadProofOptions,
  verifyProof,
  verifyWorkloadIdentity,
  verifyWorkloadProof,
} from '@nhi-dns/core';
import { createTestIdentity, type TestIdentity } from '@nhi-dns/core/test-support';
import { mockClient } from 'aws-sdk-client-mock';
import type { SigningKeyJwk } from './key-loader.js';

export const SELF = 'billing.prod.auth.example.com';
export const LEDGER = 'ledger.prod.auth.example.com';
export const SECRET_NAME = '/prod/nhi/billing/signing-key';

/** An identity and its key as `nhi-dns keygen` stores it. */
export const keyedIdentity = (kid = 'k1', keyType: 'ed25519' | 'p256' = 'ed25519') => {
  const identity = createTestIdentity(SELF, { kid, keyType });
  const jwk: SigningKeyJwk = {
    ...identity.privateKey.export({ format: 'jwk' }),
    kid,
    alg: keyType === 'ed25519' ? 'EdDSA' : 'ES256',
    use: 'sig',
  };
  return { identity, jwk };
};

/** Verifies `token` as a callee would, against the identities' records. */
export const verifyAs = (
  token: string,
  identities: readonly TestIdentity[],
  options: Omit<VerifyProofOptions, 'key' | 'audience'> & { audience?: string },
): { proof: DecodedProof; claims: ProofClaims } => {
  const proof = decodeProof(token);
  const record = identities.find((identity) => identity.kid === proof.header.kid);
  if (record === undefined) throw new Error(`no test identity with kid ${proof.header.kid}`);
  const key = importRecordKeys(parseRecordSet(record.name, [record.record]).keys).keys.get(record.kid);
  if (key === undefined) throw new Error('record key did not import');
  return { proof, claims: verifyProof(proof, { ...options, key, audience: options.audience ?? LEDGER }) };
};

/** A Secrets Manager whose signing-key secret holds `value` (a JSON string) until changed. */
export const mockSigningKeySecret = () => {
  const mock = mockClient(SecretsManagerClient);
  let version = 0;
  const holds = (value: string | SigningKeyJwk) => {
    version += 1;
    mock.on(GetSecretValueCommand).resolves({
      Name: SECRET_NAME,
      SecretString: typeof value === 'string' ? value : JSON.stringify(value),
      VersionId: `v${version}`,
    });
  };
  return { mock, holds, calls: () => mock.commandCalls(GetSecretValueCommand) };
};

/** A client for the mock. */
export const secretsClient = () =>
  new SecretsManagerClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });

/** One request as a loopback server received it. */
export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

/**
 * A loopback HTTP server that records each request and answers `respond(request)` (default 200
 * `{}`). `url` is its base URL.
 */
export const loopbackServer = async (
  respond: (request: ReceivedRequest) => {
    status?: number;
    headers?: Record<string, string>;
    body?: string;
  } = () => ({}),
) => {
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      };
      received.push(entry);
      const answer = respond(entry);
      response.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
      response.end(answer.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** Claims of a token, decoded without verification (for assertions on what was sent). */
export const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));

/** Observability that records logs and metrics in memory. */
export const recordingObservability = () => {
  const logs: Array<{ level: string; message: string; fields: unknown }> = [];
  const metrics: Array<{ name: string; value: number; dimension?: [string, string] }> = [];
  const log =
    (level: string) =>
    (message: unknown, ...fields: unknown[]) => {
      logs.push({ level, message: String(message), fields: fields[0] });
    };
  const metricsObject = {
    addMetric: (name: string, _unit: unknown, value: number) => metrics.push({ name, value }),
    singleMetric: () => {
      let dimension: [string, string] | undefined;
      const emitter = {
        addDimension: (key: string, value: string) => {
          dimension = [key, value];
          return emitter;
        },
        addMetric: (name: string, _unit: unknown, value: number) => {
          metrics.push({ name, value, ...(dimension === undefined ? {} : { dimension }) });
          dimension = undefined;
        },
      };
      return emitter;
    },
    publishStoredMetrics: () => undefined,
    hasStoredMetrics: () => false,
  };
  return {
    logs,
    metrics,
    options: {
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } as NhiLogger,
      metrics: metricsObject as never,
    },
  };
};

/**
 * The record key a callee would import for a KMS key, from its SPKI DER public key (what KMS
 * `GetPublicKey` returns), published as `kid` with `kc=kms`.
 */
export const recordKeyFromSpki = (spki: Uint8Array, keyType: 'ed25519' | 'p256', kid: string) => {
  const der = Buffer.from(spki);
  // An Ed25519 record key is the raw 32 bytes; P-256 is the SPKI itself (DESIGN §2).
  const p = keyType === 'ed25519' ? der.subarray(12).toString('base64') : der.toString('base64');
  const text = `v=NHI1; svc=billing; env=prod; kid=${kid}; k=${keyType}; kc=kms; p=${p}`;
  const key = importRecordKeys(parseRecordSet(SELF, [text]).keys).keys.get(kid);
  if (key === undefined) throw new Error(`record key ${kid} did not import: ${text}`);
  return key;
};

/**
 * Verifies a WIT + WPT pair as a callee would: the WIT against the record key, the WPT against
 * the key the WIT confirms (and the pair's `body`, if it names one). `now` is Unix seconds.
 */
export const verifyPairAs = (
  pair: { wit: string; proof: string; body?: string },
  key: VerificationKey,
  options: Omit<VerifyWorkloadProofOptions, 'audience'> & { audience?: string; now: number },
) => {
  const identity = verifyWorkloadIdentity(decodeProof(pair.wit), { key, now: options.now });
  const claims = verifyWorkloadProof(decodeWorkloadProof(pair.proof), identity, {
    ...(pair.body === undefined ? {} : { body: pair.body }),
    ...options,
    audience: options.audience ?? LEDGER,
  });
  return { identity, claims };
};
