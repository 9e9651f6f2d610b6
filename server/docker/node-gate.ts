import { FairQueue, QueueRefusal } from '../lib/fair-queue.js';
import { RateLimitedError } from '../lib/errors.js';
import { currentTenancy } from '../lib/tenancy.js';

/**
 * How a call reaches the node: `short` calls take a slot of the gate, `transfer`s (image
 * loads, archive writes: minutes long, started only by operations) and the heartbeat's
 * `probe` do not.
 */
export type CallMode = 'short' | 'transfer' | 'probe';

/** How many calls a node takes at once, and how they are shared (the KURA_RATE_NODE_* settings). */
export interface NodeCallLimits {
  /** Calls in flight to one node at once. */
  slots: number;
  /** Of those, at most this many for one customer; the panel's own work (loops, moves) may have half of all. */
  share: number;
  /** How long a person's read waits for a free slot before it is answered 429. */
  waitMs: number;
}

export const DEFAULT_NODE_CALL_LIMITS: NodeCallLimits = { slots: 32, share: 4, waitMs: 3000 };

/** Operations and the panel's own loops are not a person waiting; they queue this long before failing. */
const PATIENT_WAIT_MS = 60_000;

/**
 * The panel's own queue in front of one node: every short Docker call takes a slot here
 * before anything is sent, and keeps it until the node has answered. Waiting here is the
 * panel being busy, never the node failing: a call that gets no slot in time fails with
 * `rate_limited`, and its deadline (which may open the node's breaker) starts only once
 * it has a slot. The HTTP agents behind it never queue (see node-client.ts).
 */
export class NodeGate {
  private readonly queue: FairQueue;

  constructor(private readonly nodeName: string, private readonly limits: NodeCallLimits = DEFAULT_NODE_CALL_LIMITS) {
    const share = Math.min(limits.share, limits.slots);
    // The panel's own work (usage samples, reconciles, event streams, moves) keeps everyone's
    // state true and is bounded by design; it may use up to half of the node's calls.
    this.queue = new FairQueue({ slots: limits.slots, share, shares: { panel: Math.max(share, Math.floor(limits.slots / 2)) },
      waitingPerTenant: limits.slots * 4 });
  }

  /** Waits for a slot for the current tenancy; resolves with its release. */
  async enter(call: string): Promise<() => void> {
    const tenancy = currentTenancy();
    const waitMs = tenancy && !tenancy.patient ? this.limits.waitMs : PATIENT_WAIT_MS;
    try {
      return await this.queue.acquire(tenancy?.tenant ?? 'panel', waitMs);
    } catch (err) {
      if (!(err instanceof QueueRefusal)) throw err;
      const why = err.reason === 'queue_full' ? 'too many of your calls to it are already waiting'
        : `no connection to it came free within ${Math.round(waitMs / 100) / 10} s`;
      throw new RateLimitedError(`the panel is busy with node ${this.nodeName} (${call}): ${why}; retry shortly`,
        Math.max(1, Math.ceil(this.limits.waitMs / 1000)), { node: this.nodeName, call });
    }
  }

  /** Calls in flight and waiting (for metrics and tests). */
  load(): { active: number; waiting: number } {
    const { active, waiting } = this.queue.load();
    return { active, waiting };
  }
}
