import { allocationOn, withEnvironment } from '../domain/allocation.js';
import type { Candidate } from '../domain/placement.js';
import type { Allocation, Limits, PortBinding } from '../domain/types.js';
import { isKind } from '../db/repos/operations.js';
import type { Context } from '../core/context.js';

/**
 * Every node's allocation. With `movesInFlight`, an environment being moved, or rebuilt for a
 * new disk size, counts on its target as well: its room there is held until the work ends.
 */
export function nodeAllocations(ctx: Context, opts: { movesInFlight?: boolean } = {}): Map<string, Allocation> {
  const allocations = ctx.repos.nodes.allocations();
  if (!opts.movesInFlight) return allocations;
  for (const r of relocationsInFlight(ctx)) {
    const a = allocationOn(allocations, r.targetNodeId);
    allocations.set(r.targetNodeId, r.sameNode ? { ...a, diskMb: a.diskMb + r.holds.diskMb } : withEnvironment(a, r.holds));
  }
  return allocations;
}

interface Relocation {
  operationId: string;
  targetNodeId: string;
  /** What the target holds for it besides what the environment's record counts. */
  holds: Limits;
  sameNode: boolean;
  ports: readonly PortBinding[];
}

/**
 * Moves and disk rebuilds that have not switched yet. A rebuild on the environment's own node
 * has both containers there until the switch: the record counts the larger disk of the two
 * plans, so the target holds the smaller one besides.
 */
function relocationsInFlight(ctx: Context): Relocation[] {
  const found: Relocation[] = [];
  for (const op of ctx.repos.operations.open()) {
    const env = ctx.repos.environments.get(op.resource.id);
    if (!env) continue;
    if (isKind(op, 'migrate')) {
      if (env.nodeId === op.params.targetNodeId) continue;
      found.push({ operationId: op.id, targetNodeId: op.params.targetNodeId, holds: env.limits, sameNode: false, ports: op.checkpoint.ports ?? [] });
    } else if (isKind(op, 'resize') && op.params.rebuild) {
      const { sourceNodeId, sourceContainerId, targetNodeId } = op.params.rebuild;
      if (env.nodeId !== sourceNodeId || env.containerId !== sourceContainerId) continue;
      const sameNode = targetNodeId === sourceNodeId;
      const disk = Math.min(env.limits.diskMb, op.params.previous.limits.diskMb);
      found.push({ operationId: op.id, targetNodeId, sameNode, ports: op.checkpoint.ports ?? [],
        holds: sameNode ? { cpus: 0, memoryMb: 0, swapMb: 0, diskMb: disk, pids: 0, nofile: 0 } : env.limits });
    }
  }
  return found;
}

/** The nodes placement chooses from, each with what it has allocated. */
export function placementCandidates(ctx: Context, opts: { movesInFlight?: boolean; except?: string } = {}): Candidate[] {
  const allocations = nodeAllocations(ctx, opts);
  return ctx.repos.nodes.all().filter((n) => n.id !== opts.except)
    .map((node) => ({ node, allocated: allocationOn(allocations, node.id) }));
}

/** Host ports ("tcp:20001") that moves and rebuilds in flight into this node have taken, other than `exceptOp`'s. */
export function portsHeldByMoves(ctx: Context, nodeId: string, exceptOp: string): Set<string> {
  const held = new Set<string>();
  for (const r of relocationsInFlight(ctx)) {
    if (r.operationId === exceptOp || r.targetNodeId !== nodeId) continue;
    for (const p of r.ports) held.add(`${p.protocol}:${p.hostPort}`);
  }
  return held;
}
