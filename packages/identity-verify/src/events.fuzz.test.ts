// A small, fixed-seed share of the fuzz target that `npm run fuzz` runs at volume (fuzz/run.ts).

import { eventTarget } from '../../../fuzz/targets/event.js';
import { runTarget } from '../../../fuzz/targets/target.js';

describe('fuzz: event shapes through the middleware chain', () => {
  it(`${eventTarget.name}: invariants hold on 1 000 seeded cases`, async () => {
    await runTarget(eventTarget, { numRuns: 1000, seed: 20261125 });
  }, 60_000);

  it(`${eventTarget.name}: invariants hold on 200 cases of a fresh seed`, async () => {
    await runTarget(eventTarget, { numRuns: 200 });
  }, 60_000);
});
