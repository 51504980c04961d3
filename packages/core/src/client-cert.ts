/**
 * The client certificate of a mutual TLS connection (DESIGN §2, `x5t-s256`), as the event reports
 * it: API Gateway's `clientCert` slot, or, when the caller says the function sits behind an
 * Application Load Balancer listener with mutual TLS, that listener's `X-Amzn-Mtls-*` header. The
 * front end terminates TLS (and so checks that the client holds the certificate's key); the
 * function sees only what the event says. Everything here treats the event as untrusted `unknown`
 * input and never throws.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { rememberBounded } from './bounded-memo.js';
import { headerValues, httpEventKind } from './http-event.js';

/** A PEM longer than this is not parsed (a client certificate is 1-4 KiB): it counts as unreadable. */
export const MAX_CLIENT_CERT_PEM_BYTES = 16 * 1024;

/**
 * What an event says about the client certificate: none (no mutual TLS on the endpoint, or not
 * an API Gateway event), or one, with its RFC 8705 `x5t#S256` thumbprint, `undefined` when the
 * certificate does not parse (a caller of {@link clientCertOf} must treat that as a mismatch).
 */
export type PresentedClientCert =
  | { readonly presented: false }
  | { readonly presented: true; readonly thumbprint: string | undefined };

type UnknownRecord = Record<string, unknown>;
const isRecord = (value: unknown): value is UnknownRecord => typeof value === 'object' && value !== null;

const NOT_PRESENTED: PresentedClientCert = Object.freeze({ presented: false });
const UNREADABLE: PresentedClientCert = Object.freeze({ presented: true, thumbprint: undefined });

/**
 * How an Application Load Balancer listener with mutual TLS forwards the client certificate:
 * `verify` (the listener checked the chain against its trust store) puts the leaf in
 * `X-Amzn-Mtls-Clientcert-Leaf`; `passthrough` (no chain check) puts the whole chain, leaf
 * first, in `X-Amzn-Mtls-Clientcert`. Both URL-encode the PEM.
 */
export type AlbMutualTlsMode = 'verify' | 'passthrough';

/** Options of {@link clientCertOf}. */
export interface ClientCertOptions {
  /**
   * Read ALB events' mutual TLS header of this listener mode. Default: unset, ALB events present
   * no certificate. Set it only for a function behind an ALB listener with mutual TLS on: the
   * listener then writes the header itself, while without mutual TLS a client's own header of
   * that name reaches the function, and a certificate is public.
   */
  readonly albMutualTls?: AlbMutualTlsMode;
}

const ALB_HEADER: Readonly<Record<AlbMutualTlsMode, string>> = Object.freeze({
  verify: 'x-amzn-mtls-clientcert-leaf',
  passthrough: 'x-amzn-mtls-clientcert',
});
/** A URL-encoded chain longer than this is not decoded: four certificates of the largest size read. */
const MAX_ALB_HEADER_BYTES = 4 * 3 * MAX_CLIENT_CERT_PEM_BYTES;
/** One PEM certificate (no `-` inside, so the patterns below match in linear time). */
const PEM_CERTIFICATE = String.raw`-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----`;
/**
 * What each mode's header holds once URL-decoded, whitespace aside, with the leaf captured: one
 * certificate in verify mode, the chain (leaf first) in passthrough mode. Anything else, such as a
 * second certificate in verify mode or bytes ahead of the first, is unreadable rather than read
 * from its first certificate: were a front end to put a client's bytes beside the listener's, the
 * first certificate could be the client's.
 */
const ALB_HEADER_PEM: Readonly<Record<AlbMutualTlsMode, RegExp>> = Object.freeze({
  verify: new RegExp(String.raw`^\s*(${PEM_CERTIFICATE})\s*$`),
  passthrough: new RegExp(String.raw`^\s*(${PEM_CERTIFICATE})(?:\s*${PEM_CERTIFICATE})*\s*$`),
});

/** Thumbprints of recently seen PEMs: a warm function sees the same few client certificates. */
const thumbprintCache = new Map<string, string | undefined>();
const THUMBPRINT_CACHE_ENTRIES = 64;

/**
 * RFC 8705 §3.1 `x5t#S256` of a certificate: base64url (no padding) of the SHA-256 of its DER.
 *
 * @param pem - the certificate in PEM (or DER bytes).
 * @returns the thumbprint, or `undefined` when `pem` is not a certificate Node can parse.
 */
export const certThumbprint = (pem: string | Uint8Array): string | undefined => {
  if (pem.length === 0 || pem.length > MAX_CLIENT_CERT_PEM_BYTES) return undefined;
  try {
    const der = new X509Certificate(pem).raw;
    return createHash('sha256').update(der).digest('base64url');
  } catch {
    return undefined;
  }
};

/** {@link certThumbprint} with a small cache keyed by the PEM text (parsing costs tens of µs). */
const cachedThumbprint = (pem: string): string | undefined => {
  if (thumbprintCache.has(pem)) return thumbprintCache.get(pem);
  const thumbprint = certThumbprint(pem);
  if (pem.length <= MAX_CLIENT_CERT_PEM_BYTES) {
    rememberBounded(thumbprintCache, pem, thumbprint, THUMBPRINT_CACHE_ENTRIES);
  }
  return thumbprint;
};

/**
 * Where API Gateway puts the mutual TLS client certificate: HTTP API (payload v2)
 * `requestContext.authentication.clientCert`, REST API (v1) `requestContext.identity.clientCert`.
 * Function URLs and ALB events carry none here (ALB's header: {@link albClientCert}).
 */
const clientCertSlot = (event: unknown): unknown => {
  const kind = httpEventKind(event);
  if (!isRecord(event) || !isRecord(event.requestContext)) return undefined;
  const context = event.requestContext;
  if (kind === 'apigw-v2')
    return isRecord(context.authentication) ? context.authentication.clientCert : undefined;
  if (kind === 'apigw-v1') return isRecord(context.identity) ? context.identity.clientCert : undefined;
  return undefined;
};

/**
 * The PEM of the client certificate API Gateway's mutual TLS presented with this event, if any
 * (`clientCertPem` of the slot {@link clientCertOf} reads).
 */
export const clientCertPem = (event: unknown): string | undefined => {
  const slot = clientCertSlot(event);
  return isRecord(slot) && typeof slot.clientCertPem === 'string' ? slot.clientCertPem : undefined;
};

/**
 * The certificate in an ALB event's mutual TLS header of `mode`: none without the header; an
 * unreadable one for several values (a smuggled second header), a raw comma (the listener
 * URL-encodes the PEM, which has none anyway, so a comma is two values a front end joined into
 * one: RFC 9110 §5.3), an oversized value, broken URL encoding, or anything but the mode's PEM
 * certificates ({@link ALB_HEADER_PEM}).
 */
const albClientCert = (event: unknown, mode: AlbMutualTlsMode): PresentedClientCert => {
  const values = headerValues(event, ALB_HEADER[mode]);
  if (values.length === 0) return NOT_PRESENTED;
  const value = values[0]!;
  if (values.length > 1 || value.length > MAX_ALB_HEADER_BYTES || value.includes(',')) return UNREADABLE;
  let pem: string;
  try {
    pem = decodeURIComponent(value);
  } catch {
    return UNREADABLE;
  }
  const leaf = ALB_HEADER_PEM[mode].exec(pem)?.[1];
  return leaf === undefined ? UNREADABLE : { presented: true, thumbprint: cachedThumbprint(leaf) };
};

/**
 * The client certificate an event presents, with its thumbprint. API Gateway events: a slot that
 * is absent or `null` presents none; anything else in it (a PEM that does not parse, a missing or
 * non-string `clientCertPem`) presents an unreadable certificate (`thumbprint: undefined`), so a
 * check against a pin fails closed. ALB events present one only with
 * {@link ClientCertOptions.albMutualTls}, read from that mode's header.
 */
export const clientCertOf = (event: unknown, options: ClientCertOptions = {}): PresentedClientCert => {
  if (options.albMutualTls !== undefined) {
    const kind = httpEventKind(event);
    if (kind === 'alb' || kind === 'alb-multi') return albClientCert(event, options.albMutualTls);
  }
  const slot = clientCertSlot(event);
  if (slot === undefined || slot === null) return NOT_PRESENTED;
  const pem = isRecord(slot) ? slot.clientCertPem : undefined;
  return { presented: true, thumbprint: typeof pem === 'string' ? cachedThumbprint(pem) : undefined };
};
