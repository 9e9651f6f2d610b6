import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeCallError } from '../../server/lib/errors.js';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { waitOperation } from '../helpers/panel.js';

/**
 * Customers never read node names, host paths or Docker's raw words in an error: not in an
 * API error body, not in an operation. Admins read the full detail.
 */
describe('errors as customers read them', () => {
  let fleet: FakeFleet;
  let customerToken: string;
  let envId: string;
  const DOCKER_WORDS = 'error mounting "/var/lib/docker/btrfs/subvolumes/4f1c" to rootfs: permission denied';

  beforeAll(async () => {
    fleet = await startFakeFleet();
    fleet.addNode('secret-node-7', { cpus: 8, memoryMb: 8192 });
    const planId = await fleet.plan('p', 0.5, 256);
    const customerId = (await fleet.panel.api('POST', '/customers', { name: 'C', email: 'c@example.com' })).body.id;
    customerToken = (await fleet.panel.api('POST', `/customers/${customerId}/tokens`, { name: 't' })).body.token;
    const res = await fleet.panel.api('POST', '/environments', { name: 'a', templateId: 'web', planId }, { token: customerToken });
    expect(res.status).toBe(202);
    await waitOperation(fleet.panel, res.body.operation.id);
    envId = res.body.environment.id;
  });
  afterAll(async () => fleet.close());

  const leaks = (text: string) => [/secret-node-7/, /\/var\/lib/, /mounting/].filter((re) => re.test(text));

  it('a failed operation: the customer reads it without node detail, the admin reads it whole', async () => {
    // What the live streams send a customer (the API's /events and the panel's) comes from the update bus.
    const sent: string[] = [];
    const unsubscribe = fleet.panel.ctx.updates.subscribe((e) => {
      if (e.type === 'operation') sent.push(JSON.stringify(e.customerData ?? e.data));
    });
    fleet.fakes.node('secret-node-7').failNext.set('restart', () => new NodeCallError('secret-node-7', 'container restart', 500, DOCKER_WORDS));
    const res = await fleet.panel.api('POST', `/environments/${envId}/actions`, { action: 'restart' }, { token: customerToken });
    expect(res.status).toBe(202);
    const opId = res.body.operation.id as string;
    expect((await waitOperation(fleet.panel, opId)).status).toBe('failed');
    unsubscribe();
    expect(sent.some((e) => e.includes('"failed"'))).toBe(true);
    expect(sent.flatMap(leaks)).toEqual([]);

    const admin = (await fleet.panel.api('GET', `/operations/${opId}`)).body;
    expect(admin.error.message).toContain('secret-node-7');
    expect(admin.error.message).toContain('/var/lib/docker');

    for (const url of [`/operations/${opId}`, `/operations/${opId}/wait?timeout=0`]) {
      const mine = (await fleet.panel.api('GET', url, undefined, { token: customerToken })).body;
      expect(mine.status).toBe('failed');
      expect(mine.error.code).toBe('internal');
      expect(leaks(JSON.stringify(mine))).toEqual([]);
      expect(mine.error.message).toMatch(/administrator/);
    }
    const list = await fleet.panel.api('GET', `/operations?resourceId=${envId}`, undefined, { token: customerToken });
    expect(list.body.items.some((o: { id: string }) => o.id === opId)).toBe(true);
    expect(leaks(list.text)).toEqual([]);
  });

  it('an API error: the customer gets no node name or details, the admin does', async () => {
    const nodeId = fleet.panel.ctx.repos.nodes.byName('secret-node-7')!.id;
    fleet.panel.ctx.repos.nodes.markSeen(nodeId, 'offline');
    try {
      const mine = await fleet.panel.api('POST', `/environments/${envId}/actions`, { action: 'stop' }, { token: customerToken });
      expect(mine.status).toBe(503);
      expect(mine.body.error.code).toBe('node_unavailable');
      expect(leaks(mine.text)).toEqual([]);
      expect(mine.body.error.details).toBeUndefined();

      const admin = await fleet.panel.api('POST', `/environments/${envId}/actions`, { action: 'stop' });
      expect(admin.status).toBe(503);
      expect(admin.body.error.message).toContain('secret-node-7');
      expect(admin.body.error.details).toMatchObject({ node: 'secret-node-7' });
    } finally {
      fleet.panel.ctx.repos.nodes.markSeen(nodeId, 'online');
    }
  });
});
