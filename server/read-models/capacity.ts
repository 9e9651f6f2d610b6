import { allocationOn, withEnvironment } from '../domain/allocation.js';
import type { Candidate } from '../domain/placement.js';
import type { Allocation } from '../domain/types.js';
import type { Context } from '../core/context.js';

/**
 * Every node's allocation. With `movesInFlight`, an environment being moved counts on its
 * target as well as its source: its room there is held until the move ends.
 */
export function nodeAllocations(ctx: Context, opts: { movesInFlight?: boolean } = {}): Map<string, Allocation> {
  const allocations = ctx.repos.nodes.allocations();
  if (!opts.movesInFlight) return allocations;
  for (const op of ctx.repos.operations.open()) {
    if (op.kind !== 'migrate') continue;
    const target = op.params.targetNodeId;
    const env = ctx.repos.environments.get(op.resource.id);
    if (!env || env.nodeId === target) continue;
    allocations.set(target, withEnvironment(allocationOn(allocations, target), env.limits));
  }
  return allocations;
}

/** The nodes placement chooses from, each with what it has allocated. */
export function placementCandidates(ctx: Context, opts: { movesInFlight?: boolean; except?: string } = {}): Candidate[] {
  const allocations = nodeAllocations(ctx, opts);
  return ctx.repos.nodes.all().filter((n) => n.id !== opts.except)
    .map((node) => ({ node, allocated: allocationOn(allocations, node.id) }));
}

/** Host ports ("tcp:20001") that moves in flight into this node have taken, other than `exceptOp`'s. */
export function portsHeldByMoves(ctx: Context, nodeId: string, exceptOp: string): Set<string> {
  const held = new Set<string>();
  for (const op of ctx.repos.operations.open()) {
    if (op.kind !== 'migrate' || op.id === exceptOp || op.params.targetNodeId !== nodeId) continue;
    for (const p of op.checkpoint.ports ?? []) held.add(`${p.protocol}:${p.hostPort}`);
  }
  return held;
}
