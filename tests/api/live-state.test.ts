import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyContainerEvent } from '../../server/loops/live-state.js';
import { newId } from '../../server/lib/ids.js';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import type { TestPanel } from '../helpers/panel.js';

/** Docker's container events applied to the panel's records, without a node. */
describe('live state from container events', () => {
  let fleet: FakeFleet;
  let panel: TestPanel;
  let envId: string;
  let nodeId: string;
  const event = (action: string, containerId: string) => ({
    action, containerId, labels: { 'io.kura.environment': envId }, exitCode: action === 'die' ? 0 : null,
    detail: null, time: Math.floor(Date.now() / 1000), timeNano: Date.now() * 1e6,
  });

  beforeAll(async () => {
    fleet = await startFakeFleet();
    panel = fleet.panel;
    const { repos } = panel.ctx;
    nodeId = fleet.addNode('fake1', { cpus: 8, memoryMb: 16384 });
    const plan = (await panel.api('POST', '/plans', { name: 'p', cpus: 0.5, memoryMb: 128, diskMb: 256, pids: 64 })).body;
    const customer = (await panel.api('POST', '/customers', { name: 'C', email: 'live@example.com' })).body;
    envId = newId('env');
    repos.environments.insert({ id: envId, name: 'site', customerId: customer.id, nodeId, templateId: 'static-site', planId: plan.id,
      limits: { cpus: 0.5, memoryMb: 128, swapMb: 0, diskMb: 256, pids: 64, nofile: 1024 } }, []);
    repos.environments.setContainer(envId, 'current-container', null);
    repos.environments.setState(envId, 'running');
  });
  afterAll(async () => fleet.close());

  it('ignores a late event of a container the environment no longer runs in', async () => {
    await applyContainerEvent(panel.ctx, nodeId, event('die', 'removed-container'));
    await applyContainerEvent(panel.ctx, nodeId, event('stop', 'removed-container'));
    expect(panel.ctx.repos.environments.get(envId)!.state).toBe('running');
    expect(panel.ctx.repos.history.page(envId, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it('keeps the health check\'s verdict, and forgets it when the container dies', async () => {
    await applyContainerEvent(panel.ctx, nodeId, { ...event('health_status', 'current-container'), detail: 'unhealthy' });
    expect(panel.ctx.repos.environments.get(envId)!.health).toBe('unhealthy');
    await applyContainerEvent(panel.ctx, nodeId, { ...event('health_status', 'current-container'), detail: 'healthy' });
    expect((await panel.api('GET', `/environments/${envId}`)).body.health).toBe('healthy');
    await applyContainerEvent(panel.ctx, nodeId, { ...event('health_status', 'removed-container'), detail: 'unhealthy' });
    expect(panel.ctx.repos.environments.get(envId)!.health).toBe('healthy');
  });

  it('follows its own container', async () => {
    await applyContainerEvent(panel.ctx, nodeId, event('die', 'current-container'));
    expect(panel.ctx.repos.environments.get(envId)!.state).toBe('stopped');
    expect(panel.ctx.repos.environments.get(envId)!.health).toBeNull();
    await applyContainerEvent(panel.ctx, nodeId, event('start', 'current-container'));
    expect(panel.ctx.repos.environments.get(envId)!.state).toBe('running');
  });
});
