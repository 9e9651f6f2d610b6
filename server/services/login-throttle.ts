import { isIPv6 } from 'node:net';

export interface ThrottleLimits {
  windowMs: number;
  /** Failures one address may make for one account in the window. */
  perAddressAndAccount: number;
  /** Failures one address may make in all, whatever accounts it tries. */
  perAddress: number;
}

const DEFAULTS: ThrottleLimits = { windowMs: 15 * 60_000, perAddressAndAccount: 5, perAddress: 20 };

/**
 * Counts failed logins in a sliding window per address and per address-and-account. A
 * throttled key answers "try again in N minutes" without checking the password, so guessing
 * is slow and scrypt time is not spent on an attacker. Nothing is counted per account
 * alone: then anyone could keep an account's owner (the admin) out by failing five times
 * with its address; here the attacker's address is throttled and the owner, from
 * another address, still gets in.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly opts: ThrottleLimits;

  constructor(opts: Partial<ThrottleLimits> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Milliseconds until another attempt is allowed; 0 when it is allowed now. */
  retryAfter(email: string, ip: string, now = Date.now()): number {
    const [pair, address] = keys(email, ip);
    return Math.max(this.wait(pair, this.opts.perAddressAndAccount, now), this.wait(address, this.opts.perAddress, now));
  }

  fail(email: string, ip: string, now = Date.now()): void {
    for (const key of keys(email, ip)) {
      const list = this.recent(key, now);
      list.push(now);
      this.failures.set(key, list);
    }
    if (this.failures.size > 10_000) this.sweep(now);
  }

  /** A right password from this address clears its count for the account (not the address's own). */
  succeed(email: string, ip: string): void {
    this.failures.delete(keys(email, ip)[0]);
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

/** The address-and-account key, then the address key. */
function keys(email: string, ip: string): [string, string] {
  const address = addressKey(ip);
  return [`p:${address}|${email.trim().toLowerCase()}`, `a:${address}`];
}

/**
 * The unit an address is counted in: an IPv4 address, or an IPv6 /64, since one host
 * commonly holds a whole /64 and could otherwise try from a fresh address every time.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
