import { capacityOf } from './allocation.js';
import type { Allocation, Limits, NodeRecord } from './types.js';

export interface Candidate {
  node: NodeRecord;
  allocated: Allocation;
}

export interface Placement {
  nodeId: string;
  score: number;
}

export interface Exclusion {
  nodeId: string;
  reason: string;
}

export type PlacementResult =
  | { ok: true; placement: Placement; excluded: Exclusion[] }
  | { ok: false; excluded: Exclusion[] };

/** Why `node` cannot take an environment with `limits`, or null when it can. */
export function exclusionReason(c: Candidate, limits: Limits, opts: { pinned?: boolean } = {}): string | null {
  const { node, allocated } = c;
  if (node.state !== 'active' && !opts.pinned) return `node is ${node.state}`;
  if (node.state === 'disabled') return 'node is disabled';
  if (node.status !== 'online') return 'node is offline';
  if (allocated.environments + 1 > node.maxEnvironments) {
    return `node holds its maximum of ${node.maxEnvironments} environments`;
  }
  if (!node.diskQuota && limits.diskMb > 0 && !node.allowUnenforcedDisk) {
    return 'node cannot enforce disk quotas (its storage driver has none) and was not registered with allowUnenforcedDisk';
  }
  const cap = capacityOf(node);
  const cpuCap = cap.cpus;
  if (allocated.cpus + limits.cpus > cpuCap + 1e-9) {
    return `not enough CPU: ${round(cpuCap - allocated.cpus)} of ${round(cpuCap)} free, ${limits.cpus} needed`;
  }
  const memCap = cap.memoryMb;
  if (allocated.memoryMb + limits.memoryMb > memCap) {
    return `not enough memory: ${memCap - allocated.memoryMb} of ${memCap} MiB free, ${limits.memoryMb} MiB needed`;
  }
  if (node.capacity.diskMb !== null && allocated.diskMb + limits.diskMb > node.capacity.diskMb) {
    return `not enough disk: ${node.capacity.diskMb - allocated.diskMb} MiB free, ${limits.diskMb} MiB needed`;
  }
  return null;
}

/**
 * Free capacity left after placing, as the smallest free fraction over CPU, memory,
 * disk (when known) and environment slots: the node with the most room wins.
 */
export function placementScore(c: Candidate, limits: Limits): number {
  const { node, allocated } = c;
  const fractions = [
    1 - (allocated.cpus + limits.cpus) / (node.capacity.cpus * node.cpuOvercommit),
    1 - (allocated.memoryMb + limits.memoryMb) / (node.capacity.memoryMb * node.memoryOvercommit),
    1 - (allocated.environments + 1) / node.maxEnvironments,
  ];
  if (node.capacity.diskMb !== null && node.capacity.diskMb > 0) {
    fractions.push(1 - (allocated.diskMb + limits.diskMb) / node.capacity.diskMb);
  }
  return round(Math.min(...fractions), 4);
}

export function chooseNode(candidates: Candidate[], limits: Limits, pinnedNodeId?: string): PlacementResult {
  const excluded: Exclusion[] = [];
  let best: Placement | null = null;
  for (const c of candidates) {
    if (pinnedNodeId !== undefined && c.node.id !== pinnedNodeId) continue;
    const reason = exclusionReason(c, limits, { pinned: pinnedNodeId !== undefined });
    if (reason !== null) {
      excluded.push({ nodeId: c.node.id, reason });
      continue;
    }
    const score = placementScore(c, limits);
    // Ties keep the earlier candidate (candidates come in creation order): predictable placement.
    if (best === null || score > best.score) best = { nodeId: c.node.id, score };
  }
  return best === null ? { ok: false, excluded } : { ok: true, placement: best, excluded };
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export interface PreviewRow {
  nodeId: string;
  eligible: boolean;
  score: number | null;
  reason: string | null;
}

/** Every node with its score, or the reason it is excluded, best first: what chooseNode decides on. */
export function previewPlacement(candidates: Candidate[], limits: Limits): { chosen: string | null; nodes: PreviewRow[] } {
  const rows: PreviewRow[] = candidates.map((c) => {
    const reason = exclusionReason(c, limits);
    return { nodeId: c.node.id, eligible: reason === null, score: reason === null ? placementScore(c, limits) : null, reason };
  });
  rows.sort((a, b) => (b.score ?? -Infinity) - (a.score ?? -Infinity));
  const result = chooseNode(candidates, limits);
  return { chosen: result.ok ? result.placement.nodeId : null, nodes: rows };
}
