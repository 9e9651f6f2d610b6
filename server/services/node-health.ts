import { errorMessage } from '../lib/errors.js';
import type { Context } from './context.js';
import { reconcileNode } from './reconcile.js';

const INTERVAL_MS = 10_000;
const PING_DEADLINE_MS = 3_000;

/**
 * Pings every node on a fixed beat with a short deadline and records online/offline;
 * a node that comes back is reconciled. Returns a function that stops the beat.
 */
export function startNodeHealth(ctx: Context): () => void {
  let running = false;
  const beat = async () => {
    if (running) return;
    running = true;
    try {
      await Promise.all(ctx.repos.nodes.all().filter((n) => n.state !== 'disabled').map(async (node) => {
        let status: 'online' | 'offline' = 'online';
        try {
          await ctx.nodes.get(node.id).ping(PING_DEADLINE_MS);
        } catch (err) {
          status = 'offline';
          if (node.status === 'online') ctx.log.error({ node: node.name, err: errorMessage(err) }, 'node went offline');
        }
        ctx.repos.nodes.markSeen(node.id, status);
        if (status === 'online' && node.status === 'offline') {
          ctx.log.info({ node: node.name }, 'node is back online');
          await reconcileNode(ctx, node.id);
        }
      }));
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void beat(), INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
