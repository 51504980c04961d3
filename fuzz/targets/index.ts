import { dnsReplyTarget } from './dns-reply.js';
import { eventTarget } from './event.js';
import { proofTarget } from './proof.js';
import { recordTarget } from './record.js';
import type { FuzzTarget } from './target.js';

export { CASE_BUDGET_MS, type FuzzTarget, InvariantViolation, runTarget } from './target.js';
export { dnsReplyTarget, eventTarget, proofTarget, recordTarget };

/** Every parser that sees untrusted bytes, in the order `npm run fuzz` runs them. */
export const FUZZ_TARGETS: readonly FuzzTarget<never>[] = [
  dnsReplyTarget,
  recordTarget,
  proofTarget,
  eventTarget,
] as unknown as readonly FuzzTarget<never>[];
