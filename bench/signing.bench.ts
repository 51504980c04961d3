/**
 * The caller's half (identity-sign), each figure against a baseline timed in the same process:
 * - signing cost per request: `IdentitySigner.sign` (key from a cached secret, claims with a
 *   body hash, one `crypto.sign`) vs one bare Ed25519 `crypto.sign` over a signing input of the
 *   same size; `jose`'s `signProof` for the same claims is reported beside it;
 * - signed `fetch` vs an unsigned `fetch` of the same POST to the same loopback server.
 */
import { sign as cryptoSign, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { decodeProof, NhiError, signProof } from '@nhi-dns/core';
import { createSigner } from '@nhi-dns/identity-sign';
import { type BenchContext, type BenchSuite, type Figure, figure, measurement } from './lib/figure.js';
import { interleave } from './lib/measure.js';
import { silenceOutput } from './lib/output-sink.js';
import { round, summarise } from './lib/stats.js';

const SIZES = {
  full: { signRounds: 10, signCalls: 2000, fetchRounds: 8, fetchCalls: 300 },
  quick: { signRounds: 2, signCalls: 100, fetchRounds: 1, fetchCalls: 30 },
};

const SELF = 'billing.prod.auth.example.com';
const LEDGER = 'ledger.prod.auth.example.com';
const BODY = JSON.stringify({ orderId: 'o-12345', amount: 1250, currency: 'EUR' });

/** A Secrets Manager stand-in holding the key, as the signer reads it in Lambda (no network). */
const secretsHolding = (secretString: string): SecretsManagerClient =>
  ({
    send: async () => ({
      SecretString: secretString,
      VersionId: 'v1',
      Name: '/prod/nhi/billing/signing-key',
    }),
  }) as unknown as SecretsManagerClient;

/** A loopback server answering every request 200 with a small JSON body. */
const startServer = async () => {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(resolve)) };
};

const run = async (context: BenchContext): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA', use: 'sig' };
  const server = await startServer();
  const restore = silenceOutput();
  try {
    const signer = createSigner({
      self: SELF,
      client: secretsHolding(JSON.stringify(jwk)),
      audiences: { [server.url]: LEDGER },
    });
    await signer.ready();
    const sample = await signer.sign({ aud: LEDGER, body: BODY, method: 'POST', url: `${server.url}/pay` });
    const { signingInput } = decodeProof(sample);
    const floor = () => cryptoSign(null, signingInput, privateKey);
    const ours = () => signer.sign({ aud: LEDGER, body: BODY, method: 'POST', url: `${server.url}/pay` });
    const jose = () =>
      signProof({
        privateKey,
        kid: 'k1',
        iss: SELF,
        aud: LEDGER,
        body: BODY,
        method: 'POST',
        url: `${server.url}/pay`,
      });

    context.log('signing: IdentitySigner.sign vs crypto.sign vs jose');
    const signing = await interleave(
      { floor, ours, jose },
      { rounds: size.signRounds, callsPerRound: size.signCalls },
    );

    const init = { method: 'POST', body: BODY, headers: { 'content-type': 'application/json' } };
    const drain = async (response: Response) => {
      if (response.status !== 200) throw new NhiError('bench_failed', `server answered ${response.status}`);
      await response.arrayBuffer();
    };
    const unsigned = async () => drain(await fetch(`${server.url}/pay`, init));
    const signed = async () => drain(await signer.fetch(`${server.url}/pay`, init));
    context.log('signing: signed fetch vs fetch');
    const fetches = await interleave(
      { unsigned, signed },
      { rounds: size.fetchRounds, callsPerRound: size.fetchCalls },
    );

    const floorSummary = summarise(signing.floor);
    return [
      figure({
        id: 'signingCost',
        title: 'Signing cost per request vs one Ed25519 sign',
        subject: measurement(
          'IdentitySigner.sign (aud, bh, htm, htu; key cached)',
          'µs',
          summarise(signing.ours),
        ),
        baseline: measurement('bare Ed25519 crypto.sign (same signing input)', 'µs', floorSummary),
        ratioOf: 'subject/baseline',
        target: { comparison: '<=', value: 1.15 },
        details: {
          joseSignProofMedianUs: round(summarise(signing.jose).median, 1),
          joseRatioToFloor: round(summarise(signing.jose).median / floorSummary.median),
          signingInputBytes: signingInput.length,
        },
        method:
          'The signer of a Lambda function: key read once from a Secrets Manager stand-in and cached, claims built and body hashed per call, one crypto.sign. Interleaved with the floor and jose.',
      }),
      figure({
        id: 'signedFetch',
        title: 'Signed fetch vs unsigned fetch (loopback POST)',
        subject: measurement('signer.fetch', 'µs', summarise(fetches.signed)),
        baseline: measurement('fetch', 'µs', summarise(fetches.unsigned)),
        ratioOf: 'subject/baseline',
        target: { comparison: '<=', value: 1.2 },
        details: {
          overheadMedianUs: round(summarise(fetches.signed).median - summarise(fetches.unsigned).median, 1),
        },
        method: `The same ${BODY.length}-byte JSON POST to a loopback node:http server (keep-alive), awaited with its body read, interleaved.`,
      }),
    ];
  } finally {
    restore();
    await server.close();
  }
};

/** Signing-cost and signed-fetch figures. */
export const signingBench: BenchSuite = { name: 'signing', run };
