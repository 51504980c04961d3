import { hasDotSegment, PROOF_AUTH_SCHEME } from '@nhi-dns/core';
import { SigningError } from './errors.js';
import type { IdentitySigner } from './signer.js';

/** `fetch` options plus the audience of this one request. */
export interface SignedRequestInit extends RequestInit {
  /** The callee's identity for this request; default: the `audiences` entry of the URL's origin. */
  aud?: string | readonly string[];
}

/** A `fetch` that signs every request (see {@link signedFetch}). */
export type SignedFetch = (input: string | URL | Request, init?: SignedRequestInit) => Promise<Response>;

const unbindable = (message: string, cause?: unknown): SigningError =>
  new SigningError(
    'unbindable_request',
    `identity-sign: ${message}`,
    cause === undefined ? undefined : { cause },
  );

const isStream = (body: unknown): boolean =>
  body instanceof ReadableStream ||
  (typeof body === 'object' && body !== null && Symbol.asyncIterator in body && !(body instanceof Blob));

/**
 * Wraps `fetch` so that each request carries `Authorization: NHI <proof>` binding its audience,
 * method (`htm`), URL (`htu`) and, with `bindBody`, the exact body bytes (`bh`). The request is
 * normalised by `new Request()` first, so the bytes hashed are the bytes sent (strings as UTF-8,
 * `URLSearchParams`, `FormData` and `Blob` as fetch encodes them, with their content type).
 *
 * Refused before anything is sent (`SigningError`): no audience for the origin (`no_audience`),
 * a streamed body while `bindBody` is on, a URL whose path holds encoded dot segments, which the
 * verifier refuses (`unbindable_request`), or a request that already has an `Authorization`
 * header (`carrier_conflict`). Redirects are not followed (`redirect: 'manual'`, unless you ask
 * for `'error'`): a proof names one URL and is a bearer credential until it expires, so it must
 * not be sent on to a location it does not name.
 */
export const signedFetch =
  (signer: IdentitySigner, baseFetch: () => typeof fetch): SignedFetch =>
  async (input, init = {}) => {
    const { aud, ...requestInit } = init;
    if (signer.bindsBody && isStream(requestInit.body)) {
      throw unbindable('a streamed body cannot be bound with bh: pass its bytes, or set bindBody: false');
    }
    let request: Request;
    try {
      request = new Request(input, requestInit);
    } catch (error) {
      throw unbindable('fetch input is not a valid absolute request', error);
    }
    if (request.headers.has('authorization')) {
      throw new SigningError(
        'carrier_conflict',
        'identity-sign: the request already has an Authorization header; a signed request carries one credential, the proof',
      );
    }
    const url = new URL(request.url);
    url.hash = '';
    if (hasDotSegment(url.href))
      throw unbindable('the URL path holds dot segments, which the verifier refuses');
    const audience = signer.audienceFor({ carrier: 'http', url }, aud);
    // Hash a copy: the request keeps its own body to send.
    const body =
      request.body === null ? new Uint8Array() : new Uint8Array(await request.clone().arrayBuffer());
    const token = await signer.issue('http', {
      aud: audience,
      method: request.method,
      url: url.href,
      ...(signer.bindsBody ? { body } : {}),
    });
    const headers = new Headers(request.headers);
    headers.set('authorization', `${PROOF_AUTH_SCHEME} ${token}`);
    return baseFetch()(
      new Request(request, { headers, redirect: requestInit.redirect === 'error' ? 'error' : 'manual' }),
    );
  };
