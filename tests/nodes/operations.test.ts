import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { pauseNode, resumeNode } from '../../server/lab/lab.js';
import { docker, inspect, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

describe('operations, events, suspension and tokens', () => {
  let panel: TestPanel;
  let seed: Seed;
  let node1: string;
  beforeAll(async () => {
    panel = await startTestPanel();
    node1 = await registerNode(panel, labNode(1));
    seed = await seedCustomer(panel);
  });
  afterAll(async () => panel.close());

  it('waits at most the given time for an operation stuck on a hung node, which then recovers', async () => {
    const node3 = await registerNode(panel, labNode(3));
    await pauseNode(3);
    try {
      const res = await panel.api('POST', '/environments', { name: 'hung', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: node3 });
      expect(res.status).toBe(202);
      const t0 = Date.now();
      const op = await panel.api('GET', `/operations/${res.body.operation.id}/wait?timeout=1`);
      const waited = Date.now() - t0;
      expect(op.body.status).toMatch(/queued|running/);
      expect(waited).toBeGreaterThanOrEqual(900);
      expect(waited).toBeLessThan(3000);
      // Reads never wait on the hung node.
      const t1 = Date.now();
      expect((await panel.api('GET', '/environments')).status).toBe(200);
      expect((await panel.api('GET', '/nodes')).status).toBe(200);
      expect(Date.now() - t1).toBeLessThan(500);
      expect((await panel.api('GET', '/operations/x/wait?timeout=61')).status).toBe(400);
    } finally {
      await resumeNode(3);
    }
    const list = await panel.api('GET', `/operations?limit=10`);
    const provision = list.body.items.find((o: { kind: string; resource: { id: string } }) => o.kind === 'provision');
    expect(provision).toBeDefined();
    const done = await waitOperation(panel, provision.id, 60);
    expect(done.status).toBe('succeeded');
  });

  it('lists the operations of one resource and streams their events', async () => {
    const address = await panel.app.listen({ port: 0, host: '127.0.0.1' });
    const controller = new AbortController();
    const events: string[] = [];
    const stream = fetch(`${address}/api/v1/events`, { headers: { authorization: `Bearer ${seed.customerToken}` }, signal: controller.signal })
      .then(async (res) => {
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
        const reader = res.body!.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          events.push(new TextDecoder().decode(value));
        }
      }).catch((err: Error) => {
        if (err.name !== 'AbortError') throw err;
      });
    await new Promise((r) => setTimeout(r, 200));
    const env = await createEnvironment(panel, { name: 'evented', templateId: 'static-site', planId: seed.planId }, { token: seed.customerToken });
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    await stream;
    const text = events.join('');
    expect(text).toContain('event: operation');
    expect(text).toMatch(/event: environment\ndata: \{[^\n]*"state":"running"/);
    expect(text).toContain(env.id);
    const ops = await panel.api('GET', `/operations?resourceId=${env.id}`, undefined, { token: seed.customerToken });
    expect(ops.body.items.map((o: { kind: string }) => o.kind)).toEqual(['provision']);
  });

  it('suspends a customer: environments stop and cannot start until resumed', async () => {
    const env = await createEnvironment(panel, { name: 'susp', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: node1 });
    const suspended = await panel.api('POST', `/customers/${seed.customerId}/suspend`);
    expect(suspended.status).toBe(200);
    expect(suspended.body.status).toBe('suspended');
    for (const op of suspended.body.operations) expect((await waitOperation(panel, op.id)).status).toBe('succeeded');
    expect((await inspect(labNode(1), containerName(env.id))).State.Running).toBe(false);
    const start = await panel.api('POST', `/environments/${env.id}/actions`, { action: 'start' }, { token: seed.customerToken });
    expect(start.status).toBe(409);
    const create = await panel.api('POST', '/environments', { name: 'more', templateId: 'static-site', planId: seed.planId }, { token: seed.customerToken });
    expect(create.status).toBe(409);
    const resumed = await panel.api('POST', `/customers/${seed.customerId}/resume`);
    for (const op of resumed.body.operations) expect((await waitOperation(panel, op.id)).status).toBe('succeeded');
    expect((await inspect(labNode(1), containerName(env.id))).State.Running).toBe(true);
  });

  it('revokes tokens, keeps the settings token, and stores none in the clear', async () => {
    const t = await panel.api('POST', `/customers/${seed.customerId}/tokens`, { name: 'temp' });
    expect(t.status).toBe(201);
    expect((await panel.api('GET', '/environments', undefined, { token: t.body.token })).status).toBe(200);
    const listed = await panel.api('GET', `/customers/${seed.customerId}/tokens`);
    expect(JSON.stringify(listed.body)).not.toContain(t.body.token);
    const rows = panel.ctx.repos.db.prepare('SELECT token_hash FROM tokens').all() as { token_hash: string }[];
    expect(rows.some((r) => r.token_hash === t.body.token)).toBe(false);
    expect((await panel.api('DELETE', `/tokens/${t.body.id}`, undefined, { token: t.body.token })).status).toBe(204);
    const after = await panel.api('GET', '/environments', undefined, { token: t.body.token });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
    const envToken = panel.ctx.repos.db.prepare("SELECT id FROM tokens WHERE source = 'env'").get() as { id: string };
    expect((await panel.api('DELETE', `/tokens/${envToken.id}`)).status).toBe(409);
  });

  it('refuses to remove a node that holds environments', async () => {
    const res = await panel.api('DELETE', `/nodes/${node1}`);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/environments/);
  });

  it('reads actual state from the node after a restart of the panel', async () => {
    const env = await createEnvironment(panel, { name: 'oob', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId, nodeId: node1 });
    const dataDir = panel.dataDir;
    await panel.app.close();
    await docker(labNode(1), 'stop', '-t', '1', containerName(env.id));
    panel = await startTestPanel({ dataDir, background: true });
    let state = '';
    for (let i = 0; i < 40 && state !== 'stopped'; i++) {
      state = (await panel.api('GET', `/environments/${env.id}`)).body.state;
      if (state !== 'stopped') await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toBe('stopped');
  });
});
