import {
  carriedWorkloadPair,
  headerValues,
  httpEventKind,
  IdentityError,
  MAX_PROOF_BYTES,
  WORKLOAD_IDENTITY_TOKEN_HEADER,
  WORKLOAD_PROOF_TOKEN_HEADER,
} from '@nhi-dns/core';

/** Name of this package, carried by the errors it raises. */
export const PACKAGE_NAME = '@nhi-dns/identity-resolve';

/** Finds the proof token of an event; `undefined` when the event carries none. */
export type GetProof = (event: unknown) => string | undefined;

/** `Authorization: NHI <token>`; the scheme is case-insensitive (RFC 9110 §11.1). */
const NHI_AUTHORIZATION = /^nhi +([^\s,]+)$/i;

/**
 * Default proof source (DESIGN §3, §3a): for API Gateway (v1, v2), Function URL and ALB events,
 * the `Authorization: NHI <jws>` header, or the workload identity token of a WIMSE pair
 * (`Workload-Identity-Token` beside `Workload-Proof-Token`: the WIT names the issuer and `kid`
 * as a proof does; identity-verify reads the proof token itself); else, for direct invocations,
 * the WIT of an `{ nhiWit, nhiProof, nhiPayload }` envelope or `event.nhiProof`. More than one
 * value of a header (header smuggling through multi-value headers, or repeated headers joined by
 * a comma), half a pair (also `nhiWit` without `nhiProof`, or a `nhiWit` that is not a string),
 * or an NHI proof beside a pair is `malformed_proof`; an `Authorization` header of another scheme
 * means no NHI proof.
 *
 * @throws {IdentityError} `malformed_proof` or `proof_too_large`.
 */
export const defaultGetProof: GetProof = (event) => {
  if (httpEventKind(event) !== undefined) {
    const proof = authorizationProof(event);
    const wit = workloadIdentityToken(event);
    // Two credentials in one request leave it open which one the policy judged: refuse both.
    if (proof !== undefined && wit !== undefined)
      throw new IdentityError('malformed_proof', PACKAGE_NAME, 'an NHI proof and a workload token pair');
    return proof ?? wit;
  }
  const envelope = typeof event === 'object' && event !== null ? (event as Record<string, unknown>) : {};
  const proof = envelope.nhiProof;
  // The envelope's WIT names issuer and kid, as the header pair's does.
  const pair = carriedWorkloadPair(envelope.nhiWit, proof);
  if (pair.kind === 'malformed') throw new IdentityError('malformed_proof', PACKAGE_NAME, pair.detail);
  if (pair.kind === 'pair') return pair.wit;
  if (proof === undefined || proof === null) return undefined;
  if (typeof proof !== 'string')
    throw new IdentityError('malformed_proof', PACKAGE_NAME, 'nhiProof is not a string');
  return proof;
};

/** The token of `Authorization: NHI <token>`; `undefined` without that header or for another scheme. */
const authorizationProof = (event: unknown): string | undefined => {
  const values = headerValues(event, 'authorization');
  if (values.length === 0) return undefined;
  if (values.length > 1)
    throw new IdentityError('malformed_proof', PACKAGE_NAME, 'several Authorization values');
  const value = values[0] ?? '';
  // Size first, so that no regular expression ever runs over a hostile megabyte.
  if (value.length > MAX_PROOF_BYTES + 16) throw new IdentityError('proof_too_large', PACKAGE_NAME);
  // Another scheme (Bearer, Basic) is no NHI proof: a cheap look at the first four characters.
  if (value.length < 3 || value.slice(0, 3).toLowerCase() !== 'nhi') return undefined;
  if (value.length > 3 && !/\s/.test(value.charAt(3))) return undefined;
  const match = NHI_AUTHORIZATION.exec(value);
  if (match === null)
    throw new IdentityError('malformed_proof', PACKAGE_NAME, 'Authorization is not "NHI <token>"');
  return match[1];
};

/**
 * The WIT of a `Workload-Identity-Token` + `Workload-Proof-Token` pair; `undefined` when the
 * request carries neither. A WIT without its proof token proves nothing about this request, and
 * a proof token without its WIT names no key: half a pair is malformed, not absent.
 */
const workloadIdentityToken = (event: unknown): string | undefined => {
  const wits = headerValues(event, WORKLOAD_IDENTITY_TOKEN_HEADER);
  const wpts = headerValues(event, WORKLOAD_PROOF_TOKEN_HEADER);
  if (wits.length === 0 && wpts.length === 0) return undefined;
  if (wits.length !== 1 || wpts.length !== 1) {
    throw new IdentityError(
      'malformed_proof',
      PACKAGE_NAME,
      'Workload-Identity-Token and Workload-Proof-Token go together, one value each',
    );
  }
  return wits[0];
};
