import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { waitOperation } from '../helpers/panel.js';

/**
 * A customer suspended while one of their environments is still being provisioned or
 * reinstalled: the environment must end stopped however the operation in flight ends.
 */
describe('suspension with operations in flight', () => {
  let fleet: FakeFleet;
  let customerId: string;
  let planId: string;
  beforeEach(async () => {
    fleet = await startFakeFleet();
    fleet.addNode('n1', { cpus: 8, memoryMb: 8192 });
    planId = await fleet.plan('p', 0.5, 256);
    customerId = (await fleet.panel.api('POST', '/customers', { name: 'C', email: 'c@example.com' })).body.id;
  });
  afterEach(async () => fleet.close());

  const containerOf = (envId: string) => [...fleet.fakes.node('n1').containers.values()].find((c) => c.labels['io.kura.environment'] === envId);
  const stateOf = async (envId: string) => (await fleet.panel.api('GET', `/environments/${envId}`)).body.state;

  it.each(['create', 'start'])('an environment still provisioning (held at %s) ends stopped', async (call) => {
    const held = fleet.fakes.node('n1').hold(call);
    const res = await fleet.panel.api('POST', '/environments', { name: 'a', templateId: 'web', planId, customerId });
    expect(res.status).toBe(202);
    const envId = res.body.environment.id as string;
    await expect.poll(() => fleet.fakes.node('n1').calls.includes(call)).toBe(true);
    const suspended = await fleet.panel.api('POST', `/customers/${customerId}/suspend`);
    expect(suspended.status).toBe(200);
    held.release();
    await waitOperation(fleet.panel, res.body.operation.id);
    for (const op of suspended.body.operations) await waitOperation(fleet.panel, op.id);
    expect(await stateOf(envId)).toBe('stopped');
    expect(containerOf(envId)?.running).toBe(false);

    // Resuming starts it: it was meant to run.
    const resumed = await fleet.panel.api('POST', `/customers/${customerId}/resume`);
    for (const op of resumed.body.operations) expect((await waitOperation(fleet.panel, op.id)).status).toBe('succeeded');
    expect(await stateOf(envId)).toBe('running');
  });

  it('an environment being reinstalled ends stopped', async () => {
    const created = await fleet.panel.api('POST', '/environments', { name: 'a', templateId: 'web', planId, customerId });
    await waitOperation(fleet.panel, created.body.operation.id);
    const envId = created.body.environment.id as string;
    const held = fleet.fakes.node('n1').hold('create');
    const creates = fleet.fakes.node('n1').calls.filter((c) => c === 'create').length;
    const reinstall = await fleet.panel.api('POST', `/environments/${envId}/reinstall`);
    expect(reinstall.status).toBe(202);
    await expect.poll(() => fleet.fakes.node('n1').calls.filter((c) => c === 'create').length).toBe(creates + 1);
    const suspended = await fleet.panel.api('POST', `/customers/${customerId}/suspend`);
    held.release();
    expect((await waitOperation(fleet.panel, reinstall.body.operation.id)).status).toBe('succeeded');
    for (const op of suspended.body.operations) await waitOperation(fleet.panel, op.id);
    expect(await stateOf(envId)).toBe('stopped');
    expect(containerOf(envId)?.running).toBe(false);
  });
});
