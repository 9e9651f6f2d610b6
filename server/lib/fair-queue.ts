/**
 * Slots for work on one shared thing (a node's Docker connections), handed out fairly
 * between tenants: a tenant holds at most `share` slots at once, a freed slot goes to the
 * waiting tenant that holds the fewest (the longest waiting among equals), and nobody
 * waits longer than the limit they came with. One tenant's burst therefore queues behind
 * itself, while another tenant's call takes a free slot at once.
 */
export interface FairQueueLimits {
  /** Slots in all. */
  slots: number;
  /** Slots one tenant may hold at once. */
  share: number;
  /** Tenants whose share is another (by tenant). */
  shares?: Record<string, number>;
  /** Calls one tenant may have waiting; more are refused at once rather than queued. */
  waitingPerTenant: number;
}

/** Why a call got no slot: its tenant's queue was full, or it waited its limit out. */
export class QueueRefusal extends Error {
  constructor(readonly reason: 'queue_full' | 'waited_too_long', readonly tenant: string) {
    super(reason === 'queue_full' ? `too many calls of ${tenant} are already waiting` : `${tenant} waited too long for a slot`);
  }
}

interface Waiter {
  since: number;
  grant(release: () => void): void;
  timer: NodeJS.Timeout;
}

export class FairQueue {
  private active = 0;
  private readonly held = new Map<string, number>();
  /** Each tenant's waiters in arrival order; a tenant with none has no entry. */
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(private readonly limits: FairQueueLimits) {
    if (limits.slots < 1 || limits.share < 1 || limits.waitingPerTenant < 0) throw new Error('a fair queue needs at least one slot');
  }

  /** Resolves with the slot's release once the tenant may go; rejects with a QueueRefusal. */
  acquire(tenant: string, maxWaitMs: number): Promise<() => void> {
    const queued = this.waiting.get(tenant);
    if (!queued && this.active < this.limits.slots && this.holding(tenant) < this.shareOf(tenant)) {
      return Promise.resolve(this.take(tenant));
    }
    if ((queued?.length ?? 0) >= this.limits.waitingPerTenant) return Promise.reject(new QueueRefusal('queue_full', tenant));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        since: performance.now(),
        grant: resolve,
        timer: setTimeout(() => {
          this.dropWaiter(tenant, waiter);
          reject(new QueueRefusal('waited_too_long', tenant));
        }, maxWaitMs),
      };
      const list = queued ?? [];
      list.push(waiter);
      this.waiting.set(tenant, list);
    });
  }

  /** What is in use and queued now, in all and for one tenant. */
  load(tenant?: string): { active: number; waiting: number; held: number; queued: number } {
    let waiting = 0;
    for (const list of this.waiting.values()) waiting += list.length;
    return { active: this.active, waiting, held: tenant ? this.holding(tenant) : 0, queued: tenant ? this.waiting.get(tenant)?.length ?? 0 : 0 };
  }

  private shareOf(tenant: string): number {
    return this.limits.shares?.[tenant] ?? this.limits.share;
  }

  private holding(tenant: string): number {
    return this.held.get(tenant) ?? 0;
  }

  private take(tenant: string): () => void {
    this.active++;
    this.held.set(tenant, this.holding(tenant) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      const left = this.holding(tenant) - 1;
      if (left > 0) this.held.set(tenant, left);
      else this.held.delete(tenant);
      this.dispatch();
    };
  }

  /** Gives free slots to waiting tenants, the one holding the fewest first. */
  private dispatch(): void {
    while (this.active < this.limits.slots) {
      let next: { tenant: string; held: number; since: number } | null = null;
      for (const [tenant, list] of this.waiting) {
        const held = this.holding(tenant);
        if (held >= this.shareOf(tenant)) continue;
        const since = list[0]!.since;
        if (!next || held < next.held || (held === next.held && since < next.since)) next = { tenant, held, since };
      }
      if (!next) return;
      const list = this.waiting.get(next.tenant)!;
      const waiter = list.shift()!;
      if (list.length === 0) this.waiting.delete(next.tenant);
      clearTimeout(waiter.timer);
      waiter.grant(this.take(next.tenant));
    }
  }

  private dropWaiter(tenant: string, waiter: Waiter): void {
    const list = this.waiting.get(tenant);
    if (!list) return;
    const i = list.indexOf(waiter);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.waiting.delete(tenant);
  }
}
