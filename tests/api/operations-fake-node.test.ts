import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../server/lib/ids.js';
import { FakeNodes } from '../helpers/fake-nodes.js';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { startTestPanel, waitOperation, type TestPanel } from '../helpers/panel.js';

/**
 * The operation runner and the environment services, through the API, against fake nodes
 * at the registry seam: fast, no root, no Docker. What really happens on Docker is the
 * integration project's business (tests/nodes).
 */
describe('operations against a fake node', () => {
  let fleet: FakeFleet;
  let fakes: FakeNodes;
  let panel: TestPanel;
  let planId: string;
  let customerId: string;

  beforeAll(async () => {
    fleet = await startFakeFleet();
    ({ panel, fakes } = fleet);
    fleet.addNode('fake1', { cpus: 8, memoryMb: 16384 });
    planId = (await panel.api('POST', '/plans', { name: 'p1', cpus: 0.5, memoryMb: 256, diskMb: 512, pids: 64 })).body.id;
    customerId = (await panel.api('POST', '/customers', { name: 'C', email: 'c@example.com' })).body.id;
  });
  afterAll(async () => fleet.close());

  const create = async (name: string) => {
    const res = await panel.api('POST', '/environments', { name, templateId: 'web', planId, customerId });
    expect(res.status).toBe(202);
    return { env: res.body.environment, op: await waitOperation(panel, res.body.operation.id) };
  };

  it('provisions: pulls the image, makes the network and a container with the plan limits, and starts it', async () => {
    const { env, op } = await create('one');
    expect(op).toMatchObject({ kind: 'provision', status: 'succeeded', progress: 100 });
    const node = fakes.node('fake1');
    expect(node.images.has('example/web:1')).toBe(true);
    expect(node.networks.has(customerId)).toBe(true);
    const [container] = [...node.containers.values()].filter((c) => c.labels['io.kura.environment'] === env.id);
    expect(container).toMatchObject({ running: true });
    expect(container!.spec.HostConfig).toMatchObject({ NanoCpus: 0.5e9, Memory: 256 * 1048576, PidsLimit: 64 });
    expect((await panel.api('GET', `/environments/${env.id}`)).body.state).toBe('running');
  });

  it('moves a host port that something outside the panel holds, and still starts', async () => {
    const node = fakes.node('fake1');
    const taken = 20000 + [...node.containers.keys()].length; // the next port the panel will choose
    node.takePortOnce(taken);
    const { env, op } = await create('two');
    expect(op.status).toBe('succeeded');
    const shown = (await panel.api('GET', `/environments/${env.id}`)).body;
    expect(shown.state).toBe('running');
    expect(shown.endpoints[0].port).not.toBe(taken);
  });

  it('loads a lost image again when the create says it is missing', async () => {
    const node = fakes.node('fake1');
    node.loseImageOnce();
    const before = node.calls.filter((c) => c === 'create').length;
    const { op } = await create('three');
    expect(op.status).toBe('succeeded');
    expect(node.calls.filter((c) => c === 'create').length).toBe(before + 2);
  });

  it('fails a stop on an unreachable node with node_unavailable and shows the state as unknown', async () => {
    const { env } = await create('four');
    const node = fakes.node('fake1');
    node.down = true;
    try {
      const res = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'stop' });
      expect(res.status).toBe(202);
      const op = await waitOperation(panel, res.body.operation.id);
      expect(op).toMatchObject({ status: 'failed', error: { code: 'node_unavailable' } });
      await expect.poll(async () => (await panel.api('GET', `/environments/${env.id}`)).body.state).toBe('unknown');
    } finally {
      node.down = false;
    }
  });

  it('refuses another action on an environment that already has operations waiting, with 429 and Retry-After', async () => {
    const { env } = await create('five');
    // Rows of operations that are waiting (never handed to the runner, so they stay waiting).
    const waiting = [1, 2, 3, 4].map(() => {
      const id = newId('op');
      panel.ctx.repos.operations.insert({ id, kind: 'power', resourceId: env.id, customerId, params: { action: 'restart' } });
      return id;
    });
    const key = { headers: { 'idempotency-key': `restart-${env.id}` } };
    try {
      const res = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'restart' }, key);
      expect(res.status).toBe(429);
      expect(res.body.error).toMatchObject({ code: 'rate_limited', details: { pending: 4 } });
      expect(res.headers['retry-after']).toBe('5');
      expect((await panel.api('PATCH', `/environments/${env.id}`, { planId })).status).toBe(429);
    } finally {
      for (const id of waiting) panel.ctx.repos.operations.finish(id, 'cancelled', 'test over');
    }
    // The same request again, with the same key: the refusal was not kept as the key's answer.
    const again = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'restart' }, key);
    expect(again.status).toBe(202);
    expect(again.headers['idempotent-replay']).toBeUndefined();
    expect((await waitOperation(panel, again.body.operation.id)).status).toBe('succeeded');
  });

  it('suspends a customer by stopping their running environments, each a power operation', async () => {
    const res = await panel.api('POST', `/customers/${customerId}/suspend`);
    expect(res.status).toBe(200);
    expect(res.body.operations.length).toBeGreaterThan(0);
    for (const o of res.body.operations) expect((await waitOperation(panel, o.id)).status).toBe('succeeded');
    const stored = panel.ctx.repos.operations.get(res.body.operations[0].id)!;
    expect(stored.kind === 'power' && stored.params).toEqual({ action: 'stop', reason: 'suspended' });
    expect((await panel.api('POST', `/customers/${customerId}/resume`)).status).toBe(200);
  });
});

describe('a stored operation its kind cannot read', () => {
  let panel: TestPanel;
  beforeAll(async () => {
    panel = await startTestPanel({ nodes: new FakeNodes().registry() });
  });
  afterAll(async () => panel.close());

  it('is refused by the repository with the part and the field named', () => {
    const { db, operations } = panel.ctx.repos;
    const id = newId('op');
    operations.insert({ id, kind: 'power', resourceId: 'env_x', customerId: null, params: { action: 'start' } });
    db.prepare(`UPDATE operations SET params = '{"action":"explode"}' WHERE id = ?`).run(id);
    expect(() => operations.get(id)).toThrow(/params of a power operation, \/action/);
    // Lists show the public view, so one bad row hides nothing else.
    expect(operations.recent(10).map((o) => o.id)).toContain(id);
  });

  it('fails at the next start with the reason, runs nothing, and the panel still starts', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-bad-op-'));
    const fakes = new FakeNodes();
    const first = await startTestPanel({ dataDir, nodes: fakes.registry() });
    const id = newId('op');
    first.ctx.repos.operations.insert({ id, kind: 'migrate', resourceId: 'env_x', customerId: null,
      params: { sourceNodeId: 'node_a', targetNodeId: 'node_b' } });
    first.ctx.repos.db.prepare(`UPDATE operations SET kind = 'teleport' WHERE id = ?`).run(id);
    await first.app.close();
    const second = await startTestPanel({ dataDir, nodes: fakes.registry() });
    try {
      const op = (await second.api('GET', `/operations/${id}`)).body;
      expect(op.status).toBe('failed');
      expect(op.error).toMatchObject({ code: 'internal' });
      expect(op.error.message).toMatch(/unknown kind "teleport"/);
      expect([...fakes.byName.values()].flatMap((n) => n.calls)).toEqual([]);
    } finally {
      await second.close();
    }
  });
});
