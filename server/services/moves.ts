import type { OperationRecord } from '../db/repos/operations.js';
import { chooseNode } from '../domain/placement.js';
import type { Limits, Principal } from '../domain/types.js';
import { BadRequestError, ConflictError, ForbiddenError, KuraError, NoCapacityError } from '../lib/errors.js';
import type { Context } from '../core/context.js';
import { environmentFor } from './environments.js';
import { startOperation } from './operations.js';

export interface MoveParams {
  sourceNodeId: string;
  targetNodeId: string;
  /** The batch (evacuate, consolidation, rebalance) this move belongs to. */
  parentId?: string;
}

/**
 * Starts moving one environment to another node (admin only). With nodeId the target is
 * pinned (it may be in maintenance, not disabled); otherwise the panel places it like a
 * new environment, never on its current node. The environment keeps running on its
 * source until the target is verified.
 */
export function startMove(ctx: Context, who: Principal, environmentId: string,
  opts: { nodeId?: string | undefined; parentId?: string | undefined } = {}): OperationRecord {
  if (who.kind !== 'admin') throw new ForbiddenError();
  const env = environmentFor(ctx, who, environmentId);
  if (env.state === 'provisioning' || env.state === 'deleting' || env.state === 'migrating') {
    throw new ConflictError(`the environment is ${env.state}; wait for its operation`);
  }
  if (ctx.repos.operations.openFor(env.id).length > 0) throw new ConflictError('the environment has an operation in flight; wait for it');
  if (opts.nodeId === env.nodeId) throw new BadRequestError('the environment is already on that node', { field: 'nodeId' });
  if (opts.nodeId !== undefined && !ctx.repos.nodes.get(opts.nodeId)) {
    throw new BadRequestError(`node ${opts.nodeId} does not exist`, { field: 'nodeId' });
  }
  const source = ctx.repos.nodes.get(env.nodeId)!;
  if (source.status === 'offline') {
    throw new KuraError('node_unavailable', `node ${source.name} is offline; an environment can only be moved from a node that answers`, { node: source.name });
  }
  if (!ctx.templates.get(env.templateId)) throw new ConflictError(`template ${env.templateId} is no longer installed on this panel`);

  const target = chooseTarget(ctx, env.nodeId, env.name, env.limits, opts.nodeId);
  const params: MoveParams = { sourceNodeId: env.nodeId, targetNodeId: target, ...(opts.parentId ? { parentId: opts.parentId } : {}) };
  return startOperation(ctx, { kind: 'migrate', resourceType: 'environment', resourceId: env.id, customerId: env.customerId,
    params: { ...params } }, () => {
    // Checked again inside the transaction that records the operation: parallel moves cannot overfill the target.
    if (chooseTarget(ctx, env.nodeId, env.name, env.limits, target) !== target) throw new NoCapacityError(`node ${target} cannot take ${env.name}`);
    ctx.repos.environments.setState(env.id, 'migrating');
  });
}

/** Moves in flight still count on their source; their room on the target is held here. */
function allocationsWithMoves(ctx: Context) {
  const allocations = ctx.repos.nodes.allocations();
  for (const op of ctx.repos.operations.open()) {
    if (op.kind !== 'migrate') continue;
    const target = String(op.params.targetNodeId);
    const env = ctx.repos.environments.get(op.resource.id);
    if (!env || env.nodeId === target) continue;
    const a = allocations.get(target) ?? { cpus: 0, memoryMb: 0, diskMb: 0, environments: 0 };
    allocations.set(target, { cpus: a.cpus + env.limits.cpus, memoryMb: a.memoryMb + env.limits.memoryMb,
      diskMb: a.diskMb + env.limits.diskMb, environments: a.environments + 1 });
  }
  return allocations;
}

/** Host ports ("tcp:20001") that moves in flight into this node have taken, other than `exceptOp`'s. */
export function portsHeldByMoves(ctx: Context, nodeId: string, exceptOp: string): Set<string> {
  const held = new Set<string>();
  for (const op of ctx.repos.operations.open()) {
    if (op.kind !== 'migrate' || op.id === exceptOp || op.params.targetNodeId !== nodeId) continue;
    for (const p of (op.params.ports ?? []) as Array<{ protocol: string; hostPort: number }>) held.add(`${p.protocol}:${p.hostPort}`);
  }
  return held;
}

function chooseTarget(ctx: Context, sourceNodeId: string, name: string, limits: Limits, pinned: string | undefined): string {
  const allocations = allocationsWithMoves(ctx);
  const empty = { cpus: 0, memoryMb: 0, diskMb: 0, environments: 0 };
  const candidates = ctx.repos.nodes.all().filter((n) => n.id !== sourceNodeId)
    .map((node) => ({ node, allocated: allocations.get(node.id) ?? empty }));
  const result = chooseNode(candidates, limits, pinned);
  if (!result.ok) {
    const why = result.excluded.map((e) => `${ctx.repos.nodes.get(e.nodeId)?.name ?? e.nodeId}: ${e.reason}`).join('; ');
    throw new NoCapacityError(`no other node can take ${name}${why ? ` (${why})` : ''}`);
  }
  return result.placement.nodeId;
}
