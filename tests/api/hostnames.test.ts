import { afterEach, describe, expect, it } from 'vitest';
import { startFakeFleet, type FakeFleet } from '../helpers/fake-fleet.js';
import { createEnvironment, startTestPanel, waitOperation } from '../helpers/panel.js';

/** Default hostnames under KURA_BASE_DOMAIN: one per environment with an http port, never given to another. */
describe('default hostnames', () => {
  let fleet: FakeFleet | null = null;
  afterEach(async () => {
    await fleet?.close();
    fleet = null;
  });

  it('are "<name>-<end of id>.<base domain>", and a deleted environment\'s name is never issued again', async () => {
    fleet = await startFakeFleet({ KURA_BASE_DOMAIN: 'Sites.Example.' });
    fleet.addNode('n1', { cpus: 8, memoryMb: 8192 });
    const customerId = (await fleet.panel.api('POST', '/customers', { name: 'C', email: 'c@example.com' })).body.id;
    const planId = await fleet.plan('p', 1, 256);
    const env = await createEnvironment(fleet.panel, { name: 'shop', templateId: 'web', planId, customerId });
    expect(env.hostname).toBe(`shop-${env.id.slice(-8)}.sites.example`);
    expect((await fleet.panel.api('GET', `/environments?customerId=${customerId}`)).body.items[0].hostname).toBe(env.hostname);

    const gone = await fleet.panel.api('DELETE', `/environments/${env.id}`);
    expect((await waitOperation(fleet.panel, gone.body.operation.id)).status).toBe('succeeded');
    const issued = fleet.panel.ctx.repos.db.prepare('SELECT label, environment_id FROM issued_hostnames').all();
    expect(issued).toEqual([{ label: `shop-${env.id.slice(-8)}`, environment_id: env.id }]);
    // Another environment whose label would be the same gets another one.
    fleet.panel.ctx.repos.db.prepare('INSERT INTO issued_hostnames (label, environment_id, issued_at) VALUES (?, ?, ?)')
      .run('again-taken000', 'env_someone_else', new Date().toISOString());
    const environments = fleet.panel.ctx.repos.environments;
    const id = 'env_01m8p1pxgtaken000';
    environments.insert({ id, name: 'again', customerId, nodeId: env.nodeId, templateId: 'web', planId, limits: env.limits }, []);
    expect(environments.get(id)?.hostnameLabel).toBe('again-taken0001');
  });

  it('are null without a base domain, and the node says its edge is off', async () => {
    fleet = await startFakeFleet();
    expect(fleet.panel.ctx.config.baseDomain).toBeUndefined();
    const nodeId = fleet.addNode('n1', { cpus: 8, memoryMb: 8192 });
    const customerId = (await fleet.panel.api('POST', '/customers', { name: 'C', email: 'c@example.com' })).body.id;
    const env = await createEnvironment(fleet.panel, { name: 'shop', templateId: 'web', planId: await fleet.plan('p', 1, 256), customerId });
    expect(env.hostname).toBeNull();
    expect((await fleet.panel.api('GET', `/nodes/${nodeId}`)).body.edge).toEqual({ status: 'error', message: 'the edge is turned off on this panel (KURA_EDGE=off)' });
  });

  it('refuses a base domain that is not a DNS name, saying which setting', async () => {
    await expect(startTestPanel({ env: { KURA_BASE_DOMAIN: 'not a domain' } })).rejects.toThrow(/KURA_BASE_DOMAIN/);
    await expect(startTestPanel({ env: { KURA_EDGE: 'maybe' } })).rejects.toThrow(/KURA_EDGE \(on or off\)/);
  });
});
