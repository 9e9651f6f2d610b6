import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { createEnvironment, waitOperation } from '../helpers/panel.js';

const MIB = 1048576;

/**
 * The decisions a disk change makes before any byte moves, over fake nodes: whether the data
 * fits a smaller disk, where the rebuild happens, what is held meanwhile, and that a failure
 * puts everything back. The copy itself runs against lab nodes (tests/nodes/plan-change).
 */
describe('plan changes that change the disk', () => {
  let fleet: FakeFleet;
  let n1: string;
  let customerId: string;
  let envId: string;
  let plan512: string;

  const plan = async (name: string, diskMb: number) => {
    const res = await fleet.panel.api('POST', '/plans', { name, cpus: 0.5, memoryMb: 256, diskMb, pids: 64 });
    expect(res.status, res.text).toBe(201);
    return res.body.id as string;
  };
  const container = (node: string, name: string) => [...fleet.fakes.node(node).containers.values()].find((c) => c.name === name);
  const envOf = async (id = envId) => (await fleet.panel.api('GET', `/environments/${id}`)).body;

  beforeEach(async () => {
    fleet = await startFakeFleet();
    n1 = fleet.addNode('n1', { cpus: 8, memoryMb: 8192, diskMb: 2048 });
    customerId = (await fleet.panel.api('POST', '/customers', { name: 'C', email: 'c@example.com', limits: { diskMb: 3000 } })).body.id;
    plan512 = await plan('p512', 512);
    envId = (await createEnvironment(fleet.panel, { name: 'site', templateId: 'web', planId: plan512, customerId, nodeId: n1 })).id;
  });
  afterEach(async () => fleet.close());

  it('refuses a smaller disk the data does not fit, naming both sizes, and changes nothing', async () => {
    container('n1', `kura-${envId}`)!.diskBytes = 240 * MIB;
    const small = await plan('p256', 256);
    const before = await envOf();
    const res = await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: small });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
    expect(res.body.error.message).toContain('240.0 MiB');
    expect(res.body.error.message).toContain('256 MiB disk');
    expect(res.body.error.message).toContain('at least 272 MiB');
    expect(res.body.error.details).toMatchObject({ usedMb: 240, diskMb: 256, headroomMb: 32 });
    expect(await envOf()).toEqual(before);
    expect(fleet.panel.ctx.repos.operations.openFor(envId)).toEqual([]);
  });

  it('rebuilds beside the old container when the node has room, and a failed copy puts the old plan and container back', async () => {
    container('n1', `kura-${envId}`)!.diskBytes = 100 * MIB;
    const small = await plan('p256', 256);
    const res = await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: small });
    expect(res.status, res.text).toBe(202);
    const op = fleet.panel.ctx.repos.operations.get(res.body.operation.id);
    expect(op?.params).toMatchObject({ planId: small, rebuild: { sourceNodeId: n1, targetNodeId: n1 } });
    // Fake nodes cannot copy files, so the copy fails: everything goes back.
    const done = await waitOperation(fleet.panel, res.body.operation.id);
    expect(done.status).toBe('failed');
    const env = await envOf();
    expect(env).toMatchObject({ planId: plan512, state: 'running', nodeId: n1 });
    expect(env.limits.diskMb).toBe(512);
    const names = [...fleet.fakes.node('n1').containers.values()].map((c) => c.name);
    expect(names).toEqual([`kura-${envId}`]);
    expect(container('n1', `kura-${envId}`)!.running).toBe(true);
    expect(fleet.panel.ctx.repos.customers.usage(customerId).diskMb).toBe(512);
  });

  it('moves the environment to a node with room when its own cannot hold both disks, and says so', async () => {
    const n2 = fleet.addNode('n2', { cpus: 8, memoryMb: 8192, diskMb: 4096 });
    const big = await plan('p1600', 1600);
    const messages: string[] = [];
    const stop = fleet.panel.ctx.updates.subscribe((u) => { if (u.type === 'operation') messages.push(String(u.data.message)); });
    // n1 holds 512 now; 512 + 1600 is more than its 2048.
    const res = await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: big });
    expect(res.status, res.text).toBe(202);
    expect(fleet.panel.ctx.repos.operations.get(res.body.operation.id)?.params)
      .toMatchObject({ rebuild: { sourceNodeId: n1, targetNodeId: n2 } });
    const done = await waitOperation(fleet.panel, res.body.operation.id);
    expect(done.status).toBe('failed');
    stop();
    expect(messages).toContain('n1 lacks room for the new disk beside the old one: the environment moves to n2');
    expect((await envOf()).nodeId).toBe(n1);
    expect([...fleet.fakes.node('n2').containers.values()]).toEqual([]);
  });

  it('refuses with no_capacity when no node has room, and changes nothing', async () => {
    const big = await plan('p1600', 1600);
    const res = await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: big });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('no_capacity');
    expect(res.body.error.message).toContain('node n1 has not enough disk for the new 1600 MiB disk beside the old one');
    expect((await envOf()).planId).toBe(plan512);
  });

  it('holds both disks while the change runs, so parallel changes cannot pass the customer\'s disk limit', async () => {
    fleet.addNode('n2', { cpus: 8, memoryMb: 8192, diskMb: 8192 });
    const other = (await createEnvironment(fleet.panel, { name: 'other', templateId: 'web', planId: plan512, customerId })).id;
    const p1536 = await plan('p1536', 1536);
    const held = fleet.fakes.node('n1').hold('create');
    const held2 = fleet.fakes.node('n2').hold('create');
    // 512 + 512 in use; either change alone fits 3000 (1536 + 512), both would need 3072.
    const [a, b] = await Promise.all([envId, other].map((id) => fleet.panel.api('PATCH', `/environments/${id}`, { planId: p1536 })));
    expect([a!.status, b!.status].sort()).toEqual([202, 409]);
    const refused = a!.status === 409 ? a! : b!;
    expect(refused.body.error.code).toBe('quota_exceeded');
    // While the change runs the old disk stays counted too: the larger of the two.
    expect(fleet.panel.ctx.repos.customers.usage(customerId).diskMb).toBe(1536 + 512);
    held.release();
    held2.release();
    const accepted = a!.status === 202 ? a! : b!;
    expect((await waitOperation(fleet.panel, accepted.body.operation.id)).status).toBe('failed');
    expect(fleet.panel.ctx.repos.customers.usage(customerId).diskMb).toBe(1024);
  });

  it('lets a customer change the disk to a selectable plan and refuses while self-service is off', async () => {
    const token = (await fleet.panel.api('POST', `/customers/${customerId}/tokens`, { name: 'script' })).body.token;
    const big = (await fleet.panel.api('POST', '/plans', { name: 'p1024', cpus: 0.5, memoryMb: 256, diskMb: 1024, pids: 64, selectable: true })).body.id;
    await fleet.panel.api('PATCH', `/customers/${customerId}`, { selfService: false });
    expect((await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: big }, { token })).status).toBe(403);
    await fleet.panel.api('PATCH', `/customers/${customerId}`, { selfService: true });
    const res = await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: big }, { token });
    expect(res.status, res.text).toBe(202);
    expect(res.body.environment.state).toBe('migrating');
    await waitOperation(fleet.panel, res.body.operation.id);
  });
});
