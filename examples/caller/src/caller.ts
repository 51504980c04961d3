/**
 * Example: a workload that calls the ledger with a signed proof, over HTTP (`fetch`) and by
 * direct invocation. Its private signing key lives in Secrets Manager at
 * `/<env>/nhi/<service>/signing-key` (written by `nhi-dns keygen`) and reaches the handler
 * through secrets-inject, cached and never logged.
 *
 * Environment: `NHI_SELF` (this workload, e.g. `billing.prod.auth.example.com`),
 * `NHI_ENVIRONMENT`, `LEDGER_IDENTITY` (the callee's identity, the proof audience),
 * `LEDGER_URL` (HTTP API URL) and `LEDGER_FUNCTION` (function name for direct invokes).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { type SignProofOptions, signProof, withProofHeader, withSignedPayload } from '@nhi-dns/core';
import secretsInject, { type SecretsContext } from '@nhi-dns/secrets-inject';
import type { Context } from 'aws-lambda';

/** Configuration of the caller. */
export interface CallerConfig {
  self: string;
  environment: string;
  ledgerIdentity: string;
  ledgerUrl?: string;
  ledgerFunction?: string;
}

/** Event: how to reach the ledger and what to send. */
export interface CallerEvent {
  via: 'http' | 'invoke';
  amount: number;
}

/** The signing key as `nhi-dns keygen` stores it: a private JWK with its `kid`. */
interface SigningKeySecret {
  kid: string;
  [member: string]: unknown;
}

/** What tests may inject. */
export interface CallerDependencies {
  secretsClient?: SecretsManagerClient;
  lambda?: Pick<LambdaClient, 'send'>;
  fetch?: typeof fetch;
}

/** Builds the caller handler. */
export const createCallerHandler = (config: CallerConfig, dependencies: CallerDependencies = {}) => {
  const doFetch = dependencies.fetch ?? fetch;
  let lambda = dependencies.lambda;
  const service = config.self.split('.')[0] ?? '';
  return middy<CallerEvent, unknown>()
    .use(
      secretsInject({
        secrets: { signingKey: `nhi/${service}/signing-key` },
        namespace: `/${config.environment}/`,
        json: true,
        ...(dependencies.secretsClient === undefined ? {} : { client: dependencies.secretsClient }),
      }),
    )
    .handler(async (event, context: Context & SecretsContext) => {
      const key = context.secrets.signingKey as SigningKeySecret;
      const payload = JSON.stringify({ amount: event.amount });
      const proof = (options: Partial<SignProofOptions>) =>
        signProof({
          privateKey: key as unknown as SignProofOptions['privateKey'],
          kid: key.kid,
          iss: config.self,
          aud: config.ledgerIdentity,
          body: payload,
          ...options,
        });
      if (event.via === 'http') {
        const url = config.ledgerUrl ?? '';
        const response = await doFetch(
          url,
          withProofHeader(
            { method: 'POST', body: payload, headers: { 'content-type': 'application/json' } },
            await proof({ method: 'POST' }),
          ),
        );
        return { status: response.status, body: await response.text() };
      }
      lambda ??= new LambdaClient({});
      // A direct invocation carries its payload as the exact string the proof's bh covers.
      const token = await proof({});
      const result = await lambda.send(
        new InvokeCommand({
          FunctionName: config.ledgerFunction,
          Payload: Buffer.from(JSON.stringify(withSignedPayload(payload, token))),
        }),
      );
      return { status: result.StatusCode, body: Buffer.from(result.Payload ?? new Uint8Array()).toString() };
    });
};
