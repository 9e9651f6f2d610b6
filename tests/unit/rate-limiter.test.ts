import { describe, expect, it } from 'vitest';
import { MAX_REFUSAL_PAUSE_MS, REFUSAL_PAUSE_MS, refusalPauseMs } from '../../server/http/rate-limit.js';
import { RateLimiter, REFUSAL_STREAK_GAP_MS } from '../../server/lib/rate-limiter.js';

describe('per-caller request limits', () => {
  const limit = { perSecond: 10, concurrent: 3 };

  it('allows a burst of two seconds\' worth, then refuses with the wait until the next request fits', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const answers = Array.from({ length: 25 }, () => limiter.admit('token:a', limit, { hold: false }));
    expect(answers.filter((a) => a.ok)).toHaveLength(20);
    expect(answers[20]).toEqual({ ok: false, reason: 'rate', retryAfterSeconds: 1, refusedForMs: 0 });
    now += 250; // 2.5 requests' worth come back
    expect([1, 2, 3].map(() => limiter.admit('token:a', limit, { hold: false }).ok)).toEqual([true, true, false]);
    // Another caller is not touched by the first one's flood.
    expect(limiter.admit('token:b', limit).ok).toBe(true);
  });

  it('refuses requests past the in-flight limit without spending the rate, until one ends', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const held = [1, 2, 3].map(() => limiter.admit('session:x', limit));
    expect(held.every((a) => a.ok)).toBe(true);
    for (let i = 0; i < 50; i++) expect(limiter.admit('session:x', limit)).toMatchObject({ ok: false, reason: 'concurrent', retryAfterSeconds: 1 });
    // Streams hold no slot: they are admitted while the slots are full.
    expect(limiter.admit('session:x', limit, { hold: false }).ok).toBe(true);
    const first = held[0]!;
    if (first.ok) {
      first.release();
      first.release();
    }
    expect(limiter.admit('session:x', limit).ok).toBe(true);
    expect(limiter.admit('session:x', limit).ok).toBe(false);
  });

  it('forgets idle callers once many have been seen, keeping those with requests in flight', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const busy = limiter.admit('ip:busy', limit);
    for (let i = 0; i < 9_999; i++) limiter.admit(`ip:${i}`, limit, { hold: false });
    expect(limiter.size).toBe(10_000);
    now += 5000;
    limiter.admit('ip:new', limit, { hold: false });
    expect(limiter.size).toBe(2);
    // The busy caller is still remembered: its slot is still counted.
    expect([1, 2].map(() => limiter.admit('ip:busy', limit).ok)).toEqual([true, true]);
    expect(limiter.admit('ip:busy', limit).ok).toBe(false);
    expect(busy.ok).toBe(true);
  });

  it('tells how long a caller has kept being refused, and starts over after a gap', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const over = () => {
      const a = limiter.admit('token:flood', { perSecond: 1, concurrent: 1 });
      return a.ok ? -1 : a.refusedForMs;
    };
    expect(over()).toBe(-1); // the one slot
    expect(over()).toBe(0);
    for (let t = 1000; t <= 30_000; t += 1000) {
      now = t;
      expect(over()).toBe(t);
    }
    now += REFUSAL_STREAK_GAP_MS + 1;
    expect(over()).toBe(0);
    // Another caller's run is its own.
    expect(limiter.admit('token:other', { perSecond: 1, concurrent: 0 })).toMatchObject({ ok: false, refusedForMs: 0 });
  });

  it('pauses a refusal longer the longer its caller keeps being refused, up to a cap', () => {
    expect(refusalPauseMs(0, 0.5)).toBe(REFUSAL_PAUSE_MS);
    expect(refusalPauseMs(4_999, 0.5)).toBe(REFUSAL_PAUSE_MS);
    expect(refusalPauseMs(5_000, 0.5)).toBe(2 * REFUSAL_PAUSE_MS);
    expect(refusalPauseMs(20_000, 0)).toBe(2.5 * REFUSAL_PAUSE_MS);
    expect(refusalPauseMs(10 * 60_000, 0.5)).toBe(MAX_REFUSAL_PAUSE_MS);
    expect(refusalPauseMs(10 * 60_000, 0.999)).toBeLessThan(1.5 * MAX_REFUSAL_PAUSE_MS);
  });
});
