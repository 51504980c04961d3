// A small, fixed-seed share of the fuzz target that `npm run fuzz` runs at volume (fuzz/run.ts).

import { dnsReplyTarget } from '../../../fuzz/targets/dns-reply.js';
import { runTarget } from '../../../fuzz/targets/target.js';

describe('fuzz: DNS replies', () => {
  it(`${dnsReplyTarget.name}: invariants hold on 1 000 seeded cases`, async () => {
    await runTarget(dnsReplyTarget, { numRuns: 1000, seed: 20261125 });
  }, 60_000);

  it(`${dnsReplyTarget.name}: invariants hold on 200 cases of a fresh seed`, async () => {
    await runTarget(dnsReplyTarget, { numRuns: 200 });
  }, 60_000);
});
