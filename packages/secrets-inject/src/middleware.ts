import type { MiddlewareObj, Request } from '@middy/core';
import { attachLambdaContext, flushOwnedMetrics, resolveObservability } from '@nhi-dns/core';
import type { Context } from 'aws-lambda';
import { SecretsError } from './errors.js';
import { ENVIRONMENT_VARIABLE, namespaceOfEnvironment } from './names.js';
import { resolveOptions, type SecretSpec, type SecretsInjectOptions } from './options.js';
import { createSecretsSource } from './sources.js';
import { cacheKeyOf, type SecretRequest, SecretStore } from './store.js';

/** What this middleware adds to the Lambda context. */
export interface SecretsContext {
  /** Secret values by context key: strings, parsed JSON (deeply frozen) or `Uint8Array`s. */
  secrets: Record<string, unknown>;
}

/** The part of identity-resolve's self-mode context this middleware reads: the function's own record. */
interface IdentityContext {
  nhiSelf?: { environment?: unknown };
}

/** A handler as Middy calls it: `(event, context, { signal })`. */
type Handler<TArgs extends [unknown, Context & SecretsContext, ...unknown[]], TResult> = (
  ...args: TArgs
) => TResult | Promise<TResult>;

/** The middleware object, with the on-demand helpers. */
export interface SecretsInjectMiddleware
  extends MiddlewareObj<unknown, unknown, Error, Context & SecretsContext> {
  /**
   * Fetches every secret cached so far (or, before the first fetch, those of the configured
   * namespace) from Secrets Manager now, ignoring `maxAge`. Later invocations see the new values.
   * @throws {SecretsError} when a secret cannot be fetched.
   */
  forceRefresh(): Promise<void>;
  /**
   * Wraps the base handler (the one given to `middy()`/`.handler()`) so that when it fails with
   * an error for which `refreshOn` returns true, the secrets of this invocation are fetched again
   * and the handler is called once more with the fresh `context.secrets`. A second failure is
   * thrown as is. Retrying inside the handler phase keeps every other middleware running once.
   */
  withRefreshRetry<TArgs extends [unknown, Context & SecretsContext, ...unknown[]], TResult>(
    handler: Handler<TArgs, TResult>,
  ): (...args: TArgs) => Promise<TResult>;
}

/** Distinct namespaces remembered with their prepared requests (environments are few). */
const MAX_REMEMBERED_NAMESPACES = 64;

/**
 * Middy middleware that puts Secrets Manager secrets, namespaced per environment
 * (`/prod/dbcreds`), on `request.context.secrets`: fetched in batches, cached per secret for
 * `maxAge` (capped at the next rotation), refreshed in the background before expiry, prefetched
 * at cold start. Values are never logged, put in errors or metrics, or copied to `process.env`.
 *
 * @throws {SecretsError} `invalid_config` at the factory call for a bad configuration.
 */
export const secretsInject = (options: SecretsInjectOptions): SecretsInjectMiddleware => {
  const config = resolveOptions(options);
  const environment = process.env[ENVIRONMENT_VARIABLE];
  const environmentNamespace = environment === undefined ? undefined : namespaceOfEnvironment(environment);
  if (environment !== undefined && environmentNamespace === undefined) {
    throw new SecretsError(
      'invalid_config',
      `secrets-inject: ${ENVIRONMENT_VARIABLE} must be an environment label ([a-z0-9-]{1,63})`,
    );
  }
  if (
    config.namespace === undefined &&
    environmentNamespace === undefined &&
    options.ownRecordNamespace !== true
  ) {
    // Found at init, not as a failure of every request: nothing names this function's environment.
    throw new SecretsError(
      'invalid_config',
      `secrets-inject: no namespace: set the 'namespace' option, the ${ENVIRONMENT_VARIABLE} environment variable, or 'ownRecordNamespace: true' with identity-resolve in self mode before this middleware`,
    );
  }
  const observability = resolveObservability(options);
  const now = options.now ?? Date.now;
  const source = options.source ?? 'sdk';
  const store = new SecretStore({
    fetcher: createSecretsSource(source, { client: options.client, observability, now }),
    observability,
    now,
    maxAge: config.maxAge,
    staleIfError: config.staleIfError,
    rotationAware: config.rotationAware,
  });

  const requestsByNamespace = new Map<string, SecretRequest[]>();
  const requestsFor = (namespace: string): SecretRequest[] => {
    let requests = requestsByNamespace.get(namespace);
    if (requests === undefined) {
      if (requestsByNamespace.size >= MAX_REMEMBERED_NAMESPACES) requestsByNamespace.clear();
      requests = config.secrets.map((spec: SecretSpec) => {
        const name = `${namespace}${spec.name}`;
        return {
          key: cacheKeyOf(name, spec.versionStage, spec.json),
          name,
          versionStage: spec.versionStage,
          json: spec.json,
        };
      });
      requestsByNamespace.set(namespace, requests);
    }
    return requests;
  };

  /**
   * The function's OWN environment names the namespace: the option, else NHI_ENVIRONMENT, else
   * the own record resolved by identity-resolve in self mode. Never the caller's identity: a
   * caller from another environment must not choose which secrets this function reads.
   */
  const namespaceOf = (context: IdentityContext): string => {
    if (config.namespace !== undefined) return config.namespace;
    const ownEnvironment = context.nhiSelf?.environment;
    if (ownEnvironment === undefined) {
      if (environmentNamespace !== undefined) return environmentNamespace;
      throw new SecretsError(
        'no_namespace',
        `secrets-inject: no namespace (set the namespace option or ${ENVIRONMENT_VARIABLE}, or resolve the own record with identity-resolve in self mode)`,
      );
    }
    const ownNamespace = namespaceOfEnvironment(ownEnvironment);
    if (ownNamespace === undefined) {
      throw new SecretsError(
        'no_namespace',
        'secrets-inject: the own record environment is not a valid label',
      );
    }
    if (environmentNamespace !== undefined && ownNamespace !== environmentNamespace) {
      throw new SecretsError(
        'namespace_mismatch',
        `secrets-inject: own record environment "${String(ownEnvironment)}" differs from ${ENVIRONMENT_VARIABLE} "${environment}"`,
      );
    }
    return ownNamespace;
  };

  const assign = (context: object, requests: readonly SecretRequest[], values: readonly unknown[]): void => {
    const secrets: Record<string, unknown> = {};
    for (let index = 0; index < requests.length; index += 1) {
      secrets[config.secrets[index]!.contextKey] = values[index];
    }
    (context as SecretsContext).secrets = secrets;
  };

  const shouldRefresh = (error: unknown): boolean => {
    if (options.refreshOn === undefined) return false;
    try {
      return options.refreshOn(error) === true;
    } catch {
      return false;
    }
  };

  /** Requests of the current invocation, by context, for `withRefreshRetry` and `onError`. */
  const invocations = new WeakMap<object, SecretRequest[]>();
  /** Contexts whose secrets were already refetched after a handler error in this invocation. */
  const refreshed = new WeakSet<object>();

  // Cold-start prefetch: overlaps the init phase; its rejection is kept for the first `before`.
  const prefetchNamespace = config.namespace ?? environmentNamespace;
  let prefetch: Promise<SecretsError | undefined> | undefined;
  // The extension answers only while an invocation runs, never during init: no prefetch through it.
  if (config.prefetch && source === 'sdk' && prefetchNamespace !== undefined) {
    prefetch = store.resolve(requestsFor(prefetchNamespace)).then(
      () => undefined,
      (error: unknown) =>
        error instanceof SecretsError
          ? error
          : new SecretsError('fetch_failed', 'secrets-inject: prefetch failed', { cause: error }),
    );
  }

  const before = async (request: Request<unknown, unknown, Error, Context>): Promise<void> => {
    attachLambdaContext(observability, request.context);
    const namespace = namespaceOf(request.context as IdentityContext);
    const requests = requestsFor(namespace);
    if (prefetch !== undefined) {
      const pending = prefetch;
      prefetch = undefined;
      const error = await pending;
      if (error !== undefined && namespace === prefetchNamespace) throw error;
    }
    assign(request.context, requests, await store.resolve(requests));
    invocations.set(request.context, requests);
  };

  const after = (): void => {
    flushOwnedMetrics(observability);
  };

  const onError = (request: Request<unknown, unknown, Error, Context>): void => {
    const requests = invocations.get(request.context);
    if (requests !== undefined && !refreshed.has(request.context) && shouldRefresh(request.error)) {
      // The secrets are suspected stale: the next invocation fetches them again.
      store.invalidate(requests);
      observability.logger.info('secrets-inject: secrets invalidated after handler error', {
        'secret.names': requests.map((secret) => secret.name),
      });
    }
    flushOwnedMetrics(observability);
  };

  return {
    name: 'secrets-inject',
    before,
    after,
    onError,
    forceRefresh: async () => {
      if (requestsByNamespace.size === 0 && prefetchNamespace !== undefined) requestsFor(prefetchNamespace);
      const known = [...requestsByNamespace.values()].flat();
      const cached = store.cachedRequests(known);
      await store.forceRefresh(cached.length > 0 ? cached : known);
    },
    withRefreshRetry:
      (handler) =>
      async (...args) => {
        try {
          return await handler(...args);
        } catch (error) {
          const context = args[1];
          const requests = invocations.get(context);
          if (requests === undefined || refreshed.has(context) || !shouldRefresh(error)) throw error;
          refreshed.add(context);
          observability.logger.info('secrets-inject: refreshing secrets after handler error, retrying once', {
            'secret.names': requests.map((secret) => secret.name),
          });
          try {
            await store.forceRefresh(requests);
          } catch {
            // Already logged and counted by the store; the handler's own error is the one to see.
            throw error;
          }
          assign(context, requests, await store.resolve(requests));
          return handler(...args);
        }
      },
  };
};
