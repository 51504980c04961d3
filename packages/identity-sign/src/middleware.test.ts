import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { SigningError } from './errors.js';
import identitySign, { createSigner, type IdentitySignContext } from './index.js';
import {
  keyedIdentity,
  LEDGER,
  loopbackServer,
  mockSigningKeySecret,
  recordingObservability,
  SELF,
  secretsClient,
  verifyAs,
} from './test-helpers.test-support.js';

const { identity, jwk } = keyedIdentity('k1');
const sm = mockSigningKeySecret();
/** Middy types a wrapped handler's context parameter with what its middlewares add. */
const lambdaContext = () =>
  ({
    awsRequestId: 'req-1',
    functionName: 'billing',
    getRemainingTimeInMillis: () => 3000,
  }) as unknown as Context & IdentitySignContext;

describe('identitySign middleware', () => {
  let server: Awaited<ReturnType<typeof loopbackServer>>;
  beforeAll(async () => {
    server = await loopbackServer();
  });
  afterAll(() => server.close());
  beforeEach(() => sm.mock.reset());

  it('gives the handler a typed context.signer whose key is loaded, and signs its calls', async () => {
    sm.holds(jwk);
    const recorded = recordingObservability();
    const handler = middy<{ amount: number }, { status: number }>()
      .use(
        identitySign({
          self: SELF,
          client: secretsClient(),
          audiences: { [server.url]: LEDGER },
          ...recorded.options,
        }),
      )
      .handler(async (event, context) => {
        // Typed through Middy's use(): no cast.
        const response = await context.signer.fetch(`${server.url}/pay`, {
          method: 'POST',
          body: JSON.stringify(event),
        });
        const token = await context.signer.sign({ aud: LEDGER });
        verifyAs(token, [identity], {});
        return { status: response.status };
      });
    expect(await handler({ amount: 5 }, lambdaContext())).toEqual({ status: 200 });
    const [received] = server.received;
    const token = String(received?.headers.authorization).split(' ')[1] ?? '';
    verifyAs(token, [identity], {
      method: 'POST',
      url: `${server.url}/pay`,
      body: received!.body,
      requireBodyHash: true,
    });
  });

  it('fails the invocation before the handler when the key cannot be loaded, then recovers', async () => {
    sm.mock.rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $fault: 'client' }));
    let now = 1_800_000_000_000;
    let ran = 0;
    const signer = createSigner({
      self: SELF,
      client: secretsClient(),
      prefetch: false,
      now: () => now,
      ...recordingObservability().options,
    });
    const handler = middy()
      .use(identitySign(signer))
      .handler(async () => {
        ran += 1;
        return 'ok';
      });
    const error = await handler({}, lambdaContext()).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(SigningError);
    expect(error).toMatchObject({ reason: 'signing_key_unavailable' });
    expect(ran).toBe(0);
    sm.mock.reset();
    sm.holds(jwk);
    now += 5000;
    expect(await handler({}, lambdaContext())).toBe('ok');
  });

  it('exposes the signer for SDK clients created at init', () => {
    const middleware = identitySign({ self: SELF, signingKey: { jwk }, ...recordingObservability().options });
    expect(middleware.signer.self).toBe(SELF);
    expect(typeof middleware.signer.awsSdkPlugin().applyToStack).toBe('function');
  });
});
