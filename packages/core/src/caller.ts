import { NhiError } from './errors.js';
import { SIGNED_PAYLOAD_FIELD } from './http-event.js';

/** Authorization scheme of a proof (DESIGN §3: `Authorization: NHI <jws>`). */
export const PROOF_AUTH_SCHEME = 'NHI';
/** Field of a direct-invocation payload that carries the proof (DESIGN §3). */
export const PROOF_PAYLOAD_FIELD = 'nhiProof';
/**
 * Field (or SQS/SNS message attribute) beside `nhiProof` that carries the workload identity token
 * of a WIMSE pair (DESIGN §3a): direct invocations, EventBridge details, SQS and SNS messages.
 */
export const WIT_PAYLOAD_FIELD = 'nhiWit';

/**
 * What a non-HTTP carrier holds, read from its `nhiWit` and `nhiProof` (envelope members or
 * message attributes): no WIT (`none`: an NHI1 proof, or nothing, as the carrier's own rules
 * say), a WIMSE pair (`pair`: the WIT and the proof token made for it), or half a pair or a
 * WIT that is not a string (`malformed`, why in `detail`).
 */
export type CarriedWorkloadPair =
  | { readonly kind: 'none' }
  | { readonly kind: 'pair'; readonly wit: string; readonly proof: string }
  | { readonly kind: 'malformed'; readonly detail: string };

/**
 * The one rule for a WIT on a non-HTTP carrier (DESIGN §3a): `wit` and `proof` are the values of
 * `nhiWit` and `nhiProof` as the carrier holds them (`undefined` when absent; a message attribute
 * of another data type is passed as what it is, not as a string). A WIT proves nothing about the
 * message without the proof token made for it, and it must be the string the caller sent.
 */
export const carriedWorkloadPair = (wit: unknown, proof: unknown): CarriedWorkloadPair => {
  if (wit === undefined) return { kind: 'none' };
  if (typeof wit !== 'string') return { kind: 'malformed', detail: `${WIT_PAYLOAD_FIELD} is not a string` };
  if (typeof proof !== 'string') {
    return {
      kind: 'malformed',
      detail: `${WIT_PAYLOAD_FIELD} goes with a string ${PROOF_PAYLOAD_FIELD} (its proof token)`,
    };
  }
  return { kind: 'pair', wit, proof };
};

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Refuses anything that is not a compact JWS, so no header can be injected (CR/LF, commas). */
const checkToken = (token: string): string => {
  if (typeof token !== 'string' || !COMPACT_JWS.test(token)) {
    throw new NhiError('malformed_proof', 'token is not a compact JWS');
  }
  return token;
};

/**
 * Headers that carry a proof: `{ authorization: 'NHI <token>' }`.
 * @throws {NhiError} `malformed_proof` when `token` is not a compact JWS.
 */
export const proofHeaders = (token: string): { authorization: string } => ({
  authorization: `${PROOF_AUTH_SCHEME} ${checkToken(token)}`,
});

/**
 * Adds the proof to a `fetch` init, keeping every other header (any `Authorization` is
 * replaced: a request carries one credential). The input is not modified.
 *
 * @example
 * const token = await signProof({ privateKey, kid, iss, aud, method: 'POST', url, body });
 * await fetch(url, withProofHeader({ method: 'POST', body }, token));
 * @throws {NhiError} `malformed_proof` when `token` is not a compact JWS.
 */
export const withProofHeader = (init: RequestInit | undefined, token: string): RequestInit => {
  const headers = new Headers(init?.headers);
  headers.set('authorization', proofHeaders(token).authorization);
  return { ...init, headers };
};

/**
 * Adds the proof to a direct `Lambda.invoke` payload as `nhiProof` (a copy; the input is kept).
 *
 * @example
 * const Payload = JSON.stringify(withProofPayload({ orderId }, token));
 * await lambda.send(new InvokeCommand({ FunctionName, Payload }));
 * @throws {NhiError} `malformed_proof` when `token` is not a compact JWS.
 */
export const withProofPayload = <T extends object>(payload: T, token: string): T & { nhiProof: string } => {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new TypeError('withProofPayload: payload must be a plain object');
  }
  return { ...payload, [PROOF_PAYLOAD_FIELD]: checkToken(token) } as T & { nhiProof: string };
};

/** A direct-invocation (or queue) envelope: the proof, and the payload as the exact string `bh` covers. */
export interface SignedEnvelope {
  readonly nhiProof: string;
  /** The payload as the caller serialised it (e.g. `JSON.stringify(order)`); the callee parses it. */
  readonly nhiPayload: string;
}

/**
 * The envelope of a direct invocation whose proof binds its payload: sign with
 * `body: payload` (the same string), then send `JSON.stringify(withSignedPayload(payload, token))`.
 * The callee's identity-verify hashes `event.nhiPayload` for `bh`, and the handler parses that
 * same string, so the proof covers exactly what the handler acts on (DESIGN §3, "Transports").
 *
 * @example
 * const payload = JSON.stringify({ orderId });
 * const token = await signProof({ privateKey, kid, iss, aud, body: payload });
 * await lambda.send(new InvokeCommand({ FunctionName, Payload: JSON.stringify(withSignedPayload(payload, token)) }));
 * @throws {NhiError} `malformed_proof` when `token` is not a compact JWS.
 */
export const withSignedPayload = (payload: string, token: string): SignedEnvelope => {
  if (typeof payload !== 'string')
    throw new TypeError('withSignedPayload: payload must be the serialised string');
  return { [PROOF_PAYLOAD_FIELD]: checkToken(token), [SIGNED_PAYLOAD_FIELD]: payload } as SignedEnvelope;
};
