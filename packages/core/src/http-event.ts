/**
 * Reading the HTTP parts of Lambda events: API Gateway REST (v1) and HTTP (v2) APIs, Function
 * URLs and ALB (single- and multi-value headers). Everything here treats the event as
 * untrusted `unknown` input and never throws.
 */

/** Which HTTP front end delivered an event; `undefined` for direct invocations and queues. */
export type HttpEventKind = 'apigw-v1' | 'apigw-v2' | 'alb' | 'alb-multi';

type UnknownRecord = Record<string, unknown>;
const isRecord = (value: unknown): value is UnknownRecord => typeof value === 'object' && value !== null;

/** Detects the HTTP front end of an event. */
export const httpEventKind = (event: unknown): HttpEventKind | undefined => {
  if (!isRecord(event) || !isRecord(event.requestContext)) return undefined;
  const context = event.requestContext;
  if (isRecord(context.elb)) return isRecord(event.multiValueHeaders) ? 'alb-multi' : 'alb';
  if (isRecord(context.http) && typeof event.version === 'string') return 'apigw-v2';
  if (typeof event.httpMethod === 'string') return 'apigw-v1';
  return undefined;
};

/**
 * Every value of the header `name` (case-insensitive) across `headers` and
 * `multiValueHeaders`, deduplicated by exact value. Several values let the caller detect
 * header smuggling; API Gateway v2 joins repeated headers with commas, which a JWS never holds.
 */
export const headerValues = (event: unknown, name: string): string[] => {
  if (!isRecord(event)) return [];
  const wanted = name.toLowerCase();
  const values: string[] = [];
  // Every request reads headers: compare lengths before lower-casing, and keep distinct values in
  // a small array (one or two in practice) rather than a Set.
  const add = (value: unknown) => {
    if (typeof value === 'string' && !values.includes(value)) values.push(value);
  };
  const { headers, multiValueHeaders } = event;
  if (isRecord(headers)) {
    for (const key in headers) {
      if (key.length === wanted.length && Object.hasOwn(headers, key) && key.toLowerCase() === wanted) {
        add(headers[key]);
      }
    }
  }
  if (isRecord(multiValueHeaders)) {
    for (const key in multiValueHeaders) {
      if (key.length !== wanted.length || !Object.hasOwn(multiValueHeaders, key)) continue;
      const list = multiValueHeaders[key];
      if (key.toLowerCase() !== wanted || !Array.isArray(list)) continue;
      for (const value of list) add(value);
    }
  }
  return values;
};

/** HTTP method of an event, upper case, if it is an HTTP event. */
export const httpMethod = (event: unknown): string | undefined => {
  if (!isRecord(event)) return undefined;
  if (typeof event.httpMethod === 'string') return event.httpMethod.toUpperCase();
  const context = event.requestContext;
  if (isRecord(context) && isRecord(context.http) && typeof context.http.method === 'string') {
    return context.http.method.toUpperCase();
  }
  return undefined;
};

/**
 * Scheme the caller used: API Gateway and Function URLs serve HTTPS only; an ALB listener may be
 * plain HTTP and says which in `X-Forwarded-Proto`. Never a guess: an ALB event without exactly
 * one `http`/`https` value has no scheme, so an `htu`-bound proof cannot match it.
 */
const schemeOf = (event: unknown): string | undefined => {
  const kind = httpEventKind(event);
  if (kind !== 'alb' && kind !== 'alb-multi') return 'https';
  const values = headerValues(event, 'x-forwarded-proto');
  const scheme = values.length === 1 ? values[0]!.trim().toLowerCase() : undefined;
  return scheme === 'http' || scheme === 'https' ? scheme : undefined;
};

/**
 * Request URL as the caller addressed it (`<scheme>://<host><path>`), for `htu` binding, if the
 * event carries a scheme, a host and a path. The scheme is https for API Gateway and Function
 * URLs, ALB's `X-Forwarded-Proto` otherwise. The host is API Gateway's or the Function URL's
 * `requestContext.domainName` (what the caller called, custom domains included), else the `Host`
 * header (ALB). The path is the one the caller sent: `rawPath` (HTTP API, Function URL, stage
 * prefix included), `requestContext.path` (REST API, stage included), else `path` (ALB).
 * Query strings are not part of it. With `origin` (`https://api.example.com`), the scheme and
 * host are that origin's and only the path comes from the event.
 */
export const httpUrl = (event: unknown, origin?: string): string | undefined => {
  if (!isRecord(event)) return undefined;
  const context = isRecord(event.requestContext) ? event.requestContext : {};
  const path =
    typeof event.rawPath === 'string'
      ? event.rawPath
      : typeof context.path === 'string'
        ? context.path
        : typeof event.path === 'string'
          ? event.path
          : undefined;
  if (path === undefined) return undefined;
  if (origin !== undefined) return `${origin}${path}`;
  const host = typeof context.domainName === 'string' ? context.domainName : headerValues(event, 'host')[0];
  const scheme = schemeOf(event);
  if (host === undefined || scheme === undefined) return undefined;
  return `${scheme}://${host}${path}`;
};

/**
 * `value` as an origin for {@link httpUrl}: `http(s)://host[:port]`, lower-cased, default port
 * and trailing slash dropped; `undefined` when it is not one (a path, query, credentials or
 * another scheme).
 */
export const parseOrigin = (value: string): string | undefined => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '' || url.pathname !== '/') return undefined;
  if (/[?#]/.test(value)) return undefined;
  return url.origin;
};

/** Body bytes of an HTTP event (base64-decoded when `isBase64Encoded`), or `undefined`. */
export const httpBody = (event: unknown): Uint8Array | string | undefined => {
  if (!isRecord(event) || typeof event.body !== 'string') return undefined;
  return event.isBase64Encoded === true ? Buffer.from(event.body, 'base64') : event.body;
};

/** Headers of a denial response. */
export interface DenialResponse {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  body: string;
  isBase64Encoded?: boolean;
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  503: 'Service Unavailable',
};

/**
 * The HTTP response of a denial, shaped for the event's front end (ALB needs a status
 * description, and multi-value headers when the target group enabled them).
 *
 * @param retryAfterSeconds - value of `Retry-After` on 503 responses.
 */
export const denialResponse = (
  kind: HttpEventKind,
  statusCode: number,
  reason: string,
  retryAfterSeconds: number,
): DenialResponse => {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
  if (statusCode === 401) headers['WWW-Authenticate'] = 'NHI error="invalid_token"';
  if (statusCode === 503) headers['Retry-After'] = String(retryAfterSeconds);
  const body = JSON.stringify({ error: reason });
  if (kind === 'alb-multi') {
    const multiValueHeaders = Object.fromEntries(
      Object.entries(headers).map(([key, value]) => [key, [value]]),
    );
    return {
      statusCode,
      statusDescription: `${statusCode} ${STATUS_TEXT[statusCode] ?? ''}`.trim(),
      multiValueHeaders,
      body,
      isBase64Encoded: false,
    };
  }
  if (kind === 'alb') {
    return {
      statusCode,
      statusDescription: `${statusCode} ${STATUS_TEXT[statusCode] ?? ''}`.trim(),
      headers,
      body,
      isBase64Encoded: false,
    };
  }
  return { statusCode, headers, body };
};

/** Field of a direct-invocation or queue envelope that carries the signed payload as a string (DESIGN §3, "Transports"). */
export const SIGNED_PAYLOAD_FIELD = 'nhiPayload';

/**
 * The exact bytes a proof's `bh` covers for this event: the body of an HTTP event (absent = the
 * empty body, as for a GET), else the string in `event.nhiPayload` (the caller serialised its
 * payload itself, so both sides hash the same bytes). `undefined` when a non-HTTP event carries
 * no such string: there is nothing `bh` could bind, and a proof with `bh` must then be refused.
 */
export const signedBody = (event: unknown): Uint8Array | string | undefined => {
  if (httpEventKind(event) !== undefined) return httpBody(event) ?? '';
  if (!isRecord(event)) return undefined;
  const payload = event[SIGNED_PAYLOAD_FIELD];
  return typeof payload === 'string' ? payload : undefined;
};
