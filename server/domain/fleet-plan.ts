import {
  Layout, fitReason, inService, largestFirst, loadOf, roomLeft, summarize, withTotals,
  type FitOptions, type FleetEnvironment, type FleetInput, type FleetNode, type NodeSummary,
} from './fleet-layout.js';

export type { FleetEnvironment, FleetInput, FleetNode, NodeSummary } from './fleet-layout.js';

/**
 * Fleet planners: where environments should go to empty nodes (consolidation), to level
 * load (rebalance), to free one node (evacuation) or to come back to it (restore). Pure:
 * they read a snapshot of the fleet and return moves; the services run them as moves.
 */

export interface Move {
  environmentId: string;
  name: string;
  from: string;
  fromName: string;
  to: string;
  toName: string;
}

export interface Unplaceable {
  environmentId: string;
  name: string;
  reason: string;
}

export interface ConsolidationPlan {
  headroom: number;
  /** `nodes`: how many nodes hold at least one environment. */
  before: { nodes: number; perNode: NodeSummary[] };
  after: { nodes: number; perNode: NodeSummary[] };
  emptied: { nodeId: string; name: string }[];
  moves: Move[];
  /** Nodes in use that stay in use, with the environment that had nowhere to go. */
  kept: { nodeId: string; name: string; reason: string }[];
}

export interface RebalancePlan {
  threshold: number;
  headroom: number;
  /** `spread`: the most loaded minus the least loaded active, online node. */
  before: { spread: number; perNode: NodeSummary[] };
  after: { spread: number; perNode: NodeSummary[] };
  moves: Move[];
  outcome: 'balanced' | 'no_better_move' | 'move_cap' | 'too_few_nodes';
}

export interface EvacuationPlan {
  nodeId: string;
  name: string;
  moves: Move[];
  unplaceable: Unplaceable[];
}

export interface RestorePlan {
  nodeId: string;
  moves: Move[];
  unplaceable: Unplaceable[];
}

const EPS = 1e-9;

/**
 * Empties as many nodes as possible: tries the least loaded active, online node first,
 * placing its environments (largest first, on the node they fill best) on the other nodes
 * in use, and keeps the attempt only when all of them fit within the headroom.
 */
export function planConsolidation(input: FleetInput, opts: { headroom: number }): ConsolidationPlan {
  checkHeadroom(opts.headroom);
  const fit: FitOptions = { headroom: opts.headroom, observed: true };
  let layout = Layout.of(input);
  const pool = input.nodes.filter(inService);
  const emptied = new Set<string>();
  const tried = new Set<string>();
  const kept: ConsolidationPlan['kept'] = [];
  for (;;) {
    const source = pool.filter((n) => !tried.has(n.id) && layout.totals(n.id).environments > 0)
      .sort((a, b) => loadOf(a, layout.totals(a.id)) - loadOf(b, layout.totals(b.id))
        || layout.totals(a.id).environments - layout.totals(b.id).environments || a.id.localeCompare(b.id))[0];
    if (!source) break;
    tried.add(source.id);
    const targets = pool.filter((n) => n.id !== source.id && !emptied.has(n.id) && layout.totals(n.id).environments > 0);
    const attempt = layout.clone();
    let failure: string | null = targets.length === 0 ? 'no other node in use to take its environments' : null;
    for (const env of targets.length === 0 ? [] : largestFirst(attempt.envsOn(source.id))) {
      if (env.unmovable) {
        failure = `${env.name} cannot move now: ${env.unmovable}`;
        break;
      }
      const choice = choose(attempt, targets, env, fit, 'tightest');
      if (!choice.ok) {
        failure = `${env.name} fits nowhere else (${choice.reason})`;
        break;
      }
      attempt.move(env.id, choice.nodeId);
    }
    if (failure === null) {
      layout = attempt;
      emptied.add(source.id);
    } else {
      kept.push({ nodeId: source.id, name: source.name, reason: failure });
    }
  }
  const before = Layout.of(input);
  return {
    headroom: opts.headroom,
    before: { nodes: nodesInUse(input.nodes, before), perNode: summarize(input.nodes, before) },
    after: { nodes: nodesInUse(input.nodes, layout), perNode: summarize(input.nodes, layout) },
    emptied: input.nodes.filter((n) => emptied.has(n.id)).map((n) => ({ nodeId: n.id, name: n.name })),
    moves: movesOf(input, layout),
    kept,
  };
}

/**
 * Levels load across the active, online nodes: while the spread passes the threshold,
 * moves the environment from the most loaded node whose move lowers the spread most (or,
 * at equal spread, the sum of squared loads, so the loop always ends), within the headroom.
 */
export function planRebalance(input: FleetInput, opts: { threshold: number; headroom: number; maxMoves?: number }): RebalancePlan {
  checkHeadroom(opts.headroom);
  const fit: FitOptions = { headroom: opts.headroom, observed: true };
  const maxMoves = opts.maxMoves ?? 100;
  const layout = Layout.of(input);
  const pool = input.nodes.filter(inService);
  const before = { spread: spreadOf(pool, layout), perNode: summarize(input.nodes, layout) };
  let outcome: RebalancePlan['outcome'] = pool.length < 2 ? 'too_few_nodes' : 'balanced';
  for (let count = 0; pool.length >= 2; count++) {
    const loads = new Map(pool.map((n) => [n.id, loadOf(n, layout.totals(n.id))]));
    const spread = spreadOfLoads(loads);
    if (spread <= opts.threshold + EPS) break;
    if (count >= maxMoves) {
      outcome = 'move_cap';
      break;
    }
    const hi = pool.reduce((a, b) => (loads.get(b.id)! > loads.get(a.id)! + EPS ? b : a));
    const squares = sumOfSquares(loads);
    let best: { env: FleetEnvironment; to: FleetNode; spread: number; squares: number } | null = null;
    for (const env of layout.envsOn(hi.id)) {
      if (env.unmovable) continue;
      for (const to of pool) {
        if (to.id === hi.id || fitReason(to, layout.totals(to.id), env, fit) !== null) continue;
        const next = new Map(loads);
        next.set(hi.id, loadOf(hi, withTotals(layout.totals(hi.id), env, -1)));
        next.set(to.id, loadOf(to, withTotals(layout.totals(to.id), env, 1)));
        const s = spreadOfLoads(next);
        const q = sumOfSquares(next);
        if (!(s < spread - EPS || (s <= spread + EPS && q < squares - EPS))) continue;
        if (!best || s < best.spread - EPS || (s <= best.spread + EPS && q < best.squares - EPS)) best = { env, to, spread: s, squares: q };
      }
    }
    if (!best) {
      outcome = 'no_better_move';
      break;
    }
    layout.move(best.env.id, best.to.id);
  }
  return {
    threshold: opts.threshold, headroom: opts.headroom, before,
    after: { spread: spreadOf(pool, layout), perNode: summarize(input.nodes, layout) },
    moves: movesOf(input, layout), outcome,
  };
}

/**
 * Places every environment of one node on the other active, online nodes within their
 * capacity, largest first, each on the node with the most room left (as placement does).
 * An environment that fits nowhere is reported with each node's reason, never dropped.
 */
export function planEvacuation(input: FleetInput, nodeId: string): EvacuationPlan {
  const source = input.nodes.find((n) => n.id === nodeId);
  if (!source) throw new Error(`node ${nodeId} is not in the fleet snapshot`);
  const layout = Layout.of(input);
  const targets = input.nodes.filter((n) => n.id !== nodeId && inService(n));
  const unplaceable: Unplaceable[] = [];
  for (const env of largestFirst(layout.envsOn(nodeId))) {
    const choice: Choice = env.unmovable ? { ok: false, reason: `cannot move now: ${env.unmovable}` }
      : choose(layout, targets, env, { headroom: 0, observed: false }, 'roomiest');
    if (choice.ok) layout.move(env.id, choice.nodeId);
    else unplaceable.push({ environmentId: env.id, name: env.name, reason: choice.reason });
  }
  return { nodeId, name: source.name, moves: movesOf(input, layout), unplaceable };
}

/** Brings environments back to `nodeId` (largest first) while it has room; the others are reported. */
export function planRestore(input: FleetInput, nodeId: string, environmentIds: readonly string[]): RestorePlan {
  const node = input.nodes.find((n) => n.id === nodeId);
  if (!node) throw new Error(`node ${nodeId} is not in the fleet snapshot`);
  const layout = Layout.of(input);
  const wanted = new Set(environmentIds);
  const unplaceable: Unplaceable[] = [];
  for (const env of largestFirst(input.environments.filter((e) => wanted.has(e.id) && e.nodeId !== nodeId))) {
    if (env.unmovable) {
      unplaceable.push({ environmentId: env.id, name: env.name, reason: `cannot move now: ${env.unmovable}` });
      continue;
    }
    const reason = fitReason(node, layout.totals(nodeId), env, { headroom: 0, observed: false });
    if (reason === null) layout.move(env.id, nodeId);
    else unplaceable.push({ environmentId: env.id, name: env.name, reason: `${node.name}: ${reason}` });
  }
  return { nodeId, moves: movesOf(input, layout), unplaceable };
}

type Choice = { ok: true; nodeId: string } | { ok: false; reason: string };

function choose(layout: Layout, targets: readonly FleetNode[], env: FleetEnvironment, fit: FitOptions, prefer: 'tightest' | 'roomiest'): Choice {
  const reasons: string[] = [];
  let best: { nodeId: string; room: number } | null = null;
  for (const n of targets) {
    const t = layout.totals(n.id);
    const why = fitReason(n, t, env, fit);
    if (why !== null) {
      reasons.push(`${n.name}: ${why}`);
      continue;
    }
    const room = roomLeft(n, withTotals(t, env, 1));
    if (best === null || (prefer === 'tightest' ? room < best.room - EPS : room > best.room + EPS)) best = { nodeId: n.id, room };
  }
  if (best) return { ok: true, nodeId: best.nodeId };
  return { ok: false, reason: targets.length === 0 ? 'no other active, online node' : reasons.join('; ') };
}

function movesOf(input: FleetInput, layout: Layout): Move[] {
  const names = new Map(input.nodes.map((n) => [n.id, n.name]));
  return input.environments.flatMap((e) => {
    const to = layout.nodeOf(e.id);
    if (to === undefined || to === e.nodeId) return [];
    return [{ environmentId: e.id, name: e.name, from: e.nodeId, fromName: names.get(e.nodeId) ?? e.nodeId, to, toName: names.get(to) ?? to }];
  });
}

function nodesInUse(nodes: readonly FleetNode[], layout: Layout): number {
  return nodes.filter((n) => layout.totals(n.id).environments > 0).length;
}

function spreadOf(pool: readonly FleetNode[], layout: Layout): number {
  return Math.round(spreadOfLoads(new Map(pool.map((n) => [n.id, loadOf(n, layout.totals(n.id))]))) * 1000) / 1000;
}

function spreadOfLoads(loads: ReadonlyMap<string, number>): number {
  if (loads.size === 0) return 0;
  const values = [...loads.values()];
  return Math.max(...values) - Math.min(...values);
}

function sumOfSquares(loads: ReadonlyMap<string, number>): number {
  let s = 0;
  for (const v of loads.values()) s += v * v;
  return s;
}

function checkHeadroom(headroom: number): void {
  if (!(headroom >= 0 && headroom <= 0.9)) throw new RangeError(`headroom must be between 0 and 0.9, not ${headroom}`);
}
