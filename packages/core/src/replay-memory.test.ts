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

  it('declares itself not shared: other instances never see its jtis', () => {
    expect(new MemoryReplayStore().shared).toBe(false);
  });

  it('accepts a redelivery of the message that carried a jti, and refuses the jti in any other message', () => {
    const store = new MemoryReplayStore({ now: manualClock(T0).now });
    const jti = 'q'.repeat(22);
    expect(store.claim(jti, ISS, T0 + 60, { deliveryId: 'msg-1' })).toBe(true);
    expect(store.claim(jti, ISS, T0 + 60, { deliveryId: 'msg-1' })).toBe(true);
    expect(store.claim(jti, ISS, T0 + 60, { deliveryId: 'msg-2' })).toBe(false);
    expect(store.claim(jti, ISS, T0 + 60)).toBe(false);
    expect(store.size).toBe(1);
    const http = 'h'.repeat(22);
    expect(store.claim(http, ISS, T0 + 60)).toBe(true);
    expect(store.claim(http, ISS, T0 + 60, { deliveryId: 'msg-3' })).toBe(false);
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

  it('never forgets a live jti to make room: a full store refuses new claims (replay_store_full)', () => {
    const clock = manualClock(T0);
    const store = new MemoryReplayStore({
      maxEntries: 1000,
      maxEntriesPerIssuer: 1000,
      now: clock.now,
      clockSkew: 0,
    });
    for (let i = 0; i < 1000; i += 1) expect(store.claim(jtiOf(i), ISS, T0 + 300)).toBe(true);
    let refused = 0;
    for (let i = 1000; i < 100_000; i += 1) {
      try {
        store.claim(jtiOf(i), ISS, T0 + 300);
      } catch (error) {
        expect(error).toMatchObject({ reason: 'replay_store_full' });
        refused += 1;
      }
    }
    expect(refused).toBe(99_000);
    expect(store.size).toBe(1000);
    // The first jti is still remembered: a captured proof stays refused.
    expect(store.claim(jtiOf(0), ISS, T0 + 300)).toBe(false);
    // Once the live jtis expire, room comes back (a full sweep at most once a second).
    clock.advance(301);
    expect(store.claim(jtiOf(100_000), ISS, T0 + 600)).toBe(true);
    expect(store.size).toBe(1);
  });

  it('keeps one issuer from filling the store for everyone (per-issuer share), and sweeps expired entries behind live ones', () => {
    const clock = manualClock(T0);
    const store = new MemoryReplayStore({
      maxEntries: 100,
      maxEntriesPerIssuer: 25,
      now: clock.now,
      clockSkew: 0,
    });
    for (let i = 0; i < 25; i += 1) expect(store.claim(jtiOf(i), 'noisy', T0 + 300)).toBe(true);
    expect(() => store.claim(jtiOf(25), 'noisy', T0 + 300)).toThrow(
      expect.objectContaining({
        reason: 'replay_store_full',
        message: expect.stringContaining('maxEntriesPerIssuer'),
      }),
    );
    expect(store.claim(jtiOf(0), ISS, T0 + 300)).toBe(true);
    // A short-lived jti recorded after long-lived ones expires behind them; a full store finds it.
    const sweeping = new MemoryReplayStore({
      maxEntries: 3,
      maxEntriesPerIssuer: 3,
      now: clock.now,
      clockSkew: 0,
    });
    const t = clock.now() / 1000;
    sweeping.claim(jtiOf(1), ISS, t + 300);
    sweeping.claim(jtiOf(2), ISS, t + 1);
    sweeping.claim(jtiOf(3), ISS, t + 300);
    clock.advance(2);
    expect(sweeping.claim(jtiOf(4), ISS, t + 300)).toBe(true);
    expect(sweeping.claim(jtiOf(1), ISS, t + 300)).toBe(false);
  });

  it('refuses bad options and arguments', () => {
    for (const options of [
      { maxEntries: 0 },
      { maxEntries: 1.5 },
      { clockSkew: -1 },
      { maxEntries: 10, maxEntriesPerIssuer: 11 },
      { maxEntriesPerIssuer: 0 },
    ]) {
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
