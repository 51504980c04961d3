import type { createPrivateKey } from 'node:crypto';

/**
 * A JSON Web Key as `node:crypto` takes and gives it (`createPrivateKey({ key, format: 'jwk' })`,
 * `keyObject.export({ format: 'jwk' })`).
 *
 * Named through `createPrivateKey`'s own parameter rather than imported: `@types/node` 25 and
 * later no longer export `JsonWebKey` from `node:crypto`, and a declaration that imports it fails
 * to typecheck in an app on today's `@types/node` (with `skipLibCheck: false`). This form names the
 * same type on every `@types/node` from 20 on.
 */
export type Jwk = Extract<Parameters<typeof createPrivateKey>[0], { format: 'jwk' }>['key'];
