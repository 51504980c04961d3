/** Lambda entry point: configuration from the environment (see caller.ts). */
import { createCallerHandler } from './caller.js';

/** Lambda entry point. */
export const handler = createCallerHandler({
  audiences: JSON.parse(process.env.NHI_AUDIENCES ?? '{}'),
  ledgerUrl: process.env.LEDGER_URL ?? '',
  ledgerFunction: process.env.LEDGER_FUNCTION ?? '',
  ordersQueueUrl: process.env.ORDERS_QUEUE_URL ?? '',
});
