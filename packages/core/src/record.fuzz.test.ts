// A small, fixed-seed share of the fuzz target that `npm run fuzz` runs at volume (fuzz/run.ts).

import { recordTarget } from '../../../fuzz/targets/record.js';
import { runTarget } from '../../../fuzz/targets/target.js';

describe('fuzz: NHI1 records', () => {
  it(`${recordTarget.name}: invariants hold on 1 000 seeded cases`, async () => {
    await runTarget(recordTarget, { numRuns: 1000, seed: 20261125 });
  }, 60_000);

  it(`${recordTarget.name}: invariants hold on 200 cases of a fresh seed`, async () => {
    await runTarget(recordTarget, { numRuns: 200 });
  }, 60_000);
});
