import { describe, expect, it } from 'vitest';
import { chooseNode, exclusionReason, type Candidate } from '../../server/domain/placement.js';
import type { Limits, NodeRecord } from '../../server/domain/types.js';

function node(id: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    id, name: id, endpoint: 'unix:///x', publicHost: '127.0.0.1', state: 'active', status: 'online',
    capacity: { cpus: 4, memoryMb: 8192, diskMb: null }, cpuOvercommit: 1, memoryOvercommit: 1, maxEnvironments: 30, diskQuota: true,
    allowUnenforcedDisk: false, dockerVersion: '20.10', storageDriver: 'btrfs', lastSeenAt: null, createdAt: '', updatedAt: '',
    ...over,
  };
}
const empty = { cpus: 0, memoryMb: 0, diskMb: 0, environments: 0 };
const plan: Limits = { cpus: 1, memoryMb: 1024, swapMb: 0, diskMb: 1024, pids: 100, nofile: 4096 };

describe('placement', () => {
  it('picks the node with the most free capacity', () => {
    const candidates: Candidate[] = [
      { node: node('a'), allocated: { cpus: 2, memoryMb: 4096, diskMb: 0, environments: 2 } },
      { node: node('b'), allocated: { cpus: 1, memoryMb: 1024, diskMb: 0, environments: 1 } },
      { node: node('c'), allocated: { cpus: 3, memoryMb: 512, diskMb: 0, environments: 1 } },
    ];
    const r = chooseNode(candidates, plan);
    expect(r.ok && r.placement.nodeId).toBe('b');
  });

  it('excludes nodes that are not active, offline, full or short of resources, and says why', () => {
    const candidates: Candidate[] = [
      { node: node('maint', { state: 'maintenance' }), allocated: empty },
      { node: node('off', { status: 'offline' }), allocated: empty },
      { node: node('full', { maxEnvironments: 2 }), allocated: { ...empty, environments: 2 } },
      { node: node('cpu'), allocated: { ...empty, cpus: 3.5 } },
      { node: node('mem'), allocated: { ...empty, memoryMb: 7500 } },
      { node: node('disk', { capacity: { cpus: 4, memoryMb: 8192, diskMb: 2000 } }), allocated: { ...empty, diskMb: 1500 } },
      { node: node('noquota', { diskQuota: false }), allocated: empty },
    ];
    const r = chooseNode(candidates, plan);
    expect(r.ok).toBe(false);
    const reasons = Object.fromEntries(r.excluded.map((e) => [e.nodeId, e.reason]));
    expect(reasons.maint).toMatch(/maintenance/);
    expect(reasons.off).toMatch(/offline/);
    expect(reasons.full).toMatch(/maximum of 2/);
    expect(reasons.cpu).toMatch(/CPU/);
    expect(reasons.mem).toMatch(/memory/);
    expect(reasons.disk).toMatch(/disk/);
    expect(reasons.noquota).toMatch(/disk quota/);
  });

  it('places on a node without disk quota only when it allows unenforced disk', () => {
    const c = { node: node('x', { diskQuota: false, allowUnenforcedDisk: true }), allocated: empty };
    expect(exclusionReason(c, plan)).toBeNull();
  });

  it('counts CPU overcommit', () => {
    const c = { node: node('x', { cpuOvercommit: 4 }), allocated: { ...empty, cpus: 15 } };
    expect(exclusionReason(c, plan)).toBeNull();
    expect(exclusionReason({ ...c, allocated: { ...empty, cpus: 15.5 } }, plan)).toMatch(/CPU/);
  });

  it('honours a pinned node, even in maintenance, but not a disabled one', () => {
    const candidates: Candidate[] = [
      { node: node('a'), allocated: empty },
      { node: node('b', { state: 'maintenance' }), allocated: { ...empty, cpus: 2 } },
      { node: node('c', { state: 'disabled' }), allocated: empty },
    ];
    const r = chooseNode(candidates, plan, 'b');
    expect(r.ok && r.placement.nodeId).toBe('b');
    expect(chooseNode(candidates, plan, 'c').ok).toBe(false);
  });
});
