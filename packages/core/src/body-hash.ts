import { hash } from 'node:crypto';

/**
 * The `bh` claim of a proof (DESIGN §3): base64url SHA-256 of the request body bytes.
 * A string is hashed as its UTF-8 bytes; for `isBase64Encoded` events pass the decoded bytes.
 */
export const bodyHash = (body: string | Uint8Array): string =>
  // One-shot `crypto.hash` (Node ≥ 20.12): half the cost of createHash().update().digest() here.
  hash('sha256', body, 'base64url');
