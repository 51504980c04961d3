import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { captureOutput } from '@nhi-dns/core/test-support';
import identityResolve from '@nhi-dns/identity-resolve';
import identityVerify, { type IdentityVerifyContext } from '@nhi-dns/identity-verify';
import type { Resolver } from '@nhi-dns/resolver';
import secretsInject, { type SecretsContext } from '@nhi-dns/secrets-inject';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { lambdaContext } from './http-event.js';

/** Options of {@link protectedHandler}. */
export interface ProtectedHandlerOptions {
  /** Zone of the callers, e.g. `auth.nhi.test`. */
  zone: string;
  /** The callee's identity name (the `aud` of proofs). */
  self: string;
  /** Allowed callers; default every service of `prod` in the zone. */
  allow?: string[];
  /** The real resolver, pointed at the lab. */
  resolver: Resolver;
  requireDnssec?: boolean;
  /**
   * Also resolve the function's own record (identity-resolve in self mode) and check it
   * (identity-verify `expect: true`). secrets-inject takes its namespace from it. Default false.
   */
  selfCheck?: boolean;
  /** Add secrets-inject after identity-verify, with these secrets and this client. */
  secrets?: { names: Record<string, string>; client: SecretsManagerClient };
}

/** What the handler returns, or a denial. */
export interface HandlerResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

/** One invocation: the response and everything Powertools printed meanwhile. */
export interface Invocation {
  response: HandlerResponse;
  /** Denial reason (`error` of the body), `undefined` on success. */
  reason: string | undefined;
  /** Parsed success body: the verified caller and injected secrets. */
  body: { caller?: string; kid?: string; ad?: boolean; source?: string; secrets?: Record<string, unknown> };
  /** Raw stdout/stderr lines (logs and EMF), to check what was and was not logged. */
  output: string[];
  /** EMF blobs printed. */
  emf: Array<Record<string, unknown>>;
}

/**
 * The middleware chain of a protected Lambda, as a user would write it:
 * identity-resolve (own record, when `selfCheck`) → identity-resolve (caller) → identity-verify
 * → secrets-inject (when `secrets`) → a handler that echoes what it got.
 */
export const protectedHandler = (options: ProtectedHandlerOptions) => {
  const handler = middy(async (_event: APIGatewayProxyEventV2, context: Context) => {
    const { identity, nhi, secrets } = context as unknown as IdentityVerifyContext & SecretsContext;
    return {
      statusCode: 200,
      body: JSON.stringify({
        caller: identity?.name,
        kid: identity?.kid,
        ad: nhi?.ad,
        source: nhi?.source,
        secrets,
      }),
    };
  });
  if (options.selfCheck === true) {
    handler.use(
      identityResolve({ zone: options.zone, mode: 'self', self: options.self, resolver: options.resolver }),
    );
  }
  handler.use(identityResolve({ zone: options.zone, resolver: options.resolver })).use(
    identityVerify({
      self: options.self,
      allow: options.allow ?? [`*.prod.${options.zone}`],
      requireDnssec: options.requireDnssec ?? false,
      ...(options.selfCheck === true ? { expect: true } : {}),
    }),
  );
  if (options.secrets !== undefined) {
    // The namespace comes from the own record when the self check resolves it (no NHI_ENVIRONMENT here).
    handler.use(
      secretsInject({
        secrets: options.secrets.names,
        client: options.secrets.client,
        ownRecordNamespace: true,
      }),
    );
  }

  return async (event: APIGatewayProxyEventV2): Promise<Invocation> => {
    const captured = captureOutput();
    let response: HandlerResponse;
    try {
      response = (await handler(event, lambdaContext())) as HandlerResponse;
    } finally {
      captured.restore();
    }
    const parsed = JSON.parse(response.body) as Invocation['body'] & { error?: string };
    return {
      response,
      reason: parsed.error,
      body: parsed,
      output: [...captured.lines],
      emf: captured.emf(),
    };
  };
};
