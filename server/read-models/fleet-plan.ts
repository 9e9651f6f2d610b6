import {
  planConsolidation, planEvacuation, planRebalance, planRestore,
  type ConsolidationPlan, type EvacuationPlan, type FleetEnvironment, type FleetInput, type RebalancePlan, type RestorePlan,
} from '../domain/fleet-plan.js';
import type { Environment } from '../domain/types.js';
import type { Context } from '../core/context.js';

export const DEFAULT_HEADROOM = 0.2;
export const DEFAULT_THRESHOLD = 0.25;
const OBSERVED_WINDOW_SECONDS = 3600;

/** States in which an operation owns the environment, so no plan may move it. */
const OWNED = new Set(['provisioning', 'deleting', 'migrating']);

/**
 * The fleet as the planners read it: every node, every environment with its allocated
 * limits and its average observed use over the last hour (when it was sampled).
 */
export function fleetSnapshot(ctx: Context): FleetInput {
  const nodes = ctx.repos.nodes.all();
  const nowSec = Math.floor(Date.now() / 1000);
  const environments = nodes.flatMap((n) => ctx.repos.environments.byNode(n.id)).map((e): FleetEnvironment => ({
    id: e.id, name: e.name, nodeId: e.nodeId,
    limits: { cpus: e.limits.cpus, memoryMb: e.limits.memoryMb, diskMb: e.limits.diskMb },
    observed: observedUse(ctx, e, nowSec),
    unmovable: OWNED.has(e.state) ? `it is ${e.state}` : null,
  }));
  return {
    nodes: nodes.map((n) => ({
      id: n.id, name: n.name, state: n.state, status: n.status, capacity: n.capacity, cpuOvercommit: n.cpuOvercommit,
      memoryOvercommit: n.memoryOvercommit, maxEnvironments: n.maxEnvironments, diskQuota: n.diskQuota, allowUnenforcedDisk: n.allowUnenforcedDisk,
    })),
    environments,
  };
}

function observedUse(ctx: Context, env: Environment, nowSec: number): { cpus: number; memoryMb: number } | null {
  const samples = ctx.repos.usage.series(env.id, nowSec - OBSERVED_WINDOW_SECONDS, nowSec);
  if (samples.length === 0) return null;
  const cpuPercent = samples.reduce((s, x) => s + x.cpuPercent, 0) / samples.length;
  const memoryMb = samples.reduce((s, x) => s + x.memoryMb, 0) / samples.length;
  return { cpus: Math.round(cpuPercent) / 100, memoryMb: Math.round(memoryMb) };
}

/** Which nodes the fleet could do without, keeping `headroom` of each remaining node free. */
export function consolidationPreview(ctx: Context, opts: { headroom?: number | undefined } = {}): ConsolidationPlan {
  return planConsolidation(fleetSnapshot(ctx), { headroom: opts.headroom ?? DEFAULT_HEADROOM });
}

/** Moves that bring the load spread across active nodes under `threshold`. */
export function rebalancePreview(ctx: Context, opts: { threshold?: number | undefined; headroom?: number | undefined } = {}): RebalancePlan {
  return planRebalance(fleetSnapshot(ctx), { threshold: opts.threshold ?? DEFAULT_THRESHOLD, headroom: opts.headroom ?? DEFAULT_HEADROOM });
}

/** Where each environment of a node would go if it were emptied now. */
export function evacuationPlan(ctx: Context, nodeId: string): EvacuationPlan {
  return planEvacuation(fleetSnapshot(ctx), nodeId);
}

/** Which of `environmentIds` can come back to the node now. */
export function restorePlan(ctx: Context, nodeId: string, environmentIds: readonly string[]): RestorePlan {
  return planRestore(fleetSnapshot(ctx), nodeId, environmentIds);
}
