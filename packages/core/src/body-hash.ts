import { createHash } from 'node:crypto';

/**
 * The `bh` claim of a proof (DESIGN §3): base64url SHA-256 of the request body bytes.
 * A string is hashed as its UTF-8 bytes; for `isBase64Encoded` events pass the decoded bytes.
 */
export const bodyHash = (body: string | Uint8Array): string =>
  createHash('sha256').update(body).digest('base64url');
