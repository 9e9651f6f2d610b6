import { capacityOf } from './allocation.js';
import type { Limits, NodeRecord } from './types.js';

/**
 * A fleet as the planners see it: which environment is on which node, with each node's
 * running totals, so a tentative move is cheap to try and to undo (clone, then keep or drop).
 */

export type FleetNode = Pick<NodeRecord, 'id' | 'name' | 'state' | 'status' | 'capacity' | 'cpuOvercommit' | 'memoryOvercommit'
  | 'maxEnvironments' | 'diskQuota' | 'allowUnenforcedDisk'>;

export interface FleetEnvironment {
  id: string;
  name: string;
  nodeId: string;
  limits: Pick<Limits, 'cpus' | 'memoryMb' | 'diskMb'>;
  /** Average use over the last hour, when it was sampled: CPU in cores, memory in MiB. */
  observed?: { cpus: number; memoryMb: number } | null | undefined;
  /** Why it cannot be moved now (an operation owns it), when it cannot. */
  unmovable?: string | null | undefined;
}

export interface FleetInput {
  nodes: FleetNode[];
  environments: FleetEnvironment[];
}

export interface Totals {
  cpus: number;
  memoryMb: number;
  diskMb: number;
  environments: number;
  observedCpus: number;
  observedMemoryMb: number;
}

export interface NodeSummary {
  nodeId: string;
  name: string;
  state: FleetNode['state'];
  status: FleetNode['status'];
  environments: number;
  cpus: number;
  memoryMb: number;
  /** The larger of the CPU and memory fractions in use, allocated or observed (0..1, more when overfilled). */
  load: number;
}

const EMPTY: Totals = { cpus: 0, memoryMb: 0, diskMb: 0, environments: 0, observedCpus: 0, observedMemoryMb: 0 };

/** A node that may receive environments: active and answering. */
export function inService(node: FleetNode): boolean {
  return node.state === 'active' && node.status === 'online';
}

export class Layout {
  private constructor(
    private readonly envs: ReadonlyMap<string, FleetEnvironment>,
    private readonly at: Map<string, string>,
    private readonly sums: Map<string, Totals>,
  ) {}

  static of(input: FleetInput): Layout {
    const layout = new Layout(new Map(input.environments.map((e) => [e.id, e])), new Map(), new Map());
    for (const e of input.environments) layout.put(e, e.nodeId, 1);
    return layout;
  }

  clone(): Layout {
    return new Layout(this.envs, new Map(this.at), new Map([...this.sums].map(([k, v]) => [k, { ...v }])));
  }

  nodeOf(environmentId: string): string | undefined {
    return this.at.get(environmentId);
  }

  envsOn(nodeId: string): FleetEnvironment[] {
    return [...this.at].filter(([, n]) => n === nodeId).map(([id]) => this.envs.get(id)!);
  }

  totals(nodeId: string): Totals {
    return this.sums.get(nodeId) ?? EMPTY;
  }

  move(environmentId: string, to: string): void {
    const env = this.envs.get(environmentId);
    const from = this.at.get(environmentId);
    if (!env || from === undefined) throw new Error(`environment ${environmentId} is not in the layout`);
    this.put(env, from, -1);
    this.put(env, to, 1);
  }

  private put(env: FleetEnvironment, nodeId: string, sign: 1 | -1): void {
    const t = { ...this.totals(nodeId) };
    t.cpus = round(t.cpus + sign * env.limits.cpus, 6);
    t.memoryMb += sign * env.limits.memoryMb;
    t.diskMb += sign * env.limits.diskMb;
    t.environments += sign;
    t.observedCpus = round(t.observedCpus + sign * (env.observed?.cpus ?? 0), 6);
    t.observedMemoryMb = round(t.observedMemoryMb + sign * (env.observed?.memoryMb ?? 0), 6);
    this.sums.set(nodeId, t);
    if (sign === 1) this.at.set(env.id, nodeId);
    else this.at.delete(env.id);
  }
}

export interface FitOptions {
  /** Fraction of the node's capacity (CPU, memory, disk, environment slots) kept free, 0..0.9. */
  headroom: number;
  /** Also require the observed CPU and memory use to fit under the headroom of the node's real capacity. */
  observed: boolean;
}

/**
 * Why `node` cannot take `env` on top of `totals`, or null when it can. Allocations are the
 * contract (with the node's overcommit ratios, as placement counts them); observed use only
 * adds a second check against the real, not overcommitted, capacity.
 */
export function fitReason(node: FleetNode, totals: Totals, env: FleetEnvironment, opts: FitOptions): string | null {
  if (node.state !== 'active') return `node is ${node.state}`;
  if (node.status !== 'online') return 'node is offline';
  const cap = capacityOf(node, opts.headroom);
  const kept = opts.headroom > 0 ? ` (keeping ${Math.round(opts.headroom * 100)}% free)` : '';
  const slots = cap.environments;
  if (totals.environments + 1 > slots) return `node may hold ${slots} environments${kept} and holds ${totals.environments}`;
  if (!node.diskQuota && env.limits.diskMb > 0 && !node.allowUnenforcedDisk) {
    return 'node cannot enforce disk quotas and was not registered with allowUnenforcedDisk';
  }
  const cpuCap = cap.cpus;
  if (totals.cpus + env.limits.cpus > cpuCap + 1e-9) {
    return `not enough CPU${kept}: ${round(Math.max(0, cpuCap - totals.cpus))} of ${round(cpuCap)} free, ${env.limits.cpus} needed`;
  }
  const memCap = cap.memoryMb;
  if (totals.memoryMb + env.limits.memoryMb > memCap) {
    return `not enough memory${kept}: ${Math.max(0, memCap - totals.memoryMb)} of ${memCap} MiB free, ${env.limits.memoryMb} MiB needed`;
  }
  if (cap.diskMb !== null) {
    const diskCap = cap.diskMb;
    if (totals.diskMb + env.limits.diskMb > diskCap) {
      return `not enough disk${kept}: ${Math.max(0, diskCap - totals.diskMb)} of ${diskCap} MiB free, ${env.limits.diskMb} MiB needed`;
    }
  }
  if (opts.observed) {
    const keep = 1 - opts.headroom;
    const cpuReal = node.capacity.cpus * keep;
    const cpuUse = totals.observedCpus + (env.observed?.cpus ?? 0);
    if (cpuUse > cpuReal + 1e-9) return `observed CPU use would be ${round(cpuUse)} of ${round(cpuReal)} cores${kept}`;
    const memReal = node.capacity.memoryMb * keep;
    const memUse = totals.observedMemoryMb + (env.observed?.memoryMb ?? 0);
    if (memUse > memReal) return `observed memory use would be ${Math.round(memUse)} of ${Math.round(memReal)} MiB${kept}`;
  }
  return null;
}

/** The smallest fraction left free over CPU, memory, disk (when known) and slots, after `totals`. */
export function roomLeft(node: FleetNode, t: Totals): number {
  const fractions = [
    1 - t.cpus / (node.capacity.cpus * node.cpuOvercommit),
    1 - t.memoryMb / (node.capacity.memoryMb * node.memoryOvercommit),
    1 - t.environments / node.maxEnvironments,
  ];
  if (node.capacity.diskMb !== null && node.capacity.diskMb > 0) fractions.push(1 - t.diskMb / node.capacity.diskMb);
  return Math.min(...fractions);
}

/** A node's load: the larger of its CPU and memory fractions, allocated (of capacity × overcommit) or observed (of real capacity). */
export function loadOf(node: FleetNode, t: Totals): number {
  return Math.max(
    t.cpus / (node.capacity.cpus * node.cpuOvercommit),
    t.memoryMb / (node.capacity.memoryMb * node.memoryOvercommit),
    node.capacity.cpus > 0 ? t.observedCpus / node.capacity.cpus : 0,
    node.capacity.memoryMb > 0 ? t.observedMemoryMb / node.capacity.memoryMb : 0,
  );
}

/** `t` with `env` added (1) or taken away (-1). */
export function withTotals(t: Totals, env: FleetEnvironment, sign: 1 | -1): Totals {
  return {
    cpus: t.cpus + sign * env.limits.cpus, memoryMb: t.memoryMb + sign * env.limits.memoryMb, diskMb: t.diskMb + sign * env.limits.diskMb,
    environments: t.environments + sign, observedCpus: t.observedCpus + sign * (env.observed?.cpus ?? 0),
    observedMemoryMb: t.observedMemoryMb + sign * (env.observed?.memoryMb ?? 0),
  };
}

export function summarize(nodes: readonly FleetNode[], layout: Layout): NodeSummary[] {
  return nodes.map((n) => {
    const t = layout.totals(n.id);
    return { nodeId: n.id, name: n.name, state: n.state, status: n.status, environments: t.environments, cpus: round(t.cpus, 3),
      memoryMb: t.memoryMb, load: round(loadOf(n, t), 3) };
  });
}

/** Largest first: memory, then CPU, then disk; the id keeps the order stable. */
export function largestFirst(envs: readonly FleetEnvironment[]): FleetEnvironment[] {
  return [...envs].sort((a, b) => b.limits.memoryMb - a.limits.memoryMb || b.limits.cpus - a.limits.cpus
    || b.limits.diskMb - a.limits.diskMb || a.id.localeCompare(b.id));
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
