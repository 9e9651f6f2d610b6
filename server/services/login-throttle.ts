/**
 * Counts failed logins per email and per address in a sliding window. A locked key
 * answers "try again in N minutes" without checking the password, so guessing is slow
 * and scrypt time is not spent on an attacker.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly opts = { windowMs: 15 * 60_000, perEmail: 5, perAddress: 20 }) {}

  /** Milliseconds until another attempt is allowed; 0 when it is allowed now. */
  retryAfter(email: string, ip: string, now = Date.now()): number {
    return Math.max(this.wait(`e:${email.toLowerCase()}`, this.opts.perEmail, now), this.wait(`i:${ip}`, this.opts.perAddress, now));
  }

  fail(email: string, ip: string, now = Date.now()): void {
    for (const key of [`e:${email.toLowerCase()}`, `i:${ip}`]) {
      const list = this.recent(key, now);
      list.push(now);
      this.failures.set(key, list);
    }
    if (this.failures.size > 10_000) this.sweep(now);
  }

  succeed(email: string): void {
    this.failures.delete(`e:${email.toLowerCase()}`);
  }

  private wait(key: string, limit: number, now: number): number {
    const list = this.recent(key, now);
    return list.length < limit ? 0 : list[list.length - limit]! + this.opts.windowMs - now;
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > now - this.opts.windowMs);
  }

  private sweep(now: number): void {
    for (const [key, list] of this.failures) if (!list.some((t) => t > now - this.opts.windowMs)) this.failures.delete(key);
  }
}
