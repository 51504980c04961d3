import { MemoryReplayStore } from './replay-memory.js';

const ISS = 'orders.prod.auth.example.com';
const T0 = 1_800_000_000;
const jtiOf = (i: number): string => `jti-${String(i).padStart(12, '0')}`;

/** A clock the test moves by hand (milliseconds). */
const manualClock = (startSeconds: number) => {
  let nowMs = startSeconds * 1000;
  return {
    now: () => nowMs,
    advance: (seconds: number): void => {
      nowMs += seconds * 1000;
    },
  };
};

describe('MemoryReplayStore', () => {
  it('accepts a jti once and reports the replay', () => {
    const store = new MemoryReplayStore({ now: manualClock(T0).now });
    expect(store.claim('j'.repeat(22), ISS, T0 + 60)).toBe(true);
    expect(store.claim('j'.repeat(22), ISS, T0 + 60)).toBe(false);
    expect(store.claim('k'.repeat(22), ISS, T0 + 60)).toBe(true);
  });

  it('scopes jtis by issuer without collisions between (issuer, jti) pairs', () => {
    const store = new MemoryReplayStore({ now: manualClock(T0).now });
    expect(store.claim('abjti-0000000000', 'a', T0 + 60)).toBe(true);
    expect(store.claim('abjti-0000000000', 'b', T0 + 60)).toBe(true);
    // "a" + "bj…" and "ab" + "j…" must stay distinct.
    expect(store.claim('bjti-0000000000', 'a', T0 + 60)).toBe(true);
    expect(store.claim('jti-0000000000', 'ab', T0 + 60)).toBe(true);
  });

  it('keeps a jti until exp + clockSkew, then frees it (no timers)', () => {
    const clock = manualClock(T0);
    const store = new MemoryReplayStore({ now: clock.now, clockSkew: 60 });
    expect(store.claim('jti-000000000001', ISS, T0 + 10)).toBe(true);
    clock.advance(69);
    expect(store.claim('jti-000000000001', ISS, T0 + 10)).toBe(false);
    clock.advance(1);
    expect(store.claim('jti-000000000001', ISS, T0 + 10)).toBe(true);
    // Already past exp + clockSkew: a verifier refuses that proof, so it is not even kept.
    expect(store.size).toBe(0);
    expect(store.claim('jti-000000000002', ISS, T0 + 100)).toBe(true);
    expect(store.size).toBe(1);
  });

  it('drops expired entries as new ones arrive', () => {
    const clock = manualClock(T0);
    const store = new MemoryReplayStore({ now: clock.now, clockSkew: 0 });
    for (let i = 0; i < 100; i += 1) store.claim(`old-${i}`.padEnd(16, '0'), ISS, T0 + 1);
    clock.advance(2);
    store.claim('new-jti-00000001', ISS, T0 + 100);
    expect(store.size).toBe(1);
  });

  it('holds its bound under 100k distinct jtis, evicting the oldest first', () => {
    const store = new MemoryReplayStore({ maxEntries: 1000, now: manualClock(T0).now });
    let accepted = 0;
    let largest = 0;
    for (let i = 0; i < 100_000; i += 1) {
      if (store.claim(jtiOf(i), ISS, T0 + 300)) accepted += 1;
      largest = Math.max(largest, store.size);
    }
    expect(accepted).toBe(100_000);
    expect(largest).toBe(1000);
    expect(store.size).toBe(1000);
    expect(store.claim(jtiOf(99_999), ISS, T0 + 300)).toBe(false);
    expect(store.claim(jtiOf(99_000), ISS, T0 + 300)).toBe(false);
    // Forgotten by the bound: documented trade-off of a per-instance store.
    expect(store.claim(jtiOf(98_999), ISS, T0 + 300)).toBe(true);
  });

  it('refuses bad options and arguments', () => {
    for (const options of [{ maxEntries: 0 }, { maxEntries: 1.5 }, { clockSkew: -1 }]) {
      expect(() => new MemoryReplayStore(options)).toThrow(TypeError);
    }
    const store = new MemoryReplayStore();
    expect(() => store.claim('', ISS, T0)).toThrow(TypeError);
    expect(() => store.claim('jti-000000000001', '', T0)).toThrow(TypeError);
    expect(() => store.claim('jti-000000000001', ISS, Number.NaN)).toThrow(TypeError);
  });

  it('uses the wall clock by default', () => {
    const store = new MemoryReplayStore();
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(store.claim('jti-000000000001', ISS, exp)).toBe(true);
    expect(store.claim('jti-000000000001', ISS, exp)).toBe(false);
  });
});
