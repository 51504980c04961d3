// Spoofing soak (SECURITY.md): a short run here; `npm run fuzz` runs it longer (fuzz/run.ts).
import { runSpoofingSoak } from '../../../fuzz/spoofing.js';

describe('spoofing soak on loopback', () => {
  it('accepts none of thousands of forged replies while real lookups run', async () => {
    const report = await runSpoofingSoak({ durationMs: 2000, concurrency: 4 });
    expect(report.forgedAccepted).toBe(0);
    expect(report.lookups).toBeGreaterThan(50);
    // Every kind of forgery was tried, many times over.
    expect(report.forgedSent.randomId).toBeGreaterThan(500);
    expect(report.forgedSent.wrongQuestion).toBeGreaterThan(500);
    expect(report.forgedSent.wrongPort).toBeGreaterThan(500);
    // The resolver saw (and dropped) the forgeries that reached its socket before the real reply.
    expect(report.repliesDropped).toBeGreaterThan(report.forgedSent.total / 4);
  }, 20_000);
});
