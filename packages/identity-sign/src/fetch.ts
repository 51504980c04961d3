import { hasDotSegment } from '@nhi-dns/core';
import { CREDENTIAL_HEADERS, credentialHeaders } from './credential.js';
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
 * Bytes of a body that fetch sends as they are (no stream to read), or `undefined` for bodies
 * that only a `Request` can encode (`FormData`, `Blob`, streams). Strings and URLSearchParams are
 * encoded as UTF-8, as fetch encodes them.
 */
const directBytes = (body: RequestInit['body']): Uint8Array | undefined => {
  if (body === undefined || body === null) return new Uint8Array();
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof URLSearchParams) return Buffer.from(body.toString(), 'utf8');
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
};

/** What is signed and sent: the URL, method, headers and body bytes of one request. */
interface Outgoing {
  readonly url: URL;
  readonly method: string;
  /** A copy of the request's headers, to which the proof is added. */
  readonly headers: Headers;
  readonly bytes: Uint8Array;
  /** Sends the request with `headers` (the proof added). */
  readonly send: (
    fetcher: typeof fetch,
    headers: Headers,
    redirect: RequestInit['redirect'],
  ) => Promise<Response>;
}

const parseUrl = (input: string | URL): URL => {
  try {
    return new URL(input);
  } catch (error) {
    throw unbindable('fetch input is not a valid absolute request', error);
  }
};

/** A string or URL input with a body fetch sends as is: no `Request` is built (most calls). */
const direct = (input: string | URL, init: RequestInit, bytes: Uint8Array): Outgoing => {
  const url = parseUrl(input);
  return {
    url,
    method: init.method ?? 'GET',
    headers: new Headers(init.headers),
    bytes,
    send: (fetcher, headers, redirect) => fetcher(url.href, { ...init, headers, redirect }),
  };
};

/**
 * Anything else, normalised by `new Request()` so that the bytes hashed are the bytes sent. A
 * `Request` input's body is read into memory to be hashed (its stream cannot be told apart).
 */
const viaRequest = async (input: string | URL | Request, init: RequestInit): Promise<Outgoing> => {
  let request: Request;
  try {
    request = new Request(input, init);
  } catch (error) {
    throw unbindable('fetch input is not a valid absolute request', error);
  }
  // Hash a copy: the request keeps its own body to send.
  const bytes =
    request.body === null ? new Uint8Array() : new Uint8Array(await request.clone().arrayBuffer());
  return {
    url: new URL(request.url),
    method: request.method,
    headers: new Headers(request.headers),
    bytes,
    send: (fetcher, headers, redirect) => fetcher(new Request(request, { headers, redirect })),
  };
};

/**
 * Wraps `fetch` so that each request carries `Authorization: NHI <proof>` (a KMS key: the pair
 * `Workload-Identity-Token` + `Workload-Proof-Token`) binding its audience,
 * method (`htm`), URL (`htu`: scheme, host and path, as the verifier compares it) and, with
 * `bindBody`, the exact body bytes (`bh`): strings and
 * `URLSearchParams` as UTF-8, bytes as they are, and `Request`, `FormData` and `Blob` bodies as
 * `new Request()` encodes them (with their content type).
 *
 * Refused before anything is sent (`SigningError`): no audience for the origin (`no_audience`),
 * a streamed body while `bindBody` is on, a URL whose path holds encoded dot segments, which the
 * verifier refuses, credentials in the URL, a GET or HEAD with a body (`unbindable_request`), or
 * a request that already has an `Authorization`, `Workload-Identity-Token` or
 * `Workload-Proof-Token` header (`carrier_conflict`). Redirects are not followed (`redirect: 'manual'`, unless you ask
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
    const bytes = input instanceof Request ? undefined : directBytes(requestInit.body);
    const outgoing =
      bytes === undefined || input instanceof Request
        ? await viaRequest(input, requestInit)
        : direct(input, requestInit, bytes);
    const present = CREDENTIAL_HEADERS.find((name) => outgoing.headers.has(name));
    if (present !== undefined) {
      throw new SigningError(
        'carrier_conflict',
        `identity-sign: the request already has the ${present} header; a signed request carries one credential, the proof`,
      );
    }
    const { url, method } = outgoing;
    if (url.username !== '' || url.password !== '') {
      throw unbindable('the URL carries credentials (user:password@), which a proof must not copy');
    }
    if (/^(GET|HEAD)$/i.test(method) && outgoing.bytes.length > 0) {
      throw unbindable(`a ${method} request cannot have a body`);
    }
    if (hasDotSegment(url.href))
      throw unbindable('the URL path holds dot segments, which the verifier refuses');
    // htu is scheme + host + path (as DPoP's): the verifier drops query and fragment, so the
    // proof does not carry them (a query may hold data the proof should not copy).
    const htu = `${url.protocol}//${url.host}${url.pathname}`;
    const credential = await signer.issue({
      aud: signer.audienceFor({ carrier: 'http', url }, aud),
      method,
      url: htu,
      ...(signer.bindsBody ? { body: outgoing.bytes } : {}),
    });
    // `headers` is this call's own copy: the caller's init and Request stay as they were.
    const { headers } = outgoing;
    for (const [name, value] of Object.entries(credentialHeaders(credential))) headers.set(name, value);
    return outgoing.send(baseFetch(), headers, requestInit.redirect === 'error' ? 'error' : 'manual');
  };
