import { proofHeaders, withProofHeader, withProofPayload } from './caller.js';
import { NhiError } from './errors.js';

const TOKEN = 'eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJhIn0.c2ln';

describe('caller helpers', () => {
  it('builds the Authorization header with the NHI scheme', () => {
    expect(proofHeaders(TOKEN)).toEqual({ authorization: `NHI ${TOKEN}` });
  });

  it('merges the proof into a fetch init, keeping the other headers and replacing Authorization', () => {
    const init: RequestInit = {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json', Authorization: 'Bearer old' },
    };
    const merged = withProofHeader(init, TOKEN);
    const headers = new Headers(merged.headers);
    expect(merged.method).toBe('POST');
    expect(merged.body).toBe('{}');
    expect(headers.get('content-type')).toBe('application/json');
    expect(headers.get('authorization')).toBe(`NHI ${TOKEN}`);
    expect(init.headers).toEqual({ 'content-type': 'application/json', Authorization: 'Bearer old' });
    for (const given of [
      undefined,
      {},
      { headers: [['x-a', '1']] as [string, string][] },
      { headers: new Headers({ 'x-a': '1' }) },
    ]) {
      expect(new Headers(withProofHeader(given, TOKEN).headers).get('authorization')).toBe(`NHI ${TOKEN}`);
    }
    expect(new Headers(withProofHeader({ headers: [['x-a', '1']] }, TOKEN).headers).get('x-a')).toBe('1');
  });

  it('adds nhiProof to an invoke payload without touching the input', () => {
    const payload = { orderId: 7 };
    expect(withProofPayload(payload, TOKEN)).toEqual({ orderId: 7, nhiProof: TOKEN });
    expect(payload).toEqual({ orderId: 7 });
    expect(() => withProofPayload([] as object, TOKEN)).toThrow(TypeError);
  });

  it('refuses anything that is not a compact JWS (no header injection)', () => {
    for (const bad of ['', 'a.b', `${TOKEN}\r\nX-Evil: 1`, `${TOKEN}, NHI other`, 'a.b.c d', 1 as never]) {
      expect(() => proofHeaders(bad)).toThrow(NhiError);
      expect(() => withProofHeader(undefined, bad)).toThrow(
        expect.objectContaining({ reason: 'malformed_proof' }),
      );
      expect(() => withProofPayload({}, bad)).toThrow(NhiError);
    }
  });
});
