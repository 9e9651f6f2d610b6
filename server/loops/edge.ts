import type { Context } from '../core/context.js';
import { edgeChallenges, edgeRoutes } from '../read-models/edge-routes.js';
import { edgeConfigHash, syncEdge, type AppliedEdge, type EdgeTable } from '../services/edge.js';

/** A full pass (container, image, configuration) over every node this often; route changes go out at once. */
const FULL_PASS_MS = 30_000;
/** Changes that come together (a batch of creates, a move's steps) go out as one configuration. */
const SETTLE_MS = 200;
/** How soon a newly registered node gets its edge. */
const NEWCOMER_MS = 2000;

export interface Edges {
  /** Brings every node's edge up to date now (container and routes); resolves when all have answered. */
  syncAll(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps Kura's edge on every node that is not disabled: made and started where it is
 * missing, replaced when its image is outdated, and given the fleet's routes whenever they
 * change. Like reconcile, a node that was away converges when it answers again; each node
 * is worked on alone, so a slow or dead node delays no other.
 */
export function startEdges(ctx: Context, opts: { schedule?: boolean } = {}): Edges {
  const applied = new Map<string, AppliedEdge>();
  const running = new Map<string, Promise<void>>();
  const again = new Map<string, boolean>();
  let stopped = false;

  function syncNode(nodeId: string, full: boolean, given?: EdgeTable): Promise<void> {
    const busy = running.get(nodeId);
    if (busy) {
      // One pass per node at a time; what changed meanwhile goes out right after it.
      again.set(nodeId, (again.get(nodeId) ?? false) || full);
      return busy;
    }
    const pass = (async () => {
      const node = ctx.repos.nodes.get(nodeId);
      if (!node || node.state === 'disabled') {
        ctx.edges.delete(nodeId);
        return;
      }
      if (node.status === 'offline') {
        ctx.edges.set(nodeId, { status: 'error', message: `node ${node.name} is offline; its edge is brought up to date when it answers` });
        applied.delete(nodeId);
        return;
      }
      const table = given ?? currentTable();
      // Between full passes, an edge that already has these routes is not asked anything.
      const last = applied.get(nodeId);
      if (!full && last && ctx.edges.get(nodeId)?.status === 'running' && last.hash === edgeConfigHash(node.publicHost, table)) return;
      const result = await syncEdge(ctx, nodeId, table, full ? undefined : last);
      ctx.edges.set(nodeId, result.status);
      if (result.applied) applied.set(nodeId, result.applied);
      else applied.delete(nodeId);
    })().finally(() => {
      running.delete(nodeId);
      const next = again.get(nodeId);
      again.delete(nodeId);
      if (next !== undefined && !stopped) void syncNode(nodeId, next);
    });
    running.set(nodeId, pass);
    return pass;
  }

  const currentTable = (): EdgeTable => ({ routes: edgeRoutes(ctx), challenges: edgeChallenges(ctx) });
  // One table for every node of a pass.
  const syncAll = async (full: boolean): Promise<void> => {
    const table = currentTable();
    await Promise.all(ctx.repos.nodes.all().map((n) => syncNode(n.id, full, table)));
  };

  let settle: NodeJS.Timeout | null = null;
  // Environments and operations (a move's target, its end) change the routes; the hash keeps unchanged ones from going out.
  const unsubscribe = ctx.updates.subscribe(() => {
    if (stopped || settle) return;
    settle = setTimeout(() => {
      settle = null;
      void syncAll(false);
    }, SETTLE_MS);
  });
  const timer = opts.schedule === false ? null : setInterval(() => void syncAll(true), FULL_PASS_MS);
  const newcomers = opts.schedule === false ? null : setInterval(() => {
    for (const n of ctx.repos.nodes.all()) if (!ctx.edges.has(n.id) && n.state !== 'disabled') void syncNode(n.id, true);
  }, NEWCOMER_MS);
  if (opts.schedule !== false) void syncAll(true);

  return {
    syncAll: () => syncAll(true),
    async stop() {
      stopped = true;
      unsubscribe();
      if (timer) clearInterval(timer);
      if (newcomers) clearInterval(newcomers);
      if (settle) clearTimeout(settle);
      await Promise.race([Promise.allSettled([...running.values()]), new Promise((r) => setTimeout(r, 5000))]);
    },
  };
}
