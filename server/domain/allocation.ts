import type { Allocation, Limits, NodeRecord } from './types.js';

/** What a node with nothing placed on it has allocated. */
export const NO_ALLOCATION: Readonly<Allocation> = Object.freeze({ cpus: 0, memoryMb: 0, diskMb: 0, environments: 0 });

/** A node's allocation from a map of them; a node with no environment has none. */
export function allocationOn(allocations: ReadonlyMap<string, Allocation>, nodeId: string): Allocation {
  return allocations.get(nodeId) ?? { ...NO_ALLOCATION };
}

/** The allocation with one environment of `limits` added (sign 1) or taken away (sign -1). */
export function withEnvironment(a: Allocation, limits: Limits, sign: 1 | -1 = 1): Allocation {
  return {
    cpus: a.cpus + sign * limits.cpus, memoryMb: a.memoryMb + sign * limits.memoryMb,
    diskMb: a.diskMb + sign * limits.diskMb, environments: a.environments + sign,
  };
}

/** The limits an environment on this plan gets. */
export function planLimits(plan: Limits): Limits {
  return { cpus: plan.cpus, memoryMb: plan.memoryMb, swapMb: plan.swapMb, diskMb: plan.diskMb, pids: plan.pids, nofile: plan.nofile };
}

/** What may be allocated on a node, after overcommit, keeping `headroom` (a share, 0-1) free. */
export function capacityOf(node: Pick<NodeRecord, 'capacity' | 'cpuOvercommit' | 'memoryOvercommit' | 'maxEnvironments'>, headroom = 0) {
  const keep = 1 - headroom;
  return {
    cpus: node.capacity.cpus * node.cpuOvercommit * keep,
    memoryMb: Math.floor(node.capacity.memoryMb * node.memoryOvercommit * keep),
    diskMb: node.capacity.diskMb === null ? null : Math.floor(node.capacity.diskMb * keep),
    environments: Math.floor(node.maxEnvironments * keep + 1e-9),
  };
}

/**
 * Why a node cannot give an environment on it `next` limits instead of `current`, or null
 * when it can. Only what grows is checked: shrinking always fits.
 */
export function changeShortfall(node: NodeRecord, allocated: Allocation, current: Limits, next: Limits): string | null {
  const cap = capacityOf(node);
  const more = { cpus: next.cpus - current.cpus, memoryMb: next.memoryMb - current.memoryMb, diskMb: next.diskMb - current.diskMb };
  if (more.cpus > 0 && allocated.cpus + more.cpus > cap.cpus + 1e-9) return `node ${node.name} has not enough CPU left for this plan`;
  if (more.memoryMb > 0 && allocated.memoryMb + more.memoryMb > cap.memoryMb) return `node ${node.name} has not enough memory left for this plan`;
  if (more.diskMb > 0 && cap.diskMb !== null && allocated.diskMb + more.diskMb > cap.diskMb) {
    return `node ${node.name} has not enough disk left for this plan`;
  }
  return null;
}

/**
 * Why a node cannot rebuild an environment on it with `next` limits, or null when it can. The
 * new container is made beside the old one, so until the switch the node holds both disks.
 */
export function rebuildShortfall(node: NodeRecord, allocated: Allocation, current: Limits, next: Limits): string | null {
  const live = changeShortfall(node, allocated, current, { ...next, diskMb: current.diskMb });
  if (live) return live;
  const cap = capacityOf(node);
  if (cap.diskMb !== null && allocated.diskMb + next.diskMb > cap.diskMb) {
    return `node ${node.name} has not enough disk for the new ${next.diskMb} MiB disk beside the old one`;
  }
  return null;
}
