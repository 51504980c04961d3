/**
 * The client certificate of an API Gateway mutual TLS connection (DESIGN §2, `x5t-s256`), as the
 * event reports it. API Gateway terminates TLS and checks the certificate against the domain's
 * truststore; the function sees only what the event says. Everything here treats the event as
 * untrusted `unknown` input and never throws.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { rememberBounded } from './bounded-memo.js';
import { httpEventKind } from './http-event.js';

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
 * Where the event's front end puts the mutual TLS client certificate: HTTP API (payload v2)
 * `requestContext.authentication.clientCert`, REST API (v1) `requestContext.identity.clientCert`.
 * Function URLs and ALB events carry none here (ALB's mTLS headers are not read).
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
 * The client certificate an API Gateway event presents, with its thumbprint. A slot that is
 * absent or `null` presents none; anything else in it (a PEM that does not parse, a missing or
 * non-string `clientCertPem`) presents an unreadable certificate (`thumbprint: undefined`), so a
 * check against a pin fails closed.
 */
export const clientCertOf = (event: unknown): PresentedClientCert => {
  const slot = clientCertSlot(event);
  if (slot === undefined || slot === null) return NOT_PRESENTED;
  const pem = isRecord(slot) ? slot.clientCertPem : undefined;
  return { presented: true, thumbprint: typeof pem === 'string' ? cachedThumbprint(pem) : undefined };
};
