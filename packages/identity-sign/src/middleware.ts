import type { MiddlewareObj, Request } from '@middy/core';
import { attachLambdaContext, flushOwnedMetrics } from '@nhi-dns/core';
import type { Context } from 'aws-lambda';
import { IdentitySigner, type IdentitySignOptions } from './signer.js';

/**
 * What this middleware adds to the Lambda context. Middy's `use()` merges it into the handler's
 * context type, so a handler calls `context.signer.fetch(...)` with no cast.
 */
export interface IdentitySignContext {
  /** This workload's signer: `fetch`, `sign`, `awsSdkPlugin`. The key is loaded before the handler runs. */
  signer: IdentitySigner;
}

/** The middleware object, with the signer it puts on the context. */
export interface IdentitySignMiddleware
  extends MiddlewareObj<unknown, unknown, Error, Context & IdentitySignContext> {
  /** The signer (the same object as `context.signer`), for SDK clients created at init. */
  readonly signer: IdentitySigner;
}

/**
 * Middy middleware of the caller's half: puts this workload's {@link IdentitySigner} on
 * `request.context.signer` after making sure its key is loaded, so a function whose key cannot be
 * read fails before its handler runs (`SigningError`, `signing_key_unavailable`). Give it the
 * options, or a signer created at init (to share it with SDK clients made outside the handler).
 *
 * @example
 * const lambda = new LambdaClient({});
 * const sign = identitySign({ audiences: { ledger: 'ledger.prod.auth.example.com' } });
 * lambda.middlewareStack.use(sign.signer.awsSdkPlugin());
 * export const handler = middy().use(sign).handler(async (event, context) =>
 *   context.signer.fetch('https://ledger.example.com/entries', { method: 'POST', body: '{}' }));
 * @throws {SigningError} `invalid_config` at the factory call for a bad configuration.
 */
export const identitySign = (options: IdentitySignOptions | IdentitySigner = {}): IdentitySignMiddleware => {
  const signer = options instanceof IdentitySigner ? options : new IdentitySigner(options);
  const { observability } = signer;

  const before = async (request: Request<unknown, unknown, Error, Context>): Promise<void> => {
    attachLambdaContext(observability, request.context);
    await signer.ready();
    (request.context as Context & IdentitySignContext).signer = signer;
  };
  const flush = (): void => flushOwnedMetrics(observability);

  return { name: 'identity-sign', signer, before, after: flush, onError: flush };
};
