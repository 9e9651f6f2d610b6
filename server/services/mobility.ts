import type { OperationOf } from '../db/repos/operations.js';
import { ConflictError } from '../lib/errors.js';
import type { Context } from '../core/context.js';
import { DEFAULT_HEADROOM, DEFAULT_THRESHOLD } from '../read-models/fleet-plan.js';
import { getNode } from './nodes.js';
import { startOperation } from './operations.js';

/** The batch operations on a node, of which only one may be open at a time. */
const NODE_BATCHES = new Set(['evacuate', 'restore']);
/** Consolidation and rebalance work on the whole fleet, recorded under this resource. */
export const FLEET_RESOURCE = { type: 'fleet', id: 'fleet' } as const;

/**
 * Puts the node in maintenance (in the transaction that records the operation, so no new
 * environment lands on it from then on) and starts moving its environments away.
 */
export function startEvacuation(ctx: Context, nodeId: string): OperationOf<'evacuate'> {
  const node = getNode(ctx, nodeId);
  return startOperation(ctx, { kind: 'evacuate', resourceId: node.id, customerId: null, params: {} }, () => {
    refuseOpenBatch(ctx, node.id, node.name);
    // A disabled node stays disabled: that is stricter than maintenance.
    if (ctx.repos.nodes.get(node.id)?.state === 'active') ctx.repos.nodes.patch(node.id, { state: 'maintenance' });
  });
}

/** Makes the node active again and starts bringing back what its latest evacuation moved away. */
export function startRestore(ctx: Context, nodeId: string): OperationOf<'restore'> {
  const node = getNode(ctx, nodeId);
  const evacuation = ctx.repos.operations.latestOf('evacuate', node.id);
  return startOperation(ctx, { kind: 'restore', resourceId: node.id, customerId: null,
    params: evacuation ? { evacuationId: evacuation.id } : {} }, () => {
    refuseOpenBatch(ctx, node.id, node.name);
    ctx.repos.nodes.patch(node.id, { state: 'active' });
  });
}

/** Plans again when it runs (the fleet may have changed since the preview) and empties what it can. */
export function startConsolidation(ctx: Context, opts: { headroom?: number | undefined }): OperationOf<'consolidate'> {
  return startOperation(ctx, { kind: 'consolidate', resourceId: FLEET_RESOURCE.id, customerId: null,
    params: { headroom: opts.headroom ?? DEFAULT_HEADROOM } }, () => refuseOpenFleetBatch(ctx));
}

export function startRebalance(ctx: Context, opts: { threshold?: number | undefined; headroom?: number | undefined }): OperationOf<'rebalance'> {
  return startOperation(ctx, { kind: 'rebalance', resourceId: FLEET_RESOURCE.id, customerId: null,
    params: { threshold: opts.threshold ?? DEFAULT_THRESHOLD, headroom: opts.headroom ?? DEFAULT_HEADROOM } }, () => refuseOpenFleetBatch(ctx));
}

function refuseOpenFleetBatch(ctx: Context): void {
  const open = ctx.repos.operations.openFor(FLEET_RESOURCE.id)[0];
  if (open) throw new ConflictError(`a fleet ${open.kind} is already running (${open.id}); wait for it`, { operationId: open.id });
}

function refuseOpenBatch(ctx: Context, nodeId: string, name: string): void {
  const open = ctx.repos.operations.openFor(nodeId).find((o) => NODE_BATCHES.has(o.kind));
  if (!open) return;
  const doing = open.kind === 'evacuate' ? 'evacuated' : 'restored';
  throw new ConflictError(`node ${name} is already being ${doing} (${open.id}); wait for it`, { operationId: open.id });
}
