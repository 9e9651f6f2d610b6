/** What one caller may have: requests per second (with a burst of twice that) and requests in flight. */
export interface RateLimit {
  perSecond: number;
  concurrent: number;
}

export type Admission =
  | { ok: true; release(): void }
  /** `refusedForMs`: how long this caller has kept being refused (0 on a first refusal); see REFUSAL_STREAK_GAP_MS. */
  | { ok: false; reason: 'concurrent' | 'rate'; retryAfterSeconds: number; refusedForMs: number };

interface Entry {
  tokens: number;
  at: number;
  inFlight: number;
  perSecond: number;
  /** When the caller's current run of refusals began, and its latest refusal (NaN: none). */
  refusedFrom: number;
  refusedAt: number;
}

/** Seconds of the per-second rate a caller may spend at once. */
export const BURST_SECONDS = 2;
/** A caller refused again within this long of its last refusal is still in the same run of refusals. */
export const REFUSAL_STREAK_GAP_MS = 5000;
/** Past this many callers known, idle ones are forgotten: first those whose state equals a fresh one's, then the idle ones known longest. */
const SWEEP_OVER = 10_000;

/**
 * Per-caller limits: a token bucket for the request rate and a count of requests in
 * flight. A refused request costs the caller nothing (no token is spent on it), and the
 * answer says how long to wait. A caller whose bucket is full and has nothing in flight is
 * indistinguishable from a new one, so such entries are dropped when many have piled up.
 */
export class RateLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * Admits one request of `key` or says why not. `hold: false` admits without taking a
   * slot in flight (a long-lived stream has caps of its own); `release` is then a no-op.
   */
  admit(key: string, limit: RateLimit, opts: { hold?: boolean } = {}): Admission {
    const hold = opts.hold ?? true;
    const now = this.now();
    const burst = limit.perSecond * BURST_SECONDS;
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= SWEEP_OVER) this.sweep(now);
      e = { tokens: burst, at: now, inFlight: 0, perSecond: limit.perSecond, refusedFrom: NaN, refusedAt: NaN };
      this.entries.set(key, e);
    }
    e.tokens = Math.min(burst, e.tokens + ((now - e.at) / 1000) * limit.perSecond);
    e.at = now;
    e.perSecond = limit.perSecond;
    if (hold && e.inFlight >= limit.concurrent) return { ok: false, reason: 'concurrent', retryAfterSeconds: 1, refusedForMs: this.refused(e, now) };
    if (e.tokens < 1) {
      return { ok: false, reason: 'rate', retryAfterSeconds: Math.max(1, Math.ceil((1 - e.tokens) / limit.perSecond)), refusedForMs: this.refused(e, now) };
    }
    e.tokens -= 1;
    if (!hold) return { ok: true, release: () => undefined };
    e.inFlight++;
    const entry = e;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        entry.inFlight--;
      },
    };
  }

  /** Records a refusal; returns how long the caller's run of refusals has lasted. */
  private refused(e: Entry, now: number): number {
    if (!(now - e.refusedAt <= REFUSAL_STREAK_GAP_MS)) e.refusedFrom = now;
    e.refusedAt = now;
    return now - e.refusedFrom;
  }

  /** How many callers are remembered (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    for (const [key, e] of this.entries) {
      const refilled = e.tokens + ((now - e.at) / 1000) * e.perSecond;
      if (e.inFlight === 0 && refilled >= e.perSecond * BURST_SECONDS) this.entries.delete(key);
    }
    // Still full (many callers at once): the idle ones known longest start afresh.
    for (const [key, e] of this.entries) {
      if (this.entries.size < SWEEP_OVER / 2) break;
      if (e.inFlight === 0) this.entries.delete(key);
    }
  }
}
