// A small, fixed-seed share of the fuzz target that `npm run fuzz` runs at volume (fuzz/run.ts).

import { proofTarget } from '../../../fuzz/targets/proof.js';
import { runTarget } from '../../../fuzz/targets/target.js';

describe('fuzz: proof tokens', () => {
  it(`${proofTarget.name}: invariants hold on 1 000 seeded cases`, async () => {
    await runTarget(proofTarget, { numRuns: 1000, seed: 20261125 });
  }, 60_000);

  it(`${proofTarget.name}: invariants hold on 200 cases of a fresh seed`, async () => {
    await runTarget(proofTarget, { numRuns: 200 });
  }, 60_000);
});
