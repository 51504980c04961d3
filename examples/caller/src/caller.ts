/**
 * Example: billing calls the ledger with a signed proof, over HTTP (`context.signer.fetch`) and
 * by direct invocation (a LambdaClient with `signer.awsSdkPlugin()`), and sends orders to the
 * orders queue (an SQSClient with the same plugin). identity-sign does the rest:
 * with `NHI_KMS_KEY_ID` set (the SAM template sets the alias of billing's KMS key) KMS signs a
 * workload identity token at init and each request gets a proof signed in memory (the pair travels
 * as `nhiWit` + `nhiProof`); without it, it reads the key `nhi-dns keygen` stored at
 * `/<env>/nhi/<service>/signing-key` (named after `NHI_SELF`). It names the callee from the
 * audience map and binds the exact body bytes (`bh`).
 *
 * Environment: `NHI_SELF` (this workload, e.g. `billing.prod.auth.example.com`), `NHI_AUDIENCES`
 * (JSON: the callee's identity per URL origin and function name), `LEDGER_URL` (HTTP API URL)
 * and `LEDGER_FUNCTION` (function name for direct invokes, a key of `NHI_AUDIENCES`),
 * `ORDERS_QUEUE_URL` (the orders queue, a key of `NHI_AUDIENCES`).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import identitySign, { type AudienceMap } from '@nhi-dns/identity-sign';
import type { Context } from 'aws-lambda';

/** Configuration of the caller. */
export interface CallerConfig {
  /** This workload's identity; default `NHI_SELF`. */
  self?: string;
  /** The callee's identity per URL origin and function name. */
  audiences: AudienceMap;
  ledgerUrl: string;
  ledgerFunction: string;
  /** The orders queue (consumed by orders-worker); its URL is a key of `audiences`. */
  ordersQueueUrl?: string;
}

/** Event: how to reach the ledger (default: direct invocation) and what to send. */
export interface CallerEvent {
  via?: 'http' | 'invoke' | 'queue';
  amount: number;
}

/** The ledger's HTTP answer, whichever way it was called. */
export interface CallerResult {
  statusCode: number;
  body: string;
}

/** The caller as Lambda (and the demo) call it: a plain Context, which identity-sign fills in. */
export type CallerHandler = (event: CallerEvent, context: Context) => Promise<CallerResult>;

/** What the demo and tests may inject instead of the defaults. */
export interface CallerDependencies {
  secretsClient?: SecretsManagerClient;
  lambda?: LambdaClient;
  sqs?: SQSClient;
  fetch?: typeof fetch;
}

/** Builds the caller handler. */
export const createCallerHandler = (
  config: CallerConfig,
  dependencies: CallerDependencies = {},
): CallerHandler => {
  const sign = identitySign({
    self: config.self,
    audiences: config.audiences,
    client: dependencies.secretsClient,
    fetch: dependencies.fetch,
  });
  // Created at init with the plugin: every InvokeCommand it sends carries { nhiProof, nhiPayload }.
  const lambda = dependencies.lambda ?? new LambdaClient({});
  lambda.middlewareStack.use(sign.signer.awsSdkPlugin());
  const sqs = dependencies.sqs ?? new SQSClient({});
  sqs.middlewareStack.use(sign.signer.awsSdkPlugin());

  const handler = middy<CallerEvent, CallerResult>()
    .use(sign)
    .handler(async (event, context): Promise<CallerResult> => {
      const body = JSON.stringify({ amount: event.amount });
      if (event.via === 'queue') {
        // The consumer verifies this message on its own: its proof, bh over this MessageBody.
        const order = JSON.stringify({ orderId: context.awsRequestId, amount: event.amount });
        const sent = await sqs.send(
          new SendMessageCommand({ QueueUrl: config.ordersQueueUrl, MessageBody: order }),
        );
        return { statusCode: 202, body: String(sent.MessageId) };
      }
      if (event.via === 'http') {
        const response = await context.signer.fetch(config.ledgerUrl, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        });
        return { statusCode: response.status, body: await response.text() };
      }
      const result = await lambda.send(
        new InvokeCommand({ FunctionName: config.ledgerFunction, Payload: body }),
      );
      const answer = new TextDecoder().decode(result.Payload);
      if (result.FunctionError !== undefined) throw new Error(`ledger invocation failed: ${answer}`);
      const { statusCode, body: ledgerBody } = JSON.parse(answer) as CallerResult;
      return { statusCode, body: ledgerBody };
    });
  return handler as unknown as CallerHandler;
};
