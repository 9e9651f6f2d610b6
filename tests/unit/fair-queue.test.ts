import { afterEach, describe, expect, it, vi } from 'vitest';
import { FairQueue, QueueRefusal } from '../../server/lib/fair-queue.js';

/** Resolves to the order in which acquisitions were granted. */
function recorder() {
  const granted: string[] = [];
  const releases = new Map<string, () => void>();
  const take = (q: FairQueue, tenant: string, name: string, waitMs = 10_000) =>
    q.acquire(tenant, waitMs).then((release) => {
      granted.push(name);
      releases.set(name, release);
    });
  return { granted, releases, take };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('the fair queue in front of a node', () => {
  afterEach(() => vi.useRealTimers());

  it('lets one tenant hold no more than its share, while another tenant takes a free slot at once', async () => {
    const q = new FairQueue({ slots: 8, share: 3, waitingPerTenant: 100 });
    const { granted, take } = recorder();
    for (let i = 0; i < 10; i++) void take(q, 'a', `a${i}`);
    await tick();
    expect(granted).toEqual(['a0', 'a1', 'a2']);
    expect(q.load('a')).toMatchObject({ active: 3, waiting: 7, held: 3, queued: 7 });
    await take(q, 'b', 'b0');
    expect(granted).toEqual(['a0', 'a1', 'a2', 'b0']);
  });

  it('gives a freed slot to the waiting tenant that holds the fewest, not to the longest queue', async () => {
    const q = new FairQueue({ slots: 2, share: 2, waitingPerTenant: 100 });
    const { granted, releases, take } = recorder();
    void take(q, 'a', 'a0');
    void take(q, 'a', 'a1');
    await tick();
    void take(q, 'a', 'a2');
    void take(q, 'a', 'a3');
    void take(q, 'b', 'b0');
    await tick();
    expect(granted).toEqual(['a0', 'a1']);
    releases.get('a0')!();
    await tick();
    // a waited longer, but holds one slot; b holds none.
    expect(granted).toEqual(['a0', 'a1', 'b0']);
    releases.get('a1')!();
    await tick();
    expect(granted).toEqual(['a0', 'a1', 'b0', 'a2']);
  });

  it('refuses a caller that waited its limit out, and gives its turn to the next', async () => {
    vi.useFakeTimers();
    const q = new FairQueue({ slots: 1, share: 1, waitingPerTenant: 100 });
    const first = await q.acquire('a', 1000);
    const late = q.acquire('b', 500);
    const patient = q.acquire('c', 5000);
    const refused = late.catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(600);
    const err = await refused;
    expect(err).toBeInstanceOf(QueueRefusal);
    expect((err as QueueRefusal).reason).toBe('waited_too_long');
    first();
    await expect(patient).resolves.toBeTypeOf('function');
    expect(q.load()).toMatchObject({ active: 1, waiting: 0 });
  });

  it('refuses at once past a tenant\'s waiting limit, without touching other tenants', async () => {
    const q = new FairQueue({ slots: 1, share: 1, waitingPerTenant: 2 });
    await q.acquire('a', 1000);
    const waiting = [q.acquire('a', 1000), q.acquire('a', 1000)];
    await expect(q.acquire('a', 1000)).rejects.toMatchObject({ reason: 'queue_full' });
    const other = q.acquire('b', 1000);
    expect(q.load()).toMatchObject({ active: 1, waiting: 3 });
    for (const p of [...waiting, other]) p.catch(() => undefined);
  });

  it('gives a tenant named in `shares` its own share', async () => {
    const q = new FairQueue({ slots: 8, share: 2, shares: { panel: 4 }, waitingPerTenant: 10 });
    const { granted, take } = recorder();
    for (let i = 0; i < 6; i++) {
      void take(q, 'panel', `p${i}`);
      void take(q, 'a', `a${i}`);
    }
    await tick();
    expect(granted.filter((g) => g.startsWith('p'))).toHaveLength(4);
    expect(granted.filter((g) => g.startsWith('a'))).toHaveLength(2);
  });

  it('counts a release once, however often it is called', async () => {
    const q = new FairQueue({ slots: 2, share: 2, waitingPerTenant: 10 });
    const r1 = await q.acquire('a', 1000);
    await q.acquire('a', 1000);
    r1();
    r1();
    expect(q.load('a')).toMatchObject({ active: 1, held: 1 });
  });
});
