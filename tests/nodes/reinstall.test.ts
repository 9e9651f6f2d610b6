import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../server/docker/container-spec.js';
import { docker, dockerResult, httpGet, inspect, labNode } from '../helpers/lab.js';
import { createEnvironment, registerNode, seedCustomer, startTestPanel, waitOperation, type Seed, type TestPanel } from '../helpers/panel.js';

describe('reinstall from template on a real node', () => {
  let panel: TestPanel;
  let seed: Seed;
  const node = () => labNode(1);

  beforeAll(async () => {
    panel = await startTestPanel();
    await registerNode(panel, node());
    seed = await seedCustomer(panel);
  });
  afterAll(async () => panel.close());

  it('replaces the container and its data, keeps name, plan and endpoints, and is audited', async () => {
    const env = await createEnvironment(panel, { name: 'shop', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId });
    const name = containerName(env.id);
    await docker(node(), 'exec', name, 'sh', '-c', 'echo customer-data > /srv/www/extra.html');
    const before = await inspect(node(), name);
    const site = `http://${env.endpoints[0].host}:${env.endpoints[0].port}`;
    expect((await httpGet(`${site}/extra.html`))?.body).toContain('customer-data');

    const other = await panel.api('POST', '/customers', { name: 'Other', email: 'other-reinstall@kura.example' });
    const otherToken = (await panel.api('POST', `/customers/${other.body.id}/tokens`, { name: 't' })).body.token;
    expect((await panel.api('POST', `/environments/${env.id}/reinstall`, undefined, { token: otherToken })).status).toBe(404);

    const res = await panel.api('POST', `/environments/${env.id}/reinstall`, undefined, { token: seed.customerToken });
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe(`/api/v1/operations/${res.body.operation.id}`);
    expect((await panel.api('GET', `/environments/${env.id}`)).body.state).toBe('provisioning');
    const op = await waitOperation(panel, res.body.operation.id);
    expect(op.status).toBe('succeeded');

    const after = await inspect(node(), name);
    expect(after.Id).not.toBe(before.Id);
    expect(after.State.Running).toBe(true);
    expect((await dockerResult(node(), 'exec', name, 'test', '-e', '/srv/www/extra.html')).code).not.toBe(0);
    const now = (await panel.api('GET', `/environments/${env.id}`)).body;
    expect(now).toMatchObject({ name: 'shop', state: 'running', planId: seed.planId, endpoints: env.endpoints });
    expect((await httpGet(`${site}/`))?.status).toBe(200);
    const audit = panel.ctx.repos.audit.list({ q: 'reinstall', limit: 5 });
    expect(audit[0]).toMatchObject({ via: 'api', actorKind: 'customer', resourceId: env.id, status: 202 });
  });

  it('refuses a reinstall while the environment is being provisioned', async () => {
    const created = await panel.api('POST', '/environments', { name: 'busy', templateId: 'static-site', planId: seed.planId, customerId: seed.customerId });
    const res = await panel.api('POST', `/environments/${created.body.environment.id}/reinstall`);
    expect(res.status).toBe(409);
    await waitOperation(panel, created.body.operation.id);
  });
});
