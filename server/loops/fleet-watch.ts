import { LABEL } from '../docker/container-spec.js';
import { errorMessage } from '../lib/errors.js';
import type { Context } from '../core/context.js';
import { publishEnvironment } from '../services/environment-state.js';
import { applyContainerEvent } from './live-state.js';
import { reconcileNode } from './reconcile.js';

export const WATCH = {
  heartbeatMs: 2000,
  /** Generous enough for a busy engine, tight enough to notice a hung one within ~10 s. */
  pingDeadlineMs: 3000,
  /** Missed heartbeats before a node is declared offline. */
  missesToOffline: 2,
  reconcileMs: 60_000,
  /** Every tenth periodic reconcile also inspects each container's limits. */
  deepEvery: 10,
};

const FIRST_REPLAY_SEC = 10;

interface NodeWatch {
  misses: number;
  events: { close(): void } | null;
  lastEventSec: number | undefined;
  lastReconcile: number;
  reconciles: number;
  timer: NodeJS.Timeout | null;
  busy: boolean;
  opening: boolean;
  reconciling: boolean;
}

/**
 * Watches every node on its own beat, so a hung node delays nobody else: a heartbeat
 * with a short deadline decides online/offline; while online, one Docker events stream
 * keeps environment states live, and a reconcile runs on every (re)connect and every
 * minute. A reconnect re-lists everything, which also covers events Docker dropped
 * from its 256-event buffer while the panel was away.
 */
export interface FleetWatch {
  /** Stops every beat and stream, and waits (bounded) for beats in flight to finish. */
  stop(): Promise<void>;
}

export function startFleetWatch(ctx: Context): FleetWatch {
  const watches = new Map<string, NodeWatch>();
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  /** Work started beside the beats is tracked too, so stop() can wait for it before the database closes. */
  const track = (p: Promise<unknown>): void => {
    const done: Promise<void> = p.then(() => undefined, () => undefined).finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  const watchOf = (nodeId: string): NodeWatch => {
    let w = watches.get(nodeId);
    if (!w) {
      w = { misses: 0, events: null, lastEventSec: undefined, lastReconcile: 0, reconciles: 0, timer: null, busy: false,
        opening: false, reconciling: false };
      watches.set(nodeId, w);
    }
    return w;
  };

  async function beat(nodeId: string): Promise<void> {
    const node = ctx.repos.nodes.get(nodeId);
    const w = watchOf(nodeId);
    if (!node || stopped) {
      w.events?.close();
      watches.delete(nodeId);
      return;
    }
    if (node.state === 'disabled') {
      w.events?.close();
      w.events = null;
      return;
    }
    const client = ctx.nodes.get(nodeId);
    try {
      await client.ping(WATCH.pingDeadlineMs);
      w.misses = 0;
      const cameBack = node.status === 'offline';
      ctx.repos.nodes.markSeen(nodeId, 'online');
      if (cameBack) ctx.log.info({ node: node.name }, 'node is back online');
      // Stream and reconcile run beside the beat, never inside it: a node that hangs in the
      // middle of a listing must still miss its next heartbeat on time.
      if (!w.events && !w.opening) {
        w.opening = true;
        track(openEvents(nodeId, w).catch((err: unknown) => ctx.log.error({ node: node.name, err: errorMessage(err) }, 'could not open the events stream'))
          .finally(() => (w.opening = false)));
      }
      if (!w.reconciling && (cameBack || Date.now() - w.lastReconcile > WATCH.reconcileMs)) {
        w.lastReconcile = Date.now();
        w.reconciling = true;
        const deep = cameBack || w.reconciles++ % WATCH.deepEvery === 0;
        track(reconcileNode(ctx, nodeId, { deep })
          .then((r) => void (r.error && ctx.log.error({ node: node.name, err: r.error }, 'reconcile failed')))
          .finally(() => (w.reconciling = false)));
      }
    } catch (err) {
      w.misses++;
      if (w.misses >= WATCH.missesToOffline && node.status === 'online') goOffline(nodeId, w, errorMessage(err));
    }
  }

  function goOffline(nodeId: string, w: NodeWatch, why: string): void {
    const node = ctx.repos.nodes.get(nodeId)!;
    ctx.log.error({ node: node.name, err: why }, 'node went offline');
    ctx.nodes.get(nodeId).breaker.trip(why);
    ctx.repos.nodes.markSeen(nodeId, 'offline');
    w.events?.close();
    w.events = null;
    ctx.repos.environments.markUnknownOnNode(nodeId);
    for (const env of ctx.repos.environments.byNode(nodeId)) {
      if (env.state === 'unknown') publishEnvironment(ctx, env.id);
    }
  }

  async function openEvents(nodeId: string, w: NodeWatch): Promise<void> {
    const client = ctx.nodes.get(nodeId);
    // The first stream also replays the last few seconds: a node registered a moment ago
    // may already have had containers made on it.
    const reconnect = w.lastEventSec !== undefined;
    const since = w.lastEventSec ?? Math.floor(Date.now() / 1000) - FIRST_REPLAY_SEC;
    const handle = await client.watchEvents(`${LABEL.panel}=${ctx.panelId}`, since, (e) => {
      if (stopped) return;
      w.lastEventSec = e.time;
      ctx.metrics.eventLag(ctx.repos.nodes.get(nodeId)?.name ?? nodeId, Date.now() - e.timeNano / 1e6);
      applyContainerEvent(ctx, nodeId, e).catch((err: unknown) =>
        ctx.log.error({ node: nodeId, err: errorMessage(err) }, 'could not apply a container event'));
    });
    w.events = handle;
    if (reconnect && !w.reconciling) {
      ctx.metrics.eventsReconnect(ctx.repos.nodes.get(nodeId)?.name ?? nodeId);
      // Docker keeps only its last 256 events: after any gap, list everything again.
      w.lastReconcile = Date.now();
      w.reconciling = true;
      track(reconcileNode(ctx, nodeId).then(() => undefined).finally(() => (w.reconciling = false)));
    }
    w.lastEventSec ??= Math.floor(Date.now() / 1000);
    void handle.ended.then(() => {
      if (w.events === handle) w.events = null; // the next heartbeat reopens it with `since`
    });
  }

  function schedule(nodeId: string): void {
    const w = watchOf(nodeId);
    if (w.timer || stopped) return;
    const tick = async () => {
      w.timer = null;
      if (!w.busy && !stopped) {
        w.busy = true;
        const running = beat(nodeId);
        inFlight.add(running);
        try {
          await running;
        } finally {
          inFlight.delete(running);
          w.busy = false;
        }
      }
      if (!stopped && watches.has(nodeId)) {
        w.timer = setTimeout(() => void tick(), WATCH.heartbeatMs);
        w.timer.unref();
      }
    };
    w.timer = setTimeout(() => void tick(), 0);
    w.timer.unref();
  }

  // New nodes join the watch on the next sweep, within half a second of registering.
  const sweep = () => {
    for (const n of ctx.repos.nodes.all()) schedule(n.id);
  };
  sweep();
  const sweeper = setInterval(sweep, 500);
  sweeper.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(sweeper);
      for (const w of watches.values()) {
        if (w.timer) clearTimeout(w.timer);
        w.events?.close();
      }
      watches.clear();
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, 3000).unref())]);
    },
  };
}
