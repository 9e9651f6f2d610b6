import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyContainerEvent } from '../../server/loops/live-state.js';
import { newId } from '../../server/lib/ids.js';
import { FakeNodes } from '../helpers/fake-nodes.js';
import { startTestPanel, type TestPanel } from '../helpers/panel.js';

/** Docker's container events applied to the panel's records, without a node. */
describe('live state from container events', () => {
  let panel: TestPanel;
  let envId: string;
  let nodeId: string;
  const event = (action: string, containerId: string) => ({
    action, containerId, labels: { 'io.kura.environment': envId }, exitCode: action === 'die' ? 0 : null,
    detail: null, time: Math.floor(Date.now() / 1000), timeNano: Date.now() * 1e6,
  });

  beforeAll(async () => {
    panel = await startTestPanel({ nodes: new FakeNodes().registry() });
    const { repos } = panel.ctx;
    nodeId = newId('node');
    repos.nodes.insert({ id: nodeId, name: 'fake1', endpoint: 'tcp://192.0.2.1:2376', publicHost: '192.0.2.1',
      tls: { ca: null, cert: null, keySealed: null }, capacity: { cpus: 8, memoryMb: 16384, diskMb: null }, cpuOvercommit: 1,
      maxEnvironments: 30, diskQuota: true, allowUnenforcedDisk: false, dockerVersion: 'fake', storageDriver: 'overlay2' });
    const plan = (await panel.api('POST', '/plans', { name: 'p', cpus: 0.5, memoryMb: 128, diskMb: 256, pids: 64 })).body;
    const customer = (await panel.api('POST', '/customers', { name: 'C', email: 'live@example.com' })).body;
    envId = newId('env');
    repos.environments.insert({ id: envId, name: 'site', customerId: customer.id, nodeId, templateId: 'static-site', planId: plan.id,
      limits: { cpus: 0.5, memoryMb: 128, swapMb: 0, diskMb: 256, pids: 64, nofile: 1024 } }, []);
    repos.environments.setContainer(envId, 'current-container', null);
    repos.environments.setState(envId, 'running');
  });
  afterAll(async () => panel.close());

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
