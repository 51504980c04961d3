/** Lambda entry point: `NHI_ZONE`, `NHI_SELF`, `NHI_REQUIRE_TIER`, `NHI_DNS_SERVERS` (see self-check.ts). */
import { createSelfCheckHandler } from './self-check.js';

const servers = process.env.NHI_DNS_SERVERS?.split(',').filter(Boolean);

/** Lambda entry point. */
export const handler = createSelfCheckHandler({
  zone: process.env.NHI_ZONE ?? 'auth.example.com',
  self: process.env.NHI_SELF ?? 'reports.prod.auth.example.com',
  ...(process.env.NHI_REQUIRE_TIER === undefined ? {} : { requireTier: process.env.NHI_REQUIRE_TIER }),
  ...(servers === undefined ? {} : { resolver: { servers } }),
});
