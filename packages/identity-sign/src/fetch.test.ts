import { SigningError } from './errors.js';
import { createSigner } from './signer.js';
import {
  keyedIdentity,
  LEDGER,
  loopbackServer,
  type ReceivedRequest,
  recordingObservability,
  SELF,
  verifyAs,
} from './test-helpers.test-support.js';

const quiet = recordingObservability().options;
const { identity, jwk } = keyedIdentity('k1');
let server: Awaited<ReturnType<typeof loopbackServer>>;

beforeAll(async () => {
  server = await loopbackServer((request) =>
    request.url === '/moved' ? { status: 307, headers: { location: '/elsewhere' } } : { body: '{"ok":true}' },
  );
});
afterAll(() => server.close());
beforeEach(() => server.received.splice(0));

const signerFor = (options: Parameters<typeof createSigner>[0] = {}) =>
  createSigner({
    ...quiet,
    self: SELF,
    signingKey: { jwk },
    audiences: { [server.url]: LEDGER },
    ...options,
  });

/** Verifies what the server received as the callee would: method, URL and body bytes. */
const verifyReceived = (
  received: ReceivedRequest,
  options: { body?: Uint8Array | string; audience?: string; requireBodyHash?: boolean } = {},
) => {
  const [scheme, token] = String(received.headers.authorization).split(' ');
  expect(scheme).toBe('NHI');
  return verifyAs(token ?? '', [identity], {
    method: received.method,
    url: `${server.url}${received.url}`,
    body: options.body ?? received.body,
    requireBodyHash: options.requireBodyHash ?? true,
    ...(options.audience === undefined ? {} : { audience: options.audience }),
  }).claims;
};

describe('signer.fetch', () => {
  it('signs a POST binding method, URL and the exact body bytes, and returns the response', async () => {
    const signer = signerFor();
    const response = await signer.fetch(`${server.url}/pay?x=1#frag`, {
      method: 'post',
      body: '{"amount":1,"note":"é"}',
      headers: { 'content-type': 'application/json', 'x-trace': 't1' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    const [received] = server.received;
    expect(received?.headers['x-trace']).toBe('t1');
    expect(received?.body.toString('utf8')).toBe('{"amount":1,"note":"é"}');
    const claims = verifyReceived(received!);
    // htu is scheme + host + path, as the verifier compares it: the query is not copied into the proof.
    expect(claims).toMatchObject({ iss: SELF, aud: LEDGER, htm: 'POST', htu: `${server.url}/pay` });
  });

  it('binds a GET as the empty body, and each body type as fetch encodes it', async () => {
    const signer = signerFor();
    await signer.fetch(`${server.url}/read`);
    const form = new FormData();
    form.set('field', 'value');
    const bodies: RequestInit['body'][] = [
      new URLSearchParams({ a: '1', b: 'two words' }),
      new Uint8Array([0, 1, 2, 255]),
      new Blob(['blob bytes'], { type: 'text/plain' }),
      form,
      new Uint8Array([9, 8, 7]).buffer,
    ];
    for (const body of bodies) await signer.fetch(`${server.url}/write`, { method: 'PUT', body });
    expect(server.received).toHaveLength(1 + bodies.length);
    for (const received of server.received) verifyReceived(received);
    expect(String(server.received[1]?.headers['content-type'])).toContain(
      'application/x-www-form-urlencoded',
    );
    expect(String(server.received[4]?.headers['content-type'])).toContain('multipart/form-data; boundary=');
  });

  it('signs a Request object, keeping its body and headers', async () => {
    const signer = signerFor();
    await signer.fetch(
      new Request(`${server.url}/req`, { method: 'DELETE', body: 'gone', headers: { 'x-a': 'b' } }),
    );
    const [received] = server.received;
    expect(received?.headers['x-a']).toBe('b');
    expect(verifyReceived(received!)).toMatchObject({ htm: 'DELETE' });
  });

  it('refuses a tampered body at the callee', async () => {
    await signerFor().fetch(`${server.url}/pay`, { method: 'POST', body: '{"amount":1}' });
    expect(() => verifyReceived(server.received[0]!, { body: '{"amount":1000}' })).toThrow(
      expect.objectContaining({ reason: 'body_mismatch' }),
    );
  });

  it('takes an explicit aud per call, and refuses an origin with no audience before sending', async () => {
    const signer = signerFor({ audiences: {} });
    await expect(signer.fetch(`${server.url}/x`)).rejects.toMatchObject({ reason: 'no_audience' });
    await signer.fetch(`${server.url}/x`, { aud: 'Audit.Prod.Auth.Example.com' });
    expect(server.received).toHaveLength(1);
    const claims = verifyReceived(server.received[0]!, { audience: 'audit.prod.auth.example.com' });
    expect(claims.aud).toBe('audit.prod.auth.example.com');
  });

  it('fails before sending what it cannot bind: streams, encoded dot segments, a second credential', async () => {
    const signer = signerFor();
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('chunk'));
        controller.close();
      },
    });
    const refusals: Array<[Promise<unknown>, string]> = [
      [
        signer.fetch(`${server.url}/up`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit),
        'unbindable_request',
      ],
      [signer.fetch(`${server.url}/a%2f..%2fadmin`), 'unbindable_request'],
      [signer.fetch(`${server.url}/x`, { headers: { authorization: 'Bearer other' } }), 'carrier_conflict'],
      [signer.fetch('/relative'), 'unbindable_request'],
      [signer.fetch(`${server.url.replace('http://', 'http://user:pw@')}/x`), 'unbindable_request'],
      [signer.fetch(`${server.url}/x`, { method: 'GET', body: 'b' }), 'unbindable_request'],
    ];
    for (const [promise, reason] of refusals) {
      await expect(promise).rejects.toBeInstanceOf(SigningError);
      await expect(promise).rejects.toMatchObject({ reason });
    }
    expect(server.received).toHaveLength(0);
  });

  it('sends a stream unbound when bindBody is false', async () => {
    const signer = signerFor({ bindBody: false });
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('chunk'));
        controller.close();
      },
    });
    await signer.fetch(`${server.url}/up`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    const [received] = server.received;
    expect(received?.body.toString()).toBe('chunk');
    expect(verifyReceived(received!, { requireBodyHash: false }).bh).toBeUndefined();
  });

  it('does not follow a redirect with the proof', async () => {
    const response = await signerFor().fetch(`${server.url}/moved`);
    expect(response.status).toBe(307);
    expect(server.received.map((request) => request.url)).toEqual(['/moved']);
  });

  it('counts ProofSigned', async () => {
    const recorded = recordingObservability();
    await signerFor(recorded.options).fetch(`${server.url}/x`);
    expect(recorded.metrics).toEqual([{ name: 'ProofSigned', value: 1 }]);
  });
});
