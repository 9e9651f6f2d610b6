import { previewPlacement } from '../domain/placement.js';
import { BadRequestError } from '../lib/errors.js';
import type { Context } from '../core/context.js';

/** Where an environment with this plan would be placed now, and why each other node would not take it. */
export function placementPreview(ctx: Context, planId: string) {
  const plan = ctx.repos.plans.get(planId);
  if (!plan) throw new BadRequestError(`plan ${planId} does not exist`, { field: 'planId' });
  const allocations = ctx.repos.nodes.allocations();
  const empty = { cpus: 0, memoryMb: 0, diskMb: 0, environments: 0 };
  const candidates = ctx.repos.nodes.all().map((node) => ({ node, allocated: allocations.get(node.id) ?? empty }));
  const preview = previewPlacement(candidates, plan);
  const byId = new Map(candidates.map((c) => [c.node.id, c]));
  return {
    chosen: preview.chosen,
    nodes: preview.nodes.map((r) => ({ ...r, name: byId.get(r.nodeId)!.node.name, allocated: byId.get(r.nodeId)!.allocated })),
  };
}
