/** Lambda entry point: configuration from the environment (see caller.ts). */
import { createCallerHandler } from './caller.js';

/** Lambda entry point. */
export const handler = createCallerHandler({
  self: process.env.NHI_SELF ?? 'billing.prod.auth.example.com',
  environment: process.env.NHI_ENVIRONMENT ?? 'prod',
  ledgerIdentity: process.env.LEDGER_IDENTITY ?? 'ledger.prod.auth.example.com',
  ...(process.env.LEDGER_URL === undefined ? {} : { ledgerUrl: process.env.LEDGER_URL }),
  ...(process.env.LEDGER_FUNCTION === undefined ? {} : { ledgerFunction: process.env.LEDGER_FUNCTION }),
});
