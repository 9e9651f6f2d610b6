import { describe, expect, it } from 'vitest';
import {
  planConsolidation, planEvacuation, planRebalance, planRestore,
  type FleetEnvironment, type FleetInput, type FleetNode, type Move,
} from '../../server/domain/fleet-plan.js';

function node(id: string, over: Partial<FleetNode> = {}): FleetNode {
  return {
    id, name: id, state: 'active', status: 'online', capacity: { cpus: 4, memoryMb: 4096, diskMb: null },
    cpuOvercommit: 1, memoryOvercommit: 1, maxEnvironments: 30, diskQuota: true, allowUnenforcedDisk: false, ...over,
  };
}

function env(id: string, nodeId: string, memoryMb = 512, cpus = 0.5, observed?: FleetEnvironment['observed']): FleetEnvironment {
  return { id, name: id, nodeId, limits: { cpus, memoryMb, diskMb: 256 }, observed };
}

/** Where every environment is after the moves. */
function after(input: FleetInput, moves: Move[]): Map<string, string> {
  const at = new Map(input.environments.map((e) => [e.id, e.nodeId]));
  for (const m of moves) {
    expect(at.get(m.environmentId)).toBe(m.from);
    at.set(m.environmentId, m.to);
  }
  return at;
}

/** Asserts no node holds more than its capacity (less `headroom`) after the moves. */
function expectWithinCapacity(input: FleetInput, moves: Move[], headroom = 0): void {
  const at = after(input, moves);
  for (const n of input.nodes) {
    const envs = input.environments.filter((e) => at.get(e.id) === n.id);
    const keep = 1 - headroom;
    const moved = moves.some((m) => m.to === n.id);
    if (!moved) continue;
    expect(envs.length).toBeLessThanOrEqual(Math.floor(n.maxEnvironments * keep));
    expect(envs.reduce((s, e) => s + e.limits.cpus, 0)).toBeLessThanOrEqual(n.capacity.cpus * n.cpuOvercommit * keep + 1e-9);
    expect(envs.reduce((s, e) => s + e.limits.memoryMb, 0)).toBeLessThanOrEqual(n.capacity.memoryMb * n.memoryOvercommit * keep);
  }
}

describe('consolidation', () => {
  it('empties the nodes a packable fleet does not need', () => {
    const input: FleetInput = {
      nodes: [node('a'), node('b'), node('c'), node('d')],
      environments: [env('a1', 'a'), env('a2', 'a'), env('b1', 'b'), env('c1', 'c', 1024), env('d1', 'd'), env('d2', 'd'), env('d3', 'd')],
    };
    const plan = planConsolidation(input, { headroom: 0.2 });
    expect(plan.before.nodes).toBe(4);
    // 4096 MiB of environments, 3276 MiB usable per node at 20% headroom: two nodes are enough.
    expect(plan.after.nodes).toBe(2);
    expect(plan.emptied).toHaveLength(2);
    const at = after(input, plan.moves);
    for (const e of plan.emptied) expect([...at.values()]).not.toContain(e.nodeId);
    expectWithinCapacity(input, plan.moves, 0.2);
    expect(plan.after.perNode.reduce((s, n) => s + n.environments, 0)).toBe(7);
  });

  it('keeps the headroom: a fleet that only fits when full is left alone', () => {
    const input: FleetInput = {
      nodes: [node('a'), node('b')],
      environments: [env('a1', 'a', 2048), env('b1', 'b', 2048)],
    };
    expect(planConsolidation(input, { headroom: 0 }).after.nodes).toBe(1);
    const plan = planConsolidation(input, { headroom: 0.2 });
    expect(plan.moves).toEqual([]);
    expect(plan.after.nodes).toBe(2);
    expect(plan.kept.map((k) => k.reason).join(' ')).toMatch(/not enough memory \(keeping 20% free\)/);
  });

  it('counts headroom in environment slots', () => {
    const input: FleetInput = {
      nodes: [node('a', { maxEnvironments: 5 }), node('b', { maxEnvironments: 5 })],
      environments: [env('a1', 'a', 64), env('a2', 'a', 64), env('b1', 'b', 64), env('b2', 'b', 64)],
    };
    expect(planConsolidation(input, { headroom: 0 }).after.nodes).toBe(1);
    // 5 slots less 20% = 4: still fits; less 40% = 3: does not.
    expect(planConsolidation(input, { headroom: 0.2 }).after.nodes).toBe(1);
    expect(planConsolidation(input, { headroom: 0.4 }).after.nodes).toBe(2);
  });

  it('requires observed use to fit under the real capacity, even when allocations are overcommitted', () => {
    const nodes = [node('a', { cpuOvercommit: 4 }), node('b', { cpuOvercommit: 4 })];
    const quiet: FleetInput = { nodes, environments: [env('a1', 'a', 256, 4, { cpus: 0.5, memoryMb: 100 }), env('b1', 'b', 256, 4, { cpus: 0.5, memoryMb: 100 })] };
    expect(planConsolidation(quiet, { headroom: 0.2 }).after.nodes).toBe(1);
    const busy: FleetInput = { nodes, environments: [env('a1', 'a', 256, 4, { cpus: 2, memoryMb: 100 }), env('b1', 'b', 256, 4, { cpus: 2, memoryMb: 100 })] };
    const plan = planConsolidation(busy, { headroom: 0.2 });
    expect(plan.after.nodes).toBe(2);
    expect(plan.kept[0]!.reason).toMatch(/observed CPU use would be 4 of 3.2 cores/);
  });

  it('never moves to or from a node in maintenance, offline or disabled', () => {
    const input: FleetInput = {
      nodes: [node('a'), node('m', { state: 'maintenance' }), node('o', { status: 'offline' }), node('x', { state: 'disabled' }), node('b')],
      environments: [env('a1', 'a'), env('m1', 'm'), env('o1', 'o'), env('x1', 'x'), env('b1', 'b')],
    };
    const plan = planConsolidation(input, { headroom: 0.2 });
    expect(plan.moves).toHaveLength(1);
    for (const m of plan.moves) {
      expect(['a', 'b']).toContain(m.from);
      expect(['a', 'b']).toContain(m.to);
    }
    expect(plan.before.nodes).toBe(5);
    expect(plan.after.nodes).toBe(4);
  });

  it('does not fill an empty node to empty another', () => {
    const input: FleetInput = { nodes: [node('a'), node('b'), node('empty')], environments: [env('a1', 'a', 3500), env('b1', 'b', 3500)] };
    const plan = planConsolidation(input, { headroom: 0 });
    expect(plan.moves).toEqual([]);
    expect(plan.before.nodes).toBe(2);
  });

  it('rejects a headroom out of range', () => {
    expect(() => planConsolidation({ nodes: [], environments: [] }, { headroom: 0.95 })).toThrow(RangeError);
  });
});

describe('rebalance', () => {
  it('moves load from the busiest node until the spread is under the threshold', () => {
    const input: FleetInput = {
      nodes: [node('a'), node('b'), node('c')],
      environments: [...Array.from({ length: 6 }, (_, i) => env(`a${i}`, 'a', 512)), env('b1', 'b', 512)],
    };
    const plan = planRebalance(input, { threshold: 0.2, headroom: 0.1 });
    expect(plan.before.spread).toBe(0.75);
    expect(plan.after.spread).toBeLessThanOrEqual(0.2);
    expect(plan.outcome).toBe('balanced');
    expect(plan.moves.every((m) => m.from === 'a')).toBe(true);
    expectWithinCapacity(input, plan.moves, 0.1);
  });

  it('makes no move when the fleet is level enough', () => {
    const input: FleetInput = { nodes: [node('a'), node('b')], environments: [env('a1', 'a', 1024), env('b1', 'b', 512)] };
    const plan = planRebalance(input, { threshold: 0.25, headroom: 0.2 });
    expect(plan.moves).toEqual([]);
    expect(plan.outcome).toBe('balanced');
  });

  it('stops when no move lowers the spread, and respects the headroom', () => {
    const input: FleetInput = { nodes: [node('a'), node('b')], environments: [env('a1', 'a', 3000), env('b1', 'b', 512)] };
    const plan = planRebalance(input, { threshold: 0.05, headroom: 0.2 });
    expect(plan.moves).toEqual([]);
    expect(plan.outcome).toBe('no_better_move');
  });

  it('counts observed use in a node\'s load and leaves nodes out of service alone', () => {
    const input: FleetInput = {
      nodes: [node('a', { cpuOvercommit: 4 }), node('b', { cpuOvercommit: 4 }), node('m', { state: 'maintenance' })],
      environments: [
        env('a1', 'a', 256, 1, { cpus: 1.5, memoryMb: 100 }), env('a2', 'a', 256, 1, { cpus: 1.5, memoryMb: 100 }),
        env('b1', 'b', 256, 1, { cpus: 0.1, memoryMb: 100 }), env('m1', 'm', 256), env('m2', 'm', 256),
      ],
    };
    const plan = planRebalance(input, { threshold: 0.25, headroom: 0.2 });
    expect(plan.before.spread).toBe(0.688);
    expect(plan.moves.map((m) => [m.from, m.to])).toEqual([['a', 'b']]);
    expect(plan.after.spread).toBeLessThanOrEqual(0.25);
  });

  it('ends on a fleet of one node', () => {
    const plan = planRebalance({ nodes: [node('a')], environments: [env('a1', 'a')] }, { threshold: 0.1, headroom: 0 });
    expect(plan.outcome).toBe('too_few_nodes');
  });
});

describe('evacuation', () => {
  it('places every environment on other active, online nodes within capacity', () => {
    const input: FleetInput = {
      nodes: [node('src'), node('b', { maxEnvironments: 4 }), node('c', { maxEnvironments: 4 }), node('m', { state: 'maintenance' }), node('o', { status: 'offline' })],
      environments: [env('s1', 'src'), env('s2', 'src', 1024), env('s3', 'src'), env('s4', 'src', 256), env('b1', 'b'), env('c1', 'c')],
    };
    const plan = planEvacuation(input, 'src');
    expect(plan.unplaceable).toEqual([]);
    expect(plan.moves).toHaveLength(4);
    for (const m of plan.moves) expect(['b', 'c']).toContain(m.to);
    expectWithinCapacity(input, plan.moves);
    // The largest goes first, to the node with the most room: the two nodes share the load.
    expect(new Set(plan.moves.map((m) => m.to)).size).toBe(2);
  });

  it('reports what cannot be placed, with each node\'s reason, and drops nothing', () => {
    const input: FleetInput = {
      nodes: [node('src'), node('b', { maxEnvironments: 2 }), node('c', { maxEnvironments: 1 })],
      environments: [env('s1', 'src'), env('s2', 'src'), env('s3', 'src', 8000), env('b1', 'b')],
    };
    const plan = planEvacuation(input, 'src');
    expect(plan.moves.map((m) => m.environmentId).sort()).toHaveLength(2);
    expect(plan.unplaceable.map((u) => u.environmentId)).toEqual(['s3']);
    expect(plan.unplaceable[0]!.reason).toMatch(/b: not enough memory/);
    expect(plan.unplaceable[0]!.reason).toMatch(/c: not enough memory/);
    const full = planEvacuation({ ...input, environments: [env('s1', 'src'), env('s2', 'src'), env('s3', 'src'), env('b1', 'b')] }, 'src');
    expect(full.unplaceable).toHaveLength(1);
    expect(full.unplaceable[0]!.reason).toMatch(/may hold 2 environments and holds 2.*may hold 1 environments and holds 1/);
  });

  it('says so when there is no other node', () => {
    const plan = planEvacuation({ nodes: [node('src'), node('m', { state: 'maintenance' })], environments: [env('s1', 'src')] }, 'src');
    expect(plan.unplaceable[0]!.reason).toMatch(/no other active, online node/);
  });
});

describe('restore', () => {
  it('brings environments back while the node has room and reports the rest', () => {
    const input: FleetInput = {
      nodes: [node('home', { maxEnvironments: 2 }), node('b')],
      environments: [env('e1', 'b'), env('e2', 'b', 1024), env('e3', 'b', 256), env('other', 'b'), env('h1', 'home')],
    };
    const plan = planRestore(input, 'home', ['e1', 'e2', 'e3', 'h1']);
    expect(plan.moves.map((m) => m.environmentId)).toEqual(['e2']);
    expect(plan.unplaceable.map((u) => u.environmentId).sort()).toEqual(['e1', 'e3']);
    expect(plan.unplaceable[0]!.reason).toMatch(/home: node may hold 2/);
  });
});

describe('environments an operation owns', () => {
  it('are never moved, and are reported by evacuation', () => {
    const busy = { ...env('a1', 'a'), unmovable: 'it is provisioning' };
    const input: FleetInput = { nodes: [node('a'), node('b')], environments: [busy, env('b1', 'b'), env('b2', 'b'), env('b3', 'b')] };
    expect(planConsolidation(input, { headroom: 0 }).kept[0]).toMatchObject({ nodeId: 'a', reason: 'a1 cannot move now: it is provisioning' });
    expect(planRebalance({ ...input, environments: [busy, { ...env('a2', 'a'), unmovable: 'it is deleting' }] }, { threshold: 0.05, headroom: 0 }).moves)
      .toEqual([]);
    expect(planEvacuation(input, 'a').unplaceable).toEqual([{ environmentId: 'a1', name: 'a1', reason: 'cannot move now: it is provisioning' }]);
  });
});

describe('on random fleets', () => {
  it('never exceeds a receiving node\'s capacity less headroom, and never drops an environment', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let round = 0; round < 200; round++) {
      const nodes = Array.from({ length: 2 + Math.floor(rand() * 5) }, (_, i) => node(`n${i}`, {
        maxEnvironments: 2 + Math.floor(rand() * 8), cpuOvercommit: 1 + Math.floor(rand() * 4),
        state: rand() < 0.1 ? 'maintenance' : 'active', status: rand() < 0.1 ? 'offline' : 'online',
      }));
      const environments: FleetEnvironment[] = [];
      for (const n of nodes) {
        for (let k = 0; k < Math.floor(rand() * n.maxEnvironments); k++) {
          environments.push(env(`${n.id}-${k}`, n.id, 64 * (1 + Math.floor(rand() * 8)), 0.25 * (1 + Math.floor(rand() * 4))));
        }
      }
      const input: FleetInput = { nodes, environments };
      const headroom = Math.floor(rand() * 5) / 10;
      const inService = new Set(nodes.filter((n) => n.state === 'active' && n.status === 'online').map((n) => n.id));
      const consolidation = planConsolidation(input, { headroom });
      expectWithinCapacity(input, consolidation.moves, headroom);
      expect(consolidation.after.nodes).toBeLessThanOrEqual(consolidation.before.nodes);
      for (const m of consolidation.moves) expect(inService.has(m.to)).toBe(true);
      const rebalance = planRebalance(input, { threshold: 0.1, headroom });
      expectWithinCapacity(input, rebalance.moves, headroom);
      expect(rebalance.after.spread).toBeLessThanOrEqual(rebalance.before.spread);
      const evacuation = planEvacuation(input, 'n0');
      expectWithinCapacity(input, evacuation.moves);
      expect(evacuation.moves.length + evacuation.unplaceable.length).toBe(environments.filter((e) => e.nodeId === 'n0').length);
      for (const m of evacuation.moves) expect(inService.has(m.to) && m.to !== 'n0').toBe(true);
    }
  });
});

