import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../server/lib/ids.js';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { waitOperation } from '../helpers/panel.js';

/**
 * Races between reservations: plan changes that fail, and moves in flight, must never let a
 * node's capacity or a customer's limits be passed. Fake nodes hold a call open so the race
 * happens on purpose, not by luck.
 */
describe('capacity races', () => {
  let fleet: FakeFleet;
  let customerId: string;
  beforeEach(async () => {
    fleet = await startFakeFleet();
    customerId = (await fleet.panel.api('POST', '/customers', { name: 'C', email: 'c@example.com' })).body.id;
  });
  afterEach(async () => fleet.close());

  const create = async (body: Record<string, unknown>) => fleet.panel.api('POST', '/environments', { templateId: 'web', customerId, ...body });
  const running = async (body: Record<string, unknown>) => {
    const res = await create(body);
    expect(res.status, res.text).toBe(202);
    expect((await waitOperation(fleet.panel, res.body.operation.id)).status).toBe('succeeded');
    return res.body.environment.id as string;
  };

  it('a failed plan change goes back to the old plan without passing the node, because the old room stayed held', async () => {
    const nodeId = fleet.addNode('n1', { cpus: 4, memoryMb: 1024 });
    const big = await fleet.plan('big', 1, 768);
    const small = await fleet.plan('small', 1, 256);
    const envId = await running({ name: 'a', planId: big });

    const update = fleet.fakes.node('n1').hold('update');
    const resize = await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: small });
    expect(resize.status, resize.text).toBe(202);
    // While the change is in flight the 512 MiB it would free is still held: nothing else gets it.
    const squeeze = await create({ name: 'b', planId: (await fleet.plan('mid', 1, 512)) });
    expect(squeeze.status).toBe(409);
    expect(squeeze.body.error.code).toBe('no_capacity');
    update.release(new Error('docker update failed'));
    expect((await waitOperation(fleet.panel, resize.body.operation.id)).status).toBe('failed');

    const env = (await fleet.panel.api('GET', `/environments/${envId}`)).body;
    expect(env.planId).toBe(big);
    expect(fleet.panel.ctx.repos.nodes.allocation(nodeId).memoryMb).toBe(768);
  });

  it('a successful plan change lets the old room go', async () => {
    const nodeId = fleet.addNode('n1', { cpus: 4, memoryMb: 1024 });
    const envId = await running({ name: 'a', planId: await fleet.plan('big', 1, 768) });
    const resize = await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: await fleet.plan('small', 1, 256) });
    expect((await waitOperation(fleet.panel, resize.body.operation.id)).status).toBe('succeeded');
    expect(fleet.panel.ctx.repos.nodes.allocation(nodeId).memoryMb).toBe(256);
    expect((await create({ name: 'b', planId: await fleet.plan('mid', 1, 512) })).status).toBe(202);
  });

  it('a failed plan change never passes the customer\'s limits either', async () => {
    fleet.addNode('n1', { cpus: 8, memoryMb: 8192 });
    await fleet.panel.api('PATCH', `/customers/${customerId}`, { limits: { memoryMb: 1024 } });
    const envId = await running({ name: 'a', planId: await fleet.plan('big', 1, 768) });
    const update = fleet.fakes.node('n1').hold('update');
    const resize = await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: await fleet.plan('small', 1, 256) });
    expect(resize.status).toBe(202);
    const squeeze = await create({ name: 'b', planId: await fleet.plan('mid', 1, 512) });
    expect(squeeze.status).toBe(409);
    update.release(new Error('docker update failed'));
    expect((await waitOperation(fleet.panel, resize.body.operation.id)).status).toBe('failed');
    expect(fleet.panel.ctx.repos.customers.usage(customerId).memoryMb).toBeLessThanOrEqual(1024);
  });

  it('a second plan change waits for the first to end', async () => {
    fleet.addNode('n1', { cpus: 4, memoryMb: 4096 });
    const envId = await running({ name: 'a', planId: await fleet.plan('big', 1, 768) });
    const update = fleet.fakes.node('n1').hold('update');
    const first = await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: await fleet.plan('small', 1, 256) });
    expect(first.status).toBe(202);
    const second = await fleet.panel.api('PATCH', `/environments/${envId}`, { planId: await fleet.plan('mid', 1, 512) });
    expect(second.status).toBe(409);
    update.release();
    expect((await waitOperation(fleet.panel, first.body.operation.id)).status).toBe('succeeded');
  });

  describe('moves in flight', () => {
    /** A move of `envId` into `targetNodeId`, recorded as open: its room on the target is held. */
    const moveInFlight = (envId: string, sourceNodeId: string, targetNodeId: string) => fleet.panel.ctx.repos.operations.insert({
      id: newId('op'), kind: 'migrate', resourceId: envId, customerId, params: { sourceNodeId, targetNodeId } });

    it('a create does not take the room a move into the node holds', async () => {
      const n1 = fleet.addNode('n1', { cpus: 4, memoryMb: 1024 });
      const n2 = fleet.addNode('n2', { cpus: 4, memoryMb: 1024 });
      const plan = await fleet.plan('p', 1, 768);
      const moving = await running({ name: 'a', planId: plan, nodeId: n1 });
      moveInFlight(moving, n1, n2);
      const res = await create({ name: 'b', planId: plan, nodeId: n2 });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('no_capacity');
    });

    it('a plan change does not grow into the room a move into the node holds', async () => {
      const n1 = fleet.addNode('n1', { cpus: 4, memoryMb: 1024 });
      const n2 = fleet.addNode('n2', { cpus: 4, memoryMb: 1024 });
      const moving = await running({ name: 'a', planId: await fleet.plan('p', 1, 512), nodeId: n1 });
      const staying = await running({ name: 'b', planId: await fleet.plan('small', 1, 256), nodeId: n2 });
      moveInFlight(moving, n1, n2);
      const res = await fleet.panel.api('PATCH', `/environments/${staying}`, { planId: await fleet.plan('big', 1, 768) });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('no_capacity');
    });
  });
});
