import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { Principal } from '../domain/types.js';
import { RateLimitedError } from '../lib/errors.js';
import { RateLimiter, BURST_SECONDS } from '../lib/rate-limiter.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route stays open (Server-Sent Events, the console's websocket): opening one counts
     * against the caller's rate, but it holds no request slot for the hours it may stay open.
     * Those streams have caps of their own per session and token (see takeStream).
     */
    stream?: boolean;
  }
}

/** Who a request counts against: a token, a web session, or (without either) the client's address. */
export interface Caller {
  key: string;
  kind: 'admin' | 'customer' | 'anonymous';
}

export function tokenCaller(who: Principal): Caller {
  return { key: `token:${who.tokenId ?? who.label}`, kind: who.kind };
}

export function sessionCaller(sessionIdHash: string, who: Principal): Caller {
  return { key: `session:${sessionIdHash}`, kind: who.kind };
}

export function addressCaller(request: FastifyRequest): Caller {
  return { key: `ip:${request.ip}`, kind: 'anonymous' };
}

const WHO: Record<string, string> = { token: 'this token', session: 'this session', ip: 'this address' };

/**
 * A refusal is answered after a pause of about this long: a client that ignores
 * Retry-After and asks again at once then gets about one answer per connection per
 * second, instead of keeping the panel busy refusing it while everyone else waits. The
 * pause holds no request slot, and varies by half either way, so a flood's connections do
 * not all come back in the same instant.
 */
export const REFUSAL_PAUSE_MS = 1000;
/**
 * A caller that keeps being refused waits longer: one more REFUSAL_PAUSE_MS for every
 * this long its refusals have gone on (a gap of REFUSAL_STREAK_GAP_MS ends the run), up to
 * MAX_REFUSAL_PAUSE_MS. A single burst is answered at the base pause; a flood that ignores
 * Retry-After for a minute costs the panel a tenth of what it did in its first seconds.
 */
const PAUSE_GROWS_EVERY_MS = 5000;
export const MAX_REFUSAL_PAUSE_MS = 10_000;

/** The pause before a refusal is answered, given how long the caller has kept being refused (`random` in [0, 1)). */
export function refusalPauseMs(refusedForMs: number, random: number): number {
  const base = Math.min(MAX_REFUSAL_PAUSE_MS, REFUSAL_PAUSE_MS * (1 + Math.floor(refusedForMs / PAUSE_GROWS_EVERY_MS)));
  return base * (0.5 + random);
}
/** Refusals paused at once, across all callers; past this they are answered at once (a pause is cheap, not free). */
const MAX_PAUSED = 2000;

/**
 * Fair use of the panel itself: each caller has a request rate (KURA_RATE_*_PER_SECOND,
 * with a burst of twice that) and a number of requests in flight (KURA_RATE_*_CONCURRENT).
 * Over either, the request is refused before any work with 429 `rate_limited` and a
 * Retry-After, after a short pause; one caller's flood then costs the others next to nothing.
 */
export class RequestLimits {
  private readonly limiter = new RateLimiter();
  private paused = 0;

  constructor(private readonly limits: Config['rate']) {}

  /** Admits the request for the caller or throws RateLimitedError; a slot held is given back when the response ends. */
  async admit(request: FastifyRequest, reply: FastifyReply, caller: Caller): Promise<void> {
    const limit = this.limits[caller.kind];
    const stream = request.routeOptions.config.stream === true;
    const admission = this.limiter.admit(caller.key, limit, { hold: !stream });
    if (!admission.ok) {
      const who = WHO[caller.key.slice(0, caller.key.indexOf(':'))] ?? 'this caller';
      const message = admission.reason === 'concurrent'
        ? `too many requests at once from ${who} (at most ${limit.concurrent} in flight); retry in ${admission.retryAfterSeconds} s`
        : `too many requests from ${who} (at most ${limit.perSecond} per second, ${limit.perSecond * BURST_SECONDS} at once); `
          + `retry in ${admission.retryAfterSeconds} s`;
      if (this.paused < MAX_PAUSED) {
        this.paused++;
        await new Promise((resolve) => setTimeout(resolve, refusalPauseMs(admission.refusedForMs, Math.random())));
        this.paused--;
      }
      throw new RateLimitedError(message, admission.retryAfterSeconds, { limit: admission.reason });
    }
    // 'close' comes once the response is sent or the client has gone, whichever is first.
    if (!stream) reply.raw.once('close', admission.release);
  }
}
