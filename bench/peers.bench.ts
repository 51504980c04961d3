/**
 * Our proof check and our chain beside real peers, each figure a ratio within one run:
 * - one token check: `@nhi-dns/core`'s `decodeProof` + `verifyProof` (as identity-verify calls
 *   it, key from the parsed record) vs `aws-jwt-verify`'s `JwtVerifier.verifySync` (JWKS cached
 *   with `cacheJwks`, no network) and vs `fast-jwt`'s `createVerifier` (key given, no result
 *   cache), with a bare `crypto.verify` over the same tokens as the floor. Every call verifies a
 *   new pre-signed Ed25519 (`EdDSA`) token with `iss`, `aud`, `iat`, `exp` and `jti`;
 * - the deployed http-api-callee chain vs the same Middy + Powertools wiring (logMetrics,
 *   http-error-handler, secrets-inject) around a small bearer-token middleware on aws-jwt-verify.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy, { type MiddlewareObj } from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import { decodeProof, importRecordKeys, parseRecordSet, verifyProof } from '@nhi-dns/core';
import type { TestIdentity } from '@nhi-dns/core/test-support';
import secretsInject from '@nhi-dns/secrets-inject';
import { JwtVerifier } from 'aws-jwt-verify';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { createVerifier } from 'fast-jwt';
import {
  apiEvent,
  BODY,
  CALLEE,
  type CalleeHandler,
  createCallers,
  expectOk,
  LAMBDA_CONTEXT,
  startChainFixture,
} from './lib/chain-fixture.js';
import { type BenchContext, type BenchSuite, type Figure, figure, measurement } from './lib/figure.js';
import { interleave } from './lib/measure.js';
import { silenceOutput } from './lib/output-sink.js';
import { round, summarise } from './lib/stats.js';

/** Loop sizes, full and quick. */
const SIZES = {
  full: { rounds: 10, calls: 1000, chainRounds: 10, chainCalls: 500 },
  quick: { rounds: 2, calls: 100, chainRounds: 2, chainCalls: 50 },
};

/** Proofs live 300 s (our longest): aws-jwt-verify allows no grace past `exp` by default. */
const LIFETIME = 300;

/** Where a real issuer would publish its JWKS; never fetched (the JWKS is cached up front). */
const jwksUriOf = (issuer: string) => `https://${issuer}/.well-known/jwks.json`;

/** aws-jwt-verify for one issuer, its JWKS (the caller's Ed25519 key) cached in-process. */
const awsVerifierFor = (caller: TestIdentity) => {
  const verifier = JwtVerifier.create({
    issuer: caller.name,
    audience: CALLEE,
    jwksUri: jwksUriOf(caller.name),
  });
  const { x } = createPublicKey(caller.privateKey).export({ format: 'jwk' });
  if (x === undefined) throw new Error('not an Ed25519 key');
  verifier.cacheJwks({
    keys: [{ kty: 'OKP', crv: 'Ed25519', x, kid: caller.kid, alg: 'EdDSA', use: 'sig' }],
  });
  return verifier;
};

/**
 * `count` distinct tokens from `caller` to the callee (new `jti` each); `bound` adds `bh` and
 * `htm` for the request the chains receive.
 */
const presign = async (caller: TestIdentity, count: number, bound = false): Promise<string[]> => {
  const tokens: string[] = new Array(count);
  const binding = bound ? { body: BODY, method: 'POST' } : {};
  for (let i = 0; i < count; i++) {
    tokens[i] = await caller.sign({ aud: CALLEE, lifetime: LIFETIME, ...binding });
  }
  return tokens;
};

/** Candidate that takes pre-built input `index` and throws when the inputs ran out. */
const indexed =
  <T>(inputs: readonly T[], check: (input: T) => unknown) =>
  (index: number): unknown => {
    const input = inputs[index];
    if (input === undefined) throw new Error(`benchmark ran out of pre-signed tokens at ${index}`);
    return check(input);
  };

/** HTTP 401 that http-error-handler answers as it would a Middy `createError(401)`. */
const unauthorized = (cause: unknown) =>
  Object.assign(new Error('Unauthorized', { cause }), { statusCode: 401, expose: true });

/**
 * The peer's identity step, as a team on aws-jwt-verify would write it: the bearer token from
 * `Authorization`, `await verifier.verify` (cached JWKS), the caller on the context, one info
 * line and one `AuthSuccess` count, as identity-verify emits per accepted call.
 */
const awsJwtAuth = (
  verifier: ReturnType<typeof awsVerifierFor>,
  logger: Logger,
  metrics: Metrics,
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2> => ({
  before: async (request) => {
    const header = request.event.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    let payload: Awaited<ReturnType<typeof verifier.verify>>;
    try {
      payload = await verifier.verify(token);
    } catch (error) {
      throw unauthorized(error);
    }
    (request.context as Context & { caller?: { name: string } }).caller = { name: String(payload.iss) };
    logger.info('identity verified', { 'nhi.name': payload.iss, 'nhi.outcome': 'verified' });
    metrics.addMetric('AuthSuccess', MetricUnit.Count, 1);
  },
});

/** The peer chain: the callee's Middy + Powertools wiring with aws-jwt-verify as the identity step. */
const peerChain = (caller: TestIdentity, secretsClient: SecretsManagerClient): CalleeHandler => {
  const logger = new Logger({ serviceName: 'ledger', logLevel: 'INFO' });
  const metrics = new Metrics({ namespace: 'NHI', serviceName: 'ledger' });
  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(logMetrics(metrics))
    .use(httpErrorHandler({ logger: false }))
    .use(awsJwtAuth(awsVerifierFor(caller), logger, metrics))
    .use(
      secretsInject({
        secrets: { ledgerDb: 'ledger/db' },
        namespace: '/prod/',
        logger,
        metrics,
        client: secretsClient,
      }),
    )
    .handler(async (event, context) => {
      // The same answer as the callee's handler.
      const { caller: who, secrets } = context as unknown as {
        caller: { name: string };
        secrets: Record<string, unknown>;
      };
      const database = secrets.ledgerDb as { username?: string } | undefined;
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          message: 'payment recorded',
          caller: who.name,
          databaseUser: database?.username,
          bytes: event.body?.length ?? 0,
        }),
      };
    });
  return handler as unknown as CalleeHandler;
};

/** Calls `handler` with pre-built event `index` and insists on a 200. */
const invoke =
  (handler: CalleeHandler, events: readonly APIGatewayProxyEventV2[]) =>
  async (index: number): Promise<void> => {
    const event = events[index];
    if (event === undefined) throw new Error(`benchmark ran out of pre-signed events at ${index}`);
    expectOk(await handler(event, { ...LAMBDA_CONTEXT }));
  };

/** One token check per candidate, interleaved. */
const verifyFigures = async (context: BenchContext, caller: TestIdentity): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  // One more each: the acceptance check below uses (and pops) the last.
  const perCandidate = size.calls * (size.rounds + 1) + 1;
  context.log(`peers: signing ${4 * perCandidate} tokens`);
  const tokens = {
    floor: await presign(caller, perCandidate),
    ours: await presign(caller, perCandidate),
    awsJwtVerify: await presign(caller, perCandidate),
    fastJwt: await presign(caller, perCandidate),
  };

  // Ours: the key as identity-resolve holds it (parsed record, imported once).
  const key = importRecordKeys(parseRecordSet(caller.name, [caller.strings]).keys).keys.get(caller.kid);
  if (key === undefined) throw new Error('caller key did not import');
  const ours = (token: string) => {
    const proof = decodeProof(token);
    const found = proof.header.kid === caller.kid ? key : undefined;
    if (found === undefined) throw new Error('unknown kid');
    return verifyProof(proof, { key: found, audience: CALLEE, now: Math.floor(Date.now() / 1000) });
  };

  const aws = awsVerifierFor(caller);
  const fast = createVerifier({
    key: createPublicKey(caller.privateKey).export({ format: 'pem', type: 'spki' }).toString(),
    algorithms: ['EdDSA'],
    allowedAud: CALLEE,
    allowedIss: caller.name,
    checkTyp: 'nhi+jwt',
    requiredClaims: ['iss', 'aud', 'exp', 'jti'],
    cache: false,
  });

  // The floor: the signature check alone, over distinct tokens decoded beforehand.
  const publicKey: KeyObject = createPublicKey(caller.privateKey);
  const floorInputs = tokens.floor.map((token) => decodeProof(token));
  const floor = (proof: (typeof floorInputs)[number]) => {
    if (!cryptoVerify(null, proof.signingInput, publicKey, proof.signature)) throw new Error('floor fails');
  };

  // Every candidate must accept its first token: a benchmark of refusals measures the wrong path.
  ours(tokens.ours[perCandidate - 1]!);
  aws.verifySync(tokens.awsJwtVerify[perCandidate - 1]!);
  fast(tokens.fastJwt[perCandidate - 1]!);
  tokens.ours.pop();
  tokens.awsJwtVerify.pop();
  tokens.fastJwt.pop();

  context.log('peers: one token check, ours vs aws-jwt-verify vs fast-jwt vs crypto.verify');
  const samples = await interleave(
    {
      floor: indexed(floorInputs, floor),
      ours: indexed(tokens.ours, ours),
      awsJwtVerify: indexed(tokens.awsJwtVerify, (token) => aws.verifySync(token)),
      fastJwt: indexed(tokens.fastJwt, fast),
    },
    { rounds: size.rounds, callsPerRound: size.calls },
  );
  const median = (values: readonly number[]) => summarise(values).median;
  const ourMeasurement = measurement(
    'decodeProof + verifyProof (@nhi-dns/core)',
    'µs',
    summarise(samples.ours),
  );
  const floorUs = round(median(samples.floor), 1);
  const common =
    'Ed25519 (EdDSA) tokens (typ nhi+jwt) with iss, aud, iat, exp, jti, a new pre-signed token per call, key or JWKS cached in-process, candidates interleaved round by round.';
  return [
    figure({
      id: 'peerVerifyAwsJwtVerify',
      title: 'One token check: ours vs aws-jwt-verify',
      subject: ourMeasurement,
      baseline: measurement(
        'aws-jwt-verify JwtVerifier.verifySync, JWKS cached',
        'µs',
        summarise(samples.awsJwtVerify),
      ),
      ratioOf: 'subject/baseline',
      target: { comparison: '<=', value: 0.8 },
      details: {
        floorCryptoVerifyMedianUs: floorUs,
        oursToFloor: round(median(samples.ours) / median(samples.floor)),
        awsJwtVerifyToFloor: round(median(samples.awsJwtVerify) / median(samples.floor)),
      },
      method: `${common} aws-jwt-verify 5: JwtVerifier.create({ issuer, audience, jwksUri }) + cacheJwks (no fetch), verifySync; it does not check typ. Ours: decodeProof + verifyProof with the record's imported KeyObject (typ, alg by key type, aud, iat/exp with 60 s skew, lifetime, jti length).`,
    }),
    figure({
      id: 'peerVerifyFastJwt',
      title: 'One token check: ours vs fast-jwt',
      subject: ourMeasurement,
      baseline: measurement(
        'fast-jwt createVerifier (key given, no cache)',
        'µs',
        summarise(samples.fastJwt),
      ),
      ratioOf: 'subject/baseline',
      details: {
        floorCryptoVerifyMedianUs: floorUs,
        fastJwtToFloor: round(median(samples.fastJwt) / median(samples.floor)),
      },
      method: `${common} fast-jwt 6: createVerifier({ key: SPKI PEM, algorithms: ['EdDSA'], allowedAud, allowedIss, checkTyp: 'nhi+jwt', requiredClaims, cache: false }).`,
    }),
    figure({
      id: 'peerVerifyFloor',
      title: 'One token check: ours vs one bare Ed25519 verify',
      subject: ourMeasurement,
      baseline: measurement('bare Ed25519 crypto.verify (distinct tokens)', 'µs', summarise(samples.floor)),
      ratioOf: 'subject/baseline',
      method: `${common} The floor verifies each token's signature over its signing input, decoded beforehand.`,
    }),
  ];
};

/** The deployed callee chain vs the aws-jwt-verify chain, interleaved. */
const chainFigures = async (context: BenchContext, caller: TestIdentity): Promise<Figure[]> => {
  const size = context.quick ? SIZES.quick : SIZES.full;
  const perCandidate = size.chainCalls * (size.chainRounds + 1) + 1;
  const fixture = await startChainFixture([caller]);
  try {
    context.log(`peers: signing ${2 * perCandidate} proofs for the chains`);
    const ourEvents = (await presign(caller, perCandidate, true)).map((token) => apiEvent(token));
    const peerEvents = (await presign(caller, perCandidate, true)).map((token) => {
      const event = apiEvent(token);
      return { ...event, headers: { ...event.headers, authorization: `Bearer ${token}` } };
    });
    // Handlers are built with output silenced: secrets-inject prefetches and logs at creation.
    const restore = silenceOutput();
    let samples: Record<'ours' | 'peer', number[]>;
    try {
      const ours = fixture.handler();
      const peer = peerChain(caller, fixture.secretsClient);
      // Cold invocations fill the DNS and secrets caches; everything timed below is warm.
      expectOk(await ours(ourEvents.pop()!, { ...LAMBDA_CONTEXT }));
      expectOk(await peer(peerEvents.pop()!, { ...LAMBDA_CONTEXT }));
      context.log('peers: warm chain, ours vs aws-jwt-verify chain');
      samples = await interleave(
        { ours: invoke(ours, ourEvents), peer: invoke(peer, peerEvents) },
        { rounds: size.chainRounds, callsPerRound: size.chainCalls },
      );
    } finally {
      restore();
    }
    return [
      figure({
        id: 'peerChainAwsJwtVerify',
        title: 'Warm chain: ours vs the same Middy + Powertools chain on aws-jwt-verify',
        subject: measurement('http-api-callee chain (ours)', 'µs', summarise(samples.ours)),
        baseline: measurement(
          'logMetrics + http-error-handler + aws-jwt-verify + secrets-inject',
          'µs',
          summarise(samples.peer),
        ),
        ratioOf: 'subject/baseline',
        method:
          'Both: middy, Powertools logMetrics, http-error-handler, secrets-inject (same loopback Secrets Manager, secret cached), one info line and the AuthSuccess count per call, output to a no-op sink, a new pre-signed token per call. Ours adds what the peer does not do: the issuer record from the DNS cache (identity-resolve), typ, bh (body hash), htm, the allow list and the replay claim (in-memory store). The peer: Bearer token, await JwtVerifier.verify with the JWKS cached.',
      }),
    ];
  } finally {
    await fixture.stop();
  }
};

const run = async (context: BenchContext): Promise<Figure[]> => {
  const [caller] = createCallers(1);
  if (caller === undefined) throw new Error('no caller');
  return [...(await verifyFigures(context, caller)), ...(await chainFigures(context, caller))];
};

/** Token check and warm chain against aws-jwt-verify and fast-jwt. */
export const peersBench: BenchSuite = { name: 'peers', run };
