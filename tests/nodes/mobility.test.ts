import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { docker, httpGet, labNode, labNodes, nodeBody } from '../helpers/lab.js';
import { spawnPanel, type PanelProcess } from '../helpers/process.js';
import { startFleetPanel, createEnvironment, seedCustomer, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

/** The panel's containers running on a lab node (by environment label). */
async function runningOn(index: number, customerId: string): Promise<string[]> {
  const out = await docker(labNode(index), 'ps', '--filter', `label=io.kura.customer=${customerId}`, '--format', '{{.Label "io.kura.environment"}}');
  return out.split('\n').filter(Boolean).sort();
}

async function serves(env: { endpoints: { host: string; port: number }[] }): Promise<boolean> {
  return (await httpGet(`http://${env.endpoints[0]!.host}:${env.endpoints[0]!.port}/`))?.status === 200;
}

describe('evacuate and restore a node of a 3-node lab', () => {
  let panel: TestPanel;
  let seed: Seed;
  let nodeIds: string[];
  beforeAll(async () => {
    ({ panel, nodeIds, seed } = await startFleetPanel());
  });
  afterAll(async () => panel.close());

  it('moves every environment off node 1, running, then brings them back', async () => {
    const envs = [];
    for (let i = 0; i < 4; i++) {
      envs.push(await createEnvironment(panel, { name: `evac-${i}`, templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[0] }));
    }
    const ids = envs.map((e) => e.id as string).sort();
    expect(await runningOn(1, seed.customerId)).toEqual(ids);

    const res = await panel.api('POST', `/nodes/${nodeIds[0]}/evacuate`);
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe(`/api/v1/operations/${res.body.operation.id}`);
    expect(res.body.operation).toMatchObject({ kind: 'evacuate', resource: { type: 'node', id: nodeIds[0] } });
    // Maintenance from the moment it is accepted: nothing new lands there meanwhile.
    expect((await panel.api('GET', `/nodes/${nodeIds[0]}`)).body.state).toBe('maintenance');
    const again = await panel.api('POST', `/nodes/${nodeIds[0]}/evacuate`);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/already being evacuated/);

    const op = await waitOperation(panel, res.body.operation.id, 300);
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    expect(op.message).toMatch(/lab1 is empty: moved 4/);
    for (const e of envs) expect(op.message).toContain(e.name);
    const node1 = (await panel.api('GET', `/nodes/${nodeIds[0]}`)).body;
    expect(node1).toMatchObject({ state: 'maintenance', allocated: { environments: 0 } });
    for (const e of envs) {
      const now = (await panel.api('GET', `/environments/${e.id}`)).body;
      expect([nodeIds[1], nodeIds[2]]).toContain(now.nodeId);
      expect(now.state).toBe('running');
      expect(await serves(now)).toBe(true);
    }
    expect(await runningOn(1, seed.customerId)).toEqual([]);
    expect([...await runningOn(2, seed.customerId), ...await runningOn(3, seed.customerId)].sort()).toEqual(ids);
    // Each move is its own migrate operation, listed under the environment.
    const children = (await panel.api('GET', `/operations?resourceId=${envs[0].id}`)).body.items;
    expect(children.some((c: { kind: string; status: string }) => c.kind === 'migrate' && c.status === 'succeeded')).toBe(true);

    const back = await panel.api('POST', `/nodes/${nodeIds[0]}/restore`);
    expect(back.status).toBe(202);
    expect((await panel.api('GET', `/nodes/${nodeIds[0]}`)).body.state).toBe('active');
    const restored = await waitOperation(panel, back.body.operation.id, 300);
    expect(restored.status, JSON.stringify(restored)).toBe('succeeded');
    expect(restored.message).toMatch(/lab1 is active: moved 4/);
    for (const e of envs) {
      const now = (await panel.api('GET', `/environments/${e.id}`)).body;
      expect(now).toMatchObject({ nodeId: nodeIds[0], state: 'running' });
      expect(await serves(now)).toBe(true);
    }
    expect(await runningOn(1, seed.customerId)).toEqual(ids);
  });

  it('reports an environment that has no room elsewhere and leaves it running where it is', async () => {
    const s = await seedCustomer(panel);
    const stay = await createEnvironment(panel, { name: 'stay', templateId: 'static-site', planId: s.planId, customerId: s.customerId, nodeId: nodeIds[1] });
    const go = await createEnvironment(panel, { name: 'go', templateId: 'static-site', planId: s.planId, customerId: s.customerId, nodeId: nodeIds[1] });
    // Node 1 still holds the four environments of the first test; node 3 is empty.
    await panel.api('PATCH', `/nodes/${nodeIds[0]}`, { maxEnvironments: 4 });
    await panel.api('PATCH', `/nodes/${nodeIds[2]}`, { maxEnvironments: 1 });
    const res = await panel.api('POST', `/nodes/${nodeIds[1]}/evacuate`);
    expect(res.status).toBe(202);
    const op = await waitOperation(panel, res.body.operation.id, 300);
    expect(op.status).toBe('failed');
    expect(op.error.code, op.message).toBe('no_capacity');
    expect(op.message).toMatch(/lab2 was not emptied: moved 1 \(.+ → lab3\); not moved 1: .+: no room \(lab1: node may hold 4 environments and holds 4; lab3: node may hold 1 environments and holds 1\)/);
    const [a, b] = await Promise.all([stay, go].map(async (e) => (await panel.api('GET', `/environments/${e.id}`)).body));
    const left = [a, b].filter((e) => e.nodeId === nodeIds[1]);
    expect(left).toHaveLength(1);
    expect(left[0].state).toBe('running');
    expect(await serves(left[0])).toBe(true);
    expect(op.message).toContain(`not moved 1: ${left[0].name}`);
    expect(await runningOn(2, s.customerId)).toEqual([left[0].id]);
    expect((await panel.api('GET', `/nodes/${nodeIds[1]}`)).body.state).toBe('maintenance');
    await docker(labNode(2), 'inspect', containerName(left[0].id));
  });
});

describe('consolidation and rebalance on a lab seeded to be packable', () => {
  let panel: TestPanel;
  let seed: Seed;
  let nodeIds: string[];
  beforeAll(async () => {
    // Three slots per node: two with 20% headroom, so the three environments fit on two nodes.
    ({ panel, nodeIds, seed } = await startFleetPanel({ node: { maxEnvironments: 3 } }));
  });
  afterAll(async () => panel.close());

  it('answers admins only, with strict bodies, and is in the OpenAPI document', async () => {
    expect((await panel.api('POST', '/fleet/consolidation/preview', {}, { token: seed.customerToken })).status).toBe(403);
    expect((await panel.api('POST', `/nodes/${nodeIds[0]}/evacuate`, undefined, { token: seed.customerToken })).status).toBe(403);
    expect((await panel.api('POST', '/fleet/rebalance/apply', {}, { token: seed.customerToken })).status).toBe(403);
    expect((await panel.api('POST', '/fleet/consolidation/preview', { headroom: 0.95 })).status).toBe(400);
    expect((await panel.api('POST', '/fleet/consolidation/preview', { headroom: '0.2' })).status).toBe(400);
    expect((await panel.api('POST', '/fleet/rebalance/preview', { threshold: 0.01 })).status).toBe(400);
    expect((await panel.api('POST', '/fleet/rebalance/preview', { spread: 0.3 })).status).toBe(400);
    expect((await panel.api('POST', '/nodes/node_nope/evacuate')).status).toBe(404);
    const empty = await panel.api('POST', '/fleet/consolidation/preview');
    expect(empty.status, empty.text).toBe(200);
    expect(empty.body).toMatchObject({ headroom: 0.2, before: { nodes: 0 }, after: { nodes: 0 }, moves: [] });
    const doc = (await panel.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
    for (const path of ['/nodes/{id}/evacuate', '/nodes/{id}/restore', '/fleet/consolidation/preview', '/fleet/consolidation/apply',
      '/fleet/rebalance/preview', '/fleet/rebalance/apply']) {
      expect(doc.paths[path]?.post?.tags, path).toEqual(['mobility']);
    }
  });

  it('previews fewer nodes in use, then empties one with every environment running', async () => {
    const envs = [];
    for (let i = 0; i < 3; i++) {
      envs.push(await createEnvironment(panel, { name: `pack-${i}`, templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: nodeIds[i] }));
    }
    const preview = await panel.api('POST', '/fleet/consolidation/preview', { headroom: 0.2 });
    expect(preview.status).toBe(200);
    expect(preview.body.before.nodes).toBe(3);
    expect(preview.body.after.nodes).toBe(2);
    expect(preview.body.moves).toHaveLength(1);
    expect(preview.body.emptied).toHaveLength(1);
    // Without headroom a node may use all three slots: one node is enough.
    expect((await panel.api('POST', '/fleet/consolidation/preview', { headroom: 0 })).body.after.nodes).toBe(1);

    const res = await panel.api('POST', '/fleet/consolidation/apply', { headroom: 0.2 });
    expect(res.status).toBe(202);
    expect(res.body.operation).toMatchObject({ kind: 'consolidate', resource: { type: 'fleet', id: 'fleet' } });
    expect((await panel.api('POST', '/fleet/rebalance/apply', {})).status).toBe(409);
    const op = await waitOperation(panel, res.body.operation.id, 300);
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    expect(op.message).toMatch(/nodes in use 3 → 2 \(emptying lab\d\): moved 1/);
    const nodes = (await panel.api('GET', '/nodes')).body.items as { id: string; allocated: { environments: number } }[];
    expect(nodes.filter((n) => n.allocated.environments === 0)).toHaveLength(1);
    for (const e of envs) {
      const now = (await panel.api('GET', `/environments/${e.id}`)).body;
      expect(now.state).toBe('running');
      expect(await serves(now)).toBe(true);
    }
    const again = await panel.api('POST', '/fleet/consolidation/preview', { headroom: 0.2 });
    expect(again.body).toMatchObject({ before: { nodes: 2 }, after: { nodes: 2 }, moves: [] });
  });

  it('levels the load again: a rebalance brings the spread under its threshold', async () => {
    // After the consolidation: two environments on one node, one on another, none on the third.
    const preview = await panel.api('POST', '/fleet/rebalance/preview', { threshold: 0.05 });
    expect(preview.status).toBe(200);
    expect(preview.body.before.spread).toBeGreaterThan(0.05);
    expect(preview.body.after.spread).toBeLessThanOrEqual(0.05);
    expect(preview.body.outcome).toBe('balanced');
    expect(preview.body.moves).toHaveLength(1);
    const res = await panel.api('POST', '/fleet/rebalance/apply', { threshold: 0.05 });
    expect(res.status).toBe(202);
    const op = await waitOperation(panel, res.body.operation.id, 300);
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    expect(op.message).toMatch(/moved 1/);
    const nodes = (await panel.api('GET', '/nodes')).body.items as { allocated: { environments: number } }[];
    expect(nodes.map((n) => n.allocated.environments)).toEqual([1, 1, 1]);
    const envs = (await panel.api('GET', `/environments?customerId=${seed.customerId}`)).body.items as { state: string }[];
    expect(envs.map((e) => e.state)).toEqual(['running', 'running', 'running']);
    const after = await panel.api('POST', '/fleet/rebalance/apply', { threshold: 0.05 });
    expect(await waitOperation(panel, after.body.operation.id, 60)).toMatchObject({ status: 'succeeded', message: expect.stringMatching(/nothing to rebalance/) });
  });
});

describe('an evacuation interrupted by a panel killed mid-way', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-evacuate-kill-'));
  let panel: PanelProcess | null = null;
  afterAll(async () => {
    await panel?.kill();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('resumes where it stopped: every environment moves once, none is left or doubled', async () => {
    panel = await spawnPanel(dataDir, 3919);
    const nodeIds: string[] = [];
    for (const n of labNodes()) nodeIds.push((await panel.api('POST', '/nodes', nodeBody(n))).body.id);
    const plan = await panel.api('POST', '/plans', { name: 'resume', cpus: 0.25, memoryMb: 64, diskMb: 256, pids: 64 });
    const customer = (await panel.api('POST', '/customers', { name: 'Resume', email: 'resume-evacuation@example.com' })).body.id as string;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await panel.api('POST', '/environments', { name: `resume-${i}`, templateId: 'static-site', planId: plan.body.id, customerId: customer, nodeId: nodeIds[0] });
      expect((await panel.api('GET', `/operations/${r.body.operation.id}/wait?timeout=60`)).body.status).toBe('succeeded');
      ids.push(r.body.environment.id);
    }
    ids.sort();
    const res = await panel.api('POST', `/nodes/${nodeIds[0]}/evacuate`);
    expect(res.status).toBe(202);
    const opId = res.body.operation.id as string;
    // SIGKILL the panel once a move has ended but not all: the others are running, queued or not started yet.
    for (let i = 0; i < 600 && !/^[123]\/4/.test((await panel.api('GET', `/operations/${opId}`)).body.message); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    await panel.kill('SIGKILL');
    panel = await spawnPanel(dataDir, 3919);

    let op = (await panel.api('GET', `/operations/${opId}`)).body;
    for (let i = 0; i < 10 && !['succeeded', 'failed'].includes(op.status); i++) {
      op = (await panel.api('GET', `/operations/${opId}/wait?timeout=30`)).body;
    }
    expect(op.status, JSON.stringify(op)).toBe('succeeded');
    expect(op.message).toMatch(/lab1 is empty: moved 4/);
    const db = new Database(path.join(dataDir, 'kura.db'), { readonly: true });
    try {
      // It ran twice: the restarted panel picked it up again, and waited for the moves already started.
      expect((db.prepare('SELECT attempts FROM operations WHERE id = ?').get(opId) as { attempts: number }).attempts).toBe(2);
      const children = db.prepare('SELECT resource_id AS id, status FROM operations WHERE parent_id = ?').all(opId) as
        Array<{ id: string; status: string }>;
      expect(children.map((c) => c.id).sort()).toEqual(ids);
      expect(children.every((c) => c.status === 'succeeded')).toBe(true);
    } finally {
      db.close();
    }
    const containers: string[] = [];
    for (const index of [1, 2, 3]) {
      const out = await docker(labNode(index), 'ps', '-a', '--filter', `label=io.kura.customer=${customer}`, '--format', '{{.Label "io.kura.environment"}}');
      containers.push(...out.split('\n').filter(Boolean));
      if (index === 1) expect(out.trim()).toBe('');
    }
    expect(containers.sort()).toEqual(ids);
    for (const id of ids) expect((await panel.api('GET', `/environments/${id}`)).body.state).toBe('running');
    for (const id of ids) {
      const d = await panel.api('DELETE', `/environments/${id}`);
      await panel.api('GET', `/operations/${d.body.operation.id}/wait?timeout=60`);
    }
  });
});
